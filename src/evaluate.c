/*-------------------------------------------------------------------------
 *
 * evaluate.c
 *	  evaluate(model, relation): a model's quality on the current rows of
 *	  its source that pass its filter (those the option holdout kept out
 *	  of training, when it has one), or on the rows of another relation.
 *
 * The rows are read with the caller's rights (an SPI query run as the
 * caller, which predicts with the model), and the model's "where" filter
 * runs with its owner's, in a security-restricted operation with
 * search_path pinned, as at training.  Only the metrics leave: a
 * function that told which rows pass the filter would let a caller probe
 * it row by row, with the owner's rights.  Nothing about the model is
 * revealed before the caller is found allowed to use it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "arrayutil.h"
#include "catalog.h"
#include "distributed.h"
#include "dataset.h"
#include "model_filter.h"
#include "privileges.h"
#include "unlearn.h"

/* Rows fetched from the caller's query at a time. */
#define EVALUATE_BATCH	1000

/* The most rows one float8[] of the metrics query holds. */
#define EVALUATE_MAX_ROWS	((int) ((MaxAllocSize - 1024) / sizeof(float8)))

/* The metrics of a logistic model over v(p, y): probabilities and labels. */
#define LOGISTIC_METRICS \
	"WITH v AS (SELECT p, y FROM unnest($1::float8[], $2::float8[]) AS v(p, y))," \
	" r AS (SELECT y, avg(rn) OVER (PARTITION BY p) AS rk" \
	"         FROM (SELECT p, y, row_number() OVER (ORDER BY p) AS rn FROM v) x)" \
	" SELECT 'rows', count(*)::float8 FROM v" \
	" UNION ALL" \
	" SELECT 'accuracy', avg(((p >= 0.5)::int = y)::int)::float8 FROM v" \
	" UNION ALL" \
	" SELECT 'log_loss', -avg(y * ln(greatest(p, 1e-15))" \
	"                        + (1 - y) * ln(greatest(1 - p, 1e-15))) FROM v" \
	" UNION ALL" \
	" SELECT 'auc', ((sum(rk) FILTER (WHERE y = 1)" \
	"                 - count(*) FILTER (WHERE y = 1)" \
	"                   * (count(*) FILTER (WHERE y = 1) + 1) / 2.0)" \
	"                / nullif(count(*) FILTER (WHERE y = 1)" \
	"                         * count(*) FILTER (WHERE y = 0), 0))::float8" \
	"   FROM r" \
	" UNION ALL" \
	" SELECT * FROM (WITH c AS (SELECT y::int AS t, (p >= 0.5)::int AS q FROM v)," \
	"   k AS (SELECT k FROM generate_series(0, 1) k)," \
	"   s AS (SELECT k.k," \
	"           (SELECT count(*) FROM c WHERE q = k.k AND t = k.k)::float8 AS tp," \
	"           (SELECT count(*) FROM c WHERE q = k.k)::float8 AS pred," \
	"           (SELECT count(*) FROM c WHERE t = k.k)::float8 AS act FROM k)," \
	"   m AS (SELECT k, tp / nullif(pred, 0) AS pr, tp / nullif(act, 0) AS re FROM s)," \
	"   f AS (SELECT k, pr, re, 2 * pr * re / nullif(pr + re, 0) AS f1 FROM m)" \
	"   SELECT x.metric, x.value FROM (" \
	"     SELECT 1 AS o, k AS ord, 'precision_' || k AS metric, pr AS value FROM f" \
	"     UNION ALL SELECT 2, k, 'recall_' || k, re FROM f" \
	"     UNION ALL SELECT 3, k, 'f1_' || k, f1 FROM f" \
	"     UNION ALL SELECT 4, 0, 'macro_precision', avg(coalesce(pr, 0)) FROM f" \
	"     UNION ALL SELECT 5, 0, 'macro_recall', avg(coalesce(re, 0)) FROM f" \
	"     UNION ALL SELECT 6, 0, 'macro_f1', avg(coalesce(f1, 0)) FROM f" \
	"     UNION ALL SELECT 7, 2 * a.k + b.k, 'confusion_' || a.k || '_' || b.k," \
	"                      (SELECT count(*) FROM c WHERE t = a.k AND q = b.k)::float8" \
	"                 FROM k a, k b) x ORDER BY x.o, x.ord) z"

