/*-------------------------------------------------------------------------
 *
 * dataset.c
 *	  Reading a model's training rows from its source table.
 *
 * The caller locks the source in SHARE mode (writers wait; readers do
 * not) before dataset_load() takes its snapshot, so no erasure can slip
 * between the rows training reads and the model's commit.  The snapshot
 * is the latest one, not the transaction's: under REPEATABLE READ the
 * model is trained on every row committed before the lock, like an
 * index build.
 *
 * Rows are read with a plain table scan (no SPI), filtered by the
 * compiled "where" expression (run with the rights of the model's owner,
 * in a security-restricted operation with search_path pinned), and stored
 * as dense blocks of term vectors when they fit in unlearn.train_memory;
 * otherwise every solver pass re-scans the table under the same snapshot.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/mman.h>

#include "access/genam.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/dependency.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "parser/parse_relation.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/guc.h"
#include "utils/rls.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"

#include "classes.h"
#include "dataset.h"
#include "lineage.h"
#include "linalg.h"
#include "privileges.h"
#include "serial.h"
#include "source_scan.h"
#include "citus_guard.h"
#include "distributed.h"
#include "unlearn.h"

/*
 * Checks that every partition of a partitioned source can hold a model's
 * rows: a foreign partition's rows live elsewhere (and its triggers get no
 * transition tables), a temporary or unlogged one can lose them without
 * firing a trigger.
 */
static void
check_partitions(Oid relid, const char *name)
{
	List	   *parts = find_all_inheritors(relid, NoLock, NULL);
	ListCell   *lc;

	foreach(lc, parts)
	{
		Oid			part = lfirst_oid(lc);
		char		kind = get_rel_relkind(part);
		char		persistence = get_rel_persistence(part);

		if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot train a model on \"%s\": its partition \"%s\" is not an ordinary table",
							name, get_rel_name(part)),
					 errdetail("A foreign partition's rows are not in this database, and its deletes cannot be seen.")));
		if (persistence != RELPERSISTENCE_PERMANENT)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot train a model on \"%s\": its partition \"%s\" is %s",
							name, get_rel_name(part),
							persistence == RELPERSISTENCE_TEMP ? "temporary" : "unlogged"),
					 errdetail("Crash recovery or the end of a session empties such a table without firing triggers, which would leave erased rows in its models.")));
	}
}

/* Checks that a relation can be a model's source; raises errors otherwise. */
void
dataset_check_source(Oid relid)
{
	char		relkind = get_rel_relkind(relid);
	const char *name = get_rel_name(relid);
	const char *citus;
	char		persistence;

	if (relkind == '\0' || name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	persistence = get_rel_persistence(relid);	/* only now: it fails on a missing OID */

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot train a model on \"%s\"", name),
				 errdetail_relkind_not_supported(relkind)));
	if (IsCatalogRelationOid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot train a model on system catalog \"%s\"", name)));
	if (getExtensionOfObject(RelationRelationId, relid) == get_extension_oid("unlearn", true))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot train a model on \"%s\", a table of extension unlearn", name),
				 errdetail("Erasure triggers on the extension's own tables would fire as the extension writes them.")));
	if (persistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot train a model on temporary table \"%s\"", name),
				 errdetail("A model outlives the session that owns a temporary table.")));
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot train a model on \"%s\", which has row-level security for this user", name),
				 errdetail("The model would learn from rows the user cannot see.")));
	if ((citus = citus_table_kind(relid)) != NULL && !distributed_is_source(relid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot train a model on \"%s\", a %s table of Citus", name, citus),
				 errdetail("Its rows live in shards on the cluster's nodes, where this node neither reads them nor sees them deleted."),
				 errhint("Train on a local table, or on a table distributed by hash.")));
	if (persistence == RELPERSISTENCE_UNLOGGED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot train a model on unlogged table \"%s\"", name),
				 errdetail("Crash recovery empties an unlogged table without firing triggers, which would leave erased rows in its models.")));
	if (relkind == RELKIND_PARTITIONED_TABLE)
		check_partitions(relid, name);
}

/* Whether a key type is stored directly (integers) rather than hashed. */
bool
dataset_key_is_integer(Oid key_type)
{
	return key_type == INT2OID || key_type == INT4OID || key_type == INT8OID;
}

/*
 * Refuses key columns whose text is not a faithful identity of the value:
 * lineage hashes and compares a key by its text, so the text of two
 * values must be equal exactly when the values are (not so for numeric
 * 1.0 = 1, char(n) padding, timestamps under other settings, or
 * nondeterministic collations).
 */
static void
check_key_type(const char *column, Oid type, Oid collation)
{
	bool		ok;

	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case UUIDOID:
			ok = true;
			break;
		case TEXTOID:
		case VARCHAROID:
			if (OidIsValid(collation) && !get_collation_isdeterministic(collation))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("key column \"%s\" has a nondeterministic collation, which cannot identify rows in lineage",
								column),
						 errdetail("Under it, keys with different text can be equal."),
						 errhint("Use an integer, uuid, or text key with a deterministic collation.")));
			ok = true;
			break;
		default:
			ok = false;
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("key column \"%s\" has type %s, which cannot identify rows in lineage",
						column, format_type_be(type)),
				 errhint("Use an integer, uuid, or text key with a deterministic collation.")));
}

/* The 64-bit lineage key of a key datum (and its text if hashed). */
int64
dataset_key_value(Oid key_type, Datum value, FmgrInfo *key_out, char **key_text)
{
	char	   *text;

	*key_text = NULL;
	switch (key_type)
	{
		case INT2OID:
			return (int64) DatumGetInt16(value);
		case INT4OID:
			return (int64) DatumGetInt32(value);
		case INT8OID:
			return DatumGetInt64(value);
		default:
			text = OutputFunctionCall(key_out, value);
			*key_text = text;
			return (int64) hash_bytes_extended((const unsigned char *) text,
											   strlen(text), 0);
	}
}

