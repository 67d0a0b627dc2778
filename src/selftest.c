/*-------------------------------------------------------------------------
 *
 * selftest.c
 *	  SQL-callable test entry points: the linear-algebra core, and hooks
 *	  into erasure and the log.
 *
 * These are not part of the public API: the install script does not
 * declare them.  The test suites declare them in a scratch schema with
 * CREATE FUNCTION ... AS '$libdir/unlearn' (which needs a superuser).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "common/pg_prng.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "arrayutil.h"
#include "audit.h"
#include "digest.h"
#include "erasure_state.h"
#include "linalg.h"
#include "unlearn.h"

/* Element (i, j) of a column-major n x n matrix. */
#define ELEM(A, n, i, j)	((A)[(Size) (j) * (n) + (i)])

/* Reads a square symmetric float8[][] argument into a column-major buffer. */
static double *
square_argument(ArrayType *array, int *n)
{
	int			rows,
				cols;
	double	   *A = float8_array_values(array, "matrix", &rows, &cols);
	int			i,
				j;

	if (ARR_NDIM(array) != 2 || rows != cols)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("matrix must be square")));
	for (i = 0; i < rows; i++)
		for (j = i + 1; j < rows; j++)
			if (ELEM(A, rows, i, j) != ELEM(A, rows, j, i))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("matrix must be symmetric")));
	*n = rows;
	return A;
}

/* Reads a vector argument that must have length n. */
static double *
vector_argument(ArrayType *array, int n)
{
	int			rows,
				cols;
	double	   *x = float8_array_values(array, "vector", &rows, &cols);

	if (ARR_NDIM(array) != 1 || cols != n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("vector length %d does not match matrix dimension %d",
						rows * cols, n)));
	return x;
}

/* Returns U'U as a full symmetric column-major matrix. */
static double *
reconstruct(const double *U, int n)
{
	double	   *A = palloc0(sizeof(double) * n * n);
	int			i,
				j,
				k;

	for (j = 0; j < n; j++)
		for (i = 0; i <= j; i++)
		{
			double		sum = 0.0;

			for (k = 0; k <= i; k++)
				sum += ELEM(U, n, k, i) * ELEM(U, n, k, j);
			ELEM(A, n, i, j) = sum;
			ELEM(A, n, j, i) = sum;
		}
	return A;
}

PG_FUNCTION_INFO_V1(unlearn_test_cholesky_solve);

/* Solves A x = b through the checked Cholesky path. */
Datum
unlearn_test_cholesky_solve(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *A = square_argument(PG_GETARG_ARRAYTYPE_P(0), &n);
	double	   *b = vector_argument(PG_GETARG_ARRAYTYPE_P(1), n);

	linalg_cholesky(A, n, unlearn_min_rcond, "matrix", NULL);
	linalg_cholesky_solve(A, n, b, 1);
	PG_RETURN_ARRAYTYPE_P(float8_array_build(b, 0, n));
}

PG_FUNCTION_INFO_V1(unlearn_test_cholesky_rcond);

/* Reciprocal condition estimate of A from the checked Cholesky path. */
Datum
unlearn_test_cholesky_rcond(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *A = square_argument(PG_GETARG_ARRAYTYPE_P(0), &n);

	PG_RETURN_FLOAT8(linalg_cholesky(A, n, unlearn_min_rcond, "matrix", NULL));
}

PG_FUNCTION_INFO_V1(unlearn_test_cholesky_rank1);

/*
 * Factors A, applies a rank-1 update (sign > 0) or downdate (sign < 0)
 * with x and returns U'U, or NULL when the downdate is refused.
 */
Datum
unlearn_test_cholesky_rank1(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *A = square_argument(PG_GETARG_ARRAYTYPE_P(0), &n);
	double	   *x = vector_argument(PG_GETARG_ARRAYTYPE_P(1), n);
	int32		sign = PG_GETARG_INT32(2);

	linalg_cholesky(A, n, unlearn_min_rcond, "matrix", NULL);
	if (sign >= 0)
		linalg_cholesky_update(A, n, x);
	else if (!linalg_cholesky_downdate(A, n, x))
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(float8_array_build(reconstruct(A, n), n, n));
}

PG_FUNCTION_INFO_V1(unlearn_test_gram);

