/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  verify_model: the auditor's independent check of a live model
 *	  against a fresh fit on its current rows.
 *
 * The rows are the model's lineage as its source holds them now, encoded
 * with the live model's own preprocessing (its stored centering, scaling
 * and one-hot levels, as an erasure or a refresh encodes them), and
 * fitted from scratch with the model's options.  That fresh fit is what
 * exact erasures would have produced, so the two are compared apples to
 * apples: parameters, predictions on those rows, and the gradient of the
 * objective at the live parameters, which is independent of everything
 * the model stores but its parameters and preprocessing.
 *
 * The model, its lineage and its source rows are read under one MVCC
 * snapshot: an erasure changes all three in one transaction, so it is
 * seen in all or none of them.  Nothing is locked (but the source, in
 * ACCESS SHARE mode): an auditor's verification never holds up an
 * erasure while it runs.  Its log entry, written at the end, takes the
 * log's writer lock to the end of the transaction, as every log entry
 * does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include <float.h>

#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "audit.h"
#include "catalog.h"
#include "distributed.h"
#include "utils/lsyscache.h"
#include "encoder.h"
#include "linalg.h"
#include "lineage.h"
#include "model_filter.h"
#include "preprocessing.h"
#include "privileges.h"
#include "solver.h"
#include "unlearn.h"

/*
 * A ridge model claims to be as close to the optimum as a fresh solve on
 * its rows: within 1e-9 relative where the problem's conditioning allows
 * it, else within what rounding allows (ridge_rounding_bound).
 */
#define RIDGE_DISTANCE_FLOOR	1e-9
#define RIDGE_ROUNDING_FACTOR	10.0

/* A gradient below this fraction of |grad L(0)| is rounding, not error. */
#define GRADIENT_ROUNDING		1e-9

/* The verify_model result columns. */
#define VERIFY_COLUMNS			12

/*
 * Reads the rows of the model's lineage from its source, both under the
 * active snapshot (encoder_read_lineage: lineage rows missing from the
 * source, or changed, are counted).
 */
static void
collect_rows(StoredModel *m, Relation rel, LineageRows *rows)
{
	Encoder    *enc = encoder_create(m, RelationGetDescr(rel));
	PrivilegeSwitch s;
	LineageEntry *keys;
	int64		nkeys;

	if (enc == NULL || !enc->usable)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" can no longer read its source", m->name),
				 errdetail("A column it was trained on is gone."),
				 errhint("Run unlearn.retrain('%s').", m->name)));
	/* A lineage row its filter no longer admits is one a retrain would leave out. */
	if (m->options.where != NULL)
		enc->filter = model_filter_compile(m);
	privileges_enter_catalog(&s);
	keys = lineage_load_snapshot(m->model_id, &nkeys);
	privileges_leave(&s);
	encoder_read_lineage(enc, rel, GetActiveSnapshot(), keys, nkeys, rows);
}

/* Multinomial: the largest difference of a class probability over the rows. */
static double
max_probability_difference(const LineageRows *rows, int K, const double *theta_a,
						   const double *theta_b)
{
	double	   *pa = palloc(sizeof(double) * DATASET_BLOCK_ROWS * K);
	double	   *pb = palloc(sizeof(double) * DATASET_BLOCK_ROWS * K);
	double		worst = 0.0;
	int64		start;

	for (start = 0; start < rows->n; start += DATASET_BLOCK_ROWS)
	{
		int			count = (int) Min(rows->n - start, DATASET_BLOCK_ROWS);
		const double *X = &rows->X[(Size) start * rows->d];
		int			i;

		(void) multinomial_residuals(K, rows->d, theta_a, X, NULL, count, pa, NULL);
		(void) multinomial_residuals(K, rows->d, theta_b, X, NULL, count, pb, NULL);
		for (i = 0; i < count * K; i++)
			worst = Max(worst, fabs(pa[i] - pb[i]));
	}
	pfree(pa);
	pfree(pb);
	return worst;
}

/* Largest |prediction(theta_a) - prediction(theta_b)| over the rows. */
static double
max_prediction_difference(const LineageRows *rows, const LossFunctions *loss,
						  const double *theta_a, const double *theta_b)
{
	double	   *za = palloc(sizeof(double) * DATASET_BLOCK_ROWS);
	double	   *zb = palloc(sizeof(double) * DATASET_BLOCK_ROWS);
	double		worst = 0.0;
	int64		start;

	for (start = 0; start < rows->n; start += DATASET_BLOCK_ROWS)
	{
		int			count = (int) Min(rows->n - start, DATASET_BLOCK_ROWS);
		const double *X = &rows->X[(Size) start * rows->d];
		int			i;

		linalg_rows_matvec(X, count, rows->d, theta_a, za);
		linalg_rows_matvec(X, count, rows->d, theta_b, zb);
		for (i = 0; i < count; i++)
			worst = Max(worst, fabs(loss->predict(za[i]) - loss->predict(zb[i])));
	}
	return worst;
}

