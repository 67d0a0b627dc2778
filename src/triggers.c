/*-------------------------------------------------------------------------
 *
 * triggers.c
 *	  The erasure triggers: which tables carry them (reconciled from the
 *	  models and the tables' hierarchies), and their entry points, which
 *	  hand a statement's changed rows to every model they trained.
 *
 * Every table whose DELETE, UPDATE or TRUNCATE can take rows from a
 * model's source carries statement-level triggers (see hierarchy.c): the
 * source, a partition's partitioned ancestors, a partitioned source's
 * partitions, an inheritance table's ancestors.  They fire ALWAYS (also
 * under session_replication_role = replica), and a multi-row statement
 * costs one update per model: its rows arrive in the transition table of
 * the table the statement named, and each model takes its own (all of
 * them, or those its partition constraint admits).  A source with
 * inheritance relatives collects its rows with row-level triggers
 * instead (collected.c), which the statement triggers hand over.  A
 * logical replication apply worker fires only row-level triggers: every
 * table that stores a model's rows has row-level ones for it, enabled for
 * REPLICA only.  TRUNCATE fires a BEFORE trigger on every table it
 * empties, which still sees the rows.
 *
 * Models are updated in model_id order, each locked FOR UPDATE first:
 * concurrent erasures on one model serialize (the second sees the first's
 * result under READ COMMITTED, or fails to serialize under REPEATABLE
 * READ), and erasures touching several models take their locks in the
 * same order, so they do not deadlock each other.  The locks are taken
 * before the statement takes any row, by BEFORE STATEMENT triggers (for
 * an UPDATE, of the models reading a column it sets): a statement
 * waiting for a model's writer holds no row that writer may want next.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "replication/worker_internal.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "audit.h"
#include "collected.h"
#include "distributed.h"
#include "erase.h"
#include "hierarchy.h"
#include "lineage.h"
#include "scratch.h"
#include "source_models.h"
#include "source_scan.h"
#include "spi_cache.h"
#include "unlearn.h"

/*
 * Logical replication: the apply worker applies changes row by row and
 * fires only row-level triggers for them (statement-level ones only for
 * TRUNCATE); there the statement-level ones and the collectors stand down.
 */
#define IN_APPLY_WORKER() (MyLogicalRepWorker != NULL)

/* Which tables a trigger belongs on. */
typedef enum TriggerRole
{
	ON_LINE,					/* every table of a source's line */
	ON_STORAGE,					/* tables that store a model's rows */
	ON_COLLECTING				/* sources with inheritance relatives */
} TriggerRole;

/*
 * An erasure trigger.  It is recognised by name, function and kind
 * together: a trigger of the table's owner that holds one of the names is
 * not taken for unlearn's (it would leave erasure off), and is never
 * dropped by unlearn.
 */
typedef struct ErasureTrigger
{
	const char *name;
	const char *function;		/* in schema unlearn, no arguments */
	int16		type;			/* pg_trigger.tgtype: timing, level, event */
	char		enabled;		/* pg_trigger.tgenabled */
	TriggerRole role;
	const char *transition;		/* REFERENCING clause where rows are needed */
} ErasureTrigger;