/* The metrics of a linear model over v(p, y): predictions and targets. */
#define LINEAR_METRICS \
	"WITH v AS (SELECT p, y FROM unnest($1::float8[], $2::float8[]) AS v(p, y))" \
	" SELECT 'rows', count(*)::float8 FROM v" \
	" UNION ALL" \
	" SELECT 'rmse', sqrt(avg((p - y) * (p - y))) FROM v" \
	" UNION ALL" \
	" SELECT 'mae', avg(abs(p - y)) FROM v" \
	" UNION ALL" \
	" SELECT 'r2', 1 - sum((p - y) * (p - y))" \
	"                  / nullif(sum((y - (SELECT avg(y) FROM v)) ^ 2), 0) FROM v"

/*
 * Poisson: the linear metrics of the mean, and the mean Poisson deviance
 * 2 avg(y ln(y / mu) - (y - mu)) (y ln y = 0 at y = 0) with d2, the share
 * of the deviance of the mean count it explains (scikit-learn's
 * mean_poisson_deviance and d2_tweedie_score at power 1).
 */
#define POISSON_METRICS \
	LINEAR_METRICS \
	" UNION ALL" \
	" SELECT 'deviance', 2 * avg(CASE WHEN y > 0 THEN y * ln(y / greatest(p, 1e-300)) ELSE 0 END" \
	"                             - (y - p)) FROM v" \
	" UNION ALL" \
	" SELECT 'd2', 1 - sum(CASE WHEN y > 0 THEN y * ln(y / greatest(p, 1e-300)) ELSE 0 END - (y - p))" \
	"               / nullif(sum(CASE WHEN y > 0 THEN y * ln(y / a.m) ELSE 0 END - (y - a.m)), 0)" \
	"   FROM v, (SELECT avg(y) AS m FROM v) a"

/*
 * Multinomial: over v, each row's class probabilities ($1, K a row, in
 * class order), its true class ($2, a position) and the labels ($3):
 * rows, accuracy, log_loss, auc (one-vs-rest, the macro average over the
 * classes present with both outcomes, as scikit-learn's roc_auc_score
 * with multi_class = "ovr"), precision, recall and F1 per class by label,
 * their macro averages (an undefined one counted as 0), and the confusion
 * matrix as confusion_<true>_<predicted>.
 */
#define MULTICLASS_METRICS \
	"WITH v AS (SELECT (o - 1) / $4 AS r, ((o - 1) % $4)::int AS k, p" \
	"             FROM unnest($1::float8[]) WITH ORDINALITY AS u(p, o))," \
	" t AS (SELECT (o - 1) AS r, y::int AS t FROM unnest($2::float8[]) WITH ORDINALITY AS u(y, o))," \
	" q AS (SELECT DISTINCT ON (r) r, k AS q FROM v ORDER BY r, p DESC, k)," \
	" c AS (SELECT t.r, t.t, q.q FROM t JOIN q USING (r))," \
	" lab AS (SELECT (o - 1)::int AS k, l FROM unnest($3::text[]) WITH ORDINALITY AS u(l, o))," \
	" s AS (SELECT lab.k, lab.l," \
	"         (SELECT count(*) FROM c WHERE c.q = lab.k AND c.t = lab.k)::float8 AS tp," \
	"         (SELECT count(*) FROM c WHERE c.q = lab.k)::float8 AS pred," \
	"         (SELECT count(*) FROM c WHERE c.t = lab.k)::float8 AS act FROM lab)," \
	" f AS (SELECT k, l, tp / nullif(pred, 0) AS pr, tp / nullif(act, 0) AS re FROM s)," \
	" f1 AS (SELECT k, l, pr, re, 2 * pr * re / nullif(pr + re, 0) AS f1 FROM f)," \
	" rk AS (SELECT v.k, (t.t = v.k) AS pos, avg(rn) OVER (PARTITION BY v.k, v.p) AS rk" \
	"          FROM (SELECT r, k, p, row_number() OVER (PARTITION BY k ORDER BY p) AS rn FROM v) v" \
	"          JOIN t USING (r))," \
	" auc AS (SELECT k, (sum(rk) FILTER (WHERE pos) - count(*) FILTER (WHERE pos)" \
	"                    * (count(*) FILTER (WHERE pos) + 1) / 2.0)" \
	"                   / nullif(count(*) FILTER (WHERE pos) * count(*) FILTER (WHERE NOT pos), 0) AS a" \
	"           FROM rk GROUP BY k)" \
	" SELECT m.metric, m.value FROM (" \
	"   SELECT 0 AS o, 0 AS ord, 'rows' AS metric, count(*)::float8 AS value FROM c" \
	"   UNION ALL SELECT 1, 0, 'accuracy', avg((t = q)::int)::float8 FROM c" \
	"   UNION ALL SELECT 2, 0, 'log_loss', -avg(ln(greatest(v.p, 1e-15))) FROM v JOIN t ON t.r = v.r AND t.t = v.k" \
	"   UNION ALL SELECT 3, 0, 'auc', avg(a) FROM auc" \
	"   UNION ALL SELECT 4, k, 'precision_' || l, pr FROM f1" \
	"   UNION ALL SELECT 5, k, 'recall_' || l, re FROM f1" \
	"   UNION ALL SELECT 6, k, 'f1_' || l, f1 FROM f1" \
	"   UNION ALL SELECT 7, 0, 'macro_precision', avg(coalesce(pr, 0)) FROM f1" \
	"   UNION ALL SELECT 8, 0, 'macro_recall', avg(coalesce(re, 0)) FROM f1" \
	"   UNION ALL SELECT 9, 0, 'macro_f1', avg(coalesce(f1, 0)) FROM f1" \
	"   UNION ALL SELECT 10, a.k * 100000 + b.k, 'confusion_' || a.l || '_' || b.l," \
	"          (SELECT count(*) FROM c WHERE c.t = a.k AND c.q = b.k)::float8 FROM lab a, lab b" \
	" ) m ORDER BY m.o, m.ord"

