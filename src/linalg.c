/*-------------------------------------------------------------------------
 *
 * linalg.c
 *	  Dense linear algebra for unlearn: Cholesky factor/solve/condition,
 *	  LINPACK-style rank-1 Cholesky update and downdate, weighted Gram
 *	  accumulation.  This is the only file that calls LAPACKE or CBLAS.
 *
 * Conditioning is judged on the Jacobi-scaled matrix D^-1/2 A D^-1/2
 * (D = diag(A)), which does not change when a variable is rescaled (a
 * column in dollars or in thousands of dollars): among diagonal scalings
 * it is within a factor n of the best conditioned (van der Sluis, 1969),
 * so a small condition estimate there means collinearity, not units.
 *
 * Inputs are checked for NaN/Infinity before any LAPACK call: LAPACK is
 * not specified on non-finite data and some routines can iterate forever
 * on it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include <cblas.h>
#include <lapacke.h>

#include "linalg.h"

/* Element (i, j) of a column-major n x n matrix. */
#define ELEM(A, n, i, j)	((A)[(Size) (j) * (n) + (i)])

/* Returns true if all count values are finite (no NaN, no +-Infinity). */
bool
linalg_all_finite(const double *x, Size count)
{
	Size		i;

	for (i = 0; i < count; i++)
	{
		if (!isfinite(x[i]))
			return false;
	}
	return true;
}

/* Raises a data_exception naming "what" unless all values are finite. */
void
linalg_check_finite(const double *x, Size count, const char *what)
{
	if (!linalg_all_finite(x, count))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s contains NaN or infinity", what)));
}

/* Raises an error unless n is a dimension the routines here accept. */
void
linalg_check_dim(int n)
{
	if (n < 1 || n > LINALG_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("matrix dimension %d is out of range", n),
				 errdetail("Dimensions from 1 to %d are supported.",
						   LINALG_MAX_DIM)));
}

/* Copies the upper triangle of a symmetric matrix into its lower triangle. */
void
linalg_symmetrize(double *A, int n)
{
	int			i,
				j;

	for (j = 0; j < n; j++)
		for (i = j + 1; i < n; i++)
			ELEM(A, n, i, j) = ELEM(A, n, j, i);
}

/* 1-norm (= infinity-norm) of a symmetric matrix given by its upper triangle. */
double
linalg_sym_norm1(const double *A, int n)
{
	double	   *work = palloc(sizeof(double) * n);
	double		norm;

	norm = LAPACKE_dlansy_work(LAPACK_COL_MAJOR, '1', 'U', n, A, n, work);
	pfree(work);
	return norm;
}

/*
 * Cholesky factorization in place; returns 0 on success or the order of the
 * first leading minor that is not positive definite.
 */
int
linalg_cholesky_try(double *A, int n)
{
	lapack_int	info;

	info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', n, A, n);
	if (info < 0)
		elog(ERROR, "dpotrf: illegal value in argument %d", (int) -info);
	return (int) info;
}

/*
 * The smallest reciprocal condition of D^-1/2 A D^-1/2 that A's own
 * estimate implies, from A's diagonal: with A_s that scaled matrix,
 * |A_s|_1 <= n (its entries are at most 1), |A_s^-1|_1 <= sqrt(n) /
 * lambda_min(A_s) and lambda_min(A_s) >= lambda_min(A) / max_j A_jj >=
 * 1 / (|A^-1|_1 max_j A_jj), so 1/cond_1(A_s) >= rcond(A) |A|_1 /
 * (n^1.5 max_j A_jj).
 */
static double
implied_jacobi_rcond(const double *diag, int n, double rcond, double anorm)
{
	double		maxdiag = 0.0;
	int			j;

	for (j = 0; j < n; j++)
		maxdiag = Max(maxdiag, diag[j]);
	if (!(maxdiag > 0))
		return 0.0;
	return rcond * anorm / (pow((double) n, 1.5) * maxdiag);
}

/* The diagonal of an n x n matrix, in a new array. */
static double *
diagonal(const double *A, int n)
{
	double	   *diag = palloc(sizeof(double) * n);
	int			j;

	for (j = 0; j < n; j++)
		diag[j] = ELEM(A, n, j, j);
	return diag;
}

