/*-------------------------------------------------------------------------
 *
 * ddl.c
 *	  Schema changes never strand a model: event triggers that follow,
 *	  refuse or record every change of a source's schema, and the guard of
 *	  the erasure triggers.
 *
 * At ddl_command_start (which sees the parse tree, before anything
 * changed, and whose work rolls back with the command):
 *   - switching an erasure trigger off (DISABLE, ENABLE in another mode,
 *     DROP, RENAME, CREATE OR REPLACE) is refused, except for superusers,
 *     whose change marks the models it leaves blind (needs_retrain, logged);
 *   - DROP COLUMN of a column a model reads is refused, or with CASCADE
 *     drops the model (logged), as PostgreSQL treats a view; ALTER COLUMN
 *     TYPE of a model's key is refused, of another column it reads marks
 *     the model; SET UNLOGGED of a table holding a model's rows is refused;
 *   - DROP TABLE of a source is refused, or with CASCADE drops its models;
 *     DROP or DETACH of a partition first erases its rows from the models
 *     of its partitioned ancestors, exactly, as a DELETE would; so do
 *     DROP SCHEMA ... CASCADE and DROP OWNED for the tables they drop;
 *   - DROP EXTENSION unlearn with models is refused in one sentence.
 * At ddl_command_end: renames of columns, tables, schemas and the objects
 * a filter names are followed (the model's column names, its filter
 * printed afresh, the source's name, a log entry); partitions attached,
 * created or detached and inheritance changes set the erasure triggers of
 * every affected table up again.  At sql_drop, the safety net: a source
 * dropped by any other path drops its models (logged), a model whose
 * filter no longer compiles is marked.  DROP ROLE is not an event
 * trigger's to see: with the library loaded, a utility hook refuses to
 * drop a role that owns models in the current database.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/tablecmds.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_node.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"

#include "arrayutil.h"
#include "audit.h"
#include "catalog.h"
#include "dataset.h"
#include "digest.h"
#include "erase.h"
#include "ddl.h"
#include "hierarchy.h"
#include "model_filter.h"
#include "privileges.h"
#include "source_models.h"
#include "source_scan.h"
#include "spi_cache.h"
#include "train.h"
#include "unlearn.h"

/* A model as the DDL guard needs it. */
typedef struct DdlModel
{
	char	   *name;
	Oid			source;
	char	  **cols;			/* key, target, features */
	int			ncols;
	char	   *filter;			/* the stored "where", or NULL */
} DdlModel;

/* A filter analysed before a rename, to be printed again after it. */
typedef struct StashedFilter
{
	char	   *name;			/* the model */
	Oid			source;
	char	   *old_text;
	char	   *tree;			/* nodeToString of the analysed expression */
} StashedFilter;

/* Why a partition holding a model's rows must be an ordinary, permanent table. */
#define PARTITION_KIND_DETAIL \
	"A foreign table's rows are not in this database and its deletes fire no transition table; crash recovery or the end of a session empties an unlogged or temporary one without firing triggers."

/* Filters stashed at ddl_command_start of a rename, for its end. */
static List *stashed_filters = NIL;
static TransactionId stashed_xid = InvalidTransactionId;

static ProcessUtility_hook_type prev_utility_hook = NULL;

/* Whether the extension is there in this database, and we may act at all. */
static bool
guard_active(void)
{
	return !creating_extension && !erase_reconciling &&
		OidIsValid(get_extension_oid("unlearn", true));
}

/* The models whose source is one of relids (all models: relids NIL), in model_id order. */
static List *
models_on(List *relids, bool all)
{
	Oid			types[1] = {REGCLASSARRAYOID};
	Datum		values[1];
	PrivilegeSwitch s;
	List	   *models = NIL;
	MemoryContext cxt = CurrentMemoryContext;
	uint64		i;

	if (!all && relids == NIL)
		return NIL;
	values[0] = PointerGetDatum(oid_list_array(relids, REGCLASSOID));
	privileges_enter_catalog(&s);
	SPI_connect();
	if (SPI_execute_with_args(all ?
							  "SELECT name, source, key_column, target_column, feature_columns,"
							  " options->>'where', options->>'exposure' FROM unlearn.model"
							  " WHERE $1 IS NOT NULL ORDER BY model_id" :
							  "SELECT name, source, key_column, target_column, feature_columns,"
							  " options->>'where', options->>'exposure' FROM unlearn.model"
							  " WHERE source = ANY ($1) ORDER BY model_id",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the models");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		DdlModel   *m = palloc0(sizeof(DdlModel));
		bool		isnull;
		Datum	   *features;
		int			nfeatures,
					j;
		Datum		filter;
		Datum		exposure;

		m->name = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		m->source = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 5, &isnull)),
						  TEXTOID, -1, false, TYPALIGN_INT, &features, NULL, &nfeatures);
		m->cols = palloc(sizeof(char *) * (nfeatures + 3));
		m->cols[0] = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		m->cols[1] = TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull));
		for (j = 0; j < nfeatures; j++)
			m->cols[2 + j] = TextDatumGetCString(features[j]);
		m->ncols = nfeatures + 2;
		/* A Poisson model's exposure column is read as its features are. */
		exposure = SPI_getbinval(tup, desc, 7, &isnull);
		if (!isnull)
			m->cols[m->ncols++] = TextDatumGetCString(exposure);
		filter = SPI_getbinval(tup, desc, 6, &isnull);
		m->filter = isnull ? NULL : TextDatumGetCString(filter);
		models = lappend(models, m);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	privileges_leave(&s);
	return models;
}