/* Whether a unique, immediate, non-partial index covers exactly attnum. */
static bool
has_unique_index_on(Relation rel, AttrNumber attnum)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = index->rd_index;

		if (form->indisunique && form->indimmediate && form->indisvalid &&
			form->indnkeyatts == 1 && form->indkey.values[0] == attnum &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL) &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, NULL))
			found = true;
		index_close(index, AccessShareLock);
		if (found)
			break;
	}
	list_free(indexes);
	return found;
}

/* The attribute number of a column of rel named by the caller, or 42703. */
static AttrNumber
named_column(Relation rel, const char *name)
{
	AttrNumber	attnum = attnameAttNum(rel, name, false);

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						name, RelationGetRelationName(rel))));
	return attnum;
}

/* Resolves the key column: the option "key", or the one-column primary key. */
static void
resolve_key(Dataset *ds, const char *key_option)
{
	Relation	rel = ds->rel;
	const char *relname = RelationGetRelationName(rel);
	AttrNumber	attnum;

	if (key_option != NULL)
	{
		Form_pg_attribute attr;

		attnum = named_column(rel, key_option);
		attr = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
		if (!attr->attnotnull)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("key column \"%s\" of relation \"%s\" must be NOT NULL",
							key_option, relname)));
		if (!has_unique_index_on(rel, attnum))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("key column \"%s\" of relation \"%s\" has no unique index",
							key_option, relname),
					 errhint("Create a unique index on the column alone, without a WHERE clause.")));
	}
	else
	{
		Oid			pkoid = RelationGetPrimaryKeyIndex(rel);
		Relation	index;

		if (!OidIsValid(pkoid))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("relation \"%s\" has no primary key", relname),
					 errhint("Add a primary key, or name a unique NOT NULL column with the option \"key\".")));
		index = index_open(pkoid, AccessShareLock);
		if (index->rd_index->indnkeyatts != 1)
		{
			index_close(index, AccessShareLock);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the primary key of relation \"%s\" has more than one column",
							relname),
					 errhint("Name a unique NOT NULL column with the option \"key\".")));
		}
		attnum = index->rd_index->indkey.values[0];
		index_close(index, AccessShareLock);
	}
	ds->key_attnum = attnum;
	ds->key_type = getBaseType(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid);
	check_key_type(NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname),
				   ds->key_type, TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attcollation);
	ds->key_is_integer = dataset_key_is_integer(ds->key_type);
	ds->key_name = pstrdup(NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname));
	if (!ds->key_is_integer)
	{
		Oid			outfunc;
		bool		isvarlena;

		getTypeOutputInfo(ds->key_type, &outfunc, &isvarlena);
		fmgr_info(outfunc, &ds->key_out);
	}
}

/* Resolves the target column: numeric or boolean, not the key. */
static void
resolve_target(Dataset *ds, const char *target)
{
	Relation	rel = ds->rel;
	AttrNumber	attnum = named_column(rel, target);
	Form_pg_attribute attr;
	ColumnKind	kind;

	if (attnum == ds->key_attnum)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the key column \"%s\" cannot be the target", target)));
	attr = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	ds->target_type = getBaseType(attr->atttypid);
	if (ds->target_kind == LOSS_TARGET_CLASS)
	{
		/* Multinomial: the classes are the target's distinct values. */
		if (!classes_type_allowed(ds->target_type))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("target column \"%s\" has type %s", target,
							feature_type_name(attr->atttypid)),
					 errhint("A multinomial model's target must be an integer, boolean, text, varchar, char or enum column: its distinct values are the classes.")));
		ds->classes = classes_create(ds->target_type, ds->cxt);
		ds->target_attnum = attnum;
		ds->target_name = pstrdup(target);
		return;
	}
	if (!feature_kind_of_type(ds->target_type, &kind) || kind == COLUMN_CATEGORICAL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" has type %s", target,
						feature_type_name(attr->atttypid)),
				 errhint("The target must be an integer, floating-point, numeric or boolean column.")));
	ds->target_attnum = attnum;
	ds->target_name = pstrdup(target);
}

/*
 * Resolves the exposure column (Poisson's option exposure): numeric, not
 * the key or the target.  Without the option: none.
 */
static void
resolve_exposure(Dataset *ds, const char *exposure)
{
	Relation	rel = ds->rel;
	AttrNumber	attnum;
	Form_pg_attribute attr;
	ColumnKind	kind;

	ds->exposure_attnum = InvalidAttrNumber;
	if (exposure == NULL)
		return;
	attnum = named_column(rel, exposure);
	if (attnum == ds->key_attnum || attnum == ds->target_attnum)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s column \"%s\" cannot be the exposure",
						attnum == ds->key_attnum ? "key" : "target", exposure)));
	attr = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	ds->exposure_type = getBaseType(attr->atttypid);
	if (!feature_kind_of_type(ds->exposure_type, &kind) || kind != COLUMN_NUMERIC ||
		ds->exposure_type == BOOLOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("exposure column \"%s\" has type %s", exposure,
						feature_type_name(attr->atttypid)),
				 errhint("The exposure must be an integer, floating-point or numeric column.")));
	ds->exposure_attnum = attnum;
	ds->exposure_name = pstrdup(exposure);
}

/* Error context line for errors in the "where" option. */
static void
where_error_context(void *arg)
{
	errcontext("in option \"where\": %s", (const char *) arg);
}

/*
 * Compiles a "where" option into a qual over rel's rows, in estate, and
 * sets *canonical (unless NULL) to its canonical text.  The text is
 * parsed, with standard_conforming_strings on whatever the session says,
 * as the WHERE clause of "SELECT 1 FROM ONLY source", and the statement
 * must come back with nothing but that clause; subqueries and volatile
 * functions are refused so that a retrain sees the same rows.  The
 * canonical text is the analysed expression printed back with every name
 * schema-qualified (as pg_dump prints expressions): it means the same
 * under any search_path, and it is what the model stores and later
 * re-reads (search_path NULL) under the pinned path.  A new filter is
 * parsed under search_path, its author's.  The caller runs this as the
 * role the filter belongs to, search_path pinned (constant folding may
 * call its functions).
 */