/*
 * Cholesky factorization in place with full checks; raises an error on
 * non-finite input, a matrix that is not positive definite, or one whose
 * Jacobi-scaled form has a reciprocal condition estimate below min_rcond.
 * Returns A's own estimate; the scaled one goes to *jacobi_rcond.
 */
double
linalg_cholesky_checked(double *A, int n, double min_rcond, const char *what,
						const char *hint, double *jacobi_rcond)
{
	double	   *diag;
	double		anorm;
	double		jnorm;
	double		rcond;
	double		scaled;
	int			info;
	int			j;

	linalg_check_dim(n);
	linalg_check_finite(A, (Size) n * n, what);

	/* What the estimates need of A, before A becomes its factor. */
	anorm = linalg_sym_norm1(A, n);
	diag = diagonal(A, n);
	jnorm = 0.0;
	for (j = 0; j < n && diag[j] > 0; j++)
		;
	if (j == n)
		jnorm = linalg_jacobi_norm1(A, n);
	info = linalg_cholesky_try(A, n);
	if (info > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s is singular or not positive definite", what),
				 errdetail("The leading minor of order %d is not positive.",
						   info),
				 hint ? errhint("%s", hint) : 0));

	rcond = linalg_cholesky_rcond(A, n, anorm);
	scaled = implied_jacobi_rcond(diag, n, rcond, anorm);
	if (jacobi_rcond != NULL || !(scaled >= min_rcond))
		scaled = linalg_cholesky_jacobi_rcond(A, diag, n, jnorm);
	pfree(diag);
	if (!(scaled >= min_rcond))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s is too ill-conditioned", what),
				 errdetail("The reciprocal condition number of its Jacobi-scaled form is estimated at %.3g, below the limit %.3g set by unlearn.min_rcond.",
						   scaled, min_rcond),
				 hint ? errhint("%s", hint) : 0));
	if (jacobi_rcond != NULL)
		*jacobi_rcond = scaled;
	return rcond;
}

/* linalg_cholesky_checked without the scaled estimate. */
double
linalg_cholesky(double *A, int n, double min_rcond, const char *what,
				const char *hint)
{
	return linalg_cholesky_checked(A, n, min_rcond, what, hint, NULL);
}

/* 1-norm of D^-1/2 A D^-1/2, D = diag(A) > 0, from A's upper triangle. */
double
linalg_jacobi_norm1(const double *A, int n)
{
	double	   *s = palloc(sizeof(double) * n);
	double	   *colsum = palloc0(sizeof(double) * n);
	double		norm = 0.0;
	int			i,
				j;

	for (j = 0; j < n; j++)
		s[j] = 1.0 / sqrt(ELEM(A, n, j, j));
	for (j = 0; j < n; j++)
		for (i = 0; i <= j; i++)
		{
			double		a = fabs(ELEM(A, n, i, j)) * s[i] * s[j];

			colsum[j] += a;
			if (i != j)
				colsum[i] += a;
		}
	for (j = 0; j < n; j++)
		norm = Max(norm, colsum[j]);
	pfree(s);
	pfree(colsum);
	return norm;
}

/* LAPACK estimate of 1/cond_1(D^-1/2 A D^-1/2) from A's factor U: U D^-1/2 factors it. */
double
linalg_cholesky_jacobi_rcond(const double *U, const double *diag, int n,
							 double jacobi_norm1)
{
	double	   *Us = palloc(sizeof(double) * n * n);
	double		rcond;
	int			i,
				j;

	for (j = 0; j < n; j++)
	{
		double		s = 1.0 / sqrt(diag[j]);

		for (i = 0; i <= j; i++)
			ELEM(Us, n, i, j) = ELEM(U, n, i, j) * s;
	}
	rcond = linalg_cholesky_rcond(Us, n, jacobi_norm1);
	pfree(Us);
	return rcond;
}

/*
 * Whether a factored A passes min_rcond on its Jacobi-scaled form; the
 * scaled estimate is made only when A's own does not imply it.
 */
