/*-------------------------------------------------------------------------
 *
 * distributed.c
 *	  Models of Citus-distributed sources, the coordinator's side.
 *
 *	  Training: every pass is one SQL statement over the distributed
 *	  table, unlearn._pass_sums(spec, row), which Citus pushes down to the
 *	  shards (distributed_sums.c) and whose partial sums it adds up here;
 *	  citus.coordinator_aggregation_strategy is 'disabled' meanwhile, so a
 *	  statement Citus could not push down fails instead of pulling rows.
 *	  The first pass is built-in aggregates (count, min, max, avg,
 *	  var_pop), pushed down the same way.
 *
 *	  Lineage: a table distributed by the key and co-located with the
 *	  source, unlearn.distributed_lineage_<model id>, written on the
 *	  workers by one INSERT ... SELECT Citus pushes down; it moves with the
 *	  source's shards.
 *
 *	  Erasure: Citus fires a statement trigger per shard, on its worker,
 *	  with that shard's transition table.  The model's journal trigger
 *	  (unlearn._journal_shard_rows) writes the rows that leave a shard
 *	  (key and values) into the co-located shard of
 *	  unlearn.distributed_journal_<model id>, on the same worker, in the
 *	  statement's own transaction: Citus's two-phase commit commits them
 *	  with the DELETE or not at all.  At the end of the statement on the
 *	  coordinator (ExecutorFinish) the rows of each model's lineage are
 *	  read back and taken out of the model as a local erasure does
 *	  (erase_from_model; lineage_remove deletes them from the distributed
 *	  lineage), and the journal is emptied, in the same transaction.  Rows
 *	  journaled where no fold runs (a DELETE run on a worker) stay: predict,
 *	  weights and evaluate refuse a model whose journal holds a row of its
 *	  lineage, and retrain clears it.  TRUNCATE fires on the coordinator's
 *	  table: the models must be retrained.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/regproc.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/snapmgr.h"
#include "access/table.h"
#include "executor/executor.h"
#include "storage/lockdefs.h"
#include "utils/hsearch.h"
#include "utils/tuplestore.h"
#include "parser/parse_func.h"
#include "nodes/makefuncs.h"
#include "nodes/pathnodes.h"
#include "funcapi.h"
#include "access/htup_details.h"

#include "citus_guard.h"
#include "distributed.h"
#include "distributed_sums.h"
#include "erase.h"
#include "features.h"
#include "linalg.h"
#include "privileges.h"
#include "tablerow.h"
#include "storage/proc.h"
#include "unlearn.h"

static void run_write(const char *sql);
static Oid journal_function(void);

/* While journaled rows are folded into models (not again from within). */
static bool folding = false;

static char *lineage_key_type(int32 model_id);
static char *key_text_of(int64 key, const char *key_text);

static void fold_source(Oid source);
static void fold_once(Relation rel);
static bool table_exists(const char *table);
static char *model_table(int32 model_id, const char *what);

struct DistributedSource
{
	char	   *relation;		/* the source, quoted and qualified */
	char	   *row;			/* ARRAY[target, features..., ln(exposure)] */
	char	   *fingerprint;	/* the row's lineage fingerprint */
	char	   *values;			/* ARRAY[target, features..., exposure] as they are */
	char	   *usable;			/* no NULL among them */
	char	   *key;			/* the key column, quoted */
	int			shards;
};

/* The last distributed fit's traffic (distributed_last_fit). */
static int	last_passes;
static int	last_shards;
static int64 last_bytes;

/* Whether relid is a hash-distributed table of Citus (see distributed.h). */
bool
distributed_is_source(Oid relid)
{
	char		method;
	char		repmodel;

	return citus_partition(relid, &method, &repmodel) && method == 'h';
}

/* Locks out a distributed source's writers on every node (see distributed.h). */
void
distributed_lock(Oid relid)
{
	SPI_connect();
	run_write(psprintf("LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE",
					   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												  get_rel_name(relid))));
	SPI_finish();
}

/*
 * Connects to SPI as the extension's owner: the shards' passes run as
 * it (the trainer's rights on the source were checked when it was
 * locked), so that the pass functions need not be PUBLIC.
 */
static void
owner_connect(PrivilegeSwitch *s)
{
	privileges_enter_catalog(s);
	SPI_connect();
}

/* Ends owner_connect. */
static void
owner_finish(PrivilegeSwitch *s)
{
	SPI_finish();
	privileges_leave(s);
}

/* Sets a GUC until the returned nest level is popped (AtEOXact_GUC). */
static int
set_for_now(const char *name, const char *value)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* A column's value as float8, in SQL. */
static char *
float8_of(const char *column, Oid typid)
{
	if (typid == BOOLOID)
		return psprintf("%s::pg_catalog.int4::pg_catalog.float8", quote_identifier(column));
	return psprintf("%s::pg_catalog.float8", quote_identifier(column));
}

/* Runs a read-only statement on the source; SPI must be connected. */
static void
run_select(const char *sql, int nargs, Oid *types, Datum *values)
{
	if (SPI_execute_with_args(sql, nargs, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\"", sql);
}

/* Column col of row 0 of the last SPI result as a float8 (NULL: 0). */
static double
result_double(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0.0 : DatumGetFloat8(d);
}

/* Column col of row 0 of the last SPI result as an int8. */
static int64
result_double_int8(int col)
{
	bool		isnull;

	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull));
}

/* Column col of row `row` of the last SPI result as text, in the caller's context. */
static char *
result_text_row(uint64 row, int col)
{
	char	   *s = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return s ? strcpy(SPI_palloc(strlen(s) + 1), s) : NULL;
}

/* Column col of row 0 of the last SPI result as text, in the caller's context. */
static char *
result_text(int col)
{
	return result_text_row(0, col);
}

/* Checks that a distributed source can be trained on (see distributed.h). */
void
distributed_begin(Dataset *ds)
{
	DistributedSource *src = palloc0(sizeof(DistributedSource));
	Relation	rel = ds->rel;
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(RelationGetRelid(rel))};
	char	   *partcol;
	StringInfoData row;
	StringInfoData usable;
	int			j;

	if (ds->filter != NULL || ds->holdout > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the options \"where\" and \"holdout\" are not supported for distributed table \"%s\" yet",
						RelationGetRelationName(rel)),
				 errhint("Train on the whole table, or on a local table.")));
	if (ds->target_kind == LOSS_TARGET_CLASS)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("multinomial models of distributed table \"%s\" are not supported yet",
						RelationGetRelationName(rel)),
				 errhint("Model types linear, ridge, logistic and poisson train on distributed tables.")));
	for (j = 0; j < ds->fs->nfeatures; j++)
		if (ds->fs->cols[j].kind == COLUMN_CATEGORICAL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("feature column \"%s\" of distributed table \"%s\" is categorical, which distributed training does not support yet",
							ds->fs->cols[j].name, RelationGetRelationName(rel)),
					 errhint("List numeric and boolean feature columns only.")));

	SPI_connect();
	run_select("SELECT pg_catalog.column_to_column_name(logicalrelid, partkey),"
			   "       (SELECT count(*) FROM pg_catalog.pg_dist_shard s"
			   "         WHERE s.logicalrelid = p.logicalrelid)::pg_catalog.int4"
			   "  FROM pg_catalog.pg_dist_partition p WHERE logicalrelid = $1",
			   1, types, values);
	if (SPI_processed != 1)
		elog(ERROR, "relation \"%s\" is not distributed", RelationGetRelationName(rel));
	partcol = result_text(1);
	src->shards = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
											  &(bool){false}));
	SPI_finish();
	if (partcol == NULL || strcmp(partcol, ds->key_name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("key column \"%s\" of distributed table \"%s\" is not its distribution column \"%s\"",
						ds->key_name, RelationGetRelationName(rel), partcol ? partcol : "?"),
				 errdetail("Lineage is kept next to the rows, distributed by the same key.")));

	last_passes = 0;
	last_bytes = 0;
	last_shards = src->shards;
	src->relation = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
											   RelationGetRelationName(rel));
	src->key = pstrdup(quote_identifier(ds->key_name));
	initStringInfo(&row);
	initStringInfo(&usable);
	appendStringInfo(&row, "%s", float8_of(ds->target_name, ds->target_type));
	appendStringInfo(&usable, "%s IS NOT NULL", quote_identifier(ds->target_name));
	for (j = 0; j < ds->fs->nfeatures; j++)
	{
		appendStringInfo(&row, ", %s", float8_of(ds->fs->cols[j].name, ds->fs->cols[j].typid));
		appendStringInfo(&usable, " AND %s IS NOT NULL", quote_identifier(ds->fs->cols[j].name));
	}
	if (ds->exposure_attnum != InvalidAttrNumber)
	{
		char	   *e = float8_of(ds->exposure_name, ds->exposure_type);

		src->fingerprint = psprintf("unlearn._row_fingerprint(ARRAY[%s], %s)", row.data, e);
		src->values = psprintf("ARRAY[%s, %s]", row.data, e);
		appendStringInfo(&row, ", pg_catalog.ln(%s)", e);
		appendStringInfo(&usable, " AND %s IS NOT NULL", quote_identifier(ds->exposure_name));
	}
	else
	{
		src->fingerprint = psprintf("unlearn._row_fingerprint(ARRAY[%s], NULL)", row.data);
		src->values = psprintf("ARRAY[%s]", row.data);
	}
	src->row = psprintf("ARRAY[%s]", row.data);
	src->usable = usable.data;
	ds->distributed = src;
}

