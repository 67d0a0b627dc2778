/*-------------------------------------------------------------------------
 *
 * distributed_sums.c
 *	  The aggregate a distributed source's solver passes run on its shards
 *	  (see distributed_sums.h), and the fingerprint its lineage keeps.
 *
 *	  Citus runs unlearn._pass_sums on every shard through its
 *	  worker_partial_agg (the extension is installed on every node),
 *	  ships each shard's state as text (float8 text is exact) and adds
 *	  the states up on the coordinator with unlearn._pass_combine.  A row
 *	  is summed as a serial pass sums it (solver_sums_add and
 *	  solver_statistics_add, one row at a time), so a distributed fit is
 *	  a local one up to the order of the additions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "distributed_sums.h"
#include "features.h"
#include "linalg.h"

/* A parsed spec, kept while the next row brings the same one. */
typedef struct PassSpec
{
	int			kind;
	const LossFunctions *loss;
	bool		intercept;
	int			nfeat;
	int			d;
	bool		has_offset;
	bool		may_overflow;
	double	   *center;
	double	   *inv_scale;
	double	   *theta;
	double	   *theta_b;		/* PASS_VERIFY: the other parameters */
	double	   *weight;			/* PASS_VERIFY: the row norm's weights */
	/* the spec's doubles, to tell the next row's spec from this one */
	double	   *values;
	int			nvalues;
	/* one row's scratch */
	double	   *x;
	double	   *scaled;
} PassSpec;

static PassSpec *cached_spec;

/* The loss of spec code c, or NULL (see distributed_sums.h). */
const LossFunctions *
pass_loss_of_code(int c)
{
	switch (c)
	{
		case 0:
			return &loss_linear;
		case 1:
			return &loss_logistic;
		case 2:
			return &loss_poisson;
	}
	return NULL;
}

/* The spec code of a loss (see distributed_sums.h). */
int
pass_loss_code(const LossFunctions *loss)
{
	int			c;

	for (c = 0; c < 3; c++)
		if (pass_loss_of_code(c) == loss)
			return c;
	elog(ERROR, "model type %s has no distributed pass", loss->name);
	return -1;
}

/* Doubles of a state of kind for d terms (see distributed_sums.h). */
int
pass_state_length(int kind, int d)
{
	if (kind == PASS_STATISTICS)
		return STATE_BODY + STATE_STAT_SUMS + STATE_STAT_MAXIMA + d + d * d;
	if (kind == PASS_VERIFY)
		return STATE_BODY + 2;
	return STATE_BODY + 1 + d + (kind == PASS_SUMS_HESSIAN ? d * d : 0);
}

/* The doubles of a 1-D float8[] without NULLs, or an error naming what. */
static double *
float8_values(ArrayType *a, const char *what, int *n)
{
	if (ARR_NDIM(a) > 1 || ARR_ELEMTYPE(a) != FLOAT8OID || ARR_HASNULL(a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional float8[] without NULLs", what)));
	*n = ARR_NDIM(a) == 0 ? 0 : ARR_DIMS(a)[0];
	return (double *) ARR_DATA_PTR(a);
}

/* Raises the error for a malformed spec. */
static void
bad_spec(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("malformed pass specification: %s", why),
			 errhint("unlearn._pass_sums is called by the training of a distributed source only.")));
}

/* Whether v is the integer lo..hi. */
static bool
int_in(double v, int lo, int hi)
{
	return v == floor(v) && v >= lo && v <= hi;
}