ExprState *
dataset_compile_filter(Relation rel, const char *where, const char *search_path,
					   EState *estate, char **canonical)
{
	Node	   *qual = dataset_filter_expr(rel, where, search_path, canonical);

	qual = (Node *) expression_planner((Expr *) qual);
	return ExecPrepareQual(make_ands_implicit((Expr *) qual), estate);
}

/*
 * The analysed expression of a "where" option over rel's rows (see
 * dataset_compile_filter), not yet planned: for compiling it, or for
 * reading which columns it uses and printing it back.
 */
Node *
dataset_filter_expr(Relation rel, const char *where, const char *search_path,
					char **canonical)
{
	StringInfoData sql;
	List	   *raw;
	RawStmt    *rawstmt;
	SelectStmt *select;
	Query	   *query;
	Node	   *qual;
	ErrorContextCallback errcallback;
	int			save_nestlevel;

	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("standard_conforming_strings", "on",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	if (search_path)
		(void) set_config_option("search_path", search_path,
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);

	errcallback.callback = where_error_context;
	errcallback.arg = (void *) where;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT 1 FROM ONLY %s WHERE ",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)));
	appendStringInfoString(&sql, where);

	raw = raw_parser(sql.data, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"where\" must be a single boolean expression")));
	rawstmt = linitial_node(RawStmt, raw);
	select = (SelectStmt *) rawstmt->stmt;
	if (!IsA(select, SelectStmt) || select->op != SETOP_NONE ||
		select->distinctClause || select->intoClause ||
		list_length(select->targetList) != 1 ||
		list_length(select->fromClause) != 1 || select->whereClause == NULL ||
		select->groupClause || select->havingClause || select->windowClause ||
		select->valuesLists || select->sortClause || select->limitOffset ||
		select->limitCount || select->lockingClause || select->withClause)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"where\" must be a single boolean expression")));

	query = parse_analyze_fixedparams(rawstmt, sql.data, NULL, 0, NULL);
	if (query->hasSubLinks)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("option \"where\" must not contain subqueries")));
	qual = query->jointree->quals;
	if (contain_mutable_functions(qual))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"where\" must call only immutable functions"),
				 errdetail("Whether a row passes must depend on the row alone, as for an index predicate: a row that stops passing without being updated would stay in the model unseen."),
				 errhint("Compare with constants instead of now() or current_user, and mark functions of the row alone IMMUTABLE.")));

	if (canonical)
	{
		(void) set_config_option("search_path", "", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		*canonical = deparse_expression(qual,
										deparse_context_for(RelationGetRelationName(rel),
															RelationGetRelid(rel)),
										false, false);
	}
	AtEOXact_GUC(true, save_nestlevel);
	error_context_stack = errcallback.previous;
	return qual;
}

/* Whether the slot's row passes the filter (always, without one). */
static bool
row_passes_filter(Dataset *ds)
{
	ExprContext *econtext;
	PrivilegeSwitch s;
	bool		pass;

	if (ds->filter == NULL)
		return true;
	econtext = GetPerTupleExprContext(ds->estate);
	econtext->ecxt_scantuple = ds->slot;
	privileges_enter_role(&s, ds->filter_owner);
	pass = ExecQual(ds->filter, econtext);
	privileges_leave(&s);
	ResetExprContext(econtext);
	return pass;
}

/*
 * Whether the slot's row is held out of training (the option holdout, by
 * its key: options_key_held_out).
 */
static bool
row_held_out(Dataset *ds)
{
	MemoryContext old;
	char	   *key_text;
	bool		held;

	if (!(ds->holdout > 0))
		return false;
	old = MemoryContextSwitchTo(ds->row_cxt);
	held = options_key_held_out(dataset_key_value(ds->key_type,
												  ds->slot->tts_values[ds->key_attnum - 1],
												  &ds->key_out, &key_text),
								ds->holdout);
	MemoryContextSwitchTo(old);
	MemoryContextReset(ds->row_cxt);
	return held;
}

/* Describes the slot's row by its key, for error messages. */
static char *
row_key_text(Dataset *ds)
{
	bool		isnull;
	Datum		key = slot_getattr(ds->slot, ds->key_attnum, &isnull);
	Oid			outfunc;
	bool		isvarlena;

	if (isnull)
		return pstrdup("NULL");
	getTypeOutputInfo(ds->key_type, &outfunc, &isvarlena);
	return OidOutputFunctionCall(outfunc, key);
}

/*
 * Returns the name of the first NULL column among target and features of
 * the slot's row, or NULL if there is none.
 */
static const char *
first_null_column(Dataset *ds)
{
	bool	   *isnull = ds->slot->tts_isnull;
	int			j;

	if (isnull[ds->target_attnum - 1])
		return ds->target_name;
	if (ds->exposure_attnum != InvalidAttrNumber && isnull[ds->exposure_attnum - 1])
		return ds->exposure_name;
	for (j = 0; j < ds->fs->nfeatures; j++)
		if (isnull[ds->fs->cols[j].attnum - 1])
			return ds->fs->cols[j].name;
	return NULL;
}

/* Captures the target of the slot's row into raw[0], checking labels. */
static void
capture_target(Dataset *ds, double *raw)
{
	double		y;

	/* A class: its provisional id in the first pass, its position after. */
	if (ds->classes)
	{
		Datum		value = ds->slot->tts_values[ds->target_attnum - 1];

		raw[0] = ds->classes->finished ? classes_find(ds->classes, value) :
			classes_add(ds->classes, value);
		return;
	}
	y = feature_datum_to_double(ds->slot->tts_values[ds->target_attnum - 1], ds->target_type);

	if (!isfinite(y))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" contains NaN or infinity", ds->target_name),
				 errdetail("The row with key %s.", row_key_text(ds))));
	if (ds->target_kind == LOSS_TARGET_BINARY && y != 0.0 && y != 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("label %g in target column \"%s\" is not 0 or 1", y, ds->target_name),
				 errdetail("The row with key %s.", row_key_text(ds)),
				 errhint("A logistic model takes labels 0 and 1, or a boolean target; more classes need model type 'multinomial'.")));
	if (ds->target_kind == LOSS_TARGET_COUNT && (y < 0.0 || y != floor(y)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("count %g in target column \"%s\" is not a non-negative integer",
						y, ds->target_name),
				 errdetail("The row with key %s.", row_key_text(ds)),
				 errhint("A Poisson model takes counts: 0, 1, 2, ...")));
	raw[0] = y;
}