/* SQL true for a usable row whose target, features or exposure are out of range. */
static char *
bad_row(Dataset *ds)
{
	StringInfoData s;
	StringInfoData zero;
	char	   *y = float8_of(ds->target_name, ds->target_type);
	int			j;

	/* v - v is 0 for a finite v, NaN for NaN or an infinity: their sum tells */
	initStringInfo(&zero);
	appendStringInfo(&zero, "(%s - %s)", y, y);
	for (j = 0; j < ds->fs->nfeatures; j++)
	{
		char	   *x = float8_of(ds->fs->cols[j].name, ds->fs->cols[j].typid);

		appendStringInfo(&zero, " + (%s - %s)", x, x);
	}
	initStringInfo(&s);
	appendStringInfo(&s, "NOT (%s = 0", zero.data);
	if (ds->target_kind == LOSS_TARGET_BINARY)
		appendStringInfo(&s, " AND %s IN (0, 1)", y);
	else if (ds->target_kind == LOSS_TARGET_COUNT)
		appendStringInfo(&s, " AND %s >= 0 AND %s = pg_catalog.floor(%s)", y, y, y);
	if (ds->exposure_attnum != InvalidAttrNumber)
	{
		char	   *e = float8_of(ds->exposure_name, ds->exposure_type);

		appendStringInfo(&s, " AND (%s - %s) = 0 AND %s > 0", e, e, e);
	}
	appendStringInfoChar(&s, ')');
	return s.data;
}

/*
 * Raises the error the local first pass raises for the first bad row the
 * shards report: a NULL under nulls = 'error', a target or feature or
 * exposure out of range.  Only that row's key and values come here.
 */
static void
report_bad_row(Dataset *ds, bool null_row)
{
	PrivilegeSwitch owner;
	DistributedSource *src = ds->distributed;
	StringInfoData sql;
	char	   *key;
	double	   *v;
	int			n = 1 + ds->fs->nfeatures + (ds->exposure_attnum != InvalidAttrNumber ? 1 : 0);
	int			j;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s::pg_catalog.text, %s FROM %s WHERE %s ORDER BY 1 LIMIT 1",
					 src->key, null_row ? "NULL::pg_catalog.float8[]" : src->values,
					 src->relation, null_row ? psprintf("NOT (%s)", src->usable) :
					 psprintf("%s AND %s", src->usable, bad_row(ds)));
	owner_connect(&owner);
	run_select(sql.data, 0, NULL, NULL);
	if (SPI_processed == 0)
		elog(ERROR, "the shards reported a bad row of \"%s\" they no longer hold", src->relation);
	key = result_text(1);
	if (null_row)
	{
		owner_finish(&owner);
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a column the model reads is null in the row with key %s of \"%s\"",
						key, RelationGetRelationName(ds->rel)),
				 errhint("Set the option \"nulls\" to \"skip\" to leave such rows out.")));
	}
	{
		bool		isnull;
		ArrayType  *a = DatumGetArrayTypeP(SPI_getbinval(SPI_tuptable->vals[0],
														 SPI_tuptable->tupdesc, 2, &isnull));

		v = SPI_palloc(sizeof(double) * n);	/* outlives SPI */
		memcpy(v, ARR_DATA_PTR(a), sizeof(double) * n);
	}
	owner_finish(&owner);
	if (!isfinite(v[0]))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" contains NaN or infinity", ds->target_name),
				 errdetail("The row with key %s.", key)));
	if (ds->target_kind == LOSS_TARGET_BINARY && v[0] != 0.0 && v[0] != 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("label %g in target column \"%s\" is not 0 or 1", v[0], ds->target_name),
				 errdetail("The row with key %s.", key),
				 errhint("A logistic model takes labels 0 and 1, or a boolean target; more classes need model type 'multinomial'.")));
	if (ds->target_kind == LOSS_TARGET_COUNT && (v[0] < 0.0 || v[0] != floor(v[0])))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("count %g in target column \"%s\" is not a non-negative integer",
						v[0], ds->target_name),
				 errdetail("The row with key %s.", key),
				 errhint("A Poisson model takes counts: 0, 1, 2, ...")));
	for (j = 0; j < ds->fs->nfeatures; j++)
		if (!isfinite(v[1 + j]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("column \"%s\" contains NaN or infinity", ds->fs->cols[j].name),
					 errdetail("The row with key %s.", key)));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("exposure in column \"%s\" is not a positive number", ds->exposure_name),
			 errdetail("The row with key %s.", key),
			 errhint("The exposure is what the count was observed over (time, area, ...); "
					 "its log enters the logit, so it must be finite and above 0.")));
}

/*
 * Sets a numeric column's learnt state from the shards' count, mean,
 * variance, minimum and maximum, so that features.c's spread and mean
 * are theirs: the shift is the mean, the unit the power of two above the
 * range (0: constant).
 */
static void
set_column_statistics(FeatureColumn *col, double n, double mean, double var,
					  double lo, double hi)
{
	double		range = hi - lo;
	int			e;

	col->count = (int64) n;
	col->shift = mean;
	col->sum = 0.0;
	col->unit = 0.0;
	col->inv_unit = 1.0;
	col->sumsq = 0.0;
	if (!isfinite(range))
		features_range_error(col);
	if (range > 0)
	{
		(void) frexp(range, &e);
		col->unit = ldexp(1.0, e);
		col->inv_unit = ldexp(1.0, -e);
		col->sumsq = n * var * col->inv_unit * col->inv_unit;
	}
}

/* The first pass, on the shards (see distributed.h). */
void
distributed_first_pass(Dataset *ds)
{
	PrivilegeSwitch owner;
	DistributedSource *src = ds->distributed;
	StringInfoData sql;
	char	   *y = float8_of(ds->target_name, ds->target_type);
	double		skipped,
				bad;
	int			j;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT count(*)::pg_catalog.float8,"
					 " count(*) FILTER (WHERE %s)::pg_catalog.float8,"
					 " count(*) FILTER (WHERE %s > 0)::pg_catalog.float8",
					 bad_row(ds), y);
	for (j = 0; j < ds->fs->nfeatures; j++)
	{
		char	   *x = float8_of(ds->fs->cols[j].name, ds->fs->cols[j].typid);

		appendStringInfo(&sql, ", avg(%s), var_pop(%s), min(%s), max(%s)", x, x, x, x);
	}
	appendStringInfo(&sql, " FROM %s WHERE %s", src->relation, src->usable);

	owner_connect(&owner);
	run_select(psprintf("SELECT count(*)::pg_catalog.float8 FROM %s", src->relation), 0, NULL, NULL);
	skipped = result_double(1);
	run_select(sql.data, 0, NULL, NULL);
	ds->nrows = (int64) result_double(1);
	skipped -= result_double(1);
	bad = result_double(2);
	ds->npositive = (int64) result_double(3);
	if (bad == 0)
		for (j = 0; j < ds->fs->nfeatures; j++)
			set_column_statistics(&ds->fs->cols[j], (double) ds->nrows,
								  result_double(4 + 4 * j), result_double(5 + 4 * j),
								  result_double(6 + 4 * j), result_double(7 + 4 * j));
	owner_finish(&owner);
	ds->nskipped = (int64) skipped;
	if (skipped > 0 && ds->nulls == NULLS_ERROR)
		report_bad_row(ds, true);
	if (bad > 0)
		report_bad_row(ds, false);
}

