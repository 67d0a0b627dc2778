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
 * (the rows' Hessian terms at theta_ref are subtracted), and so is
 * g_ref, the gradient of the remaining rows' objective at theta_ref (a
 * refresh computes it; each removed row's gradient term at theta_ref is
 * subtracted, each added row's added).  The objective's gradient at any
 * theta is then its first-order expansion around theta_ref plus a
 * remainder: with e = theta - theta_ref,
 *   g(theta) = g_ref + H~ e + sum_i (s(z_i + x_i'e) - s(z_i) - w_i x_i'e) x_i,
 * z_i = x_i'theta_ref, w = s(1 - s).  Since |w'| <= 1/(6 sqrt 3) = c, each
 * remainder coefficient is at most (c/2) (x_i'e)^2, so with M >= |x_i| and
 * G = X'X of the remaining rows
 *   |g(theta)| <= |g_ref + H~ e| + (c/2) M e'Ge  =: B.
 * B is computed afresh after every step (O(d^2)), not accumulated: the
 * Newton steps keep the first term near |g| at the last refresh, and the
 * second grows with |e|^2, which for erasures of rows unrelated to each
 * other grows like their number, not its square.  The caller refreshes the
 * model (a full pass, theta_ref = theta, g_ref = g) before B passes the
 * tolerance.  Rounding: g_ref is a running sum, off by at most about
 * eps * sum |terms| (1e-11 after 10^5 erasures of rows of norm 10), far
 * below the terms of B.
 *
 * Storage and cost.  Writing the d x d Hessian (and X'X) back on every
 * erasure cost more than everything else at large d, and refactoring it
 * O(d^3).  So the stored hessian and gram stay as they are for a few
 * erasures (pending_limit: d, within [8, 256]), and the rows changed since
 * are stored instead, one small row each in unlearn.model_pending (the
 * sign, then the terms), which a loader applies (removal_apply_pending).  The working state keeps the
 * current matrices and their Cholesky factor, which a removed row
 * downdates and an added row updates (O(d^2) each, LINPACK style, checked
 * with LAPACK's condition estimate); at every rebase, when the pending
 * rows reach the limit, the factor is made afresh from the current matrix
 * so rounding does not pile up, and ridge refines theta twice with the
 * explicit matrix.  Exactness is unchanged: the matrices are the sums
 * over the current rows either way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/memutils.h"

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

/* s(z) = 1 / (1 + e^-z), without overflow for any z. */
static inline double
sigmoid(double z)
{
	double		e = exp(-fabs(z));

	return z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/*
 * Logistic residuals s(x'theta + dz) - y of k rows, and their weights w and
 * residuals at theta_w (+ dz_w); dz, dz_w: the logits' dropped parts, or NULL.
 */
static void
logistic_terms(const double *X, const double *y, int k, int d,
			   const double *theta, const double *dz, double *r,
			   const double *theta_w, const double *dz_w, double *w, double *r_w)
{
	double	   *z = palloc(sizeof(double) * Max(k, 1));
	int			i;

	if (k == 0)
		return;
	linalg_rows_matvec(X, k, d, theta, z);
	for (i = 0; i < k; i++)
		r[i] = sigmoid(z[i] + (dz ? dz[i] : 0.0)) - y[i];
	linalg_rows_matvec(X, k, d, theta_w, z);
	for (i = 0; i < k; i++)
	{
		double		zw = z[i] + (dz_w ? dz_w[i] : 0.0);
		double		e = exp(-fabs(zw));

		w[i] = e / ((1.0 + e) * (1.0 + e));
		r_w[i] = sigmoid(zw) - y[i];
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

/* Logistic: B at theta, |g_ref + H~ e| + (c/2) M e'Ge with e = theta - theta_ref. */
static void
update_bound(RemovalState *s)
{
	int			d = s->d;
	double	   *e = palloc(sizeof(double) * d);
	double	   *linear = palloc(sizeof(double) * d);
	double		xe;
	int			i;

	for (i = 0; i < d; i++)
		e[i] = s->theta[i] - s->theta_ref[i];
	linalg_sym_matvec(s->hessian, d, e, linear);
	for (i = 0; i < d; i++)
		linear[i] += s->ref_gradient[i];
	xe = gram_norm(s->gram, d, e);
	s->error_bound = linalg_norm2(linear, d) +
		0.5 * LOGISTIC_W_LIPSCHITZ * s->max_row_norm * xe * xe;
	pfree(e);
	pfree(linear);
}

/*
 * Rows a state carries pending before its matrices are stored again: d
 * (a rebase writes d^2 values and refactors in O(d^3), a pending row costs
 * d values and a rank-1 change in O(d^2)), within [8, 256].
 */
static int
pending_limit(int d)
{
	return Max(8, Min(d, 256));
}

/* An array of n doubles in the memory context of like (kept state stays whole). */
static double *
alloc_like(const void *like, Size n)
{
	return MemoryContextAlloc(GetMemoryChunkContext((void *) like), sizeof(double) * n);
}

/*
 * Factors s->hessian into s->factor with the condition check of
 * unlearn.min_rcond (s->rcond, s->hessian_norm1 set); false if it is not
 * positive definite or too ill-conditioned.
 */
static bool
factor_afresh(RemovalState *s)
{
	int			d = s->d;

	if (s->factor == NULL)
		s->factor = alloc_like(s->hessian, (Size) d * d);
	if (!linalg_all_finite(s->hessian, (Size) d * d))
		return false;
	memcpy(s->factor, s->hessian, sizeof(double) * d * d);
	s->hessian_norm1 = linalg_sym_norm1(s->hessian, d);
	if (linalg_cholesky_try(s->factor, d) != 0)
	{
		pfree(s->factor);
		s->factor = NULL;
		return false;
	}
	s->rcond = linalg_cholesky_rcond(s->factor, d, s->hessian_norm1);
	return s->rcond >= unlearn_min_rcond;
}

/*
 * Changes the Hessian by sign * sum_i w_i x_i x_i' over k rows (w NULL:
 * all 1), and its factor with it: row by row when that is cheaper than a
 * new factorization, else the factor is dropped to be made afresh.  A
 * downdate that would leave the factor indefinite drops it too.
 */
static void
change_hessian(RemovalState *s, const double *X, int k, const double *w, double sign)
{
	int			d = s->d;
	double	   *u;
	int			i,
				j;

	if (k == 0)
		return;
	add_outer(s->hessian, d, X, k, w, sign);
	if (s->factor == NULL)
		return;
	if ((Size) k * 6 > (Size) d)
	{
		pfree(s->factor);		/* k rank-1 changes cost more than a refactor */
		s->factor = NULL;
		return;
	}
	u = palloc(sizeof(double) * d);
	for (i = 0; i < k; i++)
	{
		double		scale = w ? sqrt(w[i]) : 1.0;

		for (j = 0; j < d; j++)
			u[j] = scale * X[(Size) i * d + j];
		if (sign > 0)
			linalg_cholesky_update(s->factor, d, u);
		else if (!linalg_cholesky_downdate(s->factor, d, u))
		{
			pfree(s->factor);
			s->factor = NULL;
			break;
		}
	}
	pfree(u);
}

/*
 * After the Hessian changed: a factor made afresh if there is none (or a
 * rebase is due), else the updated one, with the condition check; false
 * if the Hessian is not positive definite or too ill-conditioned.
 */
static bool
check_factor(RemovalState *s)
{
	if (s->factor == NULL || s->rebase)
		return factor_afresh(s);
	s->hessian_norm1 = linalg_sym_norm1(s->hessian, s->d);
	s->rcond = linalg_cholesky_rcond(s->factor, s->d, s->hessian_norm1);
	if (s->rcond >= unlearn_min_rcond)
		return true;
	return factor_afresh(s);	/* the updated factor may only have drifted */
}

/* Appends k rows with a sign to the pending rows; a rebase when they are many. */
static void
add_pending(RemovalState *s, const double *X, int k, double sign)
{
	int			d = s->d;
	int			i;

	if (k == 0 || s->rebase)
		return;
	if (s->npending + k > pending_limit(d))
	{
		s->rebase = true;
		return;
	}
	if (s->pending == NULL)
		s->pending = alloc_like(s->theta, (Size) pending_limit(d) * (d + 1));
	else if (GetMemoryChunkSpace(s->pending) < sizeof(double) * pending_limit(d) * (d + 1))
		s->pending = repalloc(s->pending, sizeof(double) * pending_limit(d) * (d + 1));
	for (i = 0; i < k; i++)
	{
		double	   *row = &s->pending[(Size) (s->npending + i) * (d + 1)];

		row[0] = sign > 0 ? -1.0 : 1.0;	/* +1: a row taken out */
		memcpy(&row[1], &X[(Size) i * d], sizeof(double) * d);
	}
	s->npending += k;
}

/*
 * Marks a state whose hessian and gram were replaced outright (a refresh,
 * dropped terms): stored as they are, nothing pending, factored afresh.
 */
void
removal_rebase(RemovalState *s)
{
	s->rebase = true;
	s->npending = 0;
	if (s->factor)
		pfree(s->factor);
	s->factor = NULL;
}

/*
 * Brings a loaded state's hessian and gram (as stored) up to date with its
 * pending rows; logistic weights them at theta_ref.
 */
void
removal_apply_pending(RemovalState *s, bool logistic)
{
	int			d = s->d;
	double	   *x = palloc(sizeof(double) * d);
	double		w = 1.0;
	int			i;

	for (i = 0; i < s->npending; i++)
	{
		const double *row = &s->pending[(Size) i * (d + 1)];

		memcpy(x, &row[1], sizeof(double) * d);
		if (logistic)
		{
			double		z = linalg_dot(x, s->theta_ref, d);
			double		e = exp(-fabs(z));

			w = e / ((1.0 + e) * (1.0 + e));
		}
		add_outer(s->hessian, d, x, 1, &w, -row[0]);
		if (s->gram)
			add_outer(s->gram, d, x, 1, NULL, -row[0]);
	}
	pfree(x);
}

/* Ridge: removes k rows and adds a, exactly; false if H goes bad (theta unchanged). */
bool
removal_ridge(RemovalState *s, const RowChange *c)
{
	int			d = s->d;
	double	   *theta = palloc(sizeof(double) * d);
	double	   *r = palloc(sizeof(double) * d);
	int			i,
				step;

	add_pending(s, c->X, c->k, -1.0);
	add_pending(s, c->XA, c->a, 1.0);
	change_hessian(s, c->X, c->k, NULL, -1.0);
	change_hessian(s, c->XA, c->a, NULL, 1.0);
	add_xty(s->xty, d, c->X, c->y, c->k, -1.0);
	add_xty(s->xty, d, c->XA, c->yA, c->a, 1.0);
	if (!check_factor(s))
		return false;

	/*
	 * theta = H^-1 X'y, refined twice with the explicit H (the factor may
	 * carry the rounding of many updates; on an ill-conditioned H one
	 * step leaves part of it).
	 */
	memcpy(theta, s->xty, sizeof(double) * d);
	linalg_cholesky_solve(s->factor, d, theta, 1);
	for (step = 0; step < 2; step++)
	{
		linalg_sym_matvec(s->hessian, d, theta, r);
		for (i = 0; i < d; i++)
			r[i] = s->xty[i] - r[i];
		linalg_cholesky_solve(s->factor, d, r, 1);
		for (i = 0; i < d; i++)
			theta[i] += r[i];
	}

	for (i = 0; i < d; i++)
		r[i] = theta[i] - s->theta[i];
	s->step_norm = linalg_norm2(r, d);
	memcpy(s->theta, theta, sizeof(double) * d);
	s->max_row_norm = Max(s->max_row_norm, max_norm(c->XA, c->a, d));
	if (s->rebase)
		s->npending = 0;
	return true;
}

/* Logistic: one Newton step for the change; false if H goes bad (theta unchanged). */
bool
removal_logistic(RemovalState *s, const RowChange *c)
{
	int			d = s->d;
	int			n = Max(Max(c->k, c->a), 1);
	double	   *r = palloc(sizeof(double) * n);
	double	   *w = palloc(sizeof(double) * n);
	double	   *r_ref = palloc(sizeof(double) * n);
	double	   *v = palloc0(sizeof(double) * d);
	int			i;

	if (s->gram == NULL || s->ref_gradient == NULL)
		elog(ERROR, "logistic model state has no Gram matrix or reference gradient");
	add_pending(s, c->X, c->k, -1.0);
	add_pending(s, c->XA, c->a, 1.0);

	/*
	 * Removed rows: their gradient at theta (v = D for now), their Hessian
	 * and gradient terms at theta_ref.
	 */
	logistic_terms(c->X, c->y, c->k, d, s->theta, c->z_dropped, r,
				   s->theta_ref, c->z_ref_dropped, w, r_ref);
	if (c->k > 0)
	{
		linalg_rows_tmatvec_add(c->X, c->k, d, r, v);
		for (i = 0; i < c->k; i++)
			r_ref[i] = -r_ref[i];
		linalg_rows_tmatvec_add(c->X, c->k, d, r_ref, s->ref_gradient);
	}
	change_hessian(s, c->X, c->k, w, -1.0);
	add_outer(s->gram, d, c->X, c->k, NULL, -1.0);

	/* Added rows: the same, with the opposite sign. */
	logistic_terms(c->XA, c->yA, c->a, d, s->theta, c->zA_dropped, r,
				   s->theta_ref, c->zA_ref_dropped, w, r_ref);
	if (c->a > 0)
	{
		for (i = 0; i < c->a; i++)
			r[i] = -r[i];
		linalg_rows_tmatvec_add(c->XA, c->a, d, r, v);
		linalg_rows_tmatvec_add(c->XA, c->a, d, r_ref, s->ref_gradient);
	}
	change_hessian(s, c->XA, c->a, w, 1.0);
	add_outer(s->gram, d, c->XA, c->a, NULL, 1.0);

	if (!check_factor(s))
		return false;
	linalg_cholesky_solve(s->factor, d, v, 1);	/* v = H~^-1 D */
	for (i = 0; i < d; i++)
		s->theta[i] += v[i];

	/* B at the new theta, over the resulting rows (M must cover the added ones). */
	s->max_row_norm = Max(s->max_row_norm, max_norm(c->XA, c->a, d));
	update_bound(s);
	s->step_norm = linalg_norm2(v, d);
	if (s->rebase)
		s->npending = 0;
	return true;
}

/* Logistic refresh step: anchors the state at theta (its gradient and Hessian from a full pass), then one Newton step. */
bool
removal_reanchor(RemovalState *s, const double *gradient, const double *hessian)
{
	int			d = s->d;
	double	   *v = palloc(sizeof(double) * d);
	int			i;

	memcpy(s->theta_ref, s->theta, sizeof(double) * d);
	memcpy(s->ref_gradient, gradient, sizeof(double) * d);
	memcpy(s->hessian, hessian, sizeof(double) * d * d);
	removal_rebase(s);
	if (!check_factor(s))
		return false;
	for (i = 0; i < d; i++)
		v[i] = -gradient[i];
	linalg_cholesky_solve(s->factor, d, v, 1);
	for (i = 0; i < d; i++)
		s->theta[i] += v[i];
	update_bound(s);
	pfree(v);
	return true;
}