static const ErasureTrigger erasure_triggers[] = {
	{"unlearn_lock_delete", "_erase_lock_models", TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_DELETE,
	TRIGGER_FIRES_ALWAYS, ON_LINE, NULL},
	{"unlearn_lock_update", "_erase_lock_models", TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_UPDATE,
	TRIGGER_FIRES_ALWAYS, ON_LINE, NULL},
	{"unlearn_erase_delete", "_erase_on_delete", TRIGGER_TYPE_DELETE, TRIGGER_FIRES_ALWAYS,
	ON_LINE, "REFERENCING OLD TABLE AS unlearn_old_rows"},
	{"unlearn_erase_update", "_erase_on_update", TRIGGER_TYPE_UPDATE, TRIGGER_FIRES_ALWAYS,
	ON_LINE, "REFERENCING OLD TABLE AS unlearn_old_rows NEW TABLE AS unlearn_new_rows"},
	{"unlearn_erase_truncate", "_erase_on_truncate", TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_TRUNCATE,
	TRIGGER_FIRES_ALWAYS, ON_LINE, NULL},
	{"unlearn_apply_delete", "_erase_on_apply", TRIGGER_TYPE_ROW | TRIGGER_TYPE_DELETE,
	TRIGGER_FIRES_ON_REPLICA, ON_STORAGE, NULL},
	{"unlearn_apply_update", "_erase_on_apply", TRIGGER_TYPE_ROW | TRIGGER_TYPE_UPDATE,
	TRIGGER_FIRES_ON_REPLICA, ON_STORAGE, NULL},
	{"unlearn_collect_delete", "_erase_collect", TRIGGER_TYPE_ROW | TRIGGER_TYPE_DELETE,
	TRIGGER_FIRES_ALWAYS, ON_COLLECTING, NULL},
	{"unlearn_collect_update", "_erase_collect", TRIGGER_TYPE_ROW | TRIGGER_TYPE_UPDATE,
	TRIGGER_FIRES_ALWAYS, ON_COLLECTING, NULL},
};

#define NUM_ERASURE_TRIGGERS lengthof(erasure_triggers)

/*
 * Refuses to fire as a copy of one of unlearn's erasure triggers under
 * another name: Citus gives each shard of a distributed table copies of
 * its triggers, named after the shard (with citus.enable_unsafe_triggers),
 * and they fire on the shard's node, where the table's models are not:
 * the change would leave its rows in them without a word.
 */
static void
refuse_copied_trigger(TriggerData *trig)
{
	const char *name = trig->tg_trigger->tgname;
	int			i;

	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
		if (strcmp(name, erasure_triggers[i].name) == 0)
			return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("trigger \"%s\" on \"%s\" is a copy of an erasure trigger of unlearn",
					name, RelationGetRelationName(trig->tg_relation)),
			 errdetail("The rows it sees change may have trained models this node does not hold (Citus gives each shard of a distributed table such copies, which fire on the shard's node): erasing nothing would leave the rows in those models."),
			 errhint("Distributed sources are not supported yet: drop the table's models (unlearn.drop_model) before distributing it, and retrain them on a local table.")));
}

/* Set while unlearn's own trigger DDL runs (the DDL guard lets it pass). */
bool		erase_reconciling = false;

/* Runs a utility statement through SPI. */
static void
run_sql(const char *sql)
{
	SPI_connect();
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "could not run: %s", sql);
	SPI_finish();
}

/* The OID of unlearn's trigger function of an erasure trigger. */
static Oid
trigger_function(const ErasureTrigger *et)
{
	return LookupFuncName(list_make2(makeString("unlearn"), makeString((char *) et->function)),
						  0, NULL, false);
}

/*
 * The trigger of rel that holds et's name, or NULL; *ours says whether it
 * is unlearn's: et's function, fired at et's timing and level on et's
 * event.
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

/* Whether a relation carries unlearn's row collectors (see collected.c). */
bool
erase_has_collectors(Relation rel)
{
	int			i;

	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
	{
		bool		ours;

		if (erasure_triggers[i].role == ON_COLLECTING &&
			(has_trigger(rel, &erasure_triggers[i], &ours) == NULL || !ours))
			return false;
	}
	return true;
}

/* Whether the trigger of rel called name is one of unlearn's erasure triggers. */
bool
erase_is_erasure_trigger(Relation rel, const char *name)
{
	int			i;

	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
	{
		bool		ours;

		if (strcmp(erasure_triggers[i].name, name) == 0 &&
			has_trigger(rel, &erasure_triggers[i], &ours) != NULL && ours)
			return true;
	}
	return false;
}

/* The firing mode (pg_trigger.tgenabled) an erasure trigger of that name must have. */
char
erase_trigger_mode(const char *name)
{
	int			i;

	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
		if (strcmp(erasure_triggers[i].name, name) == 0)
			return erasure_triggers[i].enabled;
	return TRIGGER_DISABLED;
}