/* The spec of a pass of kind at theta, extra[2 d] after it for PASS_VERIFY (see distributed_sums.h). */
static Datum
pass_spec(Dataset *ds, const LossFunctions *loss, int kind, const double *theta,
		  const double *extra, bool may_overflow)
{
	FeatureSet *fs = ds->fs;
	int			nfeat = fs->nfeatures;
	int			d = fs->nterms;
	int			nextra = kind == PASS_VERIFY ? 2 * d : 0;
	int			n = PASS_SPEC_HEADER + 2 * nfeat + d + nextra;
	Datum	   *v = palloc(sizeof(Datum) * n);
	int			j;

	v[PASS_SPEC_MAGIC] = Float8GetDatum(PASS_SPEC_MAGIC_VALUE);
	v[PASS_SPEC_KIND] = Float8GetDatum(kind);
	v[PASS_SPEC_LOSS] = Float8GetDatum(pass_loss_code(loss));
	v[PASS_SPEC_INTERCEPT] = Float8GetDatum(fs->intercept ? 1 : 0);
	v[PASS_SPEC_NFEAT] = Float8GetDatum(nfeat);
	v[PASS_SPEC_OFFSET] = Float8GetDatum(ds->exposure_attnum != InvalidAttrNumber ? 1 : 0);
	v[PASS_SPEC_OVERFLOW] = Float8GetDatum(may_overflow ? 1 : 0);
	for (j = 0; j < nfeat; j++)
	{
		v[PASS_SPEC_HEADER + j] = Float8GetDatum(fs->cols[j].center);
		v[PASS_SPEC_HEADER + nfeat + j] = Float8GetDatum(fs->cols[j].inv_scale);
	}
	for (j = 0; j < d; j++)
		v[PASS_SPEC_HEADER + 2 * nfeat + j] = Float8GetDatum(theta[j]);
	for (j = 0; j < nextra; j++)
		v[PASS_SPEC_HEADER + 2 * nfeat + d + j] = Float8GetDatum(extra[j]);
	return PointerGetDatum(construct_array(v, n, FLOAT8OID, sizeof(double), FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

/*
 * Runs one pass of kind at theta (and extra) on the shards; returns the combined
 * state (its doubles, in the caller's context).
 */
static double *
run_pass(Dataset *ds, const LossFunctions *loss, int kind, const double *theta,
		 const double *extra, bool may_overflow)
{
	PrivilegeSwitch owner;
	DistributedSource *src = ds->distributed;
	int			d = ds->fs->nterms;
	int			n = pass_state_length(kind, d);
	Oid			types[1] = {FLOAT8ARRAYOID};
	Datum		values[1] = {pass_spec(ds, loss, kind, theta, extra, may_overflow)};
	double	   *state = palloc(sizeof(double) * n);
	char	   *sql;
	int			level;
	bool		isnull;
	Datum		result;
	ArrayType  *a;

	CHECK_FOR_INTERRUPTS();
	sql = psprintf("SELECT unlearn._pass_sums($1, %s) FROM %s WHERE %s",
				   src->row, src->relation, src->usable);
	level = set_for_now("citus.coordinator_aggregation_strategy", "disabled");
	owner_connect(&owner);
	run_select(sql, 1, types, values);
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no rows to train model \"%s\" on", ds->model_name),
				 errdetail("The shards of \"%s\" returned no rows to a pass.", src->relation)));
	a = DatumGetArrayTypeP(result);
	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != n || ARR_HASNULL(a))
		elog(ERROR, "a pass over \"%s\" returned %d values, expected %d", src->relation,
			 ARR_NDIM(a) == 1 ? ARR_DIMS(a)[0] : 0, n);
	memcpy(state, ARR_DATA_PTR(a), sizeof(double) * n);
	/* shipped: a state's text per shard (float8 text, as Citus sends it) */
	last_bytes += (int64) src->shards * (int64) strlen(OidOutputFunctionCall(F_ARRAY_OUT, result));
	owner_finish(&owner);
	AtEOXact_GUC(true, level);
	if ((int64) state[STATE_ROWS] != ds->nrows)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("a pass over \"%s\" read " INT64_FORMAT " rows, the first pass " INT64_FORMAT,
						src->relation, (int64) state[STATE_ROWS], ds->nrows),
				 errdetail("The table changed while the model was trained.")));
	last_passes++;
	return state;
}

/* A solver pass on the shards (see distributed.h). */
double
distributed_evaluate(Dataset *ds, const LossFunctions *loss, const double *theta,
					 double *gradient, double *hessian, bool may_overflow)
{
	int			d = ds->fs->nterms;
	double	   *s = run_pass(ds, loss, hessian ? PASS_SUMS_HESSIAN : PASS_SUMS, theta, NULL,
							 may_overflow);

	memcpy(gradient, &s[STATE_BODY + 1], sizeof(double) * d);
	if (hessian)
	{
		memcpy(hessian, &s[STATE_BODY + 1 + d], sizeof(double) * d * d);
		linalg_symmetrize(hessian, d);
	}
	return s[STATE_BODY];
}

/* The statistics pass on the shards (see distributed.h). */
void
distributed_statistics(Dataset *ds, const LossFunctions *loss, const double *theta,
					   double *gram, double *xty, SumStats *stats, double *max_row_norm)
{
	double	   *s = run_pass(ds, loss, PASS_STATISTICS, theta, NULL, false);

	pass_state_statistics(s, ds->fs->nterms, gram, xty, stats, max_row_norm);
}

/* The base type of a column of rel, or an error naming the model that reads it. */
static Oid
source_column_type(const StoredModel *m, Relation rel, const char *column, AttrNumber *attnum)
{
	*attnum = get_attnum(RelationGetRelid(rel), column);
	if (*attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" can no longer read its source", m->name),
				 errdetail("Column \"%s\" it was trained on is gone.", column),
				 errhint("Run unlearn.retrain('%s').", m->name)));
	return getBaseType(get_atttype(RelationGetRelid(rel), *attnum));
}

/*
 * The rows of a model's lineage as its distributed source holds them now
 * (see distributed.h): the source joined to the lineage on the workers,
 * a row counted only if its fingerprint is the lineage's.
 */