/* The analysed expression of a model's filter, read as the extension's owner. */
static Node *
filter_expr(const DdlModel *m, Relation rel)
{
	PrivilegeSwitch s;
	Node	   *expr;

	privileges_enter_catalog(&s);
	expr = dataset_filter_expr(rel, m->filter, NULL, NULL);
	privileges_leave(&s);
	return expr;
}

/*
 * Whether a model reads a column of rel by that name: its key, target or
 * a feature, or a column its filter reads (a filter that no longer
 * parses counts as reading it: refusing is the safe side).
 */
static bool
model_reads(const DdlModel *m, Relation rel, const char *column)
{
	int			i;

	for (i = 0; i < m->ncols; i++)
		if (strcmp(m->cols[i], column) == 0)
			return true;
	if (m->filter != NULL && m->source == RelationGetRelid(rel))
	{
		Bitmapset  *attnos = NULL;
		AttrNumber	attnum = get_attnum(RelationGetRelid(rel), column);
		MemoryContext cxt = CurrentMemoryContext;
		volatile bool reads = true;

		PG_TRY();
		{
			pull_varattnos(filter_expr(m, rel), 1, &attnos);
			reads = bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, attnos);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			FlushErrorState();
			reads = true;
		}
		PG_END_TRY();
		return reads;
	}
	return false;
}

/* The table a name list or RangeVar names, or InvalidOid. */
static Oid
relation_of(RangeVar *rv)
{
	return rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

/* The relation and its partitions or inheritance children. */
static List *
with_descendants(Oid relid)
{
	return list_concat(list_make1_oid(relid), hierarchy_descendants(relid));
}

/* The names of the models reached from a table (as its erasure triggers reach them). */
static List *
reached_models(Oid relid)
{
	List	   *names = NIL;
	List	   *targets;
	ListCell   *lc;
	PrivilegeSwitch s;

	privileges_enter_catalog(&s);
	targets = list_concat(source_targets(relid), source_targets_of_rows(relid));
	privileges_leave(&s);
	foreach(lc, targets)
	{
		char	   *name = ((ModelTarget *) lfirst(lc))->name;
		ListCell   *n;
		bool		seen = false;

		foreach(n, names)
			seen |= strcmp(lfirst(n), name) == 0;
		if (!seen)
			names = lappend(names, name);
	}
	return names;
}

/* Marks the named models needs_retrain for a schema change, logged. */
static void
mark_models(List *names, Oid relid, const char *detail)
{
	ListCell   *lc;
	PrivilegeSwitch s;

	privileges_enter_catalog(&s);
	foreach(lc, names)
	{
		ErasureModel em;

		if (!erasure_state_lock(lfirst(lc), &em))
			continue;
		if (strcmp(em.m->state, "ready") != 0)
		{
			erasure_state_release(&em);
			continue;
		}
		erasure_needs_retrain(em.m, relid, 0, 0, "schema_change", detail, NULL, 0);
	}
	privileges_leave(&s);
}

/*
 * Erasure off on a table: refused but for superusers, whose change marks
 * the models the table's erasure triggers reach.
 */
static void
erasure_switched_off(Oid relid, const char *trigger, const char *how)
{
	List	   *names = reached_models(relid);
	char	   *table = get_rel_name(relid);

	if (names == NIL)
		return;
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot %s erasure trigger \"%s\" of table \"%s\"", how, trigger, table),
				 errdetail("Rows deleted or changed while it is off would stay in the models trained on the table, such as \"%s\".",
						   (char *) linitial(names)),
				 errhint("Only a superuser may, and the models are then marked for retraining.")));
	mark_models(names, relid,
				psprintf("Erasure trigger \"%s\" of table \"%s\" was %s by superuser \"%s\": rows taken meanwhile cannot be seen.",
						 trigger, table,
						 strcmp(how, "drop") == 0 ? "dropped" :
						 strcmp(how, "rename") == 0 ? "renamed" :
						 strcmp(how, "replace") == 0 ? "replaced" : "switched off",
						 GetUserNameFromId(GetUserId(), false)));
}

/* The firing mode an ALTER TABLE ... ENABLE/DISABLE TRIGGER command sets. */
static char
mode_set_by(AlterTableType subtype)
{
	switch (subtype)
	{
		case AT_EnableAlwaysTrig:
			return TRIGGER_FIRES_ALWAYS;
		case AT_EnableReplicaTrig:
			return TRIGGER_FIRES_ON_REPLICA;
		case AT_EnableTrig:
		case AT_EnableTrigAll:
		case AT_EnableTrigUser:
			return TRIGGER_FIRES_ON_ORIGIN;
		default:
			return TRIGGER_DISABLED;
	}
}

