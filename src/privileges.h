/*-------------------------------------------------------------------------
 *
 * privileges.h
 *	  Who may do what with a model: the switch to the extension's owner for
 *	  catalog work, the switch to a model's owner for its stored filter,
 *	  ownership checks, and the rights prediction needs on a source.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_PRIVILEGES_H
#define UNLEARN_PRIVILEGES_H

#include "catalog.h"

/* The user, security context and settings to return to. */
typedef struct PrivilegeSwitch
{
	Oid			saved_userid;
	int			saved_sec_context;
	int			guc_nestlevel;	/* 0 when no setting was changed */
} PrivilegeSwitch;

/*
 * Becomes the extension's owner, in a security-restricted operation with
 * search_path pinned to pg_catalog, pg_temp: for reading and writing the
 * extension's tables on behalf of a caller who has no rights on them.
 */
extern void privileges_enter_catalog(PrivilegeSwitch *s);

/*
 * Becomes role in a security-restricted operation with search_path pinned
 * to pg_catalog, pg_temp: for running an expression that role stored,
 * such as a model's filter, whoever calls.
 */
extern void privileges_enter_role(PrivilegeSwitch *s, Oid role);

/*
 * Pins search_path to pg_catalog, pg_temp (the user stays): around a loop
 * that enters a role row by row, which then does not pin it each time.
 */
extern void privileges_pin_search_path(PrivilegeSwitch *s);

/* Returns to the user, security context and settings saved. */
extern void privileges_leave(PrivilegeSwitch *s);

/*
 * Locks a model's row and checks that the current user has the
 * privileges of its owner (superusers always do); returns the owner.
 * A missing model or owner is an error.
 */
extern Oid	privileges_check_owner(const char *model);

/* Raises an error if a model's owner (whose rights its filter runs with) is gone. */
extern void privileges_check_owner_exists(const char *model, Oid owner);

/* The role a model's filter runs as: its owner, who must still exist. */
extern Oid	privileges_filter_owner(const char *model);

/*
 * Raises an error unless the current user may read what a model was
 * trained on: USAGE on its source's schema, SELECT on its source (or on
 * its target and every feature column), and no row-level security on it
 * for the user.  Prediction and evaluate check this, so that probing a
 * model reveals nothing its user could not compute from the rows
 * themselves.
 */
extern void privileges_check_use(const StoredModel *m);

#endif							/* UNLEARN_PRIVILEGES_H */
