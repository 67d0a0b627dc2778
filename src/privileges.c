/*-------------------------------------------------------------------------
 *
 * privileges.c
 *	  Who may do what with a model.
 *
 * The extension's tables are closed to everyone but their owner (the
 * extension's owner).  A role granted a capability (unlearn.grant_train,
 * grant_predict, grant_read, grant_audit, in the install script) may
 * EXECUTE the functions of that capability, and those functions read and
 * write the tables on its behalf: the C code switches to the extension's
 * owner around the catalog work, as PostgreSQL's RI triggers switch to a
 * table's owner, in a security-restricted operation with search_path
 * pinned, and checks the caller's own rights before it does so.
 *
 * A model belongs to the role that created it.  Its stored "where"
 * filter runs with that role's rights, never with those of whoever
 * retrains or evaluates the model (as PostgreSQL runs an index expression
 * or a materialized view's query as the table's owner), so a filter
 * cannot borrow a superuser's rights; and with search_path pinned, so a
 * caller's operator or function cannot slip into it and borrow the
 * owner's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "privileges.h"
#include "unlearn.h"

/* The search_path code stored by one role runs under when another calls it. */
#define PINNED_SEARCH_PATH	"pg_catalog, pg_temp"

/* The owner of the extension: the role its functions and tables belong to. */
static Oid
extension_owner(void)
{
	Oid			extension = get_extension_oid("unlearn", false);
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			owner;

	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extension));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "extension unlearn has no catalog entry");
	owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return owner;
}

/* Pins search_path to pg_catalog, pg_temp; returns the GUC nest level to undo. */
static int
pin_search_path(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path", PINNED_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	return nestlevel;
}

/* Becomes the extension's owner for catalog work, search_path pinned. */
void
privileges_enter_catalog(PrivilegeSwitch *s)
{
	Oid			owner = extension_owner();

	GetUserIdAndSecContext(&s->saved_userid, &s->saved_sec_context);
	s->guc_nestlevel = pin_search_path();
	SetUserIdAndSecContext(owner, s->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

/*
 * Becomes role, in a security-restricted operation with search_path
 * pinned: code that role stored must not resolve a name in a schema the
 * caller chose (a caller's operator or function would run with role's
 * rights).  A caller that runs such code row by row pins the path once
 * around the loop (privileges_pin_search_path); then this only switches
 * the user.
 */
void
privileges_enter_role(PrivilegeSwitch *s, Oid role)
{
	GetUserIdAndSecContext(&s->saved_userid, &s->saved_sec_context);
	s->guc_nestlevel = strcmp(namespace_search_path, PINNED_SEARCH_PATH) == 0 ?
		0 : pin_search_path();
	SetUserIdAndSecContext(role, s->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

/* Pins search_path to pg_catalog, pg_temp, user unchanged, until privileges_leave. */
void
privileges_pin_search_path(PrivilegeSwitch *s)
{
	GetUserIdAndSecContext(&s->saved_userid, &s->saved_sec_context);
	s->guc_nestlevel = pin_search_path();
}

/* Returns to the user, security context and settings saved. */
void
privileges_leave(PrivilegeSwitch *s)
{
	SetUserIdAndSecContext(s->saved_userid, s->saved_sec_context);
	if (s->guc_nestlevel > 0)
		AtEOXact_GUC(true, s->guc_nestlevel);
}

/*
 * The owner of a model, read as the extension's owner (with its row
 * locked FOR UPDATE when lock is true; with a new snapshot when fresh);
 * a missing model is an error.
 */
static Oid
model_owner(const char *model, bool lock, bool fresh)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model)};
	PrivilegeSwitch s;
	bool		isnull;
	Oid			owner = InvalidOid;
	bool		found;

	privileges_enter_catalog(&s);
	SPI_connect();
	if (SPI_execute_with_args(lock ?
							  "SELECT owner FROM unlearn.model WHERE name = $1 FOR UPDATE" :
							  "SELECT owner FROM unlearn.model WHERE name = $1",
							  1, types, values, NULL, !lock && !fresh, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the owner of model \"%s\"", model);
	found = SPI_processed == 1;
	if (found)
		owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	privileges_leave(&s);
	if (!found)
		catalog_missing_model(model);
	return owner;
}

/* Locks a model's row and checks the caller may act as its owner. */
Oid
privileges_check_owner(const char *model)
{
	/* No row lock: callers lock the source, the log and the model, in that order. */
	Oid			owner = model_owner(model, false, true);

	if (!has_privs_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of model \"%s\"", model)));
	return owner;
}