/* Checks an ENABLE/DISABLE TRIGGER subcommand against the erasure triggers. */
static void
check_trigger_toggle(Relation rel, AlterTableCmd *cmd)
{
	char		mode = mode_set_by(cmd->subtype);
	TriggerDesc *td = rel->trigdesc;
	int			i;

	for (i = 0; td && i < td->numtriggers; i++)
	{
		Trigger    *tg = &td->triggers[i];

		if (cmd->name != NULL && strcmp(cmd->name, tg->tgname) != 0)
			continue;
		if (!erase_is_erasure_trigger(rel, tg->tgname) || erase_trigger_mode(tg->tgname) == mode)
			continue;
		erasure_switched_off(RelationGetRelid(rel), tg->tgname,
							 mode == TRIGGER_DISABLED ? "disable" : "change the firing mode of");
		return;					/* marked once is enough */
	}
}

/*
 * A partition leaves its partitioned ancestors (DETACH, or DROP): its
 * rows are erased from their models first, as a DELETE would, while they
 * can still be read.
 */
static void
partition_leaves(Oid partition, const char *event)
{
	List	   *ancestors = hierarchy_partition_ancestors(partition);
	List	   *models = models_on(ancestors, false);
	Relation	rel;
	Tuplestorestate *rows;
	ListCell   *lc;
	PrivilegeSwitch s;

	if (models == NIL)
		return;
	rel = table_open(partition, AccessShareLock);
	rows = source_scan_all_rows(rel);
	privileges_enter_catalog(&s);
	foreach(lc, models)
		erase_from_model(((DdlModel *) lfirst(lc))->name, rel, rows, NULL, event);
	privileges_leave(&s);
	tuplestore_end(rows);
	table_close(rel, NoLock);
}

/*
 * A table is dropped: refused while models are trained on it (or on a
 * partition or child of it that goes with it) unless CASCADE, which drops
 * them; its rows are erased from its partitioned ancestors' models.
 */
static void
table_dropped(Oid relid, DropBehavior behavior)
{
	List	   *dependents;
	ListCell   *lc;

	/*
	 * The locks DROP takes (a partition's parent first), before any model
	 * row: a DELETE holding the table waits here, not in a deadlock.
	 */
	if (get_rel_relispartition(relid))
		LockRelationOid(get_partition_parent(relid, true), AccessExclusiveLock);
	LockRelationOid(relid, AccessExclusiveLock);
	dependents = models_on(with_descendants(relid), false);

	foreach(lc, dependents)
	{
		DdlModel   *m = lfirst(lc);
		PrivilegeSwitch s;

		if (behavior != DROP_CASCADE)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot drop table %s because model \"%s\" depends on it",
							get_rel_name(relid), m->name),
					 errdetail("Model \"%s\" is trained on the rows of table %s.",
							   m->name, get_rel_name(m->source)),
					 errhint("Drop the model first (unlearn.drop_model), or use DROP ... CASCADE to drop the model too.")));
		ereport(NOTICE,
				(errmsg("drop cascades to model \"%s\"", m->name)));
		privileges_enter_catalog(&s);
		model_drop(m->name, "cascade",
				   psprintf("Its source table %s was dropped.", get_rel_name(m->source)));
		privileges_leave(&s);
	}
	if (get_rel_relispartition(relid))
		partition_leaves(relid, "detach");
}

/* Checks a column dropped or retyped against the models that read it. */
static void
check_column_change(Oid relid, AlterTableCmd *cmd)
{
	List	   *models = models_on(with_descendants(relid), false);
	Relation	rel = table_open(relid, AccessShareLock);
	ListCell   *lc;

	foreach(lc, models)
	{
		DdlModel   *m = lfirst(lc);
		Relation	src = m->source == relid ? rel : table_open(m->source, AccessShareLock);
		bool		reads = model_reads(m, src, cmd->name);

		if (src != rel)
			table_close(src, AccessShareLock);
		if (!reads)
			continue;
		if (cmd->subtype == AT_DropColumn)
		{
			PrivilegeSwitch s;

			if (cmd->behavior != DROP_CASCADE)
				ereport(ERROR,
						(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
						 errmsg("cannot drop column %s of table %s because model \"%s\" depends on it",
								cmd->name, get_rel_name(relid), m->name),
						 errhint("Drop the model first (unlearn.drop_model), or use DROP ... CASCADE to drop the model too.")));
			ereport(NOTICE,
					(errmsg("drop cascades to model \"%s\"", m->name)));
			privileges_enter_catalog(&s);
			model_drop(m->name, "cascade",
					   psprintf("Column \"%s\" of its source, which it reads, was dropped.", cmd->name));
			privileges_leave(&s);
		}
		else if (strcmp(m->cols[0], cmd->name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot alter type of column %s of table %s: it is the key of model \"%s\"",
							cmd->name, get_rel_name(relid), m->name),
					 errdetail("The model's lineage identifies rows by the key's values."),
					 errhint("Drop the model first, or keep the key's type.")));
		else
			mark_models(list_make1(m->name), relid,
						psprintf("Column \"%s\" of its source, which it reads, changed its type.",
								 cmd->name));
	}
	table_close(rel, AccessShareLock);
}

/*
 * Refuses to let a table that holds (or would hold) a model's rows lose
 * them silently: what says what the command would do, why what that is.
 */