Dataset *
distributed_lineage_dataset(const StoredModel *m, Relation rel, const ModelTerm *terms,
							int64 *mismatched)
{
	PrivilegeSwitch owner;
	Dataset    *ds = palloc0(sizeof(Dataset));
	FeatureSet *fs = palloc0(sizeof(FeatureSet));
	int			first = m->options.intercept ? 1 : 0;
	char	   *lineage = model_table(m->model_id, "lineage");
	DistributedSource *src;
	int64		held;
	int			t;

	ds->cxt = CurrentMemoryContext;
	ds->rel = rel;
	ds->model_name = m->name;
	ds->key_name = m->key_column;
	ds->key_type = m->key_type;
	ds->target_name = m->target_column;
	ds->target_type = source_column_type(m, rel, m->target_column, &ds->target_attnum);
	ds->target_kind = m->loss->target;
	ds->exposure_attnum = InvalidAttrNumber;
	if (m->options.exposure != NULL)
	{
		ds->exposure_name = m->options.exposure;
		ds->exposure_type = source_column_type(m, rel, m->options.exposure,
											   &ds->exposure_attnum);
	}
	fs->intercept = m->options.intercept;
	fs->standardize = m->options.standardize;
	fs->nterms = m->nterms;
	fs->nfeatures = m->nterms - first;
	fs->relid = RelationGetRelid(rel);
	fs->cols = palloc0(sizeof(FeatureColumn) * Max(fs->nfeatures, 1));
	for (t = first; t < m->nterms; t++)
	{
		FeatureColumn *col = &fs->cols[t - first];

		if (terms[t].column == NULL || terms[t].level != NULL || !(terms[t].scale > 0))
			elog(ERROR, "term %d of model \"%s\" is not a numeric column's", t, m->name);
		col->name = terms[t].column;
		col->typid = source_column_type(m, rel, terms[t].column, &col->attnum);
		col->kind = col->typid == BOOLOID ? COLUMN_BOOLEAN : COLUMN_NUMERIC;
		col->center = terms[t].center;
		col->scale = terms[t].scale;
		col->inv_scale = 1.0 / terms[t].scale;
		col->first_term = t;
	}
	ds->fs = fs;
	distributed_begin(ds);
	src = ds->distributed;

	/* the join is on the distribution column: Citus runs it on each shard pair */
	src->relation = psprintf("(SELECT unlearn_r.* FROM (SELECT *, %s AS unlearn_fingerprint FROM %s) unlearn_r"
							 " JOIN %s unlearn_l ON unlearn_l.key = unlearn_r.%s"
							 " AND unlearn_l.fingerprint = unlearn_r.unlearn_fingerprint) unlearn_rows",
							 src->fingerprint, src->relation, lineage, src->key);
	owner_connect(&owner);
	run_select(psprintf("SELECT count(*), count(*) FILTER (WHERE %s > 0) FROM %s WHERE %s",
						float8_of(ds->target_name, ds->target_type),
						src->relation, src->usable),
			   0, NULL, NULL);
	ds->nrows = result_double_int8(1);
	ds->npositive = result_double_int8(2);
	run_select(psprintf("SELECT count(*) FROM %s", lineage), 0, NULL, NULL);
	held = result_double_int8(1);
	owner_finish(&owner);
	*mismatched = held - ds->nrows;
	return ds;
}

/* verify_model's pass on the shards (see distributed.h). */
void
distributed_verify_pass(Dataset *ds, const LossFunctions *loss, const double *theta_a,
						const double *theta_b, const double *weight,
						double *max_prediction, double *scaled_targets)
{
	int			d = ds->fs->nterms;
	double	   *extra = palloc(sizeof(double) * 2 * d);
	double	   *s;

	memcpy(extra, theta_b, sizeof(double) * d);
	memcpy(&extra[d], weight, sizeof(double) * d);
	s = run_pass(ds, loss, PASS_VERIFY, theta_a, extra, false);
	*max_prediction = s[STATE_VERIFY_MAX];
	*scaled_targets = s[STATE_VERIFY_SUM];
}

/* Whether model_id is a model of a distributed source (see distributed.h). */
bool
distributed_model(int32 model_id)
{
	return table_exists(model_table(model_id, "lineage"));
}

/* Whether a model of relid keeps its lineage locally (see distributed.h). */
bool
distributed_has_local_models(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	PrivilegeSwitch owner;
	bool		any;

	owner_connect(&owner);
	run_select("SELECT 1 FROM unlearn.model m WHERE m.source = $1 AND"
			   " pg_catalog.to_regclass('unlearn.distributed_lineage_' || m.model_id) IS NULL",
			   1, types, values);
	any = SPI_processed > 0;
	owner_finish(&owner);
	return any;
}

/* Sets citus.enable_unsafe_triggers for now (see distributed.h). */
int
distributed_allow_triggers(void)
{
	return set_for_now("citus.enable_unsafe_triggers", "on");
}

/* Sums of the target and of the exposure over the training rows (see distributed.h). */
void
distributed_target_sums(Dataset *ds, double *sum, double *exposure)
{
	PrivilegeSwitch owner;
	DistributedSource *src = ds->distributed;
	char	   *sql;

	sql = psprintf("SELECT sum(%s), %s FROM %s WHERE %s",
				   float8_of(ds->target_name, ds->target_type),
				   ds->exposure_attnum != InvalidAttrNumber ?
				   psprintf("sum(%s)", float8_of(ds->exposure_name, ds->exposure_type)) :
				   "count(*)::pg_catalog.float8",
				   src->relation, src->usable);
	owner_connect(&owner);
	run_select(sql, 0, NULL, NULL);
	*sum = result_double(1);
	*exposure = result_double(2);
	owner_finish(&owner);
}

/* The name of a model's lineage ("lineage") or journal table, qualified. */
static char *
model_table(int32 model_id, const char *what)
{
	return psprintf("unlearn.distributed_%s_%d", what, model_id);
}

/* Runs a statement that writes; SPI must be connected. */
static void
run_write(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(rc));
}

/* Whether the qualified table name exists. */
static bool
table_exists(const char *table)
{
	return OidIsValid(RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(table)),
									   NoLock, true));
}

/*
 * Creates a table distributed by key and co-located with the source, or
 * empties it if the model has one already.
 */
static void
ensure_colocated_table(Dataset *ds, const char *table, const char *columns)
{
	DistributedSource *src = ds->distributed;

	if (table_exists(table))
	{
		run_write(psprintf("TRUNCATE %s", table));
		return;
	}
	run_write(psprintf("CREATE TABLE %s (key %s%s)", table,
					   format_type_be(ds->key_type), columns));
	run_write(psprintf("SELECT pg_catalog.create_distributed_table(%s, 'key', colocate_with => %s)",
					   quote_literal_cstr(table), quote_literal_cstr(src->relation)));
}

/* A model's journal triggers on its source: one per event (transition tables). */
static void
ensure_journal_triggers(int32 model_id, Dataset *ds)
{
	DistributedSource *src = ds->distributed;
	static const char *const events[3] = {"DELETE", "UPDATE", "TRUNCATE"};
	static const char ops[3] = {'d', 'u', 't'};
	int			i;

	for (i = 0; i < 3; i++)
	{
		char	   *name = psprintf("unlearn_journal_%d_%c", model_id, ops[i]);
		Oid			types[2] = {OIDOID, TEXTOID};
		Datum		values[2] = {ObjectIdGetDatum(RelationGetRelid(ds->rel)),
		CStringGetTextDatum(name)};

		if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgname = $2",
								  2, types, values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read pg_trigger");
		if (SPI_processed > 0)
			continue;
		run_write(psprintf("CREATE TRIGGER %s AFTER %s ON %s %s FOR EACH STATEMENT"
						   " EXECUTE FUNCTION unlearn._journal_shard_rows('%d', '%c')",
						   quote_identifier(name), events[i], src->relation,
						   ops[i] == 't' ? "" : ops[i] == 'u' ?
						   "REFERENCING OLD TABLE AS unlearn_old NEW TABLE AS unlearn_new" :
						   "REFERENCING OLD TABLE AS unlearn_old",
						   model_id, ops[i]));
	}
}

/* Writes a model's lineage and (re)starts its journal (see distributed.h). */
void
distributed_write_lineage(int32 model_id, Dataset *ds)
{
	DistributedSource *src = ds->distributed;
	char	   *lineage = model_table(model_id, "lineage");
	char	   *journal = model_table(model_id, "journal");
	int			unsafe;

	unsafe = distributed_allow_triggers();
	SPI_connect();
	ensure_colocated_table(ds, lineage, ", fingerprint pg_catalog.int8 NOT NULL");
	ensure_colocated_table(ds, journal, ", op pg_catalog.\"char\" NOT NULL, row pg_catalog.jsonb,"
						   " at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()");
	run_write(psprintf("INSERT INTO %s (key, fingerprint) SELECT %s, %s FROM %s WHERE %s",
					   lineage, src->key, src->fingerprint, src->relation, src->usable));
	if ((int64) SPI_processed != ds->nrows)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("the lineage of model \"%s\" has " INT64_FORMAT " rows, its fit " INT64_FORMAT,
						ds->model_name, (int64) SPI_processed, ds->nrows),
				 errdetail("The table changed while the model was trained.")));
	/* Erasure finds a key by its index; built once the rows are in (a retrain keeps it). */
	if (!OidIsValid(get_relname_relid(psprintf("distributed_lineage_%d_pkey", model_id),
									  get_namespace_oid("unlearn", false))))
		run_write(psprintf("ALTER TABLE %s ADD CONSTRAINT distributed_lineage_%d_pkey PRIMARY KEY (key)",
						   lineage, model_id));
	ensure_journal_triggers(model_id, ds);
	SPI_finish();
	AtEOXact_GUC(true, unsafe);
}