/* The metrics' query of a model's loss. */
static const char *
metrics_query(const StoredModel *m)
{
	if (m->loss->binary_labels)
		return LOGISTIC_METRICS;
	if (m->loss->target == LOSS_TARGET_COUNT)
		return POISSON_METRICS;
	return LINEAR_METRICS;
}

/* The (prediction, target) pairs evaluate scores. */
typedef struct ScoredRows
{
	MemoryContext cxt;
	Datum	   *p;
	Datum	   *y;
	int			n;
	int			cap;
} ScoredRows;

/* Appends a (prediction, target) pair. */
static void
add_pair(ScoredRows *rows, Datum p, Datum y)
{
	if (rows->n == rows->cap)
	{
		if (rows->cap == EVALUATE_MAX_ROWS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many rows to evaluate"),
					 errdetail("At most %d rows can be evaluated at once.", EVALUATE_MAX_ROWS)));
		rows->cap = Min(rows->cap * 2, EVALUATE_MAX_ROWS);
		rows->p = repalloc_huge(rows->p, sizeof(Datum) * rows->cap);
		rows->y = repalloc_huge(rows->y, sizeof(Datum) * rows->cap);
	}
	rows->p[rows->n] = p;
	rows->y[rows->n] = y;
	rows->n++;
}

/*
 * Multinomial: appends a row's K class probabilities (K pairs' p, their y
 * the row's class position) unless its class is not one of the model's
 * (such a row is left out: the model cannot predict it).
 */
static void
add_class_row(ScoredRows *rows, StoredModel *m, ArrayType *probabilities, const char *label)
{
	int			n,
				k,
				t;
	double	   *p = float8_array_values(probabilities, "class probabilities", &n, &k);
	MemoryContext old;

	for (t = 0; t < m->nclasses; t++)
		if (strcmp(m->class_labels[t], label) == 0)
			break;
	if (t == m->nclasses || n * k != m->nclasses)
		return;
	old = MemoryContextSwitchTo(rows->cxt);
	for (k = 0; k < m->nclasses; k++)
		add_pair(rows, Float8GetDatum(p[k]), Float8GetDatum((double) t));
	MemoryContextSwitchTo(old);
}

/*
 * Collects the (prediction, target) pairs of the rows of relid, or (relid
 * invalid) of the current rows of m's source that pass its filter, read
 * by the caller through SPI.  Rows with a NULL prediction or target are
 * left out.
 */