/* Weighted Gram matrix sum_i w_i x_i x_i' of the rows of X (w may be NULL). */
Datum
unlearn_test_gram(PG_FUNCTION_ARGS)
{
	int			rows,
				n;
	double	   *X = float8_array_values(PG_GETARG_ARRAYTYPE_P(0), "rows",
										&rows, &n);
	double	   *w = NULL;
	double	   *G;

	if (!PG_ARGISNULL(1))
	{
		int			wr,
					wc;

		w = float8_array_values(PG_GETARG_ARRAYTYPE_P(1), "weights", &wr, &wc);
		if (wr * wc != rows)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("%d weights given for %d rows", wr * wc, rows)));
		linalg_check_finite(w, rows, "weights");
	}
	linalg_check_dim(n);
	linalg_check_finite(X, (Size) rows * n, "rows");
	G = palloc0(sizeof(double) * n * n);
	linalg_gram_add(G, n, X, rows, w, 1.0, NULL);
	linalg_symmetrize(G, n);
	PG_RETURN_ARRAYTYPE_P(float8_array_build(G, n, n));
}

/* ---------------------------------------------------------------------
 * Randomized self-test battery
 * ---------------------------------------------------------------------
 */

/* Uniform value in [-1, 1). */
static double
uniform(pg_prng_state *rng)
{
	return 2.0 * pg_prng_double(rng) - 1.0;
}

/* Random SPD matrix M'M + shift*I (full storage) from an n x n uniform M. */
static double *
random_spd(pg_prng_state *rng, int n, double shift)
{
	double	   *M = palloc(sizeof(double) * n * n);
	double	   *A = palloc0(sizeof(double) * n * n);
	int			i,
				j,
				k;

	for (i = 0; i < n * n; i++)
		M[i] = uniform(rng);
	for (j = 0; j < n; j++)
		for (i = 0; i < n; i++)
		{
			double		sum = (i == j) ? shift : 0.0;

			for (k = 0; k < n; k++)
				sum += ELEM(M, n, k, i) * ELEM(M, n, k, j);
			ELEM(A, n, i, j) = sum;
		}
	pfree(M);
	return A;
}

/* Relative Frobenius distance between the upper triangles of two factors. */
static double
factor_distance(const double *U, const double *V, int n)
{
	double		diff = 0.0;
	double		norm = 0.0;
	int			i,
				j;

	for (j = 0; j < n; j++)
		for (i = 0; i <= j; i++)
		{
			double		d = ELEM(U, n, i, j) - ELEM(V, n, i, j);

			diff += d * d;
			norm += ELEM(V, n, i, j) * ELEM(V, n, i, j);
		}
	return sqrt(diff / norm);
}

/* Returns a fresh copy of a matrix. */
static double *
copy_matrix(const double *A, int n)
{
	double	   *B = palloc(sizeof(double) * n * n);

	memcpy(B, A, sizeof(double) * n * n);
	return B;
}

/* Adds sign * x x' to the full symmetric matrix A. */
static void
add_outer(double *A, int n, const double *x, double sign)
{
	int			i,
				j;

	for (j = 0; j < n; j++)
		for (i = 0; i < n; i++)
			ELEM(A, n, i, j) += sign * x[i] * x[j];
}

/* Collects the rows of the self-test result. */
typedef struct SelftestResult
{
	ReturnSetInfo *rsinfo;
} SelftestResult;

/* Emits one self-test row: check name, passed, measured value, bound. */
static void
report(SelftestResult *res, const char *check, double measured, double bound)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	values[0] = CStringGetTextDatum(check);
	values[1] = BoolGetDatum(measured <= bound);
	values[2] = Float8GetDatum(measured);
	values[3] = Float8GetDatum(bound);
	tuplestore_putvalues(res->rsinfo->setResult, res->rsinfo->setDesc,
						 values, nulls);
}

/* Random SPD systems: normwise backward error of the Cholesky solve. */
static void
check_solve(SelftestResult *res, pg_prng_state *rng)
{
	static const int sizes[] = {1, 2, 3, 10, 50, 200};
	int			t;

	for (t = 0; t < (int) lengthof(sizes); t++)
	{
		int			n = sizes[t];
		double	   *A = random_spd(rng, n, 0.1);
		double	   *U = copy_matrix(A, n);
		double	   *b = palloc(sizeof(double) * n);
		double	   *x = palloc(sizeof(double) * n);
		double		rnorm = 0.0,
					xnorm = 0.0,
					bnorm = 0.0,
					anorm = 0.0;
		int			i,
					j;
		char		name[64];

		for (i = 0; i < n; i++)
			b[i] = uniform(rng);
		memcpy(x, b, sizeof(double) * n);
		linalg_cholesky(U, n, 0.0, "matrix", NULL);
		linalg_cholesky_solve(U, n, x, 1);

		for (i = 0; i < n; i++)
		{
			double		r = -b[i];
			double		rowsum = 0.0;

			for (j = 0; j < n; j++)
			{
				r += ELEM(A, n, i, j) * x[j];
				rowsum += fabs(ELEM(A, n, i, j));
			}
			rnorm = Max(rnorm, fabs(r));
			xnorm = Max(xnorm, fabs(x[i]));
			bnorm = Max(bnorm, fabs(b[i]));
			anorm = Max(anorm, rowsum);
		}
		snprintf(name, sizeof(name), "solve n=%d backward error", n);
		report(res, name, rnorm / (anorm * xnorm + bnorm), 10.0 * n * DBL_EPSILON);
	}
}