bool
linalg_condition_passes(const double *U, const double *A, int n, double rcond,
						double anorm, double min_rcond, double *jacobi_rcond)
{
	double	   *diag = diagonal(A, n);
	double		scaled = implied_jacobi_rcond(diag, n, rcond, anorm);

	if (!(scaled >= min_rcond))
		scaled = linalg_cholesky_jacobi_rcond(U, diag, n, linalg_jacobi_norm1(A, n));
	pfree(diag);
	if (jacobi_rcond != NULL)
		*jacobi_rcond = scaled;
	return scaled >= min_rcond;
}

/* LAPACK estimate of 1/cond_1(A) from its factor U and anorm = ||A||_1. */
double
linalg_cholesky_rcond(const double *U, int n, double anorm)
{
	double	   *work = palloc(sizeof(double) * 3 * n);
	lapack_int *iwork = palloc(sizeof(lapack_int) * n);
	double		rcond = 0.0;
	lapack_int	info;

	info = LAPACKE_dpocon_work(LAPACK_COL_MAJOR, 'U', n, U, n, anorm,
							   &rcond, work, iwork);
	if (info < 0)
		elog(ERROR, "dpocon: illegal value in argument %d", (int) -info);
	pfree(work);
	pfree(iwork);
	return rcond;
}

/* Solves A X = B in place for nrhs column-major right-hand sides, A = U'U. */
void
linalg_cholesky_solve(const double *U, int n, double *B, int nrhs)
{
	lapack_int	info;

	linalg_check_finite(B, (Size) n * nrhs, "right-hand side");
	if (nrhs == 1)
	{
		/* U'z = b, then U x = z: OpenBLAS's dpotrs packs all of U first. */
		cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, n, U, n, B, 1);
		cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, n, U, n, B, 1);
		return;
	}
	info = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'U', n, nrhs, U, n, B, n);
	if (info < 0)
		elog(ERROR, "dpotrs: illegal value in argument %d", (int) -info);
}

/* One Givens rotation (c, s) of the pair (u, x): u' = c u + s x, x' = c x - s u. */
#define ROTATE(c, s, u, x) \
	do { \
		double		rotated_ = (c) * (u) + (s) * (x); \
		(x) = (c) * (x) - (s) * (u); \
		(u) = rotated_; \
	} while (0)

/* The rotation that zeroes x against the diagonal entry *diag (made r >= 0). */
static void
zeroing_rotation(double *diag, double x, double *c, double *s)
{
	double		r = hypot(*diag, x);

	if (r == 0.0)
	{
		*c = 1.0;
		*s = 0.0;
		return;
	}
	*c = *diag / r;
	*s = x / r;
	*diag = r;
}

/*
 * Rank-1 update, U'U + x x' = U+'U+ (LINPACK dchud without the extra
 * columns): the row x' is rotated into U by Givens rotations, column by
 * column, so that the diagonal stays positive.  Four columns at a time:
 * the rotations of the columns before them are applied to the four
 * together (four independent chains of dependent multiplications, not
 * one), then the four's own among themselves; each column sees the same
 * rotations in the same order as a sweep of one column at a time, so the
 * result is that sweep's to the bit.  ~2n^2 flops; x is overwritten.
 */