/*
 * The exposure of the slot's row, checked: a finite number above 0 (its
 * log is the row's offset); 1 without the option.
 */
static double
capture_exposure(Dataset *ds)
{
	double		t;

	if (ds->exposure_attnum == InvalidAttrNumber)
		return 1.0;
	t = feature_datum_to_double(ds->slot->tts_values[ds->exposure_attnum - 1],
								ds->exposure_type);
	if (!(isfinite(t) && t > 0))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("exposure %g in column \"%s\" is not a positive number",
						t, ds->exposure_name),
				 errdetail("The row with key %s.", row_key_text(ds)),
				 errhint("The exposure is what the count was observed over (time, area, ...); "
						 "its log enters the logit, so it must be finite and above 0.")));
	return t;
}

/*
 * Doubles a raw row takes: the target, the features as captured, and the
 * offset log(exposure) last when the model has an exposure.
 */
static int
raw_width(const Dataset *ds)
{
	return FEATURES_RAW_WIDTH(ds->fs) + (ds->exposure_attnum != InvalidAttrNumber ? 1 : 0);
}

/* Appends a lineage entry for the slot's row (its key text kept in ds->cxt). */
static void
add_lineage_entry(Dataset *ds, int64 fingerprint)
{
	LineageEntry *e;
	char	   *key_text;

	if (ds->nentries == ds->maxentries)
	{
		ds->maxentries *= 2;
		ds->entries = repalloc_huge(ds->entries, sizeof(LineageEntry) * ds->maxentries);
	}
	e = &ds->entries[ds->nentries++];
	e->key = dataset_key_value(ds->key_type, ds->slot->tts_values[ds->key_attnum - 1],
							   &ds->key_out, &key_text);
	e->key_text = key_text ? MemoryContextStrdup(ds->cxt, key_text) : NULL;
	e->fingerprint = fingerprint;
}

/* Smallest and largest segment for row blocks; sizes double in between. */
#define SEGMENT_MIN_BYTES	((Size) 1024 * 1024)
#define SEGMENT_MAX_BYTES	((Size) 64 * 1024 * 1024)
#define HUGE_PAGE_BYTES		((Size) 2 * 1024 * 1024)

/*
 * Carves memory for row blocks out of large segments.  Large, advised for
 * transparent huge pages where the kernel allows, they fault in a few
 * hundred times for a million rows instead of tens of thousands.
 */