/* The condition estimate of a diagonal matrix is exact. */
static void
check_rcond(SelftestResult *res)
{
	int			n = 4;
	double	   *A = palloc0(sizeof(double) * n * n);
	double		rcond;

	ELEM(A, n, 0, 0) = 4.0;
	ELEM(A, n, 1, 1) = 1.0;
	ELEM(A, n, 2, 2) = 1e-3;
	ELEM(A, n, 3, 3) = 2.0;
	rcond = linalg_cholesky(A, n, 0.0, "matrix", NULL);
	report(res, "rcond of diag(4,1,1e-3,2) is 2.5e-4", fabs(rcond - 2.5e-4) / 2.5e-4, 1e-12);
}

/* dsyrk Gram accumulation against a plain triple loop, with weights. */
static void
check_gram(SelftestResult *res, pg_prng_state *rng)
{
	int			rows = 1000,
				n = 30;
	double	   *X = palloc(sizeof(double) * rows * n);
	double	   *w = palloc(sizeof(double) * rows);
	double	   *G = palloc0(sizeof(double) * n * n);
	double		diff = 0.0,
				norm = 0.0;
	int			i,
				j,
				k;

	for (i = 0; i < rows * n; i++)
		X[i] = uniform(rng);
	for (i = 0; i < rows; i++)
		w[i] = pg_prng_double(rng);
	linalg_gram_add(G, n, X, rows, w, 1.0, NULL);
	linalg_gram_add(G, n, X, rows / 2, NULL, -1.0, NULL);

	for (j = 0; j < n; j++)
		for (i = 0; i <= j; i++)
		{
			double		sum = 0.0;

			for (k = 0; k < rows; k++)
				sum += w[k] * X[k * n + i] * X[k * n + j];
			for (k = 0; k < rows / 2; k++)
				sum -= X[k * n + i] * X[k * n + j];
			diff += (ELEM(G, n, i, j) - sum) * (ELEM(G, n, i, j) - sum);
			norm += sum * sum;
		}
	report(res, "weighted gram matches a plain loop", sqrt(diff / norm), 1e-12);
}

/* One rank-1 update and one downdate against fresh factorizations. */
static void
check_rank1(SelftestResult *res, pg_prng_state *rng)
{
	int			n = 40;
	double	   *A = random_spd(rng, n, 0.5);
	double	   *x = palloc(sizeof(double) * n);
	double	   *xcopy = palloc(sizeof(double) * n);
	double	   *U = copy_matrix(A, n);
	double	   *fresh;
	int			i;

	for (i = 0; i < n; i++)
		x[i] = uniform(rng);
	linalg_cholesky(U, n, 0.0, "matrix", NULL);

	memcpy(xcopy, x, sizeof(double) * n);
	linalg_cholesky_update(U, n, xcopy);
	add_outer(A, n, x, 1.0);
	fresh = copy_matrix(A, n);
	linalg_cholesky(fresh, n, 0.0, "matrix", NULL);
	report(res, "rank-1 update equals fresh factor", factor_distance(U, fresh, n), 1e-13);

	add_outer(A, n, x, -1.0);
	report(res, "rank-1 downdate accepted",
		   linalg_cholesky_downdate(U, n, x) ? 0.0 : 1.0, 0.0);
	fresh = copy_matrix(A, n);
	linalg_cholesky(fresh, n, 0.0, "matrix", NULL);
	report(res, "rank-1 downdate equals fresh factor", factor_distance(U, fresh, n), 1e-12);
}

/*
 * 1000 successive downdates, then the same 1000 updates, compared with
 * fresh factorizations at the bottom (B) and at the top (B + sum x x').
 * A small shift makes B ill-conditioned; the bound scales with it.
 */
