/*-------------------------------------------------------------------------
 *
 * triggers.c
 *	  The erasure triggers on source tables: their DDL (created with a
 *	  table's first model, dropped with its last) and their entry points,
 *	  which hand a statement's changed rows to every model they trained.
 *
 * One set of triggers per source table, shared by its models, ENABLE
 * ALWAYS so they fire under logical replication apply too.  A multi-row
 * statement costs one update per model: its rows arrive in the
 * transition table.
 *
 * Models of a table are updated in model_id order, each locked FOR UPDATE
 * first: concurrent erasures on one model serialize (the second sees the
 * first's result under READ COMMITTED, or fails to serialize under
 * REPEATABLE READ), and erasures touching several models take their locks
 * in the same order, so they do not deadlock each other.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_trigger.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "replication/worker_internal.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"

#include "audit.h"
#include "erase.h"
#include "scratch.h"
#include "spi_cache.h"
#include "source_models.h"

#define DELETE_TRIGGER		"unlearn_erase_delete"
#define UPDATE_TRIGGER		"unlearn_erase_update"
#define TRUNCATE_TRIGGER	"unlearn_erase_truncate"
#define APPLY_DELETE_TRIGGER "unlearn_apply_delete"
#define APPLY_UPDATE_TRIGGER "unlearn_apply_update"

/*
 * Logical replication: the apply worker applies changes row by row and
 * fires only row-level triggers for them (statement-level ones only for
 * TRUNCATE).  So each table also gets row-level triggers, enabled for
 * REPLICA only (ordinary sessions never fire them), that act in an apply
 * worker alone; there the statement-level ones stand down.
 */
#define IN_APPLY_WORKER() (MyLogicalRepWorker != NULL)

/* Runs a utility statement through SPI. */
static void
run_sql(const char *sql)
{
	SPI_connect();
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "could not run: %s", sql);
	SPI_finish();
}

/*
 * The erasure triggers of a source table.  They are recognised by name,
 * function and event together: a trigger of the table's owner that holds
 * one of the names is not taken for unlearn's (it would leave erasure
 * off), and is never dropped with the last model.
 */
typedef struct ErasureTrigger
{
	const char *name;
	const char *function;		/* in schema unlearn, no arguments */
	int16		type;			/* pg_trigger.tgtype: AFTER, level, event */
	char		enabled;		/* pg_trigger.tgenabled */
	const char *definition;		/* CREATE TRIGGER's text after "ON %s" */
} ErasureTrigger;

static const ErasureTrigger erasure_triggers[] = {
	{DELETE_TRIGGER, "_erase_on_delete", TRIGGER_TYPE_DELETE, TRIGGER_FIRES_ALWAYS,
	"REFERENCING OLD TABLE AS unlearn_old_rows FOR EACH STATEMENT"},
	{UPDATE_TRIGGER, "_erase_on_update", TRIGGER_TYPE_UPDATE, TRIGGER_FIRES_ALWAYS,
	"REFERENCING OLD TABLE AS unlearn_old_rows NEW TABLE AS unlearn_new_rows FOR EACH STATEMENT"},
	{APPLY_DELETE_TRIGGER, "_erase_on_apply", TRIGGER_TYPE_ROW | TRIGGER_TYPE_DELETE,
	TRIGGER_FIRES_ON_REPLICA, "FOR EACH ROW"},
	{APPLY_UPDATE_TRIGGER, "_erase_on_apply", TRIGGER_TYPE_ROW | TRIGGER_TYPE_UPDATE,
	TRIGGER_FIRES_ON_REPLICA, "FOR EACH ROW"},
	{TRUNCATE_TRIGGER, "_erase_on_truncate", TRIGGER_TYPE_TRUNCATE, TRIGGER_FIRES_ALWAYS,
	"FOR EACH STATEMENT"},
};

#define NUM_ERASURE_TRIGGERS lengthof(erasure_triggers)

/* The OID of unlearn's trigger function of an erasure trigger. */
static Oid
trigger_function(const ErasureTrigger *et)
{
	return LookupFuncName(list_make2(makeString("unlearn"), makeString((char *) et->function)),
						  0, NULL, false);
}

/*
 * The trigger of rel that holds et's name, or NULL; *ours says whether it
 * is unlearn's: et's function, fired AFTER at et's level on et's event.
 */
