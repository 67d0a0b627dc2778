/*-------------------------------------------------------------------------
 *
 * removal.c
 *	  Removing training rows from a fitted model.
 *
 * Ridge is exact: the objective is quadratic, its Hessian H = X'X + l2 I'
 * and X'y are sums over rows, so removing rows subtracts their terms and
 * theta = H^-1 X'y is the retrained optimum (to rounding, with no drift:
 * theta is solved afresh from the sums each time).
 *
 * Logistic takes one Newton step (Koh & Liang 2017; Guo et al. 2020):
 * theta+ = theta + H~^-1 D, D = sum over removed rows of (s(x'theta) - y) x.
 * H~ is kept exact for the remaining rows at a reference point theta_ref
 * (the rows' Hessian terms at theta_ref are subtracted).  With
 * w(z) = s(z)(1 - s(z)), |w'| <= 1/(6 sqrt 3) = c, M >= |x_i|, G = X'X of
 * the remaining rows, v = H~^-1 D and d = theta - theta_ref, the gradient
 * of the remaining objective after the step satisfies
 *   |g(theta+)| <= |g(theta)| + c M |X d| |X v| + (c/2) M |X v|^2,
 * where |X u| = sqrt(u'Gu): the first term is the Hessian's drift from
 * theta_ref to theta, the second its change along the step.  B carries
 * this bound from erasure to erasure; the caller refreshes the model (a
 * full pass, theta_ref = theta, B = |g|) before B passes the tolerance.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "linalg.h"
#include "removal.h"
#include "unlearn.h"

/* max |w'(z)| for w = s(1 - s): 1 / (6 sqrt 3). */
#define LOGISTIC_W_LIPSCHITZ 0.09622504486493763

/* Adds sign * sum_i a_i x_i x_i' (a NULL: all 1) to a full symmetric matrix. */
static void
add_outer(double *A, int d, const double *X, int k, const double *a, double sign)
{
	if (k == 0)
		return;
	linalg_gram_add(A, d, X, k, a, sign, NULL);
	linalg_symmetrize(A, d);
}

/* v += sign * X'y over k rows. */
static void
add_xty(double *v, int d, const double *X, const double *y, int k, double sign)
{
	double	   *sy = palloc(sizeof(double) * Max(k, 1));
	int			i;

	for (i = 0; i < k; i++)
		sy[i] = sign * y[i];
	if (k > 0)
		linalg_rows_tmatvec_add(X, k, d, sy, v);
	pfree(sy);
}

/* The largest row norm among k rows. */
static double
max_norm(const double *X, int k, int d)
{
	double		m = 0.0;
	int			i;

	for (i = 0; i < k; i++)
		m = Max(m, linalg_norm2(&X[(Size) i * d], d));
	return m;
}

/* Logistic residuals s(x'theta) - y and/or weights w(x'theta_w) of k rows. */
static void
logistic_terms(const double *X, const double *y, int k, int d,
			   const double *theta, double *r, const double *theta_w, double *w)
{
	double	   *z = palloc(sizeof(double) * Max(k, 1));
	int			i;

	if (k == 0)
		return;
	linalg_rows_matvec(X, k, d, theta, z);
	for (i = 0; i < k; i++)
	{
		double		e = exp(-fabs(z[i]));

		r[i] = (z[i] >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)) - y[i];
	}
	linalg_rows_matvec(X, k, d, theta_w, z);
	for (i = 0; i < k; i++)
	{
		double		e = exp(-fabs(z[i]));

		w[i] = e / ((1.0 + e) * (1.0 + e));
	}
	pfree(z);
}

/* |X u| = sqrt(u'Gu) for the Gram matrix G (rounding below 0 counts as 0). */
static double
gram_norm(const double *G, int d, const double *u)
{
	double	   *Gu = palloc(sizeof(double) * d);
	double		q;

	linalg_sym_matvec(G, d, u, Gu);
	q = linalg_dot(u, Gu, d);
	pfree(Gu);
	return q > 0 ? sqrt(q) : 0.0;
}

/*
 * Factors a copy of H with the condition check of unlearn.min_rcond;
 * NULL if H is not positive definite or too ill-conditioned.
 */
static double *
factor_or_null(RemovalState *s, const double *H)
{
	int			d = s->d;
	double	   *U = palloc(sizeof(double) * d * d);

	memcpy(U, H, sizeof(double) * d * d);
	if (!linalg_all_finite(U, (Size) d * d))
		return NULL;
	s->hessian_norm1 = linalg_sym_norm1(U, d);
	if (linalg_cholesky_try(U, d) != 0)
		return NULL;
	s->rcond = linalg_cholesky_rcond(U, d, s->hessian_norm1);
	if (!(s->rcond >= unlearn_min_rcond))
		return NULL;
	return U;
}