/* Rows the model was trained on that have left its source since (see distributed.h). */
int64
distributed_pending(const StoredModel *m)
{
	char	   *journal = model_table(m->model_id, "journal");
	char	   *lineage = model_table(m->model_id, "lineage");
	PrivilegeSwitch s;
	int64		n;

	privileges_enter_catalog(&s);
	SPI_connect();
	run_select(psprintf("SELECT count(*)::pg_catalog.float8 FROM %s j LEFT JOIN %s l ON l.key = j.key"
						" WHERE j.op = 't' OR (j.op IN ('d', 'u') AND l.key IS NOT NULL)", journal, lineage),
			   0, NULL, NULL);
	n = (int64) result_double(1);
	SPI_finish();
	privileges_leave(&s);
	return n;
}

/*
 * Folds what a model's journal holds of its lineage before the model is
 * read, or refuses (see distributed.h).
 */
bool
distributed_check_current(const StoredModel *m, const char *use)
{
	int64		n;

	if (!distributed_model(m->model_id))
		return false;
	n = distributed_pending(m);
	if (n == 0)
		return false;
	if (XactReadOnly || IsInParallelMode() || RecoveryInProgress() || folding)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" cannot %s: " INT64_FORMAT " of its training rows left distributed table \"%s\"",
						m->name, use, n, get_rel_name(m->source)),
				 errdetail("Their erasure is journaled on the workers and not yet applied; a read-only transaction cannot apply it."),
				 errhint("Read the model in a read-write transaction, which applies it first, or run unlearn.retrain('%s').",
						 m->name)));
	fold_source(m->source);
	return true;
}

/* distributed_fold, marked as running (no fold from within a fold). */
static void
fold_once(Relation rel)
{
	folding = true;
	PG_TRY();
	{
		distributed_fold(rel, "erasure");
	}
	PG_FINALLY();
	{
		folding = false;
	}
	PG_END_TRY();
}

/*
 * distributed_fold of a source by OID, once, as a call of
 * unlearn._fold_journal: Citus keeps the writes of a function's
 * statements on the workers in the transaction's coordinated (two-phase)
 * transaction, but from the planner (a shipped prediction's read, before
 * Citus's own planner) or outside its executor it sends them in
 * autocommit, so a later error of the statement rolled the model and its
 * log entry back and left the journal and lineage rows deleted on the
 * workers: an erasure lost (TAP 011 tests it).
 */
static void
fold_source(Oid source)
{
	PrivilegeSwitch s;
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(source)};

	privileges_enter_catalog(&s);
	SPI_connect();
	if (SPI_execute_with_args("SELECT unlearn._fold_journal($1)", 1, types, values, NULL,
							  false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not fold the journal of \"%s\"", get_rel_name(source));
	SPI_finish();
	privileges_leave(&s);
	CommandCounterIncrement();
}

PG_FUNCTION_INFO_V1(unlearn_fold_journal);

/* unlearn._fold_journal(source): fold_source's call (see there). */
Datum
unlearn_fold_journal(PG_FUNCTION_ARGS)
{
	Relation	rel = table_open(PG_GETARG_OID(0), RowExclusiveLock);

	fold_once(rel);
	table_close(rel, NoLock);
	PG_RETURN_VOID();
}

/* Folds a model's journaled rows if the transaction can write (see distributed.h). */
void
distributed_fold_if_writable(int32 model_id, Oid source)
{
	StoredModel m;

	if (XactReadOnly || IsInParallelMode() || RecoveryInProgress() || folding ||
		!distributed_model(model_id))
		return;
	memset(&m, 0, sizeof(m));
	m.model_id = model_id;
	m.source = source;
	if (distributed_pending(&m) > 0)
		fold_source(source);
}

/* The model to read: m, or m again after a fold (see distributed.h). */
StoredModel *
distributed_current_model(StoredModel *m, const char *use)
{
	PrivilegeSwitch s;
	char	   *name = pstrdup(m->name);

	if (!distributed_check_current(m, use))
		return m;
	/* the statement's snapshot, seeing the fold's own writes */
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	privileges_enter_catalog(&s);
	m = catalog_load_model(name, false);
	privileges_leave(&s);
	PopActiveSnapshot();
	return m;
}

PG_FUNCTION_INFO_V1(unlearn_check_current);

/* unlearn._check_current(model): distributed_check_current for SQL readers of a model. */
Datum
unlearn_check_current(PG_FUNCTION_ARGS)
{
	PrivilegeSwitch s;
	StoredModel *m;

	privileges_enter_catalog(&s);
	m = catalog_load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), false);
	privileges_leave(&s);
	(void) distributed_check_current(m, text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_VOID();
}

/* Whether the model's lineage holds key (see distributed.h). */
bool
distributed_lineage_holds(int32 model_id, Oid key_type, Datum key)
{
	Oid			types[1] = {key_type};
	Datum		values[1] = {key};
	PrivilegeSwitch s;
	bool		found;

	privileges_enter_catalog(&s);
	SPI_connect();
	/* not read-only: a fresh snapshot, which sees a fold just made */
	if (SPI_execute_with_args(psprintf("SELECT 1 FROM %s WHERE key = $1", model_table(model_id, "lineage")),
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the lineage of model %d", model_id);
	found = SPI_processed > 0;
	SPI_finish();
	privileges_leave(&s);
	return found;
}

/*
 * Drops a model's lineage, journal and triggers (see distributed.h): the
 * triggers wherever they are (undistribute_table copies them to the
 * local table that replaces the distributed one).
 */
void
distributed_drop(int32 model_id, Oid source)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(psprintf("unlearn_journal_%d_", model_id))};
	int			unsafe;
	uint64		i,
				n;
	char	  **drops;

	if (!table_exists(model_table(model_id, "lineage")) &&
		!table_exists(model_table(model_id, "journal")))
		return;					/* not a model of a distributed source */
	(void) source;
	unsafe = distributed_allow_triggers();
	SPI_connect();
	run_select("SELECT pg_catalog.format('DROP TRIGGER %I ON %s', t.tgname, t.tgrelid::pg_catalog.regclass)"
			   "  FROM pg_catalog.pg_trigger t"
			   " WHERE pg_catalog.left(t.tgname, pg_catalog.length($1)) = $1"
			   "   AND t.tgfoid = 'unlearn._journal_shard_rows()'::pg_catalog.regprocedure"
			   "   AND NOT t.tgisinternal",
			   1, types, values);
	n = SPI_processed;
	drops = palloc(sizeof(char *) * Max(n, 1));
	for (i = 0; i < n; i++)
		drops[i] = result_text_row(i, 1);
	for (i = 0; i < n; i++)
		run_write(drops[i]);
	run_write(psprintf("DROP TABLE IF EXISTS %s, %s", model_table(model_id, "lineage"),
					   model_table(model_id, "journal")));
	SPI_finish();
	AtEOXact_GUC(true, unsafe);
}

/* A key's text and its index among the keys to remove. */
typedef struct KeyRow
{
	char		text[NAMEDATALEN * 2];
	int			i;
} KeyRow;

/*
 * Takes keys out of a model's distributed lineage (lineage_remove's
 * work for it, see lineage.h): found and fingerprint set for each key
 * the lineage held.
 */