/* The ALTER TABLE ... ENABLE clause for a firing mode. */
static const char *
enable_clause(char enabled)
{
	return enabled == TRIGGER_FIRES_ON_REPLICA ? "ENABLE REPLICA" : "ENABLE ALWAYS";
}

/* The sources (distinct OIDs) among relids that have a model. */
static List *
sources_among(List *relids)
{
	Oid			types[1] = {REGCLASSARRAYOID};
	Datum		values[1];
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(relids), 1));
	MemoryContext cxt = CurrentMemoryContext;
	List	   *found = NIL;
	ListCell   *lc;
	int			n = 0;
	uint64		i;

	foreach(lc, relids)
		elems[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	values[0] = PointerGetDatum(construct_array(elems, n, REGCLASSOID, sizeof(Oid), true,
												TYPALIGN_INT));
	SPI_connect();
	if (spi_execute_cached("SELECT DISTINCT source FROM unlearn.model WHERE source = ANY ($1)",
						   1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the sources of models");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(cxt);

		found = lappend_oid(found, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																  SPI_tuptable->tupdesc, 1,
																  &isnull)));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return found;
}

/* Which erasure triggers a table needs, and whether with transition tables. */
typedef struct Needs
{
	bool		line;			/* statement triggers */
	bool		transition;		/* ... with transition tables */
	bool		storage;		/* apply triggers */
	bool		collecting;		/* row collectors */
} Needs;

/*
 * What a table needs, from the models of the tables related to it: it is
 * on a source's line if a model's source is itself, one of its partitioned
 * ancestors, an inheritance ancestor's... (see hierarchy_line).  A model
 * whose source collects its rows needs no transition table from anyone.
 */
static Needs
needs_of(Oid relid)
{
	Needs		n = {0};
	List	   *ancestors = hierarchy_partition_ancestors(relid);
	List	   *below = hierarchy_descendants(relid);
	List	   *candidates = list_concat(list_make1_oid(relid), list_copy(ancestors));
	List	   *sources;
	ListCell   *lc;

	candidates = list_concat(candidates, list_copy(below));
	sources = sources_among(candidates);
	foreach(lc, sources)
	{
		Oid			source = lfirst_oid(lc);
		bool		collects = hierarchy_in_inheritance(source);
		bool		mine = source == relid || list_member_oid(ancestors, source);

		n.line = true;
		if (!collects)
			n.transition = true;
		if (mine && get_rel_relkind(relid) == RELKIND_RELATION)
			n.storage = true;
		if (source == relid && collects)
			n.collecting = true;
	}
	return n;
}

/* Whether a trigger of a table must be there, given what it needs. */
static bool
wanted(const ErasureTrigger *et, Needs n)
{
	switch (et->role)
	{
		case ON_LINE:
			return n.line;
		case ON_STORAGE:
			return n.storage;
		case ON_COLLECTING:
			return n.collecting;
	}
	return false;
}

/* Creates one erasure trigger on a table (qualified: its quoted name). */
static void
create_trigger(const ErasureTrigger *et, const char *qualified, bool transition)
{
	run_sql(psprintf("CREATE TRIGGER %s %s %s ON %s %s FOR EACH %s EXECUTE FUNCTION unlearn.%s()",
					 et->name,
					 TRIGGER_FOR_BEFORE(et->type) ? "BEFORE" : "AFTER",
					 TRIGGER_FOR_DELETE(et->type) ? "DELETE" :
					 TRIGGER_FOR_UPDATE(et->type) ? "UPDATE" : "TRUNCATE",
					 qualified, transition && et->transition ? et->transition : "",
					 TRIGGER_FOR_ROW(et->type) ? "ROW" : "STATEMENT", et->function));
	run_sql(psprintf("ALTER TABLE %s %s TRIGGER %s", qualified, enable_clause(et->enabled),
					 et->name));
}