static void *
segment_alloc(Dataset *ds, Size bytes)
{
	void	   *p;

	bytes = MAXALIGN(bytes);
	if (ds->seg_base == NULL || ds->seg_used + bytes > ds->seg_size)
	{
		Size		size = ds->seg_size == 0 ? SEGMENT_MIN_BYTES :
			Min(ds->seg_size * 2, SEGMENT_MAX_BYTES);

		size = Max(size, bytes);
		ds->seg_base = MemoryContextAllocHuge(CurrentMemoryContext, size);
		ds->seg_size = size;
		ds->seg_used = 0;
		ds->segments = lappend(ds->segments, ds->seg_base);
#ifdef MADV_HUGEPAGE
		{
			uintptr_t	start = TYPEALIGN(HUGE_PAGE_BYTES, (uintptr_t) ds->seg_base);
			uintptr_t	end = TYPEALIGN_DOWN(HUGE_PAGE_BYTES, (uintptr_t) ds->seg_base + size);

			if (end > start)
				(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
		}
#endif
	}
	p = ds->seg_base + ds->seg_used;
	ds->seg_used += bytes;
	return p;
}

/* Frees every segment (and so every block living in them). */
static void
free_segments(Dataset *ds)
{
	ListCell   *lc;

	foreach(lc, ds->segments)
		pfree(lfirst(lc));
	list_free(ds->segments);
	ds->segments = NIL;
	ds->seg_base = NULL;
	ds->seg_size = 0;
	ds->seg_used = 0;
	list_free(ds->raw_blocks);
	ds->raw_blocks = NIL;
}

static void local_first_pass(Dataset *ds);

/* Reads every training row once: from the shards when the source is distributed. */
static void
first_pass(Dataset *ds)
{
	if (ds->distributed)
		distributed_first_pass(ds);
	else
		local_first_pass(ds);
}

/* Reads every training row once: statistics, levels, lineage, raw rows. */
static void
local_first_pass(Dataset *ds)
{
	int			width = raw_width(ds);
	double	   *scratch = palloc(sizeof(double) * width);
	double	   *block = NULL;
	int			block_rows = 0;
	uint64	   *text_hash = palloc0(sizeof(uint64) * Max(ds->fs->nfeatures, 1));
	SourceScan	scan;
	MemoryContext old;
	AttrNumber	maxatt = ds->key_attnum;
	PrivilegeSwitch pin;
	int			j;

	maxatt = Max(maxatt, ds->target_attnum);
	maxatt = Max(maxatt, ds->exposure_attnum);
	for (j = 0; j < ds->fs->nfeatures; j++)
		maxatt = Max(maxatt, ds->fs->cols[j].attnum);

	ds->maxentries = 1024;
	ds->entries = palloc(sizeof(LineageEntry) * ds->maxentries);
	ds->in_memory = true;

	/*
	 * A table the planner's estimate puts at twice the budget or more
	 * streams from the start: keeping its first rows only to free them
	 * costs a tenth of a fit at 10 million rows.  A filter may leave few
	 * of its rows: then the budget decides, row by row.
	 */
	if (ds->filter == NULL && ds->rel->rd_rel->reltuples > 0 &&
		(double) ds->rel->rd_rel->reltuples * width * sizeof(double) > 2.0 * ds->memory_limit)
		ds->in_memory = false;

	/* The filter's search_path, pinned once rather than row by row. */
	if (ds->filter)
		privileges_pin_search_path(&pin);
	source_scan_begin(&scan, ds->rel, ds->snapshot);
	while ((ds->slot = source_scan_next(&scan, ds->row_slot)) != NULL)
	{
		const char *nullcol;
		double	   *raw;

		CHECK_FOR_INTERRUPTS();
		if (!row_passes_filter(ds))
			continue;
		slot_getsomeattrs(ds->slot, maxatt);
		if (row_held_out(ds))
		{
			ds->nheld_out++;
			continue;
		}
		if ((nullcol = first_null_column(ds)) != NULL)
		{
			if (ds->nulls == NULLS_ERROR)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("column \"%s\" is null in the row with key %s",
								nullcol, row_key_text(ds)),
						 errhint("Set the option \"nulls\" to \"skip\" to leave such rows out.")));
			ds->nskipped++;
			continue;
		}

		/* Keep raw rows while they fit the memory budget. */
		if (ds->in_memory &&
			(Size) (ds->nrows + 1) * width * sizeof(double) > ds->memory_limit)
		{
			free_segments(ds);
			ds->in_memory = false;
			block = NULL;
		}
		if (ds->in_memory)
		{
			if (block == NULL || block_rows == DATASET_BLOCK_ROWS)
			{
				block = segment_alloc(ds, sizeof(double) * width * DATASET_BLOCK_ROWS);
				ds->raw_blocks = lappend(ds->raw_blocks, block);
				block_rows = 0;
			}
			raw = &block[(Size) block_rows++ * width];
		}
		else
			raw = scratch;

		/* Detoasted values and texts of one row die with the row. */
		old = MemoryContextSwitchTo(ds->row_cxt);
		features_capture_row(ds->fs, ds->slot->tts_values, true, raw, text_hash);
		capture_target(ds, raw);
		if (raw[0] > 0.0 && ds->target_kind != LOSS_TARGET_REAL)
			ds->npositive++;
		if (ds->exposure_attnum != InvalidAttrNumber)
		{
			double		t = capture_exposure(ds);

			raw[width - 1] = log(t);
			add_lineage_entry(ds, features_fingerprint_exposure(
											features_fingerprint(ds->fs, raw, text_hash), t));
		}
		else if (ds->classes)
		{
			/* A class enters the fingerprint by its label, not by its (provisional) id. */
			double		id = raw[0];

			raw[0] = 0.0;
			add_lineage_entry(ds, features_fingerprint_class(
											features_fingerprint(ds->fs, raw, text_hash),
											ds->classes->labels[(int) id]));
			raw[0] = id;
		}
		else
			add_lineage_entry(ds, features_fingerprint(ds->fs, raw, text_hash));
		MemoryContextSwitchTo(old);
		MemoryContextReset(ds->row_cxt);
		ds->nrows++;
		if ((ds->nrows & 0xFFFF) == 0)
			unlearn_progress("training \"%s\": read " INT64_FORMAT " rows",
							 ds->model_name, ds->nrows);
	}
	source_scan_end(&scan);
	ds->slot = ds->row_slot;
	if (ds->filter)
		privileges_leave(&pin);
	pfree(scratch);
	pfree(text_hash);
}

/* The names of a feature set's columns, comma-separated, for a message. */
static char *
dataset_feature_list(const FeatureSet *fs)
{
	StringInfoData buf;
	int			j;

	initStringInfo(&buf);
	for (j = 0; j < fs->nfeatures; j++)
		appendStringInfo(&buf, "%s%s", j > 0 ? ", " : "",
						 quote_identifier(fs->cols[j].name));
	return buf.data;
}

/*
 * With features = NULL, leaves out the columns the rows show unfit (see
 * features_choose) and reads the rows again without them: the lineage
 * fingerprints, the NULLs skipped and the memory budget are then those of
 * the columns kept.  Kept columns vary over these rows, so over the rows
 * the next pass adds too (fewer columns, fewer NULLs); only the level
 * counts can grow, hence the loop.  Then says what was taken and why.
 */
static void
choose_features(Dataset *ds, const TrainOptions *opts)
{
	ArrayType  *keep;
	List	   *skipped;

	if (!ds->fs->chosen)
		return;
	while ((keep = features_choose(ds->fs, ds->nrows)) != NULL)
	{
		skipped = ds->fs->skipped;
		free_segments(ds);
		pfree(ds->entries);
		ds->entries = NULL;
		ds->nentries = 0;
		ds->nrows = 0;
		ds->nskipped = 0;
		ds->nheld_out = 0;
		ds->npositive = 0;
		if (ds->classes)
			ds->classes = classes_create(ds->target_type, ds->cxt);
		ds->fs = features_resolve(ds->rel, keep, ds->key_attnum, ds->target_attnum,
								  ds->exposure_attnum, opts->intercept, opts->standardize);
		ds->fs->chosen = true;
		ds->fs->skipped = skipped;
		features_check_identifiable(ds->fs, opts->l2);
		first_pass(ds);
		if (ds->nrows == 0)
			break;				/* cannot be: the rows passed before */
	}
	ereport(NOTICE,
			(errmsg_plural("model \"%s\" takes %d feature column: %s",
						   "model \"%s\" takes %d feature columns: %s",
						   ds->fs->nfeatures,
						   ds->model_name, ds->fs->nfeatures, dataset_feature_list(ds->fs)),
			 ds->fs->skipped != NIL ?
			 errdetail("Skipped: %s.", features_skipped_text(ds->fs->skipped)) : 0));
}

/*
 * Turns a raw block into a block of term vectors in its own memory: the
 * target moves out to y, the rest is scaled where it lies.  A term vector
 * (intercept?, features) is never wider than a raw row (target, features)
 * and starts no later, so rows are rewritten front to back safely.
 */