void
linalg_cholesky_update(double *U, int n, double *x)
{
	double	   *c = palloc(sizeof(double) * n);
	double	   *s = palloc(sizeof(double) * n);
	int			i,
				j = 0;

	linalg_check_finite(x, n, "update vector");
	for (; j + 3 < n; j += 4)
	{
		double	   *u0 = &ELEM(U, n, 0, j),
				   *u1 = &ELEM(U, n, 0, j + 1),
				   *u2 = &ELEM(U, n, 0, j + 2),
				   *u3 = &ELEM(U, n, 0, j + 3);
		double		x0 = x[j],
					x1 = x[j + 1],
					x2 = x[j + 2],
					x3 = x[j + 3];

		for (i = 0; i < j; i++)
		{
			ROTATE(c[i], s[i], u0[i], x0);
			ROTATE(c[i], s[i], u1[i], x1);
			ROTATE(c[i], s[i], u2[i], x2);
			ROTATE(c[i], s[i], u3[i], x3);
		}
		zeroing_rotation(&u0[j], x0, &c[j], &s[j]);
		ROTATE(c[j], s[j], u1[j], x1);
		zeroing_rotation(&u1[j + 1], x1, &c[j + 1], &s[j + 1]);
		ROTATE(c[j], s[j], u2[j], x2);
		ROTATE(c[j + 1], s[j + 1], u2[j + 1], x2);
		zeroing_rotation(&u2[j + 2], x2, &c[j + 2], &s[j + 2]);
		ROTATE(c[j], s[j], u3[j], x3);
		ROTATE(c[j + 1], s[j + 1], u3[j + 1], x3);
		ROTATE(c[j + 2], s[j + 2], u3[j + 2], x3);
		zeroing_rotation(&u3[j + 3], x3, &c[j + 3], &s[j + 3]);
	}
	for (; j < n; j++)
	{
		double	   *col = &ELEM(U, n, 0, j);
		double		xj = x[j];

		for (i = 0; i < j; i++)
			ROTATE(c[i], s[i], col[i], xj);
		zeroing_rotation(&col[j], xj, &c[j], &s[j]);
	}
	memset(x, 0, sizeof(double) * n);
	pfree(c);
	pfree(s);
}

/*
 * Rank-1 downdate, U'U - x x' = U-'U- (LINPACK dchdd).  Solve U'a = x; the
 * result is positive definite iff ||a|| < 1.  Rotations built from the
 * bottom up then remove x from U, column by column, four columns at a
 * time as in linalg_cholesky_update (the same result to the bit as one
 * at a time).  Returns false, with U untouched, when 1 - ||a||^2 is below
 * n * DBL_EPSILON: the downdated matrix is then singular to working
 * precision and the caller must refactor.
 */
bool
linalg_cholesky_downdate(double *U, int n, const double *x)
{
	double	   *a;
	double	   *c;
	double	   *s;
	double		norm2;
	double		alpha;
	int			i,
				j = 0;

	linalg_check_finite(x, n, "downdate vector");
	a = palloc(sizeof(double) * n);
	memcpy(a, x, sizeof(double) * n);
	cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit,
				n, U, n, a, 1);
	norm2 = cblas_ddot(n, a, 1, a, 1);
	if (!(1.0 - norm2 > n * DBL_EPSILON))
	{
		pfree(a);
		return false;
	}

	c = palloc(sizeof(double) * n);
	s = palloc(sizeof(double) * n);
	alpha = sqrt(1.0 - norm2);
	for (i = n - 1; i >= 0; i--)
	{
		double		scale = alpha + fabs(a[i]);
		double		ca = alpha / scale;
		double		sb = a[i] / scale;
		double		norm = sqrt(ca * ca + sb * sb);

		c[i] = ca / norm;
		s[i] = sb / norm;
		alpha = scale * norm;
	}

	/*
	 * Column j takes rotations j, j - 1, ..., 0 on (its entry i, a running
	 * xx from 0): in (xx, u) order, u' = c u - s xx and xx' = c xx + s u.
	 */
	for (; j + 3 < n; j += 4)
	{
		double	   *u0 = &ELEM(U, n, 0, j),
				   *u1 = &ELEM(U, n, 0, j + 1),
				   *u2 = &ELEM(U, n, 0, j + 2),
				   *u3 = &ELEM(U, n, 0, j + 3);
		double		x0 = 0.0,
					x1 = 0.0,
					x2 = 0.0,
					x3 = 0.0;

		ROTATE(c[j + 3], s[j + 3], x3, u3[j + 3]);
		ROTATE(c[j + 2], s[j + 2], x3, u3[j + 2]);
		ROTATE(c[j + 2], s[j + 2], x2, u2[j + 2]);
		ROTATE(c[j + 1], s[j + 1], x3, u3[j + 1]);
		ROTATE(c[j + 1], s[j + 1], x2, u2[j + 1]);
		ROTATE(c[j + 1], s[j + 1], x1, u1[j + 1]);
		for (i = j; i >= 0; i--)
		{
			ROTATE(c[i], s[i], x0, u0[i]);
			ROTATE(c[i], s[i], x1, u1[i]);
			ROTATE(c[i], s[i], x2, u2[i]);
			ROTATE(c[i], s[i], x3, u3[i]);
		}
	}
	for (; j < n; j++)
	{
		double	   *col = &ELEM(U, n, 0, j);
		double		xx = 0.0;

		for (i = j; i >= 0; i--)
			ROTATE(c[i], s[i], xx, col[i]);
	}
	pfree(a);
	pfree(c);
	pfree(s);
	return true;
}