/* Writes the verification to the erasure log: the one place it is logged. */
static void
log_verification(const StoredModel *m, int64 rows, bool ok, double distance,
				 double error_bound)
{
	PrivilegeSwitch s;

	AuditEntry	e = {0};
	uint8		hash[AUDIT_HASH_LEN];

	audit_params_hash(m->theta, m->nterms * Max(m->nclasses, 1), hash);
	e.event = "verify";
	e.model_id = m->model_id;
	e.model_name = m->name;
	e.source = m->source;
	e.source_id = m->source_id;
	e.version_before = m->version;
	e.version_after = m->version;
	e.rows = rows;
	e.method = ok ? "verified" : "failed";
	e.step_norm = distance;
	e.error_bound = error_bound;
	e.params_before = hash;
	e.params_after = hash;
	privileges_enter_catalog(&s);
	audit_log(&e);
	privileges_leave(&s);
}

/* Raises an error unless a model is in a state that can be verified. */
static void
check_verifiable(const StoredModel *m)
{
	if (strcmp(m->state, "empty") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no rows to verify", m->name),
				 errdetail("Every row it was trained on has been erased.")));
	if (strcmp(m->state, "ready") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" must be retrained before it can be verified", m->name),
				 errdetail("Its state is \"%s\".", m->state),
				 errhint("Run unlearn.retrain('%s').", m->name)));
}

/*
 * The bound the model claims, and the map from its frame to its current
 * rows' preprocessing (preprocessing.c: the identity without standardize),
 * read as stored under the active snapshot; *D and *u NULL when there is
 * nothing to map.
 */
static double
claimed_state(StoredModel *m, double **D, double **u, double **weights)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(m->model_id)};
	PrivilegeSwitch s;
	bool		isnull,
				no_sums;
	double		bound;
	Datum		sums_datum;
	ArrayType  *sums;
	int64		n;
	int			d = m->nterms;

	*D = *u = *weights = NULL;
	privileges_enter_catalog(&s);
	SPI_connect();
	if (SPI_execute_with_args("SELECT error_bound, feature_sums, rows_trained - rows_erased"
							  " FROM unlearn.model WHERE model_id = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the error bound of model %d", m->model_id);
	bound = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										 1, &isnull));
	sums_datum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &no_sums);
	sums = no_sums ? NULL : DatumGetArrayTypeP(sums_datum);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (sums == NULL)
		;						/* no standardize: nothing to map or weigh */
	else if (m->loss->multiclass &&
		ArrayGetNItems(ARR_NDIM(sums), ARR_DIMS(sums)) == 2 * d && !ARR_HASNULL(sums))
	{
		/*
		 * Multinomial is compared in its own frame, with the objective B
		 * bounds: the penalty on term j weighted by the rows' variance
		 * there (removal.h's E), whose optimum is a retrain's.
		 */
		RemovalState rs = {0};
		double	   *E = palloc(sizeof(double) * d);
		int			t;

		rs.d = d;
		rs.nclasses = m->nclasses;
		rs.l2 = m->options.l2;
		rs.feature_sums = (double *) ARR_DATA_PTR(sums);
		(void) preprocessing_penalty_shift(m, &rs, n, E);
		if (m->options.l2 > 0)
		{
			*weights = SPI_palloc(sizeof(double) * d);
			for (t = 0; t < d; t++)
				(*weights)[t] = 1.0 + E[t] / m->options.l2;
		}
	}
	else if (ArrayGetNItems(ARR_NDIM(sums), ARR_DIMS(sums)) == 2 * d && !ARR_HASNULL(sums))
	{
		*D = SPI_palloc(sizeof(double) * d);
		*u = SPI_palloc(sizeof(double) * d);
		preprocessing_current_map(m, (double *) ARR_DATA_PTR(sums), d, n, *D, *u);
	}
	SPI_finish();
	privileges_leave(&s);
	return bound;
}