/* Ridge: removes k rows and adds a, exactly; false (nothing changed) if H goes bad. */
bool
removal_ridge(RemovalState *s, const RowChange *c)
{
	int			d = s->d;
	double	   *H = palloc(sizeof(double) * d * d);
	double	   *xty = palloc(sizeof(double) * d);
	double	   *U;
	double	   *theta = palloc(sizeof(double) * d);
	int			i;

	memcpy(H, s->hessian, sizeof(double) * d * d);
	memcpy(xty, s->xty, sizeof(double) * d);
	add_outer(H, d, c->X, c->k, NULL, -1.0);
	add_outer(H, d, c->XA, c->a, NULL, 1.0);
	add_xty(xty, d, c->X, c->y, c->k, -1.0);
	add_xty(xty, d, c->XA, c->yA, c->a, 1.0);

	U = factor_or_null(s, H);
	if (U == NULL)
		return false;
	memcpy(theta, xty, sizeof(double) * d);
	linalg_cholesky_solve(U, d, theta, 1);

	for (i = 0; i < d; i++)
		theta[i] -= s->theta[i];
	s->step_norm = linalg_norm2(theta, d);
	for (i = 0; i < d; i++)
		theta[i] += s->theta[i];

	memcpy(s->hessian, H, sizeof(double) * d * d);
	memcpy(s->xty, xty, sizeof(double) * d);
	memcpy(s->theta, theta, sizeof(double) * d);
	s->max_row_norm = Max(s->max_row_norm, max_norm(c->XA, c->a, d));
	return true;
}

/* Logistic: one Newton step for the change; false (nothing changed) if H goes bad. */
bool
removal_logistic(RemovalState *s, const RowChange *c)
{
	int			d = s->d;
	int			n = Max(Max(c->k, c->a), 1);
	double	   *H = palloc(sizeof(double) * d * d);
	double	   *G = palloc(sizeof(double) * d * d);
	double	   *r = palloc(sizeof(double) * n);
	double	   *w = palloc(sizeof(double) * n);
	double	   *v = palloc0(sizeof(double) * d);
	double	   *drift = palloc(sizeof(double) * d);
	double	   *U;
	double		M,
				xd,
				xv;
	int			i;

	if (s->gram == NULL)
		elog(ERROR, "logistic model state has no Gram matrix");
	memcpy(H, s->hessian, sizeof(double) * d * d);
	memcpy(G, s->gram, sizeof(double) * d * d);

	/* Removed rows: their gradient at theta, their Hessian terms at theta_ref. */
	logistic_terms(c->X, c->y, c->k, d, s->theta, r, s->theta_ref, w);
	if (c->k > 0)
		linalg_rows_tmatvec_add(c->X, c->k, d, r, v);	/* v = D for now */
	add_outer(H, d, c->X, c->k, w, -1.0);
	add_outer(G, d, c->X, c->k, NULL, -1.0);

	/* Added rows: the same, with the opposite sign. */
	logistic_terms(c->XA, c->yA, c->a, d, s->theta, r, s->theta_ref, w);
	for (i = 0; i < c->a; i++)
		r[i] = -r[i];
	if (c->a > 0)
		linalg_rows_tmatvec_add(c->XA, c->a, d, r, v);
	add_outer(H, d, c->XA, c->a, w, 1.0);
	add_outer(G, d, c->XA, c->a, NULL, 1.0);

	U = factor_or_null(s, H);
	if (U == NULL)
		return false;
	linalg_cholesky_solve(U, d, v, 1);	/* v = H~^-1 D */

	/* The bound, over the resulting rows (M must cover the added ones). */
	M = Max(s->max_row_norm, max_norm(c->XA, c->a, d));
	for (i = 0; i < d; i++)
		drift[i] = s->theta[i] - s->theta_ref[i];
	xd = gram_norm(G, d, drift);
	xv = gram_norm(G, d, v);
	s->error_bound += LOGISTIC_W_LIPSCHITZ * M * xd * xv +
		0.5 * LOGISTIC_W_LIPSCHITZ * M * xv * xv;
	s->step_norm = linalg_norm2(v, d);
	s->max_row_norm = M;

	for (i = 0; i < d; i++)
		s->theta[i] += v[i];
	memcpy(s->hessian, H, sizeof(double) * d * d);
	memcpy(s->gram, G, sizeof(double) * d * d);
	add_xty(s->xty, d, c->X, c->y, c->k, -1.0);
	add_xty(s->xty, d, c->XA, c->yA, c->a, 1.0);
	return true;
}