static void
score_rows(StoredModel *m, Oid relid, ScoredRows *rows)
{
	bool		own_rows = !OidIsValid(relid);
	bool		held_out = own_rows && m->options.holdout > 0;
	ModelFilter *filter = NULL;
	FmgrInfo	key_out;
	const char *relname;
	AttrNumber	target;
	StringInfoData sql;
	const char *alias;
	Portal		portal;
	Oid			class_out = InvalidOid;

	if (own_rows)
		relid = m->source;
	relname = get_rel_name(relid);
	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	target = get_attnum(relid, m->target_column);
	if (target == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("relation \"%s\" has no column \"%s\", the target of model \"%s\"",
						relname, m->target_column, m->name)));
	if (own_rows && m->options.where != NULL)
		filter = model_filter_compile(m);
	if (m->loss->multiclass)
	{
		bool		isvarlena;

		/* A row's class by the same output function that named the classes. */
		getTypeOutputInfo(getBaseType(get_atttype(relid, target)), &class_out, &isvarlena);
	}

	/* With a holdout, its own rows are the held-out ones: their keys are read too. */
	if (held_out)
	{
		Oid			outfunc;
		bool		isvarlena;

		getTypeOutputInfo(m->key_type, &outfunc, &isvarlena);
		fmgr_info(outfunc, &key_out);
	}

	/*
	 * A Poisson model with an exposure predicts a rate per unit of it: the
	 * expected count it is scored by is the rate times the row's exposure.
	 */
	if (m->options.exposure != NULL && get_attnum(relid, m->options.exposure) == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("relation \"%s\" has no column \"%s\", the exposure of model \"%s\"",
						relname, m->options.exposure, m->name)));
	/*
	 * The rows' alias, read as the whole row by predict and the filter: a
	 * name no column of the relation has (a column of the alias's name
	 * would be read instead of the row).
	 */
	alias = "row";
	while (get_attnum(relid, alias) != InvalidAttrNumber)
		alias = psprintf("%s_", alias);
	alias = quote_identifier(alias);
	initStringInfo(&sql);
	if (m->loss->multiclass)
	{
		/* Multinomial: each class's probability, and the true class (its label in C). */
		appendStringInfo(&sql, "SELECT ARRAY(SELECT probability FROM unlearn.predict_probabilities(%s, %s)),"
						 " %s.%s, %s%s FROM %s%s AS %s",
						 quote_literal_cstr(m->name), alias,
						 alias, quote_identifier(m->target_column),
						 held_out ? psprintf("%s.%s", alias, quote_identifier(m->key_column)) : "NULL",
						 filter ? psprintf(", %s", alias) : "",
						 get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ",
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													relname),
						 alias);
	}
	else
		appendStringInfo(&sql, "SELECT unlearn.%s(%s, %s)%s, (%s.%s)%s::float8, %s%s FROM %s%s AS %s",
					 m->loss->binary_labels ? "predict_proba" : "predict",
					 quote_literal_cstr(m->name), alias,
					 m->options.exposure ?
					 psprintf(" * (%s.%s)::float8", alias, quote_identifier(m->options.exposure)) : "",
					 alias, quote_identifier(m->target_column),
					 getBaseType(get_atttype(relid, target)) == BOOLOID ? "::int" : "",
					 held_out ? psprintf("%s.%s", alias, quote_identifier(m->key_column)) : "NULL",
					 filter ? psprintf(", %s", alias) : "",
					 /* a plain table's own rows, a partitioned one's partitions' */
					 get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												relname),
					 alias);
	portal = SPI_cursor_open_with_args(NULL, sql.data, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, EVALUATE_BATCH);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		pnull,
						ynull,
						rnull;
			Datum		p = SPI_getbinval(tup, desc, 1, &pnull);
			Datum		y = SPI_getbinval(tup, desc, 2, &ynull);

			if (held_out)
			{
				bool		knull;
				Datum		key = SPI_getbinval(tup, desc, 3, &knull);
				char	   *key_text = NULL;
				bool		keep;

				keep = !knull &&
					options_key_held_out(dataset_key_value(m->key_type, key, &key_out, &key_text),
										 m->options.holdout);
				if (key_text)
					pfree(key_text);
				if (!keep)
					continue;	/* a training row, or no row of the model */
			}
			if (filter)
			{
				Datum		row = SPI_getbinval(tup, desc, 4, &rnull);

				if (rnull || !model_filter_passes_datum(filter, DatumGetHeapTupleHeader(row)))
					continue;
			}
			if (!pnull && !ynull && m->loss->multiclass)
				add_class_row(rows, m, DatumGetArrayTypeP(p),
							  OidOutputFunctionCall(class_out, y));
			else if (!pnull && !ynull)
			{
				MemoryContext old = MemoryContextSwitchTo(rows->cxt);

				/* by value where float8 is; else copied out of the batch */
				add_pair(rows, Float8GetDatum(DatumGetFloat8(p)),
						 Float8GetDatum(DatumGetFloat8(y)));
				MemoryContextSwitchTo(old);
			}
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
}