/*
 * What rounding allows for the distance between two double-precision
 * solutions of ridge's normal equations H theta = X'y on these rows,
 * relative to |theta|, measured on the Jacobi-scaled system (D = diag(H);
 * H_s = D^-1/2 H D^-1/2, theta_s = D^1/2 theta), whose conditioning does
 * not depend on the columns' units: the sums H and X'y are off by at most
 * a growth factor times u |X|'|X| and u |X|'|y|, which in scaled terms
 * have norms at most T_s = sum_j G_jj / D_j (<= d) times |theta_s| and
 * Y_s = sum_i |y_i| |D^-1/2 x_i|; H_s^-1 amplifies them by
 * 1 / lambda_min(H_s), estimated as LAPACK's rcond * |H_s|_1 from the
 * fresh fit's factor, and D^-1/2 maps them back by at most
 * 1 / sqrt(min_j D_j).  The growth factor is d (blocked sums grow far more
 * slowly than the worst case, the number of terms).  The live model's
 * sums may carry up to RESUM_RATIO times a fresh sum's rounding
 * (removal.c), and the fresh fit its own: RIDGE_ROUNDING_FACTOR covers
 * both.
 */
static double
ridge_rounding_bound(const FitResult *fresh, int d, const double *inv_diag, double y_s)
{
	double		min_diag = get_float8_infinity(),
				trace_s = 0.0,
				theta_s = 0.0,
				theta_norm = linalg_norm2(fresh->theta, d),
				lambda_s;
	int			j;

	if (inv_diag == NULL)
		return get_float8_infinity();
	for (j = 0; j < d; j++)
	{
		double		h = fresh->hessian[(Size) j * d + j];

		min_diag = Min(min_diag, h);
		trace_s += fresh->gram[(Size) j * d + j] / h;
		theta_s += h * fresh->theta[j] * fresh->theta[j];
	}
	theta_s = sqrt(theta_s);
	lambda_s = fresh->jacobi_rcond * linalg_jacobi_norm1(fresh->hessian, d);
	if (!(lambda_s > 0) || !(theta_norm > 0))
		return get_float8_infinity();
	return RIDGE_ROUNDING_FACTOR * d * (DBL_EPSILON / 2) *
		(trace_s * theta_s + y_s) / (lambda_s * sqrt(min_diag) * theta_norm);
}

/* 1 / diag(H) of the fresh fit, or NULL if a diagonal entry is not above 0. */
static double *
inverse_diagonal(const FitResult *fresh, int d)
{
	double	   *inv_diag = palloc(sizeof(double) * d);
	int			j;

	for (j = 0; j < d; j++)
	{
		double		h = fresh->hessian[(Size) j * d + j];

		if (!(h > 0))
			return NULL;
		inv_diag[j] = 1.0 / h;
	}
	return inv_diag;
}

/* Y_s of ridge_rounding_bound: sum_i |y_i| |D^-1/2 x_i| over the rows. */
static double
scaled_target_sum(const LineageRows *rows, const double *inv_diag)
{
	double		y_s = 0.0;
	int64		i;
	int			j;

	for (i = 0; i < rows->n; i++)
	{
		const double *x = &rows->X[(Size) i * rows->d];
		double		n2 = 0.0;

		for (j = 0; j < rows->d; j++)
			n2 += x[j] * x[j] * inv_diag[j];
		y_s += sqrt(n2) * fabs(rows->y[i]);
	}
	return y_s;
}

/*
 * The model's terms in the frame of a retrain on its current rows: the
 * map D, u of claimed_state applied to each term's center and scale (as
 * preprocessing.c rebases them), the model's own terms without a map.
 */
static ModelTerm *
current_frame(const StoredModel *m, const double *D, const double *u)
{
	ModelTerm  *terms = palloc(sizeof(ModelTerm) * m->nterms);
	int			t;

	memcpy(terms, m->terms, sizeof(ModelTerm) * m->nterms);
	if (D == NULL)
		return terms;
	for (t = 0; t < m->nterms; t++)
	{
		if (D[t] == 1.0 && u[t] == 0.0)
			continue;
		terms[t].center = terms[t].center - terms[t].scale * u[t] / D[t];
		terms[t].scale = terms[t].scale / D[t];
	}
	return terms;
}

/* What verify_model reports. */
typedef struct Verification
{
	double		distance;		/* |theta - theta_fresh| / |theta_fresh| */
	double		distance_bound; /* what the model's claims allow for it */
	double		max_difference; /* max_i |dtheta_i| / max_i |theta_fresh_i| */
	double		max_prediction; /* max over rows of the prediction difference */
	double		gradient_norm;	/* |grad L(theta)| on the rows */
	double		relative_gradient;	/* ... / max(1, |grad L(0)|) */
	double		abs_distance;	/* |theta - theta_fresh| */
	const char *reason;			/* why it failed, or NULL */
} Verification;