static void
check_many_rank1(SelftestResult *res, pg_prng_state *rng, double shift,
				 double bound)
{
	int			n = 20,
				count = 1000;
	double	   *B = random_spd(rng, n, shift);
	double	   *A = copy_matrix(B, n);
	double	   *X = palloc(sizeof(double) * count * n);
	double	   *U;
	double	   *fresh;
	double	   *x = palloc(sizeof(double) * n);
	int			refused = 0;
	int			k,
				i;
	char		name[96];

	for (k = 0; k < count; k++)
	{
		for (i = 0; i < n; i++)
			X[k * n + i] = uniform(rng);
		add_outer(A, n, &X[k * n], 1.0);
	}
	U = copy_matrix(A, n);
	linalg_cholesky(U, n, 0.0, "matrix", NULL);

	for (k = 0; k < count; k++)
		if (!linalg_cholesky_downdate(U, n, &X[k * n]))
			refused++;
	snprintf(name, sizeof(name), "shift %g: 1000 downdates all accepted", shift);
	report(res, name, refused, 0);
	fresh = copy_matrix(B, n);
	linalg_cholesky(fresh, n, 0.0, "matrix", NULL);
	snprintf(name, sizeof(name), "shift %g: 1000 downdates equal fresh factor", shift);
	report(res, name, factor_distance(U, fresh, n), bound);

	for (k = count - 1; k >= 0; k--)
	{
		memcpy(x, &X[k * n], sizeof(double) * n);
		linalg_cholesky_update(U, n, x);
	}
	fresh = copy_matrix(A, n);
	linalg_cholesky(fresh, n, 0.0, "matrix", NULL);
	snprintf(name, sizeof(name), "shift %g: 1000 updates back equal fresh factor", shift);
	report(res, name, factor_distance(U, fresh, n), bound);
}

/* A downdate to an indefinite or singular matrix is refused, U untouched. */
static void
check_refused_downdate(SelftestResult *res, pg_prng_state *rng)
{
	int			n = 10;
	double	   *A = random_spd(rng, n, 0.1);
	double	   *U = copy_matrix(A, n);
	double	   *before;
	double	   *x = palloc0(sizeof(double) * n);
	int			i;
	bool		ok;

	linalg_cholesky(U, n, 0.0, "matrix", NULL);
	before = copy_matrix(U, n);

	/* x = 2 * (row 0 of U'), i.e. x x' = 4 * e0-part: U'U - x x' indefinite. */
	for (i = 0; i < n; i++)
		x[i] = 2.0 * ELEM(U, n, 0, i);
	ok = linalg_cholesky_downdate(U, n, x);
	report(res, "indefinite downdate refused", ok ? 1.0 : 0.0, 0.0);
	report(res, "refused downdate leaves factor untouched",
		   memcmp(U, before, sizeof(double) * n * n) == 0 ? 0.0 : 1.0, 0.0);

	/* x = row 0 of U' exactly: the result is singular. */
	for (i = 0; i < n; i++)
		x[i] = ELEM(U, n, 0, i);
	ok = linalg_cholesky_downdate(U, n, x);
	report(res, "singular downdate refused", ok ? 1.0 : 0.0, 0.0);
}

PG_FUNCTION_INFO_V1(unlearn_test_linalg_selftest);

/* Runs the randomized linear-algebra checks; one row per check. */
Datum
unlearn_test_linalg_selftest(PG_FUNCTION_ARGS)
{
	SelftestResult res;
	pg_prng_state rng;

	InitMaterializedSRF(fcinfo, 0);
	res.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pg_prng_seed(&rng, (uint64) PG_GETARG_INT64(0));

	check_solve(&res, &rng);
	check_rcond(&res);
	check_gram(&res, &rng);
	check_rank1(&res, &rng);
	check_many_rank1(&res, &rng, 1.0, 1e-10);
	check_many_rank1(&res, &rng, 1e-4, 1e-9);
	check_refused_downdate(&res, &rng);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(unlearn_test_hmac_sha256);

/* HMAC-SHA256 of a message under a key, as the erasure log computes it. */
Datum
unlearn_test_hmac_sha256(PG_FUNCTION_ARGS)
{
	bytea	   *secret = PG_GETARG_BYTEA_PP(0);
	bytea	   *message = PG_GETARG_BYTEA_PP(1);
	bytea	   *result = palloc(VARHDRSZ + DIGEST_LEN);

	digest_hmac((const uint8 *) VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret),
			   (const uint8 *) VARDATA_ANY(message), VARSIZE_ANY_EXHDR(message),
			   (uint8 *) VARDATA(result));
	SET_VARSIZE(result, VARHDRSZ + DIGEST_LEN);
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(unlearn_test_erasure_state_loads);

/* How many times this backend loaded a model's erasure state from the tables. */
Datum
unlearn_test_erasure_state_loads(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) erasure_state_loads);
}

PG_FUNCTION_INFO_V1(unlearn_test_fail_commit);

/* The next commit that seals log entries fails after its link is made. */
Datum
unlearn_test_fail_commit(PG_FUNCTION_ARGS)
{
	audit_test_fail_commit();
	PG_RETURN_VOID();
}
