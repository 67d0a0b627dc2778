/*-------------------------------------------------------------------------
 *
 * linalg.h
 *	  Dense linear algebra for unlearn; the only interface to LAPACKE/CBLAS.
 *
 * Conventions: matrices are column-major arrays of double.  A symmetric
 * matrix is an n*n array whose upper triangle is authoritative (the lower
 * triangle is ignored unless linalg_symmetrize() filled it).  A Cholesky
 * factor is the upper-triangular U with A = U'U, stored in the upper
 * triangle of an n*n array; its diagonal is kept positive.
 *
 * Row blocks of training data are row-major: row i of a block of width n
 * starts at X + i * n.
 *
 * Every buffer is allocated by the caller (from a PostgreSQL memory context)
 * or by palloc here; LAPACK is only reached through the _work entry points,
 * so it never mallocs behind the memory-context system.  OpenBLAS keeps its
 * own small internal buffer pool, which is outside our control.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_LINALG_H
#define UNLEARN_LINALG_H

/*
 * Largest dimension we accept: a model holds a few n x n matrices at once
 * (Hessian, factor, workspace), 200 MB each at this size.
 */
#define LINALG_MAX_DIM	5000

/* Returns true if all count values are finite (no NaN, no +-Infinity). */
extern bool linalg_all_finite(const double *x, Size count);

/* Raises a data_exception naming "what" unless all values are finite. */
extern void linalg_check_finite(const double *x, Size count, const char *what);

/* Raises an error unless n is a dimension the routines here accept. */
extern void linalg_check_dim(int n);

/* Copies the upper triangle of a symmetric matrix into its lower triangle. */
extern void linalg_symmetrize(double *A, int n);

/* 1-norm (= infinity-norm) of a symmetric matrix given by its upper triangle. */
extern double linalg_sym_norm1(const double *A, int n);

/*
 * Cholesky factorization in place (upper triangle of A becomes U).
 * Returns 0 on success, or k > 0 if the leading minor of order k is not
 * positive definite (A is then unusable).  Input must be finite.
 */
extern int	linalg_cholesky_try(double *A, int n);

/*
 * Cholesky factorization in place with full checks: non-finite input,
 * not positive definite, or a reciprocal condition estimate of its
 * Jacobi-scaled form (see linalg_condition_passes) below min_rcond each
 * raise an error naming "what" (with "hint" unless NULL).  Returns the
 * reciprocal condition estimate of A itself (what lambda_min(A) is
 * estimated from); *jacobi_rcond, unless NULL, receives the scaled one.
 */
extern double linalg_cholesky_checked(double *A, int n, double min_rcond,
									  const char *what, const char *hint,
									  double *jacobi_rcond);

/* linalg_cholesky_checked without the scaled estimate. */
extern double linalg_cholesky(double *A, int n, double min_rcond,
							  const char *what, const char *hint);

/* LAPACK estimate of 1/cond_1(A) from its factor U and anorm = ||A||_1. */
extern double linalg_cholesky_rcond(const double *U, int n, double anorm);

/*
 * 1-norm of the Jacobi-scaled D^-1/2 A D^-1/2, D = diag(A), of a symmetric
 * matrix with a positive diagonal (upper triangle).
 */
extern double linalg_jacobi_norm1(const double *A, int n);

/*
 * LAPACK estimate of 1/cond_1 of D^-1/2 A D^-1/2 from A's factor U, A's
 * diagonal and the scaled matrix's 1-norm (linalg_jacobi_norm1): the
 * factor of the scaled matrix is U D^-1/2.
 */
extern double linalg_cholesky_jacobi_rcond(const double *U, const double *diag,
										   int n, double jacobi_norm1);

/*
 * Whether a factored symmetric positive definite A (factor U, its own
 * estimate rcond and 1-norm anorm) passes min_rcond on its Jacobi-scaled
 * form, which does not change when the variables are rescaled.  The scaled
 * estimate is computed only when rcond does not already imply it (it is at
 * least rcond * anorm / (n^1.5 max_j A_jj)); *jacobi_rcond, unless NULL,
 * receives the bound or the estimate that decided.
 */
extern bool linalg_condition_passes(const double *U, const double *A, int n,
									double rcond, double anorm, double min_rcond,
									double *jacobi_rcond);

/* Solves A X = B in place for nrhs column-major right-hand sides, A = U'U. */
extern void linalg_cholesky_solve(const double *U, int n, double *B, int nrhs);

/* Rank-1 update: U'U + x x' becomes the new U'U; x is overwritten. */
extern void linalg_cholesky_update(double *U, int n, double *x);

/*
 * Rank-1 downdate: U'U - x x' becomes the new U'U.  Returns false, leaving
 * U untouched, if the result would not be numerically positive definite;
 * the caller must then refactor from the matrix itself.  x is preserved.
 */
extern bool linalg_cholesky_downdate(double *U, int n, const double *x);

/*
 * Weighted Gram accumulation with dsyrk:
 *	 G += alpha * sum_i w_i x_i x_i'
 * over the rows of the row-major block X (rows x n).  weights may be NULL
 * (all ones); otherwise every weight must be finite and non-negative, and
 * scratch (rows x n doubles, or NULL to allocate) receives the scaled rows.
 * Only the upper triangle of G is updated.
 */
extern void linalg_gram_add(double *G, int n, const double *X, int rows,
							const double *weights, double alpha,
							double *scratch);

/* y := A x for symmetric A (upper triangle). */
extern void linalg_sym_matvec(const double *A, int n, const double *x, double *y);

/* Euclidean norm of a vector. */
extern double linalg_norm2(const double *x, int n);

/* Dot product of two vectors. */
extern double linalg_dot(const double *x, const double *y, int n);

/* z := X theta for a row-major block X (rows x n). */
extern void linalg_rows_matvec(const double *X, int rows, int n,
							   const double *theta, double *z);

/* g += X' r for a row-major block X (rows x n). */
/* Z = X T' for row-major X (rows x n) and T (k x n): Z is rows x k. */
extern void linalg_rows_matmul_t(const double *X, int rows, int n, const double *T, int k,
								 double *Z);

/* G += R' X for row-major R (rows x k) and X (rows x n): G is k x n. */
extern void linalg_rows_tmatmul_add(const double *R, int rows, int k, const double *X, int n,
									double *G);

extern void linalg_rows_tmatvec_add(const double *X, int rows, int n,
									const double *r, double *g);

/* Drops the dead rows and columns from a d x d matrix, in place (kept remain). */
extern void linalg_drop_square(double *A, int d, const bool *dead, int kept);

/* Drops the dead entries from a vector of length d, in place. */
extern void linalg_drop_entries(double *v, int d, const bool *dead);

#endif							/* UNLEARN_LINALG_H */