/* Computes the metrics of the pairs and puts them in the result set. */
static void
put_metrics(FunctionCallInfo fcinfo, StoredModel *m, ScoredRows *rows)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			types[2] = {FLOAT8ARRAYOID, FLOAT8ARRAYOID};
	Datum		values[2];
	uint64		i;

	values[0] = PointerGetDatum(construct_array(rows->p, rows->n, FLOAT8OID, sizeof(float8),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (m->loss->multiclass)
	{
		/* K pairs a row: every K-th y is the row's class. */
		Oid			mtypes[4] = {FLOAT8ARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, INT4OID};
		Datum		mvalues[4];
		Datum	   *labels = palloc(sizeof(Datum) * m->nclasses);
		Datum	   *y = palloc(sizeof(Datum) * Max(rows->n / m->nclasses, 1));
		int			r;

		for (r = 0; r < m->nclasses; r++)
			labels[r] = CStringGetTextDatum(m->class_labels[r]);
		for (r = 0; r < rows->n / m->nclasses; r++)
			y[r] = rows->y[(Size) r * m->nclasses];
		mvalues[0] = values[0];
		mvalues[1] = PointerGetDatum(construct_array(y, rows->n / m->nclasses, FLOAT8OID,
													 sizeof(float8), FLOAT8PASSBYVAL,
													 TYPALIGN_DOUBLE));
		mvalues[2] = PointerGetDatum(construct_array(labels, m->nclasses, TEXTOID, -1, false,
													 TYPALIGN_INT));
		mvalues[3] = Int32GetDatum(m->nclasses);
		if (SPI_execute_with_args(MULTICLASS_METRICS, 4, mtypes, mvalues, NULL, true, 0) !=
			SPI_OK_SELECT)
			elog(ERROR, "could not compute the metrics of model \"%s\"", m->name);
	}
	else
	{
		values[1] = PointerGetDatum(construct_array(rows->y, rows->n, FLOAT8OID, sizeof(float8),
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		if (SPI_execute_with_args(metrics_query(m),
								  2, types, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not compute the metrics of model \"%s\"", m->name);
	}
	for (i = 0; i < SPI_processed; i++)
	{
		Datum		row[2];
		bool		nulls[2];

		row[0] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &nulls[0]);
		row[1] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &nulls[1]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
}

PG_FUNCTION_INFO_V1(unlearn_evaluate);

/*
 * evaluate(model, relation): (metric, value) rows; logistic: rows,
 * accuracy, log_loss, auc, per class precision, recall and F1, their
 * macro averages, the confusion matrix; linear: rows, rmse, mae, r2.
 * Without a relation: the model's own rows, the held-out ones when it has
 * a holdout.  For a caller who may
 * use the model; everything runs with search_path pinned.
 */
Datum
unlearn_evaluate(PG_FUNCTION_ARGS)
{
	PrivilegeSwitch pin;
	PrivilegeSwitch s;
	StoredModel *m;
	ScoredRows	rows;

	unlearn_require_argument(fcinfo, 0, "model name");
	InitMaterializedSRF(fcinfo, 0);
	privileges_pin_search_path(&pin);
	privileges_enter_catalog(&s);
	m = catalog_load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), false);
	privileges_leave(&s);
	privileges_check_use(m);
	/* Here, not from the predict calls of the query below (with its text as context). */
	if (strcmp(m->state, "ready") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" must be retrained before it can be evaluated", m->name),
				 errdetail("Its state is \"%s\".", m->state),
				 errhint("Run unlearn.retrain('%s').", m->name)));
	m = distributed_current_model(m, "be evaluated");

	rows.cxt = CurrentMemoryContext;
	rows.n = 0;
	rows.cap = 1024;
	rows.p = palloc(sizeof(Datum) * rows.cap);
	rows.y = palloc(sizeof(Datum) * rows.cap);
	SPI_connect();
	score_rows(m, PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1), &rows);
	put_metrics(fcinfo, m, &rows);
	SPI_finish();
	privileges_leave(&pin);
	return (Datum) 0;
}
