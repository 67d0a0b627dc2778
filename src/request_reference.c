/*-------------------------------------------------------------------------
 *
 * request_reference.c
 *	  The setting unlearn.request_reference, recorded with every erasure log
 *	  entry, and what becomes of a value the session set before the
 *	  library was loaded.
 *
 * A session can SET unlearn.* settings before anything has loaded the
 * library; the first erasure of a session often loads it, from its
 * trigger.  PostgreSQL keeps such a value in a placeholder and, when the
 * library defines the setting, applies it again through the setting's
 * check; a value the check refuses (a reference over 256 bytes) raises
 * only a WARNING and the setting stays empty.  A misspelt unlearn.*
 * setting stays a placeholder until the library reserves the prefix,
 * which removes it with a WARNING.  Either way the log would record the
 * change without the reference the session meant to give it.  So the
 * library notes such a loss when it is loaded, and while the loss stands
 * the log writer's request for the reference fails (22023): the change
 * fails with it, rather than being logged without its reference.
 *
 * The loss stands until the session sets or resets
 * unlearn.request_reference (SET, SET LOCAL, RESET, set_config, RESET
 * ALL).  When every value the session had given the lost setting was a
 * SET LOCAL (or a function's SET clause) of the transaction in which the
 * library was loaded, it also ends with that transaction, as the value
 * would have.  Only values the session gave count: SET and set_config,
 * connection options, ALTER ROLE / ALTER DATABASE ... SET; a misspelt
 * setting of the server's configuration file or command line is the
 * server's, reported in its log by PostgreSQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"

#include "request_reference.h"

#define REQUEST_REFERENCE_NAME	"unlearn.request_reference"
#define REQUEST_REFERENCE_MAX	256

/* The setting ('' = none). */
static char *request_reference = NULL;

/* Why the reference cannot be recorded as the session gave it; NULL: it can. */
static char *lost_detail = NULL;

/* Whether the loss ends with the current transaction. */
static bool lost_local = false;

/* True while the setting is defined: PostgreSQL applies earlier values again. */
static bool defining = false;

/* Whether the values the session gave the setting's placeholder end with the transaction. */
static bool placeholder_local = false;

/* Notes a loss: why, and whether it ends with the current transaction. */
static void
note_lost(const char *detail, bool local)
{
	if (lost_detail == NULL)
	{
		lost_detail = MemoryContextStrdup(TopMemoryContext, detail);
		lost_local = local;
	}
	else
		lost_local = lost_local && local;
}

/* Forgets a loss. */
static void
forget_lost(void)
{
	if (lost_detail != NULL)
		pfree(lost_detail);
	lost_detail = NULL;
	lost_local = false;
}

/*
 * Whether a value from source is the session's: SET, set_config, a
 * function's SET clause, connection options, ALTER ROLE / DATABASE ... SET;
 * not the server's defaults, environment, configuration file or command
 * line.
 */
static bool
sessions_source(GucSource source)
{
	return source >= PGC_S_GLOBAL;
}

/*
 * Whether a placeholder holds a value the session gave it; *local tells
 * whether every such value ends with the current transaction (SET LOCAL,
 * a function's SET clause).
 */
static bool
holds_session_value(const struct config_generic *gen, bool *local)
{
	const GucStack *st;
	const GucStack *bottom = NULL;
	bool		lasting = sessions_source(gen->reset_source);

	for (st = gen->stack; st != NULL; st = st->prev)
	{
		/* a plain SET of this transaction outlives it when it commits */
		if (st->state == GUC_SET || st->state == GUC_SET_LOCAL)
			lasting = true;
		bottom = st;
	}
	/* the value from before the transaction */
	if (sessions_source(bottom != NULL ? bottom->source : gen->source))
		lasting = true;
	*local = !lasting;
	return lasting || gen->stack != NULL;
}

/*
 * Notes every misspelt unlearn.* setting the session set, and whether the
 * values given to unlearn.request_reference end with the transaction.  The
 * library's other settings are defined by now: what is left under the
 * prefix is not a setting of unlearn.
 */
static void
scan_placeholders(void)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();
	int			i;

	for (i = 0; i < n; i++)
	{
		struct config_generic *gen = vars[i];
		bool		local;

		if ((gen->flags & GUC_CUSTOM_PLACEHOLDER) == 0 ||
			pg_strncasecmp(gen->name, "unlearn.", strlen("unlearn.")) != 0 ||
			!holds_session_value(gen, &local))
			continue;
		if (pg_strcasecmp(gen->name, REQUEST_REFERENCE_NAME) == 0)
			placeholder_local = local;
		else
			note_lost(psprintf(_("The session set \"%s\" before the library of unlearn was loaded, and unlearn has no such setting."),
							   gen->name),
					  local);
	}
}

/*
 * Refuses request references longer than REQUEST_REFERENCE_MAX bytes.  A
 * value the session set before the library was loaded, applied again as
 * the setting is defined, is only warned about by PostgreSQL: its loss is
 * noted.
 */
static bool
check_request_reference(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || strlen(*newval) <= REQUEST_REFERENCE_MAX)
		return true;
	GUC_check_errdetail("A request reference is at most %d bytes long.",
						REQUEST_REFERENCE_MAX);
	if (defining && sessions_source(source))
		note_lost(psprintf(_("The value the session set for \"%s\" before the library of unlearn was loaded was rejected: a request reference is at most %d bytes long."),
						   REQUEST_REFERENCE_NAME, REQUEST_REFERENCE_MAX),
				  placeholder_local);
	return false;
}

/*
 * The session set or reset the reference: an earlier loss is superseded.
 * Not so for the values PostgreSQL applies again while the setting is
 * defined, nor for those it restores as a (sub)transaction ends (outside
 * the transaction's in-progress state).
 */
static void
assign_request_reference(const char *newval, void *extra)
{
	if (!defining && IsTransactionState())
		forget_lost();
}

/* At the end of a transaction, a loss that ends with it is forgotten. */
static void
request_reference_xact(XactEvent event, void *arg)
{
	if (lost_local &&
		(event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		 event == XACT_EVENT_PREPARE))
		forget_lost();
}

/* Defines unlearn.request_reference, noting what the session set and lost. */
void
request_reference_define(void)
{
	scan_placeholders();
	defining = true;
	PG_TRY();
	{
		DefineCustomStringVariable(REQUEST_REFERENCE_NAME,
								   "Reference of the request a change serves (e.g. a ticket id), recorded in the erasure log.",
								   "Set it (SET LOCAL) before the DELETE that serves an erasure request; empty records none. Never put personal data in it.",
								   &request_reference,
								   "",
								   PGC_USERSET, 0,
								   check_request_reference, assign_request_reference, NULL);
	}
	PG_FINALLY();
	{
		defining = false;
	}
	PG_END_TRY();
	RegisterXactCallback(request_reference_xact, NULL);
}

/* The reference to record with a log entry (NULL for none); 22023 while one is lost. */
const char *
request_reference_get(void)
{
	if (lost_detail != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the request reference of this change cannot be recorded as given"),
				 errdetail_internal("%s", lost_detail),
				 errhint("Set unlearn.request_reference again (SET LOCAL in the transaction that makes the change), or RESET it to record none. With session_preload_libraries = 'unlearn' such a setting fails when it is made.")));
	return request_reference != NULL && request_reference[0] != '\0' ? request_reference : NULL;
}