static DataBlock *
expand_in_place(Dataset *ds, double *raw, int nrows)
{
	int			width = raw_width(ds);
	int			d = ds->fs->nterms;
	DataBlock  *blk = palloc(sizeof(DataBlock));
	double	   *row = palloc(sizeof(double) * width);
	int			i;

	blk->nrows = nrows;
	blk->X = raw;
	blk->y = palloc(sizeof(double) * nrows);
	blk->offset = ds->exposure_attnum != InvalidAttrNumber ?
		palloc(sizeof(double) * nrows) : NULL;
	for (i = 0; i < nrows; i++)
	{
		memcpy(row, &raw[(Size) i * width], sizeof(double) * width);
		blk->y[i] = ds->classes ? ds->classes->position[(int) row[0]] : row[0];
		if (blk->offset)
			blk->offset[i] = row[width - 1];
		features_expand(ds->fs, row, &raw[(Size) i * d]);
	}
	pfree(row);
	return blk;
}

/* Turns the raw blocks into blocks of term vectors, freeing them. */
static void
materialize(Dataset *ds)
{
	bool		in_place = features_expand_in_place(ds->fs);
	List	   *raw_segments = NIL;
	int			width = raw_width(ds);
	int			d = ds->fs->nterms;
	int64		remaining = ds->nrows;
	ListCell   *lc;
	int			b = 0;

	ds->nblocks = list_length(ds->raw_blocks);
	ds->blocks = palloc(sizeof(DataBlock *) * Max(ds->nblocks, 1));
	if (!in_place)
	{
		/* Term vectors go to fresh segments; the raw ones are freed after. */
		raw_segments = ds->segments;
		ds->segments = NIL;
		ds->seg_base = NULL;
		ds->seg_size = 0;
		ds->seg_used = 0;
	}
	foreach(lc, ds->raw_blocks)
	{
		double	   *raw = lfirst(lc);
		DataBlock  *blk;
		int			i;

		CHECK_FOR_INTERRUPTS();
		if (in_place)
		{
			blk = expand_in_place(ds, raw, (int) Min(remaining, DATASET_BLOCK_ROWS));
			remaining -= blk->nrows;
			ds->blocks[b++] = blk;
			continue;
		}
		blk = palloc(sizeof(DataBlock));
		blk->nrows = (int) Min(remaining, DATASET_BLOCK_ROWS);
		blk->X = segment_alloc(ds, sizeof(double) * d * blk->nrows);
		blk->y = palloc(sizeof(double) * blk->nrows);
		blk->offset = ds->exposure_attnum != InvalidAttrNumber ?
			palloc(sizeof(double) * blk->nrows) : NULL;
		for (i = 0; i < blk->nrows; i++)
		{
			features_expand(ds->fs, &raw[(Size) i * width], &blk->X[(Size) i * d]);
			blk->y[i] = raw[(Size) i * width];
			if (ds->classes)
				blk->y[i] = ds->classes->position[(int) blk->y[i]];
			if (blk->offset)
				blk->offset[i] = raw[(Size) i * width + width - 1];
		}
		remaining -= blk->nrows;
		ds->blocks[b++] = blk;
	}
	list_free(ds->raw_blocks);
	ds->raw_blocks = NIL;
	foreach(lc, raw_segments)
		pfree(lfirst(lc));
	list_free(raw_segments);
}

/* Opens and checks the source and reads every training row once. */
Dataset *
dataset_load(const DatasetSpec *spec)
{
	Dataset    *ds = palloc0(sizeof(Dataset));
	TrainOptions *opts = spec->options;

	ds->cxt = CurrentMemoryContext;
	ds->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "unlearn row",
										ALLOCSET_SMALL_SIZES);

	/* The caller holds SHARE lock; this open only pins the relation. */
	dataset_check_source(spec->relid);
	ds->rel = table_open(spec->relid, NoLock);
	ds->target_kind = spec->target_kind;
	ds->nulls = opts->nulls;
	ds->holdout = opts->holdout;
	ds->model_name = spec->model_name;
	ds->memory_limit = (Size) unlearn_train_memory * 1024;

	resolve_key(ds, opts->key);
	resolve_target(ds, spec->target);
	resolve_exposure(ds, opts->exposure);
	ds->fs = features_resolve(ds->rel, spec->features, ds->key_attnum,
							  ds->target_attnum, ds->exposure_attnum,
							  opts->intercept, opts->standardize);
	ds->fs->stored_list = spec->filter_stored;
	features_check_identifiable(ds->fs, opts->l2);

	ds->estate = CreateExecutorState();
	ds->row_slot = table_slot_create(ds->rel, NULL);
	ds->slot = ds->row_slot;
	/* The filter runs with its owner's rights (compiling may run it too). */
	ds->filter_owner = spec->filter_owner;
	if (opts->where)
	{
		PrivilegeSwitch s;
		char	   *author_path = spec->filter_stored ? NULL : pstrdup(namespace_search_path);

		privileges_enter_role(&s, ds->filter_owner);
		ds->filter = dataset_compile_filter(ds->rel, opts->where, author_path,
											ds->estate, &opts->where);
		ds->filter_text = opts->where;
		privileges_leave(&s);
	}

	if (distributed_is_source(spec->relid))
		distributed_begin(ds);

	/* Writers are locked out: the latest snapshot is the one to train on. */
	ds->snapshot = RegisterSnapshot(GetLatestSnapshot());
	PushActiveSnapshot(ds->snapshot);
	first_pass(ds);
	if (ds->nrows > 0)
		choose_features(ds, opts);
	PopActiveSnapshot();

	if (ds->nrows == 0 && spec->allow_empty)
		return ds;				/* nothing to fit: the caller says what that means */
	if (ds->nrows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no rows to train model \"%s\" on", spec->model_name),
				 ds->nskipped > 0 ?
				 errdetail(INT64_FORMAT " rows were skipped for NULLs.", ds->nskipped) : 0));
	if (ds->target_kind == LOSS_TARGET_BINARY &&
		(ds->npositive == 0 || ds->npositive == ds->nrows))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" has only one class over the training rows",
						ds->target_name),
				 errdetail("Every label is %d.", ds->npositive == 0 ? 0 : 1)));
	if (ds->target_kind == LOSS_TARGET_COUNT && ds->npositive == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("every count in target column \"%s\" is 0 over the training rows",
						ds->target_name),
				 errdetail("A Poisson model's intercept would go to minus infinity."),
				 errhint("Train on rows with at least one positive count.")));
	if (ds->classes)
	{
		classes_finish(ds->classes);
		ds->nclasses = ds->classes->n;
		if (ds->nclasses < 2)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("target column \"%s\" has only one class over the training rows",
							ds->target_name),
					 errdetail("Every row's class is %s.", ds->classes->labels[0])));
		/*
		 * A class of one row: its block is fitted to that row and the
		 * penalty alone, and erasing the row takes the class away, which
		 * needs a retrain (the parameters' shape changes).
		 */
		for (int k = 0; k < ds->nclasses; k++)
			if (ds->classes->rows[k] < 2)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("class %s of target column \"%s\" has only one training row",
								ds->classes->labels[k], ds->target_name),
						 errdetail("A multinomial model needs at least two rows of every class: "
								   "the erasure of a class's only row takes the class away, "
								   "which only a retrain can do."),
						 errhint("Leave the class out with the option \"where\", or merge it into another.")));
	}

	features_finalize(ds->fs);
	if (ds->classes && (int64) ds->nclasses * ds->fs->nterms > LINALG_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model \"%s\" would have %d classes of %d terms, %lld parameters",
						spec->model_name, ds->nclasses, ds->fs->nterms,
						(long long) ds->nclasses * ds->fs->nterms),
				 errdetail("A multinomial model has one parameter per class and term, and at most %d parameters: its Hessian, of their number squared, is kept and factored.",
						   LINALG_MAX_DIM),
				 errhint("Train on fewer classes or fewer features.")));

	if (ds->distributed)
		ds->in_memory = false;	/* every pass runs on the shards */
	else if (ds->in_memory &&
			 (Size) ds->nrows * (ds->fs->nterms + 2) * sizeof(double) <= ds->memory_limit)
		materialize(ds);
	else
	{
		free_segments(ds);
		ds->in_memory = false;
	}

	if (ds->nentries > 0)
		qsort(ds->entries, ds->nentries, sizeof(LineageEntry), lineage_compare_entries);
	return ds;
}