/*
 * Weighted Gram accumulation G += alpha * sum_i w_i x_i x_i' with dsyrk.
 * The row-major block is read as the column-major n x rows matrix whose
 * columns are the rows; weighted rows are scaled by sqrt(w_i) in a copy.
 */
void
linalg_gram_add(double *G, int n, const double *X, int rows,
				const double *weights, double alpha, double *scratch)
{
	const double *A = X;
	double	   *scaled = NULL;

	if (rows <= 0)
		return;
	if (weights != NULL)
	{
		int			i;

		scaled = scratch ? scratch : palloc(sizeof(double) * (Size) rows * n);
		for (i = 0; i < rows; i++)
		{
			double		sw;
			int			k;

			if (!(weights[i] >= 0.0) || !isfinite(weights[i]))
				elog(ERROR, "Gram weight %g is not finite and non-negative",
					 weights[i]);
			sw = sqrt(weights[i]);
			for (k = 0; k < n; k++)
				scaled[(Size) i * n + k] = sw * X[(Size) i * n + k];
		}
		A = scaled;
	}
	cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, n, rows,
				alpha, A, n, 1.0, G, n);
	if (scaled && scaled != scratch)
		pfree(scaled);
}

/* y := A x for symmetric A (upper triangle). */
void
linalg_sym_matvec(const double *A, int n, const double *x, double *y)
{
	cblas_dsymv(CblasColMajor, CblasUpper, n, 1.0, A, n, x, 1, 0.0, y, 1);
}

/* Euclidean norm of a vector. */
double
linalg_norm2(const double *x, int n)
{
	return cblas_dnrm2(n, x, 1);
}

/* Dot product of two vectors. */
double
linalg_dot(const double *x, const double *y, int n)
{
	return cblas_ddot(n, x, 1, y, 1);
}

/* z := X theta for a row-major block X (rows x n). */
void
linalg_rows_matvec(const double *X, int rows, int n, const double *theta,
				   double *z)
{
	cblas_dgemv(CblasRowMajor, CblasNoTrans, rows, n, 1.0, X, n,
				theta, 1, 0.0, z, 1);
}

/* Z = X T' for row-major X (rows x n) and T (k x n): Z is rows x k. */
void
linalg_rows_matmul_t(const double *X, int rows, int n, const double *T, int k, double *Z)
{
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, n, 1.0, X, n,
				T, n, 0.0, Z, k);
}

/* G += R' X for row-major R (rows x k) and X (rows x n): G is k x n. */
void
linalg_rows_tmatmul_add(const double *R, int rows, int k, const double *X, int n, double *G)
{
	cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, rows, 1.0, R, k,
				X, n, 1.0, G, n);
}

/* g += X' r for a row-major block X (rows x n). */
void
linalg_rows_tmatvec_add(const double *X, int rows, int n, const double *r,
						double *g)
{
	cblas_dgemv(CblasRowMajor, CblasTrans, rows, n, 1.0, X, n, r, 1, 1.0, g, 1);
}

/* Drops the dead rows and columns from a d x d matrix, in place. */
void
linalg_drop_square(double *A, int d, const bool *dead, int kept)
{
	int			i,
				j,
				oi,
				oj;

	for (j = 0, oj = 0; j < d; j++)
	{
		if (dead[j])
			continue;
		for (i = 0, oi = 0; i < d; i++)
			if (!dead[i])
				A[(Size) oj * kept + oi++] = A[(Size) j * d + i];
		oj++;
	}
}

/* Drops the dead entries from a vector of length d, in place. */
void
linalg_drop_entries(double *v, int d, const bool *dead)
{
	int			t,
				o = 0;

	for (t = 0; t < d; t++)
		if (!dead[t])
			v[o++] = v[t];
}