/*
 * Fits the rows afresh and compares the live model with the fit: the rows
 * of ds, held in rows locally (NULL for a distributed source, whose rows
 * stay on the shards).
 */
static void
compare_with_fresh_fit(StoredModel *m, Dataset *ds, const LineageRows *rows,
					   double error_bound, const double *weights, Verification *v)
{
	int			K = Max(m->nclasses, 1);
	int			d = ds->fs->nterms * K;	/* parameters */
	TrainOptions opts = m->options;
	double	   *zero = palloc0(sizeof(double) * d);
	double	   *gradient = palloc(sizeof(double) * d);
	double	   *diff = palloc(sizeof(double) * d);
	double	   *inv_diag;
	double		scale,
				fresh_norm,
				fresh_max = 0.0,
				diff_max = 0.0,
				lambda_min,
				rounding,
				y_s = 0.0;
	FitResult  *fresh;
	int			j;

	/*
	 * A fresh start, at the labels' log-odds when both classes remain (the
	 * log of the mean count for Poisson, when one is above 0).
	 */
	ds->nclasses = m->nclasses;
	opts.penalty_weights = weights;
	fresh = solver_fit(ds, m->loss, &opts, m->name,
					   m->loss->multiclass ||
					   (ds->npositive > 0 &&
						(ds->npositive < ds->nrows || !m->loss->binary_labels)) ? NULL : zero);

	(void) solver_evaluate_weighted(ds, m->loss, m->options.l2, weights, m->options.intercept,
									zero, gradient, NULL);
	scale = Max(1.0, linalg_norm2(gradient, d));
	(void) solver_evaluate_weighted(ds, m->loss, m->options.l2, weights, m->options.intercept,
									m->theta, gradient, NULL);
	v->gradient_norm = linalg_norm2(gradient, d);
	v->relative_gradient = v->gradient_norm / scale;

	for (j = 0; j < d; j++)
	{
		diff[j] = m->theta[j] - fresh->theta[j];
		diff_max = Max(diff_max, fabs(diff[j]));
		fresh_max = Max(fresh_max, fabs(fresh->theta[j]));
	}
	fresh_norm = Max(linalg_norm2(fresh->theta, d), DBL_MIN);
	v->abs_distance = linalg_norm2(diff, d);
	v->distance = v->abs_distance / fresh_norm;
	v->max_difference = diff_max / Max(fresh_max, DBL_MIN);
	inv_diag = m->loss->constant_hessian ? inverse_diagonal(fresh, d) : NULL;
	if (ds->distributed)
		distributed_verify_pass(ds, m->loss, m->theta, fresh->theta, inv_diag ? inv_diag : zero,
								&v->max_prediction, &y_s);
	else
	{
		v->max_prediction = m->loss->multiclass ?
			max_probability_difference(rows, K, m->theta, fresh->theta) :
			max_prediction_difference(rows, m->loss, m->theta, fresh->theta);
		if (inv_diag)
			y_s = scaled_target_sum(rows, inv_diag);
	}

	/*
	 * What the model claims: ridge, to be as close as a fresh solve
	 * (ridge_rounding_bound); logistic, |grad L| <= B, so |theta - theta*|
	 * <= B / lambda_min(H), lambda_min estimated as the erasure step does
	 * (rcond * |H|_1), plus the fresh fit's own residual.
	 */
	rounding = GRADIENT_ROUNDING * scale;
	lambda_min = fresh->rcond * linalg_sym_norm1(fresh->hessian, d);
	if (m->loss->constant_hessian)
		v->distance_bound = Max(RIDGE_DISTANCE_FLOOR,
								ridge_rounding_bound(fresh, d, inv_diag, y_s));
	else
		v->distance_bound = (error_bound + rounding + fresh->gradient_norm) /
			(lambda_min * fresh_norm);

	if (v->gradient_norm > error_bound + rounding)
		v->reason = "its gradient on its rows exceeds the bound it claims";
	else if (v->distance > v->distance_bound)
		v->reason = "its parameters are farther from a fresh fit than it claims";
}

PG_FUNCTION_INFO_V1(unlearn_verify_model);

/*
 * verify_model(model): fits the model afresh on its current rows with its
 * own preprocessing, without touching it, and reports how far the live
 * model is from that fit next to what it claims; logs the verification.
 */