static void
check_storage_kept(Oid relid, const char *what, const char *why)
{
	List	   *holders = list_concat(list_make1_oid(relid), hierarchy_partition_ancestors(relid));
	List	   *models = models_on(holders, false);

	if (models == NIL)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot %s: model \"%s\" is trained on the rows of table \"%s\"", what,
					((DdlModel *) linitial(models))->name, get_rel_name(relid)),
			 errdetail("%s", why)));
}

/*
 * CREATE TABLE ... PARTITION OF a table holding a model's rows: a foreign,
 * unlogged or temporary partition is refused, as ATTACH refuses one.
 */
static void
check_new_partition(CreateStmt *stmt, bool foreign)
{
	Oid			parent;

	if (stmt->partbound == NULL || list_length(stmt->inhRelations) != 1)
		return;
	if (!foreign && stmt->relation->relpersistence == RELPERSISTENCE_PERMANENT)
		return;
	parent = relation_of(linitial(stmt->inhRelations));
	if (OidIsValid(parent))
		check_storage_kept(parent, psprintf("create %s table \"%s\" as a partition",
											foreign ? "foreign" :
											stmt->relation->relpersistence == RELPERSISTENCE_TEMP ?
											"temporary" : "unlogged",
											stmt->relation->relname),
						   PARTITION_KIND_DETAIL);
}

/* ALTER TABLE: trigger toggles, columns, persistence, partitions. */
static void
check_alter_table(AlterTableStmt *stmt)
{
	Oid			relid = relation_of(stmt->relation);
	Relation	rel;
	ListCell   *lc;

	if (!OidIsValid(relid) || get_rel_relkind(relid) == '\0')
		return;
	/* The lock ALTER TABLE takes, before any model row (see table_dropped). */
	LockRelationOid(relid, AlterTableGetLockLevel(stmt->cmds));
	rel = table_open(relid, AccessShareLock);
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);

		switch (cmd->subtype)
		{
			case AT_EnableTrig:
			case AT_EnableAlwaysTrig:
			case AT_EnableReplicaTrig:
			case AT_DisableTrig:
			case AT_EnableTrigAll:
			case AT_DisableTrigAll:
			case AT_EnableTrigUser:
			case AT_DisableTrigUser:
				check_trigger_toggle(rel, cmd);
				break;
			case AT_DropColumn:
			case AT_AlterColumnType:
				check_column_change(relid, cmd);
				break;
			case AT_SetUnLogged:
				check_storage_kept(relid, psprintf("make table \"%s\" unlogged", get_rel_name(relid)),
								   "Crash recovery empties an unlogged table without firing triggers: its erased rows would stay in the model.");
				break;
			case AT_AttachPartition:
				{
					Oid			part = relation_of(((PartitionCmd *) cmd->def)->name);

					if (OidIsValid(part) &&
						(get_rel_relkind(part) == RELKIND_FOREIGN_TABLE ||
						 get_rel_persistence(part) != RELPERSISTENCE_PERMANENT))
						check_storage_kept(relid, psprintf("attach table \"%s\" as a partition", get_rel_name(part)),
										   PARTITION_KIND_DETAIL);
				}
				break;
			case AT_DetachPartition:
				{
					Oid			part = relation_of(((PartitionCmd *) cmd->def)->name);

					if (OidIsValid(part))
						partition_leaves(part, "detach");
				}
				break;
			default:
				break;
		}
	}
	table_close(rel, AccessShareLock);
}

/* The tables of a schema, or owned by roles, that a DROP would take with it. */
static List *
tables_where(const char *condition, Datum arg, Oid argtype)
{
	Oid			types[1] = {argtype};
	Datum		values[1] = {arg};
	List	   *relids = NIL;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	if (SPI_execute_with_args(psprintf("SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relkind"
									   " OPERATOR(pg_catalog.=) ANY ('{r,p}'::\"char\"[]) AND %s",
									   condition),
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the tables to drop");
	spi_append_oids(&relids, 1, cxt);
	SPI_finish();
	return relids;
}

/*
 * What a DROP ... CASCADE of the objects (classids[i], objids[i]) takes
 * with it, found as PostgreSQL will find it (pg_depend, normal, automatic
 * and internal dependencies, transitively): the tables and the columns
 * of tables among them, as (relid, attnum) pairs, attnum 0 for a table.
 */
static List *
cascade_victims(Datum classids, Datum objids)
{
	Oid			types[2] = {OIDARRAYOID, OIDARRAYOID};
	Datum		values[2] = {classids, objids};
	List	   *victims = NIL;
	MemoryContext cxt = CurrentMemoryContext;
	uint64		i;

	SPI_connect();
	if (SPI_execute_with_args("WITH RECURSIVE victims(classid, objid, objsubid) AS ("
							  " SELECT s.classid, s.objid, 0"
							  "   FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS s(classid, objid)"
							  " UNION"
							  " SELECT d.classid, d.objid, d.objsubid"
							  "   FROM victims v JOIN pg_catalog.pg_depend d"
							  "     ON d.refclassid OPERATOR(pg_catalog.=) v.classid"
							  "    AND d.refobjid OPERATOR(pg_catalog.=) v.objid"
							  "    AND (v.objsubid OPERATOR(pg_catalog.=) 0"
							  "         OR d.refobjsubid OPERATOR(pg_catalog.=) v.objsubid)"
							  "  WHERE d.deptype OPERATOR(pg_catalog.=) ANY ('{n,a,i}'::\"char\"[]))"
							  " SELECT DISTINCT v.objid, v.objsubid FROM victims v"
							  "   JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) v.objid"
							  "  WHERE v.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
							  "    AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::\"char\"[])"
							  "  ORDER BY 1, 2",
							  2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not find what a DROP takes with it");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		int32	   *pair = palloc(sizeof(int32) * 2);

		pair[0] = (int32) DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));
		pair[1] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
											  2, &isnull));
		victims = lappend(victims, pair);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return victims;
}