/*
 * Brings a table's erasure triggers to what its models need: creates the
 * missing ones, re-enables disabled ones, remakes one with the wrong kind
 * of transition tables, drops those no model needs any more.  Another
 * trigger holding one of their names is an error (42710).
 */
static void
reconcile_table(Oid relid)
{
	Relation	rel;
	Needs		n;
	char	   *qualified;
	char		action[NUM_ERASURE_TRIGGERS];	/* c(reate), r(emake), e(nable), d(rop) */
	bool		any = false;
	bool		distributed;
	volatile int unsafe = 0;
	int			i;

	if (get_rel_name(relid) == NULL)
		return;					/* the table itself is gone */
	n = needs_of(relid);
	/*
	 * A distributed source: its models of distributed lineage journal on
	 * the shards (distributed.c); erasure triggers are kept only while a
	 * model trained before the table was distributed is left (their
	 * copies on the shards refuse to fire), and never made.
	 */
	distributed = distributed_is_source(relid);
	if (distributed && !distributed_has_local_models(relid))
		memset(&n, 0, sizeof(n));
	rel = table_open(relid, AccessShareLock);
	qualified = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										   RelationGetRelationName(rel));
	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
	{
		const ErasureTrigger *et = &erasure_triggers[i];
		bool		ours;
		Trigger    *tg = has_trigger(rel, et, &ours);
		bool		want = wanted(et, n);

		action[i] = 0;
		if (tg != NULL && !ours)
		{
			if (!want)
				continue;		/* not ours, and nothing of ours is missed */
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("trigger \"%s\" of relation \"%s\" is not unlearn's erasure trigger",
							et->name, RelationGetRelationName(rel)),
					 errdetail("Models of the table need that name for the trigger that erases rows from them."),
					 errhint("Drop or rename that trigger.")));
		}
		if (want && tg == NULL)
			action[i] = 'c';
		else if (want && et->transition && (tg->tgoldtable != NULL) != n.transition)
			action[i] = 'r';
		else if (want && tg->tgenabled != et->enabled)
			action[i] = 'e';
		else if (!want && tg != NULL)
			action[i] = 'd';
		if (distributed && action[i] != 'd')
			action[i] = 0;
		any |= action[i] != 0;
	}
	table_close(rel, AccessShareLock);
	if (!any)
		return;

	/* Dropping takes DROP TRIGGER's lock: taken first rather than upgraded to. */
	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
		if (action[i] == 'd' || action[i] == 'r')
			LockRelationOid(relid, AccessExclusiveLock);
	erase_reconciling = true;
	if (distributed)
		unsafe = distributed_allow_triggers();
	PG_TRY();
	{
		for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
		{
			const ErasureTrigger *et = &erasure_triggers[i];

			if (action[i] == 'd' || action[i] == 'r')
				run_sql(psprintf("DROP TRIGGER %s ON %s", et->name, qualified));
			if (action[i] == 'c' || action[i] == 'r')
				create_trigger(et, qualified, n.transition);
			else if (action[i] == 'e')
				run_sql(psprintf("ALTER TABLE %s %s TRIGGER %s", qualified,
								 enable_clause(et->enabled), et->name));
		}
	}
	PG_FINALLY();
	{
		erase_reconciling = false;
	}
	PG_END_TRY();
	if (distributed)
		AtEOXact_GUC(true, unsafe);
}

/* Reconciles every table of a list (see reconcile_table). */
static void
reconcile_tables(List *relids)
{
	ListCell   *lc;

	source_models_changed(relids);
	foreach(lc, relids)
		reconcile_table(lfirst_oid(lc));
}

/*
 * Sets up the erasure triggers of every table a source's rows can be
 * taken through (its line), and re-enables any that were disabled.
 */
void
erase_ensure_triggers(Oid relid)
{
	reconcile_tables(hierarchy_line(relid));
}

/* Drops the erasure triggers no model needs any more on a source's line. */
void
erase_drop_triggers_if_unused(Oid relid)
{
	if (get_rel_name(relid) == NULL)
		return;
	reconcile_tables(hierarchy_line(relid));
}