static Trigger *
has_trigger(Relation rel, const ErasureTrigger *et, bool *ours)
{
	TriggerDesc *td = rel->trigdesc;
	int			i;

	for (i = 0; td && i < td->numtriggers; i++)
	{
		Trigger    *tg = &td->triggers[i];

		if (strcmp(tg->tgname, et->name) == 0)
		{
			*ours = tg->tgfoid == trigger_function(et) && tg->tgtype == et->type;
			return tg;
		}
	}
	*ours = false;
	return NULL;
}

/* The ALTER TABLE ... ENABLE clause for a firing mode. */
static const char *
enable_clause(char enabled)
{
	return enabled == TRIGGER_FIRES_ON_REPLICA ? "ENABLE REPLICA" : "ENABLE ALWAYS";
}

/*
 * Creates the erasure triggers on a source table unless it has them, and
 * re-enables any that were disabled.  Another trigger holding one of
 * their names is an error.
 */
void
erase_ensure_triggers(Oid relid)
{
	Relation	rel = table_open(relid, NoLock);
	char	   *qualified = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													   RelationGetRelationName(rel));
	bool		present[NUM_ERASURE_TRIGGERS];
	bool		enabled[NUM_ERASURE_TRIGGERS];
	int			i;

	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
	{
		const ErasureTrigger *et = &erasure_triggers[i];
		bool		ours;
		Trigger    *tg = has_trigger(rel, et, &ours);

		if (tg != NULL && !ours)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("trigger \"%s\" of relation \"%s\" is not unlearn's erasure trigger",
							et->name, RelationGetRelationName(rel)),
					 errdetail("Models of the table need that name for the trigger that erases rows from them."),
					 errhint("Drop or rename that trigger.")));
		present[i] = tg != NULL;
		enabled[i] = tg != NULL && tg->tgenabled == et->enabled;
	}
	table_close(rel, NoLock);
	source_models_changed(relid);
	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
	{
		const ErasureTrigger *et = &erasure_triggers[i];

		if (!present[i])
			run_sql(psprintf("CREATE TRIGGER %s AFTER %s ON %s %s EXECUTE FUNCTION unlearn.%s()",
							 et->name,
							 TRIGGER_FOR_DELETE(et->type) ? "DELETE" :
							 TRIGGER_FOR_UPDATE(et->type) ? "UPDATE" : "TRUNCATE",
							 qualified, et->definition, et->function));
		if (!enabled[i])
			run_sql(psprintf("ALTER TABLE %s %s TRIGGER %s",
							 qualified, enable_clause(et->enabled), et->name));
	}
}

/*
 * Drops the erasure triggers of a source table that has no model left;
 * only unlearn's: a trigger of the same name but not unlearn's stays.
 */