void
distributed_lineage_remove(int32 model_id, LineageRemoval *keys, int nkeys)
{
	char	   *lineage = model_table(model_id, "lineage");
	Datum	   *texts = palloc(sizeof(Datum) * Max(nkeys, 1));
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];
	HTAB	   *byname;
	HASHCTL		ctl;
	PrivilegeSwitch owner;
	uint64		r;
	int			i;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN * 2;
	ctl.entrysize = sizeof(KeyRow);
	for (i = 0; i < nkeys; i++)
	{
		char	   *t = key_text_of(keys[i].key, keys[i].key_text);

		texts[i] = CStringGetTextDatum(t);
		keys[i].found = false;
	}
	byname = hash_create("unlearn distributed keys", Max(nkeys, 16), &ctl, HASH_ELEM | HASH_STRINGS);
	for (i = 0; i < nkeys; i++)
	{
		char	   *t = TextDatumGetCString(texts[i]);
		KeyRow	   *e;

		if (strlen(t) >= NAMEDATALEN * 2)
			elog(ERROR, "key \"%s\" is too long for a distributed lineage", t);
		e = hash_search(byname, t, HASH_ENTER, NULL);
		e->i = i;
	}
	values[0] = PointerGetDatum(construct_array(texts, nkeys, TEXTOID, -1, false, TYPALIGN_INT));
	owner_connect(&owner);
	if (SPI_execute_with_args(psprintf("DELETE FROM %s WHERE key = ANY($1::%s[]) RETURNING key::pg_catalog.text, fingerprint",
									   lineage, lineage_key_type(model_id)),
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "could not take keys out of %s", lineage);
	for (r = 0; r < SPI_processed; r++)
	{
		char	   *t = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		bool		isnull;
		KeyRow	   *e = hash_search(byname, t, HASH_FIND, NULL);

		if (e == NULL)
			elog(ERROR, "%s returned a key not asked for: %s", lineage, t);
		keys[e->i].found = true;
		keys[e->i].fingerprint = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
															 SPI_tuptable->tupdesc, 2, &isnull));
	}
	owner_finish(&owner);
	hash_destroy(byname);
}

/*
 * A model's journaled rows, as rows of rel (the source), sorted into
 * what leaves and what changes: per key, the first old row (the one
 * trained on) goes to *gone if the key's last row is a deletion, or to
 * *olds with the key's last new row in *news (an UPDATE, rectified).
 * Rows outside the model's lineage are told apart later (lineage_remove
 * and lineage_lookup find them missing).  The keys read, as text, in
 * *keys: their journal rows are deleted once folded.
 */
static int64
read_journal(int32 model_id, Relation rel, Tuplestorestate *gone, Tuplestorestate *olds,
			 Tuplestorestate *news, ArrayType **keys)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	Datum	   *old_values = palloc(sizeof(Datum) * desc->natts);
	bool	   *old_nulls = palloc(sizeof(bool) * desc->natts);
	int		   *map = palloc(sizeof(int) * desc->natts);
	Datum	   *key_texts;
	int			nkeys = 0;
	MemoryContext caller = CurrentMemoryContext;
	PrivilegeSwitch owner;
	uint64		r,
				n;
	int			a;

	owner_connect(&owner);
	run_select(psprintf("SELECT j.op::pg_catalog.text AS unlearn_op, j.key::pg_catalog.text AS unlearn_key,"
						"       (pg_catalog.jsonb_populate_record(NULL::%s, j.row)).*"
						"  FROM %s j WHERE j.op <> 't' ORDER BY j.key, j.at",
						quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												   RelationGetRelationName(rel)),
						model_table(model_id, "journal")),
			   0, NULL, NULL);
	n = SPI_processed;
	/* the keys outlive SPI: in the caller's memory */
	key_texts = MemoryContextAlloc(caller, sizeof(Datum) * Max(n, 1));
	for (a = 0; a < desc->natts; a++)
		map[a] = TupleDescAttr(desc, a)->attisdropped ? 0 :
			SPI_fnumber(SPI_tuptable->tupdesc, NameStr(TupleDescAttr(desc, a)->attname));
	for (r = 0; r < n; r++)
	{
		char	   *key = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
		bool		first = r == 0 ||
			strcmp(key, SPI_getvalue(SPI_tuptable->vals[r - 1], SPI_tuptable->tupdesc, 2)) != 0;
		bool		last = r + 1 == n ||
			strcmp(key, SPI_getvalue(SPI_tuptable->vals[r + 1], SPI_tuptable->tupdesc, 2)) != 0;
		char	   *op = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);

		for (a = 0; a < desc->natts; a++)
		{
			nulls[a] = true;
			values[a] = (Datum) 0;
			if (map[a] > 0)
				values[a] = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, map[a],
										  &nulls[a]);
		}
		if (first)
		{
			MemoryContext spi = MemoryContextSwitchTo(caller);

			key_texts[nkeys++] = CStringGetTextDatum(key);
			MemoryContextSwitchTo(spi);
			memcpy(old_values, values, sizeof(Datum) * desc->natts);
			memcpy(old_nulls, nulls, sizeof(bool) * desc->natts);
		}
		if (!last)
			continue;
		if (op[0] == 'n')
		{
			tuplestore_putvalues(olds, desc, old_values, old_nulls);
			tuplestore_putvalues(news, desc, values, nulls);
		}
		else
			tuplestore_putvalues(gone, desc, old_values, old_nulls);
	}
	owner_finish(&owner);
	*keys = construct_array(key_texts, nkeys, TEXTOID, -1, false, TYPALIGN_INT);
	return (int64) n;
}

/* Deletes a model's journal rows of keys (a TRUNCATE's mark stays: it is the coordinator's). */
static void
clear_journal(int32 model_id, ArrayType *keys)
{
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1] = {PointerGetDatum(keys)};
	PrivilegeSwitch owner;

	owner_connect(&owner);
	/* by key: Citus sends it only to the keys' shards */
	if (SPI_execute_with_args(psprintf("DELETE FROM %s WHERE key = ANY($1::%s[]) AND op <> 't'",
									   model_table(model_id, "journal"), lineage_key_type(model_id)),
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not empty the journal of model %d", model_id);
	owner_finish(&owner);
}

/* The type of a model's distributed lineage key, as SQL. */
static char *
lineage_key_type(int32 model_id)
{
	char	   *lineage = model_table(model_id, "lineage");

	return format_type_be(get_atttype(RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(lineage)),
													   NoLock, false), 1));
}

/* The text of a lineage key (see LineageRemoval). */
static char *
key_text_of(int64 key, const char *key_text)
{
	return key_text ? pstrdup(key_text) : psprintf(INT64_FORMAT, key);
}