/*
 * A dataset of rows already encoded as term vectors, for the solver;
 * offset: each row's log(exposure), or NULL.
 */
Dataset *
dataset_from_rows(int nterms, double *X, double *y, double *offset, int64 nrows)
{
	Dataset    *ds = palloc0(sizeof(Dataset));
	int64		done = 0;
	int			b = 0;

	ds->cxt = CurrentMemoryContext;
	ds->fs = palloc0(sizeof(FeatureSet));
	ds->fs->nterms = nterms;
	ds->nrows = nrows;
	ds->in_memory = true;
	ds->nblocks = (int) ((nrows + DATASET_BLOCK_ROWS - 1) / DATASET_BLOCK_ROWS);
	ds->blocks = palloc(sizeof(DataBlock *) * Max(ds->nblocks, 1));
	while (done < nrows)
	{
		DataBlock  *blk = palloc(sizeof(DataBlock));

		blk->nrows = (int) Min(nrows - done, DATASET_BLOCK_ROWS);
		blk->X = &X[(Size) done * nterms];
		blk->y = &y[done];
		blk->offset = offset ? &offset[done] : NULL;
		ds->blocks[b++] = blk;
		done += blk->nrows;
	}
	return ds;
}

/* Starts a pass over the training rows. */
void
dataset_begin_pass(Dataset *ds)
{
	if (ds->distributed)
		elog(ERROR, "a pass over a distributed source must run on its shards");
	if (ds->in_memory)
	{
		ds->cursor = 0;
		return;
	}
	if (ds->stream_block == NULL)
	{
		ds->stream_block = palloc(sizeof(DataBlock));
		ds->stream_block->X = palloc(sizeof(double) * ds->fs->nterms * DATASET_BLOCK_ROWS);
		ds->stream_block->y = palloc(sizeof(double) * DATASET_BLOCK_ROWS);
		ds->stream_block->offset = ds->exposure_attnum != InvalidAttrNumber ?
			palloc(sizeof(double) * DATASET_BLOCK_ROWS) : NULL;
		ds->stream_raw = palloc(sizeof(double) * raw_width(ds));
	}
	PushActiveSnapshot(ds->snapshot);
	if (ds->pscan)
		ds->pdesc = table_beginscan_parallel(ds->rel, ds->pscan);	/* this process's share */
	else
		/* No synchronized scan: every pass sums the rows in the same order. */
		source_scan_begin(&ds->scan, ds->rel, ds->snapshot);
	ds->scanning = true;
}