void
erase_drop_triggers_if_unused(Oid relid)
{
	Oid			types[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	bool		used;
	bool		drop[NUM_ERASURE_TRIGGERS];
	char	   *qualified;
	Relation	rel;
	int			i;

	if (get_rel_name(relid) == NULL)
		return;					/* the table itself is gone */
	source_models_changed(relid);
	SPI_connect();
	if (spi_execute_cached("SELECT 1 FROM unlearn.model WHERE source = $1 LIMIT 1",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the models of relation %u", relid);
	used = SPI_processed > 0;
	SPI_finish();
	if (used)
		return;
	/* DROP TRIGGER's lock, taken first rather than upgraded to. */
	rel = table_open(relid, AccessExclusiveLock);
	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
	{
		bool		ours;

		drop[i] = has_trigger(rel, &erasure_triggers[i], &ours) != NULL && ours;
	}
	qualified = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										   RelationGetRelationName(rel));
	table_close(rel, NoLock);
	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
		if (drop[i])
			run_sql(psprintf("DROP TRIGGER %s ON %s", erasure_triggers[i].name, qualified));
}

/*
 * Applies a statement's changed rows to every model of the table, in
 * model_id order, in a memory context of their own: erasure of the rows
 * in olds, or, with news (the same rows after an UPDATE), rectification.
 */
static void
change_models(Relation rel, Tuplestorestate *olds, Tuplestorestate *news)
{
	MemoryContext cxt;
	MemoryContext old;
	List	   *names;
	ListCell   *lc;

	if (tuplestore_tuple_count(olds) == 0)
		return;					/* the statement changed no row */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "unlearn erasure",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	names = news ? source_models_touched(RelationGetRelid(rel), RelationGetDescr(rel), olds, news)
		: source_models(RelationGetRelid(rel));

	foreach(lc, names)
	{
		Size		mark = scratch_mark();

		if (news)
			rectify_model(lfirst(lc), rel, olds, news);
		else
			erase_from_model(lfirst(lc), rel, olds);
		scratch_release(mark);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

PG_FUNCTION_INFO_V1(unlearn_erase_on_delete);

/* AFTER DELETE FOR EACH STATEMENT: erase the deleted rows from every model. */
Datum
unlearn_erase_on_delete(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_DELETE(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event) || !TRIGGER_FIRED_AFTER(trig->tg_event) ||
		trig->tg_oldtable == NULL)
		elog(ERROR, "unlearn._erase_on_delete must fire AFTER DELETE FOR EACH STATEMENT with an OLD TABLE");
	if (IN_APPLY_WORKER())
		return PointerGetDatum(NULL);	/* the row-level apply trigger does it */

	change_models(trig->tg_relation, trig->tg_oldtable, NULL);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(unlearn_erase_on_update);

/*
 * AFTER UPDATE FOR EACH STATEMENT: rectification.  Every model of the
 * table takes its changed training rows' old values out and their new
 * values in; an UPDATE of columns no model reads changes nothing.
 */
Datum
unlearn_erase_on_update(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_UPDATE(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event) || !TRIGGER_FIRED_AFTER(trig->tg_event) ||
		trig->tg_oldtable == NULL || trig->tg_newtable == NULL)
		elog(ERROR, "unlearn._erase_on_update must fire AFTER UPDATE FOR EACH STATEMENT with OLD and NEW TABLEs");
	if (IN_APPLY_WORKER())
		return PointerGetDatum(NULL);	/* the row-level apply trigger does it */
	change_models(trig->tg_relation, trig->tg_oldtable, trig->tg_newtable);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(unlearn_erase_on_apply);

/*
 * AFTER DELETE/UPDATE FOR EACH ROW, enabled for REPLICA: in a logical
 * replication apply worker, erases (or rectifies) the one row the worker
 * just applied, through the same path as the statement triggers.
 * Anywhere else it does nothing (the statement triggers do the work).
 */
Datum
unlearn_erase_on_apply(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	Tuplestorestate *olds;
	Tuplestorestate *news = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trig->tg_event) ||
		!TRIGGER_FIRED_AFTER(trig->tg_event) ||
		!(TRIGGER_FIRED_BY_DELETE(trig->tg_event) || TRIGGER_FIRED_BY_UPDATE(trig->tg_event)))
		elog(ERROR, "unlearn._erase_on_apply must fire AFTER DELETE or UPDATE FOR EACH ROW");
	if (!IN_APPLY_WORKER())
		return PointerGetDatum(NULL);

	olds = tuplestore_begin_heap(false, false, work_mem);
	tuplestore_puttuple(olds, trig->tg_trigtuple);
	if (TRIGGER_FIRED_BY_UPDATE(trig->tg_event))
	{
		news = tuplestore_begin_heap(false, false, work_mem);
		tuplestore_puttuple(news, trig->tg_newtuple);
	}
	change_models(trig->tg_relation, olds, news);
	tuplestore_end(olds);
	if (news)
		tuplestore_end(news);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(unlearn_erase_on_truncate);

/*
 * AFTER TRUNCATE: every model of the table lost its training data.  Its
 * lineage goes (the rows are gone) and it must be retrained to predict.
 */
Datum
unlearn_erase_on_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	Oid			relid;
	ListCell   *lc;
	List	   *names;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_TRUNCATE(trig->tg_event))
		elog(ERROR, "unlearn._erase_on_truncate must fire AFTER TRUNCATE");
	relid = RelationGetRelid(trig->tg_relation);
	names = source_models(relid);
	foreach(lc, names)
	{
		ErasureModel em;
		StoredModel *m;
		int64		rows_now;
		int64		version;

		if (!erasure_state_lock(lfirst(lc), &em))
			continue;			/* dropped meanwhile */
		m = em.m;
		rows_now = em.rows_now;
		lineage_delete(m->model_id);
		version = catalog_set_state(m->model_id, rows_now, "needs_retrain");
		audit_log_change("truncate", m, relid, version, rows_now, "needs_retrain", NULL, 0,
						 get_float8_nan(), get_float8_nan(), NULL, NULL, 0);
	}
	return PointerGetDatum(NULL);
}