/* lineage_lookup for a distributed model (see distributed.h). */
bool
distributed_lineage_lookup(int32 model_id, int64 key, const char *key_text, int64 *fingerprint)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(key_text_of(key, key_text))};
	PrivilegeSwitch owner;
	bool		found;

	owner_connect(&owner);
	if (SPI_execute_with_args(psprintf("SELECT fingerprint FROM %s WHERE key = $1::%s",
									   model_table(model_id, "lineage"), lineage_key_type(model_id)),
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the lineage of model %d", model_id);
	found = SPI_processed == 1;
	if (found)
		*fingerprint = (int64) result_double_int8(1);
	owner_finish(&owner);
	return found;
}

/* lineage_insert for a distributed model (see distributed.h). */
void
distributed_lineage_insert(int32 model_id, const LineageEntry *entries, int n)
{
	Datum	   *keys = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *fps = palloc(sizeof(Datum) * Max(n, 1));
	Oid			types[2] = {TEXTARRAYOID, INT8ARRAYOID};
	Datum		values[2];
	PrivilegeSwitch owner;
	int			i;

	for (i = 0; i < n; i++)
	{
		keys[i] = CStringGetTextDatum(key_text_of(entries[i].key, entries[i].key_text));
		fps[i] = Int64GetDatum(entries[i].fingerprint);
	}
	values[0] = PointerGetDatum(construct_array(keys, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array(fps, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	owner_connect(&owner);
	if (SPI_execute_with_args(psprintf("INSERT INTO %s (key, fingerprint)"
									   " SELECT u.k::%s, u.f FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS u(k, f)",
									   model_table(model_id, "lineage"), lineage_key_type(model_id)),
							  2, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write the lineage of model %d", model_id);
	owner_finish(&owner);
}

/* Folds the rows that left a distributed source into its models (see distributed.h). */
void
distributed_fold(Relation rel, const char *event)
{
	TriggerDesc *td = rel->trigdesc;
	int			i;

	if (td == NULL)
		return;
	for (i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];
		int32		model_id;
		Tuplestorestate *gone;
		Tuplestorestate *olds;
		Tuplestorestate *news;
		ArrayType  *keys;
		Oid			types[1] = {INT4OID};
		Datum		values[1];
		char	   *name;
		PrivilegeSwitch owner;

		if (t->tgnargs != 2 || strcmp(t->tgargs[1], "d") != 0 ||
			strncmp(t->tgname, "unlearn_journal_", 16) != 0 ||
			t->tgfoid != journal_function())
			continue;
		model_id = pg_strtoint32(t->tgargs[0]);
		values[0] = Int32GetDatum(model_id);
		owner_connect(&owner);
		run_select("SELECT name FROM unlearn.model WHERE model_id = $1", 1, types, values);
		name = SPI_processed == 1 ? result_text(1) : NULL;
		owner_finish(&owner);
		if (name == NULL || !distributed_model(model_id))
			continue;
		/* deleted rows leave; updated ones are rectified: old out, new in */
		gone = tuplestore_begin_heap(false, false, work_mem);
		olds = tuplestore_begin_heap(false, false, work_mem);
		news = tuplestore_begin_heap(false, false, work_mem);
		if (read_journal(model_id, rel, gone, olds, news, &keys) > 0)
		{
			privileges_enter_catalog(&owner);
			erase_from_model(name, rel, gone, NULL, event);
			rectify_model(name, rel, olds, news, NULL);
			privileges_leave(&owner);
			clear_journal(model_id, keys);
		}
		tuplestore_end(gone);
		tuplestore_end(olds);
		tuplestore_end(news);
	}
}

/* The OID of unlearn._journal_shard_rows(), looked up once. */
static Oid
journal_function(void)
{
	static Oid	oid = InvalidOid;

	if (!OidIsValid(oid))
		oid = LookupFuncName(list_make2(makeString("unlearn"), makeString("_journal_shard_rows")),
							 0, NULL, true);
	return oid;
}

/* When rows that left a distributed source are taken out of its models. */
typedef enum DistributedErasure
{
	ERASE_AT_STATEMENT,			/* at the end of the DELETE or UPDATE */
	ERASE_AT_READ				/* before the model's next read */
} DistributedErasure;

static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static int	distributed_erasure = ERASE_AT_STATEMENT;

/* Whether rel carries a model's journal trigger (a distributed source with models). */
static bool
has_journal_trigger(Relation rel)
{
	TriggerDesc *td = rel->trigdesc;
	int			i;

	if (td == NULL)
		return false;
	for (i = 0; i < td->numtriggers; i++)
		if (strncmp(td->triggers[i].tgname, "unlearn_journal_", 16) == 0 &&
			td->triggers[i].tgfoid == journal_function())
			return true;
	return false;
}

/*
 * After a DELETE or UPDATE (ExecutorFinish, where AFTER triggers run):
 * the rows it took from a distributed source with models, journaled on
 * the workers, are folded into the models here, in its transaction.
 */
static void
fold_after_statement(QueryDesc *qd)
{
	ListCell   *lc;

	if (prev_executor_finish)
		prev_executor_finish(qd);
	else
		standard_ExecutorFinish(qd);
	if (folding || distributed_erasure == ERASE_AT_READ || qd->plannedstmt == NULL ||
		qd->estate == NULL ||
		(qd->operation != CMD_DELETE && qd->operation != CMD_UPDATE &&
		 qd->operation != CMD_MERGE && !qd->plannedstmt->hasModifyingCTE))
		return;
	if (!qd->plannedstmt->hasModifyingCTE && qd->estate->es_processed == 0)
		return;					/* no row left: nothing journaled by this statement */
	foreach(lc, qd->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		Relation	rel;

		if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_RELATION ||
			rte->rellockmode < RowExclusiveLock)
			continue;
		rel = table_open(rte->relid, NoLock);
		if (has_journal_trigger(rel))
			fold_once(rel);
		table_close(rel, NoLock);
	}
}

/* The statement in which a shipped model was last read at plan time (see below). */
static struct
{
	int32		model_id;
	LocalTransactionId lxid;
	TimestampTz statement_start;
	CommandId	cid;
} shipped_check;

/* Whether the shipped model model_id was read in this very statement. */
static bool
read_in_this_statement(int32 model_id)
{
	return shipped_check.model_id == model_id && shipped_check.lxid == MyProc->lxid &&
		shipped_check.statement_start == GetCurrentStatementStartTimestamp() &&
		shipped_check.cid == GetCurrentCommandId(false);
}

/* A plan carrying a model's state in its calls depends on the model (see distributed.h). */
void
distributed_depend_on_model(struct PlannerGlobal *glob, int32 model_id)
{
	glob->relationOids = lappend_oid(glob->relationOids, tablerow_relid("model"));
	if (!distributed_model(model_id))
		return;
	glob->relationOids = lappend_oid(glob->relationOids,
									 get_relname_relid(psprintf("distributed_lineage_%d", model_id),
													   get_namespace_oid("unlearn", false)));
	shipped_check.model_id = model_id;
	shipped_check.lxid = MyProc->lxid;
	shipped_check.statement_start = GetCurrentStatementStartTimestamp();
	shipped_check.cid = GetCurrentCommandId(false);
}

/*
 * Before a plan that carries the state of models of distributed tables
 * runs (ExecutorStart): a plan made in an earlier statement (a prepared
 * statement, a PL/pgSQL cache) holds the models as they were then; an
 * erasure logged since invalidates it (audit_log), but rows journaled on
 * the workers and not yet folded do not, so their journals are asked
 * here.  If one holds rows of its model's lineage, the statement is
 * refused (40001) and the plan invalidated, so that it runs again with
 * the model as the next plan folds it (or, read-only, refuses: 55000).
 */
static void
check_shipped_models(QueryDesc *qd, int eflags)
{
	Oid			model_table;
	Oid			unlearn_ns;
	PrivilegeSwitch s;
	ListCell   *lc;

	if (prev_executor_start)
		prev_executor_start(qd, eflags);
	else
		standard_ExecutorStart(qd, eflags);
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) || qd->plannedstmt == NULL || folding ||
		!OidIsValid(unlearn_ns = get_namespace_oid("unlearn", true)))
		return;
	model_table = get_relname_relid("model", unlearn_ns);
	if (!OidIsValid(model_table) || !list_member_oid(qd->plannedstmt->relationOids, model_table))
		return;
	foreach(lc, qd->plannedstmt->relationOids)
	{
		Oid			relid = lfirst_oid(lc);
		char	   *name;
		int32		model_id;
		StoredModel m;

		if (get_rel_namespace(relid) != unlearn_ns || (name = get_rel_name(relid)) == NULL ||
			sscanf(name, "distributed_lineage_%d", &model_id) != 1 ||
			read_in_this_statement(model_id))
			continue;
		memset(&m, 0, sizeof(m));
		m.model_id = model_id;
		privileges_enter_catalog(&s);
		m.name = catalog_model_by_id(model_id, &m.source);
		privileges_leave(&s);
		if (m.name == NULL || distributed_pending(&m) == 0)
			continue;
		/*
		 * Not folded here: inside the statement's own distributed start a
		 * fold's writes on the workers were measured to outlive the error.
		 * The plan is invalidated (kept by the abort: the command's
		 * messages are made prior ones) and the next plan folds.
		 */
		CacheInvalidateRelcacheByRelid(model_table);
		CommandCounterIncrement();
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("model \"%s\" changed after this statement was planned", m.name),
				 errdetail("Rows journaled on the workers left its lineage after the plan was made, which carries the model as it was."),
				 errhint("Run the statement again.")));
	}
}

static const struct config_enum_entry distributed_erasure_options[] = {
	{"statement", ERASE_AT_STATEMENT, false},
	{"read", ERASE_AT_READ, false},
	{NULL, 0, false}
};