Datum
unlearn_verify_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	Snapshot	snapshot;
	PrivilegeSwitch s;
	StoredModel *m;
	Relation	rel;
	LineageRows	rows;
	Dataset    *ds;
	bool		distributed;
	Verification v;
	double		error_bound;
	double	   *D,
			   *u,
			   *weights;
	TupleDesc	desc;
	Datum		values[VERIFY_COLUMNS];
	bool		nulls[VERIFY_COLUMNS];
	int			c;

	unlearn_require_argument(fcinfo, 0, "model name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE ||
		desc->natts != VERIFY_COLUMNS)
		elog(ERROR, "verify_model called in a wrong context");

	/*
	 * The model, its lineage and its rows: one snapshot, no lock but on
	 * the source, taken first (a TRUNCATE is then either seen by the
	 * snapshot or waits: it is not MVCC-safe).  A distributed source's
	 * rows are read by several statements on the shards, each with its
	 * own snapshot: its writers are locked out instead, on every node, and
	 * the rows its journal holds are taken out of the model first.
	 */
	privileges_enter_catalog(&s);
	m = catalog_load_model(name, false);
	privileges_leave(&s);
	distributed = distributed_is_source(m->source);
	if (distributed)
	{
		distributed_lock(m->source);
		(void) distributed_check_current(m, "be verified");
		CommandCounterIncrement();
	}
	else
		LockRelationOid(m->source, AccessShareLock);
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	PushActiveSnapshot(snapshot);
	privileges_enter_catalog(&s);
	m = catalog_load_model(name, false);
	privileges_leave(&s);
	check_verifiable(m);
	error_bound = claimed_state(m, &D, &u, &weights);
	unlearn_progress_start();
	rel = try_table_open(m->source, AccessShareLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source table of model \"%s\" no longer exists", m->name)));
	if (distributed)
	{
		/* the rows stay on the shards, read in the frame a retrain would use */
		memset(&rows, 0, sizeof(rows));
		ds = distributed_lineage_dataset(m, rel, current_frame(m, D, u), &rows.mismatched);
		rows.n = ds->nrows;
	}
	else
	{
		collect_rows(m, rel, &rows);
		if (D != NULL)
			preprocessing_map_rows(D, u, m->nterms, rows.X, rows.n);
		ds = dataset_from_rows(rows.d, rows.X, rows.y, rows.offset, rows.n);
		ds->npositive = rows.npositive;
	}
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	UnregisterSnapshot(snapshot);

	/*
	 * A retrain's preprocessing is the current rows': the rows (above) and
	 * the model go to that frame, the gradient B bounds with them (|A g| <=
	 * alpha |g|).
	 */
	if (D != NULL)
	{
		double	   *theta = palloc(sizeof(double) * m->nterms);

		memcpy(theta, m->theta, sizeof(double) * m->nterms);
		preprocessing_map_theta(D, u, m->nterms, theta);
		m->theta = theta;
		error_bound *= preprocessing_map_growth(D, u, m->nterms);
	}

	memset(&v, 0, sizeof(v));
	memset(nulls, false, sizeof(nulls));
	if (rows.n > 0)
		compare_with_fresh_fit(m, ds, distributed ? NULL : &rows, error_bound, weights, &v);
	else
	{
		v.abs_distance = get_float8_nan();
		for (c = 3; c <= 8; c++)
			nulls[c] = true;
	}
	if (rows.filtered_out > 0)
		v.reason = psprintf(INT64_FORMAT " rows of its lineage no longer pass its filter",
							rows.filtered_out);
	if (rows.mismatched > rows.filtered_out)
		v.reason = psprintf(INT64_FORMAT " rows of its lineage are missing from its source or have changed",
							rows.mismatched - rows.filtered_out);

	values[0] = Int64GetDatum(m->version);
	values[1] = Int64GetDatum(rows.n);
	values[2] = Int64GetDatum(rows.mismatched);
	values[3] = Float8GetDatum(v.distance);
	values[4] = Float8GetDatum(v.distance_bound);
	values[5] = Float8GetDatum(v.max_difference);
	values[6] = Float8GetDatum(v.max_prediction);
	values[7] = Float8GetDatum(v.gradient_norm);
	values[8] = Float8GetDatum(v.relative_gradient);
	values[9] = Float8GetDatum(error_bound);
	values[10] = CStringGetTextDatum(v.reason == NULL ? "ok" : "failed");
	values[11] = v.reason ? CStringGetTextDatum(v.reason) : (Datum) 0;
	nulls[11] = v.reason == NULL;

	log_verification(m, rows.n, v.reason == NULL, v.abs_distance, error_bound);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