/* Raises an error if a model's owner (whose rights its filter runs with) is gone. */
void
privileges_check_owner_exists(const char *model, Oid owner)
{
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(owner)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("owner of model \"%s\" no longer exists", model),
				 errdetail("Its filter runs with its owner's rights."),
				 errhint("Give it a new owner with unlearn.alter_model_owner.")));
}

/* The role a model's filter runs as: its owner, who must still exist. */
Oid
privileges_filter_owner(const char *model)
{
	Oid			owner = model_owner(model, false, false);

	privileges_check_owner_exists(model, owner);
	return owner;
}

/* Whether the user may read a column of rel (or the whole of rel). */
static bool
may_read_column(Oid relid, const char *column, Oid user)
{
	AttrNumber	attnum = get_attnum(relid, column);

	return attnum != InvalidAttrNumber &&
		pg_attribute_aclcheck(relid, attnum, user, ACL_SELECT) == ACLCHECK_OK;
}

/*
 * Raises an error unless the current user may read what m was trained on:
 * USAGE on the source's schema, SELECT on the source (or its target and
 * feature columns), and no row-level security hiding rows of it.
 */
void
privileges_check_use(const StoredModel *m)
{
	Oid			user = GetUserId();
	const char *relname = get_rel_name(m->source);
	Oid			namespace;
	AclResult	aclresult;
	Datum	   *names;
	int			n,
				i;

	if (superuser())
		return;
	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for model \"%s\"", m->name),
				 errdetail("Its source table no longer exists; only a superuser may use it.")));
	namespace = get_rel_namespace(m->source);
	aclresult = pg_namespace_aclcheck(namespace, user, ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_SCHEMA, get_namespace_name(namespace));
	if (pg_class_aclcheck(m->source, user, ACL_SELECT) != ACLCHECK_OK)
	{
		deconstruct_array(m->feature_columns, TEXTOID, -1, false, TYPALIGN_INT,
						  &names, NULL, &n);
		for (i = -1; i < n; i++)
		{
			if (!may_read_column(m->source,
								 i < 0 ? m->target_column : TextDatumGetCString(names[i]),
								 user))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied for model \"%s\"", m->name),
						 errdetail("Using a model needs SELECT on its source table \"%s\", or on its target and feature columns.",
								   relname)));
		}
	}
	if (check_enable_rls(m->source, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot use model \"%s\", whose source \"%s\" has row-level security for this user",
						m->name, relname),
				 errdetail("The model learnt from rows the user cannot see.")));
}

PG_FUNCTION_INFO_V1(unlearn_alter_model_owner);

/*
 * alter_model_owner(model, new_owner): as ALTER ... OWNER TO, the caller
 * must be able to act as both the current and the new owner (superusers
 * can).
 */
Datum
unlearn_alter_model_owner(PG_FUNCTION_ARGS)
{
	char	   *model;
	Oid			new_owner;
	Oid			types[2] = {TEXTOID, REGROLEOID};
	Datum		values[2];
	PrivilegeSwitch s;

	unlearn_require_argument(fcinfo, 0, "model name");
	unlearn_require_argument(fcinfo, 1, "new owner");
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	new_owner = PG_GETARG_OID(1);
	values[0] = PG_GETARG_DATUM(0);
	values[1] = ObjectIdGetDatum(new_owner);
	if (!OidIsValid(new_owner))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the owner of a model must be a role, not PUBLIC")));
	/* A regrole given as a number is any OID: no role need have it. */
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(new_owner)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", new_owner)));
	(void) privileges_check_owner(model);
	if (!has_privs_of_role(GetUserId(), new_owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be able to act as role \"%s\"",
						GetUserNameFromId(new_owner, false))));
	privileges_enter_catalog(&s);
	SPI_connect();
	if (SPI_execute_with_args("UPDATE unlearn.model SET owner = $2 WHERE name = $1",
							  2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not change the owner of model \"%s\"", model);
	SPI_finish();
	privileges_leave(&s);
	PG_RETURN_VOID();
}