/* The parsed spec: the cached one when the array is the same. */
static PassSpec *
parse_spec(ArrayType *array)
{
	int			n;
	double	   *v = float8_values(array, "a pass specification", &n);
	PassSpec   *ps;
	MemoryContext old;

	if (cached_spec && cached_spec->nvalues == n &&
		memcmp(cached_spec->values, v, sizeof(double) * n) == 0)
		return cached_spec;
	if (n < PASS_SPEC_HEADER || v[PASS_SPEC_MAGIC] != PASS_SPEC_MAGIC_VALUE)
		bad_spec("no header");
	if (!int_in(v[PASS_SPEC_KIND], PASS_SUMS, PASS_VERIFY) ||
		!int_in(v[PASS_SPEC_LOSS], 0, 2) || !int_in(v[PASS_SPEC_INTERCEPT], 0, 1) ||
		!int_in(v[PASS_SPEC_NFEAT], 0, LINALG_MAX_DIM) || !int_in(v[PASS_SPEC_OFFSET], 0, 1) ||
		!int_in(v[PASS_SPEC_OVERFLOW], 0, 1))
		bad_spec("a header field is out of range");

	if (cached_spec)
	{
		pfree(cached_spec->values);
		pfree(cached_spec->x);
		pfree(cached_spec->scaled);
		pfree(cached_spec);
		cached_spec = NULL;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	ps = palloc0(sizeof(PassSpec));
	ps->kind = (int) v[PASS_SPEC_KIND];
	ps->loss = pass_loss_of_code((int) v[PASS_SPEC_LOSS]);
	ps->intercept = v[PASS_SPEC_INTERCEPT] == 1;
	ps->nfeat = (int) v[PASS_SPEC_NFEAT];
	ps->d = ps->nfeat + (ps->intercept ? 1 : 0);
	ps->has_offset = v[PASS_SPEC_OFFSET] == 1;
	ps->may_overflow = v[PASS_SPEC_OVERFLOW] == 1;
	if (ps->d < 1 || ps->d > LINALG_MAX_DIM)
		bad_spec("no parameters, or too many");
	if (n != PASS_SPEC_HEADER + 2 * ps->nfeat + ps->d * (ps->kind == PASS_VERIFY ? 3 : 1))
		bad_spec("its length does not match its header");
	ps->values = palloc(sizeof(double) * n);
	memcpy(ps->values, v, sizeof(double) * n);
	ps->nvalues = n;
	ps->center = &ps->values[PASS_SPEC_HEADER];
	ps->inv_scale = &ps->values[PASS_SPEC_HEADER + ps->nfeat];
	ps->theta = &ps->values[PASS_SPEC_HEADER + 2 * ps->nfeat];
	ps->theta_b = ps->kind == PASS_VERIFY ? &ps->theta[ps->d] : NULL;
	ps->weight = ps->kind == PASS_VERIFY ? &ps->theta[2 * ps->d] : NULL;
	ps->x = palloc(sizeof(double) * ps->d);
	ps->scaled = palloc(sizeof(double) * ps->d);
	MemoryContextSwitchTo(old);
	cached_spec = ps;
	return ps;
}

/* A zero state of kind for d terms, in cxt. */
static ArrayType *
new_state(int kind, int d, MemoryContext cxt)
{
	int			n = pass_state_length(kind, d);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	Datum	   *zeros = palloc0(sizeof(Datum) * n);
	ArrayType  *a;
	double	   *s;
	int			i;

	for (i = 0; i < n; i++)
		zeros[i] = Float8GetDatum(0.0);
	a = construct_array(zeros, n, FLOAT8OID, sizeof(double), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	pfree(zeros);
	MemoryContextSwitchTo(old);
	s = (double *) ARR_DATA_PTR(a);
	s[STATE_KIND] = kind;
	if (kind == PASS_STATISTICS)
		s[STATE_BODY + STATE_STAT_SUMS] = -DBL_MAX;	/* max_logit: no row yet */
	return a;
}

/* The doubles of a state of kind for d terms, or an error. */
static double *
state_values(ArrayType *a, int kind, int d)
{
	int			n;
	double	   *s = float8_values(a, "a pass state", &n);

	if (n != pass_state_length(kind, d) || s[STATE_KIND] != kind)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed pass state: %d values of kind %g, expected %d of kind %d",
						n, n > 0 ? s[STATE_KIND] : 0.0, pass_state_length(kind, d), kind)));
	return s;
}