/*
 * Reconciles the triggers of every table that carries one of unlearn's
 * erasure triggers or is on a model's line: after partitions or
 * inheritance changed.
 */
void
erase_reconcile_all(void)
{
	List	   *relids = NIL;
	List	   *sources;
	ListCell   *lc;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	if (SPI_execute("SELECT DISTINCT t.tgrelid FROM pg_catalog.pg_trigger t"
					" JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid"
					" WHERE p.pronamespace OPERATOR(pg_catalog.=) 'unlearn'::pg_catalog.regnamespace"
					" AND p.proname OPERATOR(pg_catalog.~) '^_erase_'"
					" UNION SELECT DISTINCT m.source FROM unlearn.model m", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the tables with erasure triggers");
	spi_append_oids(&relids, 1, cxt);
	SPI_finish();
	sources = list_copy(relids);
	foreach(lc, sources)
		if (get_rel_name(lfirst_oid(lc)) != NULL)
			relids = list_concat_unique_oid(relids, hierarchy_line(lfirst_oid(lc)));
	reconcile_tables(relids);
}

/*
 * Marks a model that a statement may have taken rows from without them
 * being distinguishable: it must be retrained (logged).
 */
static void
mark_unsafe(const ModelTarget *t, Relation rel, const char *event, const char *why)
{
	ErasureModel em;

	if (!erasure_state_lock(t->name, &em))
		return;
	if (strcmp(em.m->state, "ready") != 0)
	{
		erasure_state_release(&em);
		return;
	}
	erasure_needs_retrain(em.m, RelationGetRelid(rel), 0, 0, event, why, NULL, 0);
}

/* The rows collected for one source, handed over once per statement. */
typedef struct TakenRows
{
	Oid			source;
	Tuplestorestate *olds;
	Tuplestorestate *news;
} TakenRows;

/* The rows collected for a source (taken on first ask); NULL olds if none. */
static TakenRows *
taken_for(List **taken, Oid source, bool update)
{
	ListCell   *lc;
	TakenRows  *t;
	Relation	rel;

	foreach(lc, *taken)
	{
		t = lfirst(lc);
		if (t->source == source)
			return t;
	}
	t = palloc0(sizeof(TakenRows));
	t->source = source;
	rel = table_open(source, NoLock);
	(void) collected_take(source, update, RelationGetDescr(rel), &t->olds, &t->news);
	table_close(rel, NoLock);
	*taken = lappend(*taken, t);
	return t;
}

/*
 * Applies a statement's changed rows to every model they reach, in
 * model_id order, in a memory context of their own: rel is the table the
 * statement named (or, for a row-level trigger, the table the row is
 * stored in), olds its rows (NULL: its trigger has no transition table),
 * news the same rows after an UPDATE (update: true).
 */
static void
change_models(Relation rel, List *targets, Tuplestorestate *olds, Tuplestorestate *news,
			  bool update, const char *event)
{
	MemoryContext cxt;
	MemoryContext old;
	ListCell   *lc;
	List	   *taken = NIL;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "unlearn erasure",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	foreach(lc, targets)
	{
		ModelTarget *t = lfirst(lc);
		Size		mark = scratch_mark();
		Relation	rows_rel = rel;
		Tuplestorestate *o = olds;
		Tuplestorestate *n = news;
		PartitionRoute *route = NULL;

		if (t->rows == TARGET_COLLECTED && t->unsafe == NULL)
		{
			TakenRows  *rows = taken_for(&taken, t->source, update);

			if (rows->olds == NULL)
				continue;		/* the statement took no row of that table */
			o = rows->olds;
			n = rows->news;
			rows_rel = RelationGetRelid(rel) == t->source ? rel :
				table_open(t->source, NoLock);
			if (update && !source_target_rows_changed(t, RelationGetDescr(rows_rel), o, n))
			{
				if (rows_rel != rel)
					table_close(rows_rel, NoLock);
				continue;		/* it changed no column the model reads */
			}
		}
		else if (o == NULL || t->unsafe != NULL)
		{
			/* Rows of the model's source may be among them, indistinguishable. */
			if (o == NULL || tuplestore_tuple_count(o) > 0)
				mark_unsafe(t, rel, event, t->unsafe ? t->unsafe :
							"The erasure trigger of the table the statement named has no transition table; its triggers must be set up again.");
			continue;
		}
		else if (tuplestore_tuple_count(o) == 0)
			continue;
		else if (t->rows == TARGET_ROUTED)
			route = hierarchy_route(rel, t->source);

		if (update)
			rectify_model(t->name, rows_rel, o, n, route);
		else
			erase_from_model(t->name, rows_rel, o, route, event);
		if (rows_rel != rel)
			table_close(rows_rel, NoLock);
		scratch_release(mark);
	}
	foreach(lc, taken)
	{
		TakenRows  *rows = lfirst(lc);

		if (rows->olds)
			tuplestore_end(rows->olds);
		if (rows->news)
			tuplestore_end(rows->news);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

PG_FUNCTION_INFO_V1(unlearn_erase_lock_models);

/*
 * BEFORE DELETE/UPDATE FOR EACH STATEMENT: locks the models the statement
 * may change, in model_id order, before it locks any row of theirs.
 * Otherwise a statement would lock rows first and wait for the model at
 * its end, while the model's writer waits for one of those rows: a
 * deadlock ordinary writers would not meet without the extension.
 */
Datum
unlearn_erase_lock_models(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	bool		update;
	ListCell   *lc;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trig->tg_event) ||
		!(TRIGGER_FIRED_BY_DELETE(trig->tg_event) || TRIGGER_FIRED_BY_UPDATE(trig->tg_event)))
		unlearn_misused_trigger(fcinfo, "BEFORE DELETE or UPDATE FOR EACH STATEMENT");
	refuse_copied_trigger(trig);
	if (IN_APPLY_WORKER())
		return PointerGetDatum(NULL);	/* one row at a time, by the apply trigger */
	update = TRIGGER_FIRED_BY_UPDATE(trig->tg_event);
	foreach(lc, source_targets(RelationGetRelid(trig->tg_relation)))
	{
		ModelTarget *t = lfirst(lc);

		if (!update || source_target_may_change(t, RelationGetDescr(trig->tg_relation),
												trig->tg_updatedcols))
			erasure_state_lock_early(t->name);
	}
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(unlearn_erase_on_delete);

/* AFTER DELETE FOR EACH STATEMENT: erase the deleted rows from every model. */
Datum
unlearn_erase_on_delete(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	List	   *targets;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_DELETE(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event) || !TRIGGER_FIRED_AFTER(trig->tg_event))
		unlearn_misused_trigger(fcinfo, "AFTER DELETE FOR EACH STATEMENT");
	refuse_copied_trigger(trig);
	if (IN_APPLY_WORKER())
		return PointerGetDatum(NULL);	/* the row-level apply trigger does it */
	targets = source_targets(RelationGetRelid(trig->tg_relation));
	if (targets != NIL)
		change_models(trig->tg_relation, targets, trig->tg_oldtable, NULL, false, "erasure");
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
	List	   *targets;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_UPDATE(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event) || !TRIGGER_FIRED_AFTER(trig->tg_event))
		unlearn_misused_trigger(fcinfo, "AFTER UPDATE FOR EACH STATEMENT");
	refuse_copied_trigger(trig);
	if (IN_APPLY_WORKER())
		return PointerGetDatum(NULL);	/* the row-level apply trigger does it */
	targets = source_targets_touched(RelationGetRelid(trig->tg_relation),
									 RelationGetDescr(trig->tg_relation),
									 trig->tg_oldtable, trig->tg_newtable);
	if (targets != NIL)
		change_models(trig->tg_relation, targets, trig->tg_oldtable, trig->tg_newtable, true,
					  "rectification");
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(unlearn_erase_collect);

/*
 * AFTER DELETE/UPDATE FOR EACH ROW on a source with inheritance relatives:
 * keeps the row for the statement-level trigger of the table the
 * statement named (see collected.c).
 */
Datum
unlearn_erase_collect(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trig->tg_event) ||
		!TRIGGER_FIRED_AFTER(trig->tg_event) ||
		!(TRIGGER_FIRED_BY_DELETE(trig->tg_event) || TRIGGER_FIRED_BY_UPDATE(trig->tg_event)))
		unlearn_misused_trigger(fcinfo, "AFTER DELETE or UPDATE FOR EACH ROW");
	refuse_copied_trigger(trig);
	if (IN_APPLY_WORKER())
		return PointerGetDatum(NULL);	/* the row-level apply trigger does it */
	collected_add(RelationGetRelid(trig->tg_relation), trig->tg_trigtuple,
				  TRIGGER_FIRED_BY_UPDATE(trig->tg_event) ? trig->tg_newtuple : NULL);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(unlearn_erase_on_apply);

/*
 * AFTER DELETE/UPDATE FOR EACH ROW, enabled for REPLICA: in a logical
 * replication apply worker, erases (or rectifies) the one row the worker
 * just applied from the models whose rows the table stores, through the
 * same path as the statement triggers.  Anywhere else it does nothing
 * (the statement triggers do the work).
 */
Datum
unlearn_erase_on_apply(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	Tuplestorestate *olds;
	Tuplestorestate *news = NULL;
	List	   *targets;
	bool		update;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trig->tg_event) ||
		!TRIGGER_FIRED_AFTER(trig->tg_event) ||
		!(TRIGGER_FIRED_BY_DELETE(trig->tg_event) || TRIGGER_FIRED_BY_UPDATE(trig->tg_event)))
		unlearn_misused_trigger(fcinfo, "AFTER DELETE or UPDATE FOR EACH ROW");
	refuse_copied_trigger(trig);
	if (!IN_APPLY_WORKER())
		return PointerGetDatum(NULL);

	update = TRIGGER_FIRED_BY_UPDATE(trig->tg_event);
	targets = source_targets_of_rows(RelationGetRelid(trig->tg_relation));
	if (targets == NIL)
		return PointerGetDatum(NULL);
	olds = tuplestore_begin_heap(false, false, work_mem);
	tuplestore_puttuple(olds, trig->tg_trigtuple);
	if (update)
	{
		news = tuplestore_begin_heap(false, false, work_mem);
		tuplestore_puttuple(news, trig->tg_newtuple);
	}
	change_models(trig->tg_relation, targets, olds, news, update,
				  update ? "rectification" : "erasure");
	tuplestore_end(olds);
	if (news)
		tuplestore_end(news);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(unlearn_erase_on_truncate);