/* Installs the hook that folds journaled rows after each statement, and its setting (see distributed.h). */
void
distributed_init(void)
{
	DefineCustomEnumVariable("unlearn.distributed_erasure",
							 "When rows that leave a distributed table are taken out of its models.",
							 "statement: at the end of the DELETE or UPDATE, in its transaction (the log entry too); "
							 "read: they are journaled on the workers with the DELETE, and taken out before the model is next read.",
							 &distributed_erasure,
							 ERASE_AT_STATEMENT, distributed_erasure_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = fold_after_statement;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = check_shipped_models;
}

/* What the last distributed fit shipped (see distributed.h). */
void
distributed_last_fit(int *passes, int *shards, int64 *bytes)
{
	*passes = last_passes;
	*shards = last_shards;
	*bytes = last_bytes;
}

PG_FUNCTION_INFO_V1(unlearn_last_distributed_fit);

/* unlearn._last_distributed_fit(): passes, shards, bytes (see the SQL script). */
Datum
unlearn_last_distributed_fit(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "unlearn._last_distributed_fit must return a record");
	if (last_passes == 0)
		PG_RETURN_NULL();
	values[0] = Int32GetDatum(last_passes);
	values[1] = Int32GetDatum(last_shards);
	values[2] = Int64GetDatum(last_bytes);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * The name of the shard of the model's journal co-located with shard
 * relid, and in *key_column the name of the distribution column (the
 * model's key) as it is now; NULL when relid is the distributed table
 * itself, or (*orphan set) a table the trigger was copied to whose model
 * is gone.
 */
static char *
journal_shard(int32 model_id, Oid relid, char **key_column, bool *orphan)
{
	const char *relname = get_rel_name(relid);
	const char *suffix = relname ? strrchr(relname, '_') : NULL;
	Oid			types[3] = {TEXTOID, INT8OID, OIDOID};
	Datum		values[3];
	int64		shardid = 0;

	if (suffix != NULL && suffix[1] != '\0' && strspn(suffix + 1, "0123456789") == strlen(suffix + 1))
		shardid = pg_strtoint64(suffix + 1);
	values[0] = CStringGetTextDatum(model_table(model_id, "journal"));
	values[1] = Int64GetDatum(shardid);
	values[2] = ObjectIdGetDatum(get_rel_namespace(relid));
	run_select("SELECT pg_catalog.shard_name(j.logicalrelid, j.shardid),"
			   "       pg_catalog.column_to_column_name(s.logicalrelid, sp.partkey)"
			   "  FROM pg_catalog.pg_dist_shard s"
			   "  JOIN pg_catalog.pg_dist_partition sp USING (logicalrelid)"
			   "  JOIN pg_catalog.pg_dist_partition jp ON jp.colocationid = sp.colocationid"
			   "  JOIN pg_catalog.pg_dist_shard j ON j.logicalrelid = jp.logicalrelid"
			   "   AND j.shardminvalue = s.shardminvalue"
			   " WHERE s.shardid = $2 AND j.logicalrelid = pg_catalog.to_regclass($1)"
			   "   AND (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = s.logicalrelid) = $3",
			   3, types, values);
	if (SPI_processed == 1)
	{
		*key_column = result_text(2);
		return result_text(1);
	}
	values[1] = Int64GetDatum(0);
	values[2] = ObjectIdGetDatum(relid);
	run_select("SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $3"
			   " AND pg_catalog.to_regclass($1) IS NOT NULL AND $2 = 0",
			   3, types, values);
	if (SPI_processed == 1)
		return NULL;

	/*
	 * A copy of the trigger on a table that is no shard (a shard's name
	 * always ends in _<shard id>) of a model this node no longer has:
	 * undistribute_table copies triggers to the local table it makes.
	 * Nothing is modeled there.
	 */
	if (shardid == 0)
	{
		types[0] = INT4OID;
		values[0] = Int32GetDatum(model_id);
		run_select("SELECT 1 FROM unlearn.model WHERE model_id = $1 AND $2 IS NOT NULL AND $3 IS NOT NULL",
				   3, types, values);
		if (SPI_processed == 0)
		{
			*orphan = true;
			return NULL;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("relation \"%s\" is not a shard of a source of model %d, or its journal is missing",
					relname ? relname : "?", model_id),
			 errdetail("A row leaving it could not be journaled; the statement is refused.")));
	return NULL;
}

/*
 * A TRUNCATE of a model's distributed source: Citus fires its TRUNCATE
 * triggers on the distributed table, here on the coordinator, not on the
 * shards.  Every row left: the model must be retrained, logged as a
 * local TRUNCATE is (erase_truncated_model), in the TRUNCATE's
 * transaction.  Elsewhere (a worker's copy of the metadata) the model is
 * unknown and the TRUNCATE is refused.
 */
static void
truncated(int32 model_id, Oid relid)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(model_id)};
	char	   *name;

	run_select("SELECT name FROM unlearn.model WHERE model_id = $1", 1, types, values);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot truncate \"%s\" on this node: a model of it lives on the coordinator",
						get_rel_name(relid)),
				 errhint("Run the TRUNCATE on the coordinator.")));
	name = result_text(1);
	erase_truncated_model(name, relid);
}

/* A shard's journal shard and key column, found once per worker backend. */
typedef struct JournalShard
{
	int32		model_id;
	Oid			relid;			/* the source's shard */
	char		journal[NAMEDATALEN * 2 + 8];	/* the journal's shard, qualified */
	char		key_column[NAMEDATALEN];
} JournalShard;

#define JOURNAL_SHARD_CACHE 64
static JournalShard journal_cache[JOURNAL_SHARD_CACHE];
static int	journal_cached;

/*
 * journal_shard through a small cache (Citus keeps its connections to
 * the workers, so a backend there sees many statements): an entry is
 * used only while its journal shard still exists and the key column
 * still has its name, else it is looked up again.
 */
static char *
cached_journal_shard(int32 model_id, Oid relid, char **key_column, bool *orphan)
{
	JournalShard *e;
	char	   *shard;
	int			i;

	for (i = 0; i < journal_cached; i++)
	{
		e = &journal_cache[i];
		if (e->model_id == model_id && e->relid == relid && table_exists(e->journal) &&
			get_attnum(relid, e->key_column) != InvalidAttrNumber)
		{
			*key_column = e->key_column;
			return e->journal;
		}
	}
	shard = journal_shard(model_id, relid, key_column, orphan);
	if (shard != NULL && strlen(shard) < sizeof(e->journal) &&
		strlen(*key_column) < sizeof(e->key_column))
	{
		e = &journal_cache[journal_cached < JOURNAL_SHARD_CACHE ? journal_cached++ :
						   (int) (relid % JOURNAL_SHARD_CACHE)];
		e->model_id = model_id;
		e->relid = relid;
		strlcpy(e->journal, shard, sizeof(e->journal));
		strlcpy(e->key_column, *key_column, sizeof(e->key_column));
	}
	return shard;
}

PG_FUNCTION_INFO_V1(unlearn_journal_shard_rows);

/*
 * The journal trigger of a model of a distributed source (see the file's
 * header): fires on a shard, on its worker; writes the keys of the rows
 * leaving the shard (a TRUNCATE: one row without a key) into the
 * co-located journal shard, in the statement's transaction.
 * Arguments: the model's id, the event's letter.
 */
Datum
unlearn_journal_shard_rows(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	PrivilegeSwitch s;
	int32		model_id;
	char		op;
	char	   *shard;
	char	   *key_column = NULL;
	bool		orphan = false;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event) ||
		trig->tg_trigger->tgnargs != 2)
		elog(ERROR, "unlearn._journal_shard_rows must fire as a statement trigger with 2 arguments");
	model_id = pg_strtoint32(trig->tg_trigger->tgargs[0]);
	op = trig->tg_trigger->tgargs[1][0];

	privileges_enter_catalog(&s);
	SPI_connect();
	shard = cached_journal_shard(model_id, RelationGetRelid(trig->tg_relation), &key_column,
								 &orphan);
	if (orphan)
		;						/* no model: nothing to journal */
	else if (shard == NULL && op == 't')
		truncated(model_id, RelationGetRelid(trig->tg_relation));
	else if (shard != NULL)
	{
		if (op == 't')
			run_write(psprintf("INSERT INTO %s (key, op) VALUES (NULL, 't')", shard));
		else
		{
			if (SPI_register_trigger_data(trig) != SPI_OK_TD_REGISTER)
				elog(ERROR, "could not register the transition table");
			run_write(psprintf("INSERT INTO %s (key, op, row) SELECT o.%s, '%c', pg_catalog.to_jsonb(o)"
							   " FROM unlearn_old o",
							   shard, quote_identifier(key_column), op == 'u' ? 'u' : 'd'));
			/* an UPDATE's new rows too ('n'): the fold rectifies (the key cannot change) */
			if (op == 'u')
				run_write(psprintf("INSERT INTO %s (key, op, row) SELECT n.%s, 'n', pg_catalog.to_jsonb(n)"
								   " FROM unlearn_new n",
								   shard, quote_identifier(key_column)));
		}
	}
	SPI_finish();
	privileges_leave(&s);
	return PointerGetDatum(NULL);
}