/* Adds one row's sums (objective, gradient, Hessian) into s. */
static void
add_sums(const PassSpec *ps, double *s, const double *x, double y, const double *offset)
{
	SolverSums	sums;
	double		z,
				resid,
				weight;
	int			d = ps->d;

	memset(&sums, 0, sizeof(sums));
	sums.loss = ps->loss;
	sums.d = d;
	sums.nclasses = 1;
	sums.theta = ps->theta;
	sums.objective = s[STATE_BODY];
	sums.gradient = &s[STATE_BODY + 1];
	sums.hessian = ps->kind == PASS_SUMS_HESSIAN ? &s[STATE_BODY + 1 + d] : NULL;
	sums.z = &z;
	sums.resid = &resid;
	sums.weight = &weight;
	sums.scaled = ps->scaled;
	sums.may_overflow = ps->may_overflow;
	solver_sums_add(&sums, x, &y, offset, 1);
	s[STATE_BODY] = sums.objective;
}

/* The SumStats a statistics state's sums hold (see distributed_sums.h). */
static void
state_stats(const double *sums, SumStats *st)
{
	st->terms = (int64) sums[0];
	st->norm2 = sums[1];
	st->rows_norm2 = sums[2];
	st->rnorm = sums[3];
	st->rows_rnorm = sums[4];
	st->znorm = sums[5];
	st->positives = (int64) sums[6];
	st->max_logit = sums[STATE_STAT_SUMS];
}

/* Adds one row to the statistics in s (see distributed_sums.h). */
static void
add_statistics(const PassSpec *ps, double *s, const double *x, double y, const double *offset)
{
	int			d = ps->d;
	double	   *sums = &s[STATE_BODY];
	SumStats	st;

	state_stats(sums, &st);
	solver_statistics_add(ps->loss, d, 1, ps->theta, x, &y, offset, 1,
						  &sums[STATE_STAT_SUMS + STATE_STAT_MAXIMA + d],
						  &sums[STATE_STAT_SUMS + STATE_STAT_MAXIMA], &st,
						  &sums[STATE_STAT_SUMS + 1]);
	sums[0] = (double) st.terms;
	sums[1] = st.norm2;
	sums[2] = st.rows_norm2;
	sums[3] = st.rnorm;
	sums[4] = st.rows_rnorm;
	sums[5] = st.znorm;
	sums[6] = (double) st.positives;
	sums[STATE_STAT_SUMS] = st.max_logit;
}

/* Adds one row to a verify state: its prediction difference and scaled target. */
static void
add_verify(const PassSpec *ps, double *s, const double *x, double y)
{
	double		za = 0.0,
				zb = 0.0,
				n2 = 0.0;
	int			t;

	for (t = 0; t < ps->d; t++)
	{
		za += x[t] * ps->theta[t];
		zb += x[t] * ps->theta_b[t];
		n2 += x[t] * x[t] * ps->weight[t];
	}
	s[STATE_VERIFY_MAX] = Max(s[STATE_VERIFY_MAX],
							  fabs(ps->loss->predict(za) - ps->loss->predict(zb)));
	s[STATE_VERIFY_SUM] += sqrt(n2) * fabs(y);
}

PG_FUNCTION_INFO_V1(unlearn_pass_add);

/* unlearn._pass_sums's transition: adds one row (see distributed_sums.h). */
Datum
unlearn_pass_add(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	PassSpec   *ps;
	ArrayType  *state;
	double	   *s;
	double	   *raw;
	int			nraw;
	int			j;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "unlearn._pass_add called outside an aggregate");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("unlearn._pass_sums takes no NULL specification or row")));
	ps = parse_spec(PG_GETARG_ARRAYTYPE_P(1));
	raw = float8_values(PG_GETARG_ARRAYTYPE_P(2), "a row of a pass", &nraw);
	if (nraw != 1 + ps->nfeat + (ps->has_offset ? 1 : 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a row of a pass has %d values, its specification %d",
						nraw, 1 + ps->nfeat + (ps->has_offset ? 1 : 0))));

	state = PG_ARGISNULL(0) ? new_state(ps->kind, ps->d, aggcxt) : PG_GETARG_ARRAYTYPE_P(0);
	s = state_values(state, ps->kind, ps->d);

	/* The row's term vector, as features_expand makes it. */
	if (ps->intercept)
		ps->x[0] = 1.0;
	for (j = 0; j < ps->nfeat; j++)
	{
		if (!isfinite(raw[1 + j]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("feature %d of a training row is NaN or infinity", j + 1)));
		ps->x[(ps->intercept ? 1 : 0) + j] = (raw[1 + j] - ps->center[j]) * ps->inv_scale[j];
	}
	if (ps->kind == PASS_VERIFY)
		add_verify(ps, s, ps->x, raw[0]);
	else if (ps->kind == PASS_STATISTICS)
		add_statistics(ps, s, ps->x, raw[0], ps->has_offset ? &raw[nraw - 1] : NULL);
	else
		add_sums(ps, s, ps->x, raw[0], ps->has_offset ? &raw[nraw - 1] : NULL);
	s[STATE_ROWS] += 1;
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(unlearn_pass_combine);