/*
 * BEFORE TRUNCATE, on every table a TRUNCATE empties: a model whose
 * source is the table lost all its rows (its lineage goes, with the
 * digests of every key, and it must be retrained to predict); a model on
 * a partitioned ancestor lost the table's rows only, which are still
 * there to read: they are erased from it as a DELETE would.
 */
Datum
unlearn_erase_on_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	Relation	rel;
	Oid			relid;
	ListCell   *lc;
	List	   *targets;
	Tuplestorestate *rows = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_TRUNCATE(trig->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trig->tg_event))
		unlearn_misused_trigger(fcinfo, "BEFORE TRUNCATE");
	refuse_copied_trigger(trig);
	rel = trig->tg_relation;
	relid = RelationGetRelid(rel);
	targets = source_targets(relid);
	foreach(lc, targets)
	{
		ModelTarget *t = lfirst(lc);

		if (t->source == relid)
			erase_truncated_model(t->name, relid);
		else if (hierarchy_is_partition_of(relid, t->source) && erase_model_has_lineage(t->name))
		{
			if (rows == NULL)
				rows = source_scan_all_rows(rel);
			erase_from_model(t->name, rel, rows, NULL, "truncate");
		}
		/* Models under the table: their own tables' triggers fire too. */
	}
	if (rows)
		tuplestore_end(rows);
	return PointerGetDatum(NULL);
}