/*
 * A DROP ... CASCADE (of any kind of object) takes tables or columns with
 * it: each is handled as its own DROP would be (a table's models dropped,
 * a partition's rows erased from its ancestors' models first; a model
 * reading a column dropped), except the tables in handled, done already.
 */
static void
cascade_to_tables(List *classids, List *objids, List *handled)
{
	List	   *victims;
	List	   *tables = NIL;
	ListCell   *lc;

	if (classids == NIL || models_on(NIL, true) == NIL)
		return;
	victims = cascade_victims(PointerGetDatum(oid_list_array(classids, OIDOID)),
							  PointerGetDatum(oid_list_array(objids, OIDOID)));
	foreach(lc, victims)
	{
		int32	   *v = lfirst(lc);

		if (v[1] == 0)
			tables = lappend_oid(tables, (Oid) v[0]);
	}
	foreach(lc, victims)
	{
		int32	   *v = lfirst(lc);
		Oid			relid = (Oid) v[0];

		if (v[1] == 0)
		{
			if (!list_member_oid(handled, relid))
				table_dropped(relid, DROP_CASCADE);
		}
		else if (!list_member_oid(tables, relid))
		{
			AlterTableCmd *cmd = makeNode(AlterTableCmd);
			char	   *column = get_attname(relid, (AttrNumber) v[1], true);

			if (column == NULL)
				continue;
			cmd->subtype = AT_DropColumn;
			cmd->name = column;
			cmd->behavior = DROP_CASCADE;
			LockRelationOid(relid, AccessExclusiveLock);
			check_column_change(relid, cmd);
		}
	}
}

/* DROP: tables, triggers, schemas, owned objects, the extension. */
static void
check_drop(DropStmt *stmt)
{
	ListCell   *lc;
	List	   *classids = NIL;
	List	   *objids = NIL;
	List	   *handled = NIL;

	foreach(lc, stmt->objects)
	{
		switch (stmt->removeType)
		{
			case OBJECT_TABLE:
				{
					Oid			relid = relation_of(makeRangeVarFromNameList(lfirst(lc)));

					if (OidIsValid(relid))
					{
						table_dropped(relid, stmt->behavior);
						handled = lappend_oid(handled, relid);
					}
				}
				break;
			case OBJECT_TRIGGER:
				{
					List	   *names = list_copy(lfirst(lc));
					char	   *trigger = strVal(llast(names));
					Oid			relid;

					names = list_truncate(names, list_length(names) - 1);
					relid = relation_of(makeRangeVarFromNameList(names));
					if (OidIsValid(relid))
					{
						Relation	rel = table_open(relid, AccessShareLock);
						bool		ours = erase_is_erasure_trigger(rel, trigger);

						table_close(rel, AccessShareLock);
						if (ours)
							erasure_switched_off(relid, trigger, "drop");
					}
				}
				break;
			case OBJECT_SCHEMA:
				{
					Oid			nsp = get_namespace_oid(strVal(lfirst(lc)), true);
					ListCell   *t;

					if (!OidIsValid(nsp) || stmt->behavior != DROP_CASCADE)
						break;
					foreach(t, tables_where("c.relnamespace OPERATOR(pg_catalog.=) $1",
											ObjectIdGetDatum(nsp), OIDOID))
					{
						table_dropped(lfirst_oid(t), DROP_CASCADE);
						handled = lappend_oid(handled, lfirst_oid(t));
					}
				}
				break;
			case OBJECT_EXTENSION:
				if (strcmp(strVal(lfirst(lc)), "unlearn") == 0 && stmt->behavior != DROP_CASCADE)
				{
					List	   *models = models_on(NIL, true);

					if (models != NIL)
						ereport(ERROR,
								(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
								 errmsg("cannot drop extension unlearn because %d models exist",
										list_length(models)),
								 errhint("Drop them first: SELECT unlearn.drop_model(name) FROM unlearn.models; or use DROP EXTENSION unlearn CASCADE, which also drops their erasure triggers.")));
				}
				break;
			default:
				break;
		}
		/* Whatever the object, what it takes with it (as RemoveObjects finds it). */
		if (stmt->behavior == DROP_CASCADE && stmt->removeType != OBJECT_EXTENSION &&
			stmt->removeType != OBJECT_TRIGGER)
		{
			Relation	rel = NULL;
			ObjectAddress address = get_object_address(stmt->removeType, lfirst(lc), &rel,
													   AccessExclusiveLock, true);

			if (rel)
				table_close(rel, NoLock);
			if (OidIsValid(address.objectId))
			{
				classids = lappend_oid(classids, address.classId);
				objids = lappend_oid(objids, address.objectId);
			}
		}
	}
	cascade_to_tables(classids, objids, handled);
}