/* The next block of the pass, or NULL at its end. */
DataBlock *
dataset_next_block(Dataset *ds)
{
	DataBlock  *blk;
	AttrNumber	maxatt;
	MemoryContext old;
	PrivilegeSwitch pin;
	int			j;

	CHECK_FOR_INTERRUPTS();
	if (ds->in_memory)
		return ds->cursor < ds->nblocks ? ds->blocks[ds->cursor++] : NULL;
	if (!ds->scanning)
		return NULL;

	maxatt = Max(ds->key_attnum, ds->target_attnum);
	maxatt = Max(maxatt, ds->exposure_attnum);
	for (j = 0; j < ds->fs->nfeatures; j++)
		maxatt = Max(maxatt, ds->fs->cols[j].attnum);

	blk = ds->stream_block;
	blk->nrows = 0;
	if (ds->filter)
		privileges_pin_search_path(&pin);
	while (blk->nrows < DATASET_BLOCK_ROWS)
	{
		/* A heap scan restarts if asked again after its end: stop there. */
		if (ds->pdesc)
			ds->slot = table_scan_getnextslot(ds->pdesc, ForwardScanDirection, ds->row_slot) ?
				ds->row_slot : NULL;
		else
			ds->slot = source_scan_next(&ds->scan, ds->row_slot);
		if (ds->slot == NULL)
		{
			if (ds->pdesc)
				table_endscan(ds->pdesc);
			else
				source_scan_end(&ds->scan);
			ds->pdesc = NULL;
			ds->scanning = false;
			ds->slot = ds->row_slot;
			PopActiveSnapshot();
			break;
		}
		CHECK_FOR_INTERRUPTS();
		if (!row_passes_filter(ds))
			continue;
		slot_getsomeattrs(ds->slot, maxatt);
		if (row_held_out(ds) || first_null_column(ds) != NULL)
			continue;
		old = MemoryContextSwitchTo(ds->row_cxt);
		features_capture_row(ds->fs, ds->slot->tts_values, false, ds->stream_raw, NULL);
		capture_target(ds, ds->stream_raw);
		if (blk->offset)
			blk->offset[blk->nrows] = log(capture_exposure(ds));
		MemoryContextSwitchTo(old);
		MemoryContextReset(ds->row_cxt);
		features_expand(ds->fs, ds->stream_raw, &blk->X[(Size) blk->nrows * ds->fs->nterms]);
		blk->y[blk->nrows++] = ds->stream_raw[0];
	}
	if (ds->filter)
		privileges_leave(&pin);
	if (blk->nrows == 0)
		return NULL;
	return blk;
}

/* Releases the snapshot and closes the relation (lock kept). */
void
dataset_close(Dataset *ds)
{
	ExecDropSingleTupleTableSlot(ds->row_slot);
	FreeExecutorState(ds->estate);
	UnregisterSnapshot(ds->snapshot);
	table_close(ds->rel, NoLock);
}

/* Writes what a worker needs to read ds's passes (see dataset.h). */
void
dataset_serialize_passes(const Dataset *ds, StringInfo buf)
{
	int			k;

	serial_put_int(buf, RelationGetRelid(ds->rel));
	serial_put_int(buf, ds->key_attnum);
	serial_put_int(buf, ds->key_type);
	serial_put_int(buf, ds->target_attnum);
	serial_put_int(buf, ds->target_type);
	serial_put_string(buf, ds->target_name);
	serial_put_int(buf, ds->target_kind);
	serial_put_int(buf, ds->exposure_attnum);
	serial_put_int(buf, ds->exposure_type);
	serial_put_string(buf, ds->exposure_name);
	serial_put_double(buf, ds->holdout);
	serial_put_int(buf, ds->filter_owner);
	serial_put_string(buf, ds->filter ? ds->filter_text : NULL);
	serial_put_string(buf, ds->model_name);
	features_serialize(ds->fs, buf);
	serial_put_int(buf, ds->classes ? ds->classes->type : InvalidOid);
	serial_put_int(buf, ds->nclasses);
	for (k = 0; k < ds->nclasses; k++)
		serial_put_string(buf, ds->classes->labels[k]);
}

/* A dataset for a parallel worker's passes (see dataset.h). */
Dataset *
dataset_attach_passes(const char *data)
{
	const char *cursor = data;
	Dataset    *ds = palloc0(sizeof(Dataset));
	Oid			relid;
	Oid			outfunc;
	Oid			class_type;
	bool		isvarlena;
	char	   *filter;
	int			k;

	ds->cxt = CurrentMemoryContext;
	ds->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "unlearn row",
										ALLOCSET_SMALL_SIZES);
	relid = (Oid) serial_get_int(&cursor);
	ds->rel = table_open(relid, AccessShareLock);
	ds->key_attnum = (AttrNumber) serial_get_int(&cursor);
	ds->key_type = (Oid) serial_get_int(&cursor);
	getTypeOutputInfo(ds->key_type, &outfunc, &isvarlena);
	fmgr_info(outfunc, &ds->key_out);
	ds->target_attnum = (AttrNumber) serial_get_int(&cursor);
	ds->target_type = (Oid) serial_get_int(&cursor);
	ds->target_name = serial_get_string(&cursor);
	ds->target_kind = (LossTarget) serial_get_int(&cursor);
	ds->exposure_attnum = (AttrNumber) serial_get_int(&cursor);
	ds->exposure_type = (Oid) serial_get_int(&cursor);
	ds->exposure_name = serial_get_string(&cursor);
	ds->holdout = serial_get_double(&cursor);
	ds->filter_owner = (Oid) serial_get_int(&cursor);
	filter = serial_get_string(&cursor);
	ds->model_name = serial_get_string(&cursor);
	ds->fs = features_deserialize(&cursor, CurrentMemoryContext);
	class_type = (Oid) serial_get_int(&cursor);
	ds->nclasses = (int) serial_get_int(&cursor);
	if (OidIsValid(class_type))
	{
		Oid			infunc,
					ioparam;

		/* Added in position order, which is the type's: finishing keeps it. */
		getTypeInputInfo(class_type, &infunc, &ioparam);
		ds->classes = classes_create(class_type, CurrentMemoryContext);
		for (k = 0; k < ds->nclasses; k++)
			(void) classes_add(ds->classes,
							   OidInputFunctionCall(infunc, serial_get_string(&cursor),
													ioparam, -1));
		classes_finish(ds->classes);
	}
	ds->estate = CreateExecutorState();
	ds->row_slot = table_slot_create(ds->rel, NULL);
	ds->slot = ds->row_slot;
	if (filter)
	{
		PrivilegeSwitch s;

		privileges_enter_role(&s, ds->filter_owner);
		ds->filter = dataset_compile_filter(ds->rel, filter, NULL, ds->estate, NULL);
		privileges_leave(&s);
	}
	ds->snapshot = GetActiveSnapshot();
	ds->in_memory = false;
	return ds;
}

/* Releases what dataset_attach_passes opened (see dataset.h). */
void
dataset_detach_passes(Dataset *ds)
{
	ExecDropSingleTupleTableSlot(ds->row_slot);
	FreeExecutorState(ds->estate);
	table_close(ds->rel, AccessShareLock);
}