/* unlearn._pass_sums's combine function: the sum of two states. */
Datum
unlearn_pass_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ArrayType  *a;
	ArrayType  *b;
	double	   *sa;
	double	   *sb;
	int			na,
				nb,
				kind,
				d,
				i;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "unlearn._pass_combine called outside an aggregate");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = PG_GETARG_ARRAYTYPE_P(1);
	sb = float8_values(b, "a pass state", &nb);
	if (nb < STATE_BODY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed pass state: %d values", nb)));
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		a = DatumGetArrayTypePCopy(PG_GETARG_DATUM(1));
		MemoryContextSwitchTo(old);
		PG_RETURN_ARRAYTYPE_P(a);
	}
	a = PG_GETARG_ARRAYTYPE_P(0);
	sa = float8_values(a, "a pass state", &na);
	kind = (int) sb[STATE_KIND];
	/* d from the length: kind's length is increasing in d */
	for (d = 1; d <= LINALG_MAX_DIM && pass_state_length(kind, d) < nb; d++)
		;
	(void) state_values(b, kind, d);
	(void) state_values(a, kind, d);
	for (i = STATE_ROWS; i < na; i++)
	{
		if ((kind == PASS_STATISTICS &&
			 (i == STATE_BODY + STATE_STAT_SUMS || i == STATE_BODY + STATE_STAT_SUMS + 1)) ||
			(kind == PASS_VERIFY && i == STATE_VERIFY_MAX))
			sa[i] = Max(sa[i], sb[i]);
		else
			sa[i] += sb[i];
	}
	PG_RETURN_ARRAYTYPE_P(a);
}

/* Reads a combined statistics state (see distributed_sums.h). */
void
pass_state_statistics(const double *state, int d, double *gram, double *xty,
					  SumStats *stats, double *max_row_norm)
{
	const double *sums = &state[STATE_BODY];
	SumStats	part;

	state_stats(sums, &part);
	solver_stats_merge(stats, &part);
	*max_row_norm = Max(*max_row_norm, sums[STATE_STAT_SUMS + 1]);
	memcpy(xty, &sums[STATE_STAT_SUMS + STATE_STAT_MAXIMA], sizeof(double) * d);
	memcpy(gram, &sums[STATE_STAT_SUMS + STATE_STAT_MAXIMA + d], sizeof(double) * d * d);
}

PG_FUNCTION_INFO_V1(unlearn_row_fingerprint);

/*
 * unlearn._row_fingerprint(raw, exposure): a row's lineage fingerprint
 * from its target and numeric features (raw), and its exposure when the
 * model has one, as features_fingerprint makes it.
 */
Datum
unlearn_row_fingerprint(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *raw;
	uint64	   *words;
	int64		fp;
	int			j;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	raw = float8_values(PG_GETARG_ARRAYTYPE_P(0), "a row", &n);
	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a row must hold its target")));
	words = palloc(sizeof(uint64) * n);
	for (j = 0; j < n; j++)
		words[j] = features_number_word(raw[j]);
	fp = features_fingerprint_words(words, n);
	if (!PG_ARGISNULL(1))
		fp = features_fingerprint_exposure(fp, PG_GETARG_FLOAT8(1));
	PG_RETURN_INT64(fp);
}