/* Appends the objects of this database a role owns (pg_shdepend) to the lists. */
static void
owned_objects(Oid role, List **classids, List **objids)
{
	Oid			types[2] = {OIDOID, OIDOID};
	Datum		values[2] = {ObjectIdGetDatum(role), ObjectIdGetDatum(MyDatabaseId)};
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	if (SPI_execute_with_args("SELECT classid, objid FROM pg_catalog.pg_shdepend"
							  " WHERE refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_authid'::pg_catalog.regclass"
							  "   AND refobjid OPERATOR(pg_catalog.=) $1"
							  "   AND dbid OPERATOR(pg_catalog.=) $2"
							  "   AND deptype OPERATOR(pg_catalog.=) 'o'",
							  2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read what a role owns");
	spi_append_oids(classids, 1, cxt);
	spi_append_oids(objids, 2, cxt);
	SPI_finish();
}

/* DROP OWNED BY: the tables of those roles go, with their models. */
static void
check_drop_owned(DropOwnedStmt *stmt)
{
	ListCell   *lc;
	List	   *classids = NIL;
	List	   *objids = NIL;
	List	   *handled = NIL;

	foreach(lc, stmt->roles)
	{
		Oid			role = get_rolespec_oid(lfirst(lc), true);
		ListCell   *t;

		if (!OidIsValid(role))
			continue;
		foreach(t, tables_where("c.relowner OPERATOR(pg_catalog.=) $1", ObjectIdGetDatum(role),
								OIDOID))
		{
			table_dropped(lfirst_oid(t), DROP_CASCADE);
			handled = lappend_oid(handled, lfirst_oid(t));
		}
		if (stmt->behavior == DROP_CASCADE)
			owned_objects(role, &classids, &objids);
	}
	cascade_to_tables(classids, objids, handled);
}

/* Stashes every model's filter, analysed, before a rename. */
static void
stash_filters(void)
{
	List	   *models = models_on(NIL, true);
	ListCell   *lc;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

	stashed_filters = NIL;
	stashed_xid = GetCurrentTransactionId();
	foreach(lc, models)
	{
		DdlModel   *m = lfirst(lc);
		StashedFilter *f;
		Relation	rel;
		MemoryContext cxt = CurrentMemoryContext;

		if (m->filter == NULL || get_rel_name(m->source) == NULL)
			continue;
		f = palloc0(sizeof(StashedFilter));
		f->name = pstrdup(m->name);
		f->source = m->source;
		f->old_text = pstrdup(m->filter);
		rel = table_open(m->source, AccessShareLock);
		PG_TRY();
		{
			f->tree = nodeToString(filter_expr(m, rel));
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			FlushErrorState();
			f->tree = NULL;		/* broken already: nothing to follow */
		}
		PG_END_TRY();
		table_close(rel, AccessShareLock);
		if (f->tree)
			stashed_filters = lappend(stashed_filters, f);
	}
	MemoryContextSwitchTo(old);
}

/* RENAME: erasure triggers are guarded; the rest is followed at the end. */
static void
check_rename(RenameStmt *stmt)
{
	if (stmt->renameType == OBJECT_TRIGGER)
	{
		Oid			relid = relation_of(stmt->relation);

		if (OidIsValid(relid))
		{
			Relation	rel = table_open(relid, AccessShareLock);
			bool		ours = erase_is_erasure_trigger(rel, stmt->subname);

			table_close(rel, AccessShareLock);
			if (ours)
				erasure_switched_off(relid, stmt->subname, "rename");
		}
		return;
	}
	stash_filters();
}

/* CREATE OR REPLACE TRIGGER over an erasure trigger: guarded. */
static void
check_create_trigger(CreateTrigStmt *stmt)
{
	Oid			relid = relation_of(stmt->relation);
	Relation	rel;
	bool		ours;

	if (!stmt->replace || !OidIsValid(relid))
		return;
	rel = table_open(relid, AccessShareLock);
	ours = erase_is_erasure_trigger(rel, stmt->trigname);
	table_close(rel, AccessShareLock);
	if (ours)
		erasure_switched_off(relid, stmt->trigname, "replace");
}

PG_FUNCTION_INFO_V1(unlearn_ddl_command_start);

/* ddl_command_start: refuses, records or prepares for a schema change. */
Datum
unlearn_ddl_command_start(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig = (EventTriggerData *) fcinfo->context;
	Node	   *parse;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		unlearn_misused_trigger(fcinfo, "by an event trigger");
	if (!guard_active())
		PG_RETURN_VOID();
	parse = trig->parsetree;
	switch (nodeTag(parse))
	{
		case T_AlterTableStmt:
			check_alter_table((AlterTableStmt *) parse);
			break;
		case T_DropStmt:
			check_drop((DropStmt *) parse);
			break;
		case T_DropOwnedStmt:
			check_drop_owned((DropOwnedStmt *) parse);
			break;
		case T_RenameStmt:
			check_rename((RenameStmt *) parse);
			break;
		case T_AlterObjectSchemaStmt:
			stash_filters();
			break;
		case T_CreateTrigStmt:
			check_create_trigger((CreateTrigStmt *) parse);
			break;
		case T_CreateStmt:
			check_new_partition((CreateStmt *) parse, false);
			break;
		case T_CreateForeignTableStmt:
			check_new_partition((CreateStmt *) parse, true);
			break;
		default:
			break;
	}
	PG_RETURN_VOID();
}

/* Logs a rename a model followed (no change to its parameters). */
static void
log_renamed(const char *name, Oid relid, const char *detail)
{
	ErasureModel em;
	PrivilegeSwitch s;

	privileges_enter_catalog(&s);
	if (erasure_state_lock(name, &em))
	{
		audit_log_change("schema_change", em.m, relid, em.m->version, 0, "renamed", NULL, 0,
						 get_float8_nan(), get_float8_nan(), detail, NULL, 0);
		erasure_state_release(&em);
	}
	privileges_leave(&s);
}

/* Updates the stored column names of the models on a table and under it. */
static void
column_renamed(Oid relid, const char *old_name, const char *new_name)
{
	List	   *models = models_on(with_descendants(relid), false);
	ListCell   *lc;
	PrivilegeSwitch s;

	foreach(lc, models)
	{
		DdlModel   *m = lfirst(lc);
		bool		uses = false;
		int			i;

		for (i = 0; i < m->ncols; i++)
			uses |= strcmp(m->cols[i], old_name) == 0;
		if (!uses)
			continue;
		privileges_enter_catalog(&s);
		catalog_rename_column(m->name, old_name, new_name);
		privileges_leave(&s);
		log_renamed(m->name, m->source,
					psprintf("Column \"%s\" of its source is now \"%s\".", old_name, new_name));
	}
}

/* Prints the stashed filters again, with the names as they are now. */
static void
filters_renamed(void)
{
	ListCell   *lc;

	if (stashed_xid != GetCurrentTransactionIdIfAny())
		stashed_filters = NIL;
	foreach(lc, stashed_filters)
	{
		StashedFilter *f = lfirst(lc);
		int			nestlevel = NewGUCNestLevel();
		char	   *text;
		PrivilegeSwitch s;

		if (get_rel_name(f->source) == NULL)
			continue;
		/* Every name qualified, as the canonical form is stored. */
		(void) set_config_option("search_path", "", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		text = deparse_expression(stringToNode(f->tree),
								  deparse_context_for(get_rel_name(f->source), f->source),
								  false, false);
		AtEOXact_GUC(true, nestlevel);
		if (strcmp(text, f->old_text) == 0)
			continue;
		privileges_enter_catalog(&s);
		catalog_set_filter(f->name, text);
		privileges_leave(&s);
		log_renamed(f->name, f->source,
					psprintf("Its filter now reads %s (was %s).", text, f->old_text));
	}
	stashed_filters = NIL;
}

/* Brings the source registry's names up to date, logged per model. */
static void
tables_renamed(List *relids, const char *what)
{
	List	   *models = models_on(relids, false);
	ListCell   *lc;
	PrivilegeSwitch s;

	foreach(lc, models)
	{
		DdlModel   *m = lfirst(lc);
		StoredModel *stored;

		privileges_enter_catalog(&s);
		stored = catalog_load_model(m->name, false);
		(void) digest_source_id(m->source, stored->key_type);
		privileges_leave(&s);
		log_renamed(m->name, m->source,
					psprintf("Its source is now %s (its %s was renamed or moved).",
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(m->source)),
														get_rel_name(m->source)), what));
	}
}

PG_FUNCTION_INFO_V1(unlearn_ddl_command_end);

/* ddl_command_end: follows renames, sets triggers up after hierarchy changes. */
Datum
unlearn_ddl_command_end(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig = (EventTriggerData *) fcinfo->context;
	Node	   *parse;
	PrivilegeSwitch s;
	bool		reconcile = false;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		unlearn_misused_trigger(fcinfo, "by an event trigger");
	if (!guard_active())
		PG_RETURN_VOID();
	parse = trig->parsetree;
	switch (nodeTag(parse))
	{
		case T_RenameStmt:
			{
				RenameStmt *stmt = (RenameStmt *) parse;
				Oid			relid = relation_of(stmt->relation);

				if (stmt->renameType == OBJECT_COLUMN && OidIsValid(relid))
					column_renamed(relid, stmt->subname, stmt->newname);
				else if (stmt->renameType == OBJECT_TABLE && OidIsValid(relid))
					tables_renamed(list_make1_oid(relid), "table");
				else if (stmt->renameType == OBJECT_SCHEMA)
					tables_renamed(tables_where("c.relnamespace OPERATOR(pg_catalog.=) $1",
												ObjectIdGetDatum(get_namespace_oid(stmt->newname, false)),
												OIDOID), "schema");
				filters_renamed();
			}
			break;
		case T_AlterObjectSchemaStmt:
			{
				AlterObjectSchemaStmt *stmt = (AlterObjectSchemaStmt *) parse;

				if (stmt->objectType == OBJECT_TABLE && stmt->relation)
				{
					RangeVar   *moved = copyObject(stmt->relation);

					moved->schemaname = stmt->newschema;
					tables_renamed(list_make1_oid(relation_of(moved)), "table");
				}
				filters_renamed();
			}
			break;
		case T_CreateStmt:
			{
				CreateStmt *stmt = (CreateStmt *) parse;

				reconcile = stmt->partbound != NULL || stmt->inhRelations != NIL;
			}
			break;
		case T_AlterTableStmt:
			{
				ListCell   *lc;

				foreach(lc, ((AlterTableStmt *) parse)->cmds)
				{
					AlterTableType t = ((AlterTableCmd *) lfirst(lc))->subtype;

					reconcile |= t == AT_AttachPartition || t == AT_DetachPartition ||
						t == AT_DetachPartitionFinalize || t == AT_AddInherit ||
						t == AT_DropInherit;
				}
			}
			break;
		default:
			break;
	}
	if (reconcile)
	{
		privileges_enter_catalog(&s);
		erase_reconcile_all();
		privileges_leave(&s);
	}
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(unlearn_sql_drop);

/*
 * sql_drop, the safety net: a source dropped by a path the start of the
 * command did not see drops its models (logged); the source registry
 * forgets dropped tables; a model whose filter no longer compiles (a
 * function it calls was dropped) is marked.
 */
Datum
unlearn_sql_drop(PG_FUNCTION_ARGS)
{
	List	   *dropped = NIL;
	bool		others = false;
	List	   *models;
	ListCell   *lc;
	PrivilegeSwitch s;
	MemoryContext cxt = CurrentMemoryContext;
	uint64		i;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		unlearn_misused_trigger(fcinfo, "by an event trigger");
	if (!guard_active())
		PG_RETURN_VOID();
	SPI_connect();
	if (SPI_execute("SELECT objid, classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
					" FROM pg_catalog.pg_event_trigger_dropped_objects() WHERE objsubid = 0",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the dropped objects");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			objid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull));

		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull)))
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			dropped = lappend_oid(dropped, objid);
			MemoryContextSwitchTo(old);
		}
		else
			others = true;
	}
	SPI_finish();

	models = models_on(dropped, false);
	privileges_enter_catalog(&s);
	foreach(lc, models)
		model_drop(((DdlModel *) lfirst(lc))->name, "cascade", "Its source table was dropped.");
	if (dropped != NIL)
	{
		Oid			types[1] = {REGCLASSARRAYOID};
		Datum		values[1];

		values[0] = PointerGetDatum(oid_list_array(dropped, REGCLASSOID));
		SPI_connect();
		if (SPI_execute_with_args("UPDATE unlearn.source_table SET relation = NULL, dropped_at = now()"
								  " WHERE relation = ANY ($1)",
								  1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not record the dropped sources");
		SPI_finish();
	}
	privileges_leave(&s);

	if (others)
	{
		foreach(lc, models_on(NIL, true))
		{
			DdlModel   *m = lfirst(lc);
			StoredModel *stored;
			char	   *why;

			if (m->filter == NULL || get_rel_name(m->source) == NULL)
				continue;
			privileges_enter_catalog(&s);
			stored = catalog_load_model(m->name, false);
			privileges_leave(&s);
			if (model_filter_try_compile(stored, &why) == NULL)
				mark_models(list_make1(m->name), m->source, why);
		}
	}
	PG_RETURN_VOID();
}

/*
 * Utility hook (with the library loaded): refuses DROP ROLE of a role
 * that owns models in this database, which no event trigger can see.
 */
static void
ddl_utility_hook(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				 ProcessUtilityContext context, ParamListInfo params,
				 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parse = pstmt->utilityStmt;

	if (IsA(parse, DropRoleStmt) && IsTransactionState() &&
		OidIsValid(get_extension_oid("unlearn", true)))
	{
		ListCell   *lc;

		foreach(lc, ((DropRoleStmt *) parse)->roles)
		{
			RoleSpec   *spec = lfirst(lc);
			Oid			role = get_rolespec_oid(spec, true);
			Oid			types[1] = {REGROLEOID};
			Datum		values[1] = {ObjectIdGetDatum(role)};
			PrivilegeSwitch s;
			char	   *owned = NULL;

			if (!OidIsValid(role))
				continue;
			privileges_enter_catalog(&s);
			SPI_connect();
			if (SPI_execute_with_args("SELECT string_agg(name, ', ' ORDER BY name) FROM unlearn.model"
									  " WHERE owner = $1", 1, types, values, NULL, true, 0) ==
				SPI_OK_SELECT && SPI_processed == 1)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
											  &isnull);

				if (!isnull)
					owned = MemoryContextStrdup(TopTransactionContext, TextDatumGetCString(d));
			}
			SPI_finish();
			privileges_leave(&s);
			if (owned)
				ereport(ERROR,
						(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
						 errmsg("role \"%s\" cannot be dropped because it owns models",
								GetUserNameFromId(role, false)),
						 errdetail("Owner of models: %s.", owned),
						 errhint("Give them a new owner first: SELECT unlearn.alter_model_owner(name, 'new_owner') FROM unlearn.models WHERE owner = '%s'::regrole.",
								 GetUserNameFromId(role, false))));
		}
	}
	if (prev_utility_hook)
		prev_utility_hook(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
								dest, qc);
}

/* Installs the utility hook (from _PG_init). */
void
ddl_init(void)
{
	prev_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = ddl_utility_hook;
}
