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
 * tolerance.
 *
 * Rounding.  B bounds the gradient as any sound floating-point evaluation
 * over the rows computes it (a test's sum in SQL, verify_model's), so it
 * also carries what rounding can add (rounding_allowance): the kept sums
 * g_ref, H~ and G are off from the exact sums by at most
 * gamma_N (sum over their terms of |term|) with gamma_k = k u / (1 - k u),
 * u the unit roundoff, N the summation steps since they were made from
 * scratch (Higham, Accuracy and Stability of Numerical Algorithms, 4.2),
 * and a logit x'theta by gamma_d |x|'|theta|, which moves a residual
 * s(z) - y by a quarter of that.  The magnitudes come from counters kept
 * with the sums (SumStats): P = sum of |x|^2 and N over the terms summed,
 * Q = sum of |x|^2 over the current rows, sum of |r_ref| |x| and of
 * |x| (|x|'|theta_ref|); at theta they grow with e by Cauchy-Schwarz
 * (sum |x_i| |x_i'e| <= sqrt(Q) |Xe|).  These are worst cases: the
 * gradient actually computed is usually far inside them.
 *
 * Ridge's sums H and X'y carry the same rounding: after rows leave, the
 * error of a kept sum is about u P while a fresh sum's is about u Q, so
 * when P (or its X'y counterpart, sum of |y| |x|) passes RESUM_RATIO times
 * Q the caller sums them afresh from the remaining rows (removal_resum_due,
 * refresh.c), and the model stays within a small factor of a fresh solve.
 * A re-sum costs a pass over the remaining rows; between two of them at
 * least (RESUM_RATIO - 1) / (RESUM_RATIO + 1) of the rows' weight |x|^2
 * has left or been rewritten, so its cost per erased row is bounded
 * (amortized O(d^2) per row, as for the rows' own terms).
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

#include <float.h>
#include <math.h>

#include "utils/float.h"
#include "utils/memutils.h"

#include "linalg.h"
#include "removal.h"
#include "unlearn.h"

/* The unit roundoff u of double precision. */
#define UNIT_ROUNDOFF	(DBL_EPSILON / 2)

/* Higham's gamma_k = k u / (1 - k u): the relative error of k rounded steps. */
static double
gamma_k(double k)
{
	double		ku = k * UNIT_ROUNDOFF;

	return ku < 0.5 ? ku / (1.0 - ku) : 1.0;
}

/*
 * Adds k rows to the statistics of the kept sums with a sign (+1 in, -1
 * out): each is a new term either way, and joins or leaves the current
 * rows.  resid: the residual of each row at theta_ref (ridge: y); zabs,
 * unless NULL: |x|'|theta_ref| of each row (logistic, Poisson); y: the
 * targets, those above 0 counted when count_positives.
 */
static void
add_stats(SumStats *st, const double *X, int k, int d, const double *resid,
		  const double *zabs, const double *y, bool count_positives, double sign)
{
	int			i;

	if (k == 0)
		return;
	for (i = 0; i < k; i++)
	{
		const double *x = &X[(Size) i * d];
		double		norm2 = linalg_dot(x, x, d);
		double		norm = sqrt(norm2);

		st->norm2 += norm2;
		st->rows_norm2 += sign * norm2;
		st->rnorm += fabs(resid[i]) * norm;
		st->rows_rnorm += sign * fabs(resid[i]) * norm;
		if (zabs)
			st->znorm += norm * zabs[i];
		if (count_positives && y[i] > 0)
			st->positives += (int64) sign;
	}
	st->terms += k + 1;			/* the rows' own sum, then its addition */
}

/*
 * |x_i|'|theta| of k rows, plus extra for each (the dropped terms' share)
 * and |log t_i| for an exposure t (NULL: none).
 */
static double *
abs_logits(const double *X, int k, int d, const double *theta, double extra,
		   const double *exposure)
{
	double	   *zabs = palloc(sizeof(double) * Max(k, 1));
	int			i,
				j;

	for (i = 0; i < k; i++)
	{
		double		z = extra + (exposure ? fabs(log(exposure[i])) : 0.0);

		for (j = 0; j < d; j++)
			z += fabs(X[(Size) i * d + j] * theta[j]);
		zabs[i] = z;
	}
	return zabs;
}

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

/*
 * What k rows' logits gain besides x'theta: the dropped terms' share
 * (NULL: none) and the offset log t of each row's exposure (NULL: none);
 * NULL if neither.
 */
static double *
logit_shift(const double *dropped, const double *exposure, int k)
{
	double	   *shift;
	int			i;

	if (dropped == NULL && exposure == NULL)
		return NULL;
	shift = palloc(sizeof(double) * Max(k, 1));
	for (i = 0; i < k; i++)
		shift[i] = (dropped ? dropped[i] : 0.0) + (exposure ? log(exposure[i]) : 0.0);
	return shift;
}

/*
 * Residuals mu(x'theta + dz) - y of k rows, and their weights w and
 * residuals at theta_w (+ dz_w); dz, dz_w: the logits' dropped parts, or
 * NULL.  Returns the largest logit at theta_w, its rounding included
 * (zabs_w: the rows' |x|'|theta_w|), or -DBL_MAX for no row.
 */
static double
newton_terms(const LossFunctions *loss, const double *X, const double *y, int k, int d,
			 const double *theta, const double *dz, double *r,
			 const double *theta_w, const double *dz_w, double *w, double *r_w,
			 const double *zabs_w)
{
	double	   *z = palloc(sizeof(double) * Max(k, 1));
	double		top = -DBL_MAX;
	int			i;

	if (k == 0)
		return top;
	linalg_rows_matvec(X, k, d, theta, z);
	if (dz)
		for (i = 0; i < k; i++)
			z[i] += dz[i];
	(void) loss->block(z, y, k, r, NULL);
	linalg_rows_matvec(X, k, d, theta_w, z);
	if (dz_w)
		for (i = 0; i < k; i++)
			z[i] += dz_w[i];
	for (i = 0; i < k; i++)
		top = Max(top, solver_logit_ceiling(z[i], zabs_w[i], d));
	(void) loss->block(z, y, k, r_w, w);
	pfree(z);
	return top;
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

/* The H term of rounding_allowance: H~ against the exact Hessian at theta_ref. */
static double
hessian_rounding(const SumStats *st, const LossCurvature *cv, int d, double max_row_norm)
{
	double		gN = gamma_k((double) st->terms + 8);
	double		gd = gamma_k(d + 3);

	return gN * Max(st->norm2, 0.0) * cv->weight +
		cv->lipschitz * gd * max_row_norm * Max(st->znorm, 0.0);
}

/*
 * What rounding can add to the gradient the exact bound covers, at
 * theta = theta_ref + e (norm enorm, |Xe| = xe, se = sum_j |e_j| sqrt(G_jj);
 * all 0 at theta_ref), for a model whose kept sums have the statistics st,
 * with cv the loss's curvature over every logit involved (wmax the most w
 * reaches, c the most |w'| does, mmax the most mu does; logistic: 1/4,
 * 1 / (6 sqrt 3), 1):
 *   ref:  g_ref against the exact gradient at theta_ref, over the N terms
 *         summed: gamma_N (sum |r| |x| + l2 |theta_ref|), each term's
 *         residual off by wmax times its logit's gamma_d |x|'|theta_ref|
 *         and by the mean function's own few u of mmax;
 *   H:    H~ against the exact Hessian there: gamma_N sum w |x|^2 <=
 *         gamma_N P wmax, each weight off by c times its logit's error,
 *         times |e|;
 *   eval: an evaluation of the gradient at theta over the current rows,
 *         the same sums at theta: sum |r(theta)| |x| <= sum |r(theta_ref)|
 *         |x| + wmax sqrt(Q) |Xe| (and <= sqrt(N Q) when |r| <= 1), its
 *         logits' sum |x| (|x|'|theta|) <= that at theta_ref + sqrt(Q) se,
 *         with gamma of a few more steps for an evaluator that encodes a
 *         value as (v - c) / s where this code multiplies by 1 / s.
 * gN uses N + 8 steps, gd d + 3, which cover those few extra roundings.
 */
static double
rounding_allowance(const SumStats *st, const LossCurvature *cv, int d, double l2,
				   double max_row_norm, double theta_ref_norm, double theta_norm,
				   double enorm, double xe, double se)
{
	double		N = (double) st->terms;
	double		P = Max(st->norm2, 0.0);
	double		gN = gamma_k(N + 8);
	double		gd = gamma_k(d + 3);
	double		Q = Max(st->rows_norm2, 0.0) + gamma_k(N) * P;
	double		A = Max(st->rnorm, 0.0);
	double		A_now = Max(st->rows_rnorm, 0.0) + gamma_k(N) * A;
	double		Z = Max(st->znorm, 0.0);
	double		resid_now = A_now + cv->weight * sqrt(Q) * xe;
	double		ref,
				hessian,
				eval;

	if (cv->unit_residual)
		resid_now = Min(resid_now, sqrt(N * Q));
	ref = gN * (A + l2 * theta_ref_norm) + cv->weight * gd * Z +
		6 * UNIT_ROUNDOFF * cv->mean * sqrt(N * P);
	hessian = hessian_rounding(st, cv, d, max_row_norm);
	eval = gN * (resid_now + l2 * theta_norm) +
		cv->weight * gd * (Z + sqrt(Q) * se) + 6 * UNIT_ROUNDOFF * cv->mean * sqrt(N * Q);
	return ref + hessian * enorm + eval;
}

/*
 * The loss's curvature over every logit a row reaches on the segment from
 * theta_ref to theta (|e| = enorm away), computed or exact: the kept
 * largest logit at theta_ref, plus M |e|, plus the rounding of a logit at
 * either end (gamma_d M |theta|).
 */
static void
segment_curvature(const LossFunctions *loss, const SumStats *st, int d, int K,
				  double max_row_norm, double theta_ref_norm, double theta_norm, double enorm,
				  LossCurvature *cv)
{
	double		ceiling = st->max_logit + max_row_norm * enorm +
		gamma_k(d + 3) * max_row_norm * (theta_ref_norm + theta_norm);

	loss->curvature(ceiling, cv);
	/* Softmax: K probabilities, each rounded a few times (see multiclass_remainder). */
	if (loss->multiclass)
		cv->mean = Max(cv->mean, (double) K);
}

/* The largest entry of E, or 0: the most the penalty gained (removal.h). */
static double
shift_ceiling(const RemovalState *s)
{
	double		top = 0.0;
	int			i;

	if (s->penalty_shift)
		for (i = 0; i < s->d; i++)
			top = Max(top, s->penalty_shift[i]);
	return top;
}

/* The most E takes off an eigenvalue of the Hessian (see removal.h). */
double
removal_penalty_shift_floor(const RemovalState *s)
{
	double		floor = 0.0;
	int			i;

	if (s->penalty_shift)
		for (i = 0; i < s->d; i++)
			floor = Max(floor, -s->penalty_shift[i]);
	return floor;
}

/*
 * Multinomial: the growth factor of the softmax's Taylor remainder along
 * e, (M / sqrt 2) e^(M max_kl |e_k - e_l|).  A row's gradient term is
 * (p(z) - e_y) (x) x with z_k = x'theta_k, so its remainder from theta_ref
 * is (p(z + u) - p(z) - S(z) u) (x) x, u_k = x'e_k, S = diag p - p p'.
 * For the third derivative of log-sum-exp, |D3[u, u, v]| <= span(v) u'Su
 * (span: largest entry less the smallest), and S grows along a segment
 * at most as u'S(z + t)u <= e^span(t) u'S(z)u; with |v| = 1, span(v) <=
 * sqrt 2 and span(u) <= |x| max_kl |e_k - e_l|, so the remainder's norm
 * is at most (|x| / sqrt 2) e^span(u) u'S(z)u, and the rows' sum of
 * u'S(z)u is e'H_loss e at theta_ref.  (Checked numerically against the
 * exact remainder on random rows: the derivation's notes in
 * docs/erasure.md.)
 */
static double
multiclass_growth(const RemovalState *s, const double *e)
{
	int			d = s->d;
	int			K = s->nclasses;
	double		span = 0.0;
	int			k,
				l,
				j;

	for (k = 0; k < K; k++)
		for (l = k + 1; l < K; l++)
		{
			double		sum = 0.0;

			for (j = 0; j < d; j++)
			{
				double		diff = e[(Size) k * d + j] - e[(Size) l * d + j];

				sum += diff * diff;
			}
			span = Max(span, sqrt(sum));
		}
	return s->max_row_norm / sqrt(2.0) * exp(Min(s->max_row_norm * span, 700.0));
}

/*
 * Logistic, Poisson, multinomial: B at theta, |g_ref + H~ e + E theta| + (c/2) M e'Ge
 * with e = theta - theta_ref (E theta: what a shifted penalty adds to the
 * gradient, removal.h; c the most |w'| reaches on the segment, which for
 * Poisson's w = e^z is e^(max logit + M |e|)), plus the rounding of the kept sums, of this very computation
 * and of any sound evaluation of the gradient (rounding_allowance), all
 * grown by the relative rounding of a norm; s->rounding gets what B adds
 * to the first two terms as computed.
 */
static void
update_bound(RemovalState *s)
{
	int			d = s->d;
	int			K = Max(s->nclasses, 1);
	int			p = removal_params(s);
	double	   *e = palloc(sizeof(double) * p);
	double	   *linear = palloc(sizeof(double) * p);
	LossCurvature cv;
	double		c;
	double		N = (double) s->stats.terms;
	double		P = Max(s->stats.norm2, 0.0);
	double		xe2 = 0.0,
				xe,
				enorm,
				se = 0.0,
				first,
				remainder,
				own,
				exact,
				ehe,
				shift_norm = 0.0,
				l2_now = s->l2 + shift_ceiling(s);
	int			i,
				k;

	for (i = 0; i < p; i++)
	{
		int			j = i % d;

		e[i] = s->theta[i] - s->theta_ref[i];
		se += fabs(e[i]) * sqrt(Max(s->gram[(Size) j * d + j], 0.0));
	}
	enorm = linalg_norm2(e, p);
	segment_curvature(s->loss, &s->stats, d, K, s->max_row_norm,
					  linalg_norm2(s->theta_ref, p), linalg_norm2(s->theta, p), enorm, &cv);
	c = cv.lipschitz;
	linalg_sym_matvec(s->hessian, p, e, linear);
	ehe = Max(linalg_dot(e, linear, p), 0.0);
	for (i = 0; i < p; i++)
		linear[i] += s->ref_gradient[i];
	/* A shifted penalty: the objective's gradient gains E theta (removal.h), E per term. */
	if (s->penalty_shift)
		for (i = 0; i < p; i++)
		{
			double		shifted = s->penalty_shift[i % d] * s->theta[i];

			linear[i] += shifted;
			shift_norm += fabs(shifted);
		}
	/* |Xe|^2, over every class block: sum_k e_k'G e_k (sum_i |u_i|^2, u_ik = x_i'e_k). */
	for (k = 0; k < K; k++)
	{
		double		block = gram_norm(s->gram, d, &e[(Size) k * d]);

		xe2 += block * block;
	}
	xe = sqrt(xe2);
	first = linalg_norm2(linear, p);

	/* This computation's own rounding: of H~e + g_ref (and of E theta). */
	own = gamma_k(2 * p + 2) * (linalg_norm2(s->ref_gradient, p) +
								s->hessian_norm1 * enorm) +
		gamma_k(3) * shift_norm;
	/* (c/2) M e'Ge, c the most |w'| reaches, and the rounding of e'Ge (and G's). */
	exact = first + 0.5 * c * s->max_row_norm * xe2;
	remainder = 0.5 * c * s->max_row_norm *
		(gamma_k(d + 2) * xe2 + gamma_k(N + 2) * P * enorm * enorm);
	if (cv.weight_log_lipschitz || s->loss->multiclass)
	{
		/*
		 * w(z + t) <= w(z) e^|t| and |w'| <= w (Poisson's e^z, and the
		 * logistic's s(1 - s), whose log has slope 1 - 2s): each row's
		 * Taylor remainder is at most w_i (x_i'e)^2 e^(|x_i'e|) / 2 with
		 * w_i its weight at theta_ref, so the rows' sum is at most
		 * (M/2) e^(M|e|) e'H_loss e, H_loss = H~ less its penalty l2 I'
		 * (every term but the first counted penalized, which takes off no
		 * more than the penalty has), with the rounding of e'H~e and of H~
		 * itself (rounding_allowance's H term, at |e|^2).  The smaller of
		 * the two bounds is taken: this one when the rows' weights along e
		 * are well below their largest (confident logistic predictions;
		 * Poisson, where the largest is e^max_logit).  Softmax has its own
		 * growth (multiclass_growth).
		 */
		double		growth = s->loss->multiclass ? multiclass_growth(s, e) :
			0.5 * s->max_row_norm * exp(Min(s->max_row_norm * enorm, 700.0));
		double		penalty = 0.0,
					exact_w,
					remainder_w;

		for (i = 0; i < p; i++)
			if (i % d != 0)
				penalty += e[i] * e[i];
		exact_w = first + growth * Max(ehe - s->l2 * penalty, 0.0);
		remainder_w = growth * enorm * enorm *
			(gamma_k(p + 4) * s->hessian_norm1 +
			 hessian_rounding(&s->stats, &cv, d, s->max_row_norm));
		if (exact_w + remainder_w < exact + remainder)
		{
			exact = exact_w;
			remainder = remainder_w;
		}
	}

	s->error_bound = (1 + gamma_k(p + 2)) *
		(exact + own + remainder +
		 rounding_allowance(&s->stats, &cv, d, l2_now, s->max_row_norm,
							linalg_norm2(s->theta_ref, p), linalg_norm2(s->theta, p),
							enorm, xe, se));
	s->rounding = s->error_bound - exact;
	/* A curvature past any bound (Poisson logits past ~700): no bound. */
	if (!(s->error_bound < INFINITY))
	{
		s->error_bound = INFINITY;
		s->rounding = INFINITY;
	}
	pfree(e);
	pfree(linear);
}

/* Logistic, Poisson: B of a fit at its optimum, |g| and what rounding allows (e = 0). */
double
removal_bound_at_fit(const LossFunctions *loss, const SumStats *st, int d, int nclasses,
					 double l2, const double *theta, const double *gradient,
					 double max_row_norm)
{
	int			p = d * Max(nclasses, 1);
	double		theta_norm = linalg_norm2(theta, p);
	LossCurvature cv;
	double		bound;

	segment_curvature(loss, st, d, Max(nclasses, 1), max_row_norm, theta_norm, theta_norm,
					  0.0, &cv);
	bound = (1 + gamma_k(p + 2)) *
		(linalg_norm2(gradient, p) +
		 rounding_allowance(st, &cv, d, l2, max_row_norm, theta_norm, theta_norm,
							0.0, 0.0, 0.0));
	return bound < INFINITY ? bound : INFINITY;
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
 * Multinomial: the loss does not change when one vector is added to every
 * class's parameters (V = 1 (x) R^d), and neither do the removed rows'
 * gradients, the steps or the optimum leave V's complement: the Hessian
 * maps V and its complement to themselves, and on V it is the penalty
 * alone (l2).  So the matrix factored is H + alpha P_V (P_V = 11'/K (x)
 * I, alpha the Hessian's mean diagonal entry): the same on the complement,
 * where every right-hand side lies, and its smallest eigenvalue is that
 * of H on the complement (or above), the one the error bound needs,
 * where H's own is only l2.  Returns the matrix to factor: a copy so
 * shifted, or s->hessian itself for the other losses.
 */
static double *
conditioned_hessian(const RemovalState *s)
{
	int			d = s->d;
	int			K = s->nclasses;
	int			p = removal_params(s);
	double	   *A;
	double		alpha = 0.0;
	int			i,
				j,
				k,
				l;

	if (!s->loss->multiclass)
		return s->hessian;
	A = palloc(sizeof(double) * p * p);
	memcpy(A, s->hessian, sizeof(double) * p * p);
	for (i = 0; i < p; i++)
		alpha += s->hessian[(Size) i * p + i];
	alpha /= p;
	for (j = 0; j < d; j++)
		for (k = 0; k < K; k++)
			for (l = 0; l < K; l++)
				A[((Size) k * d + j) * p + (Size) l * d + j] += alpha / K;
	return A;
}

/* Frees what conditioned_hessian returned, unless it is the Hessian itself. */
static void
conditioned_free(const RemovalState *s, double *A)
{
	if (A != s->hessian)
		pfree(A);
}

/*
 * Multinomial: takes theta's part in V off (every term's mean over the
 * classes): the optimum has none, the loss does not see it, and the
 * penalty only grows with it (see conditioned_hessian).
 */
static void
project_classes(RemovalState *s, double *theta)
{
	int			d = s->d;
	int			K = s->nclasses;
	int			j,
				k;

	for (j = 0; j < d; j++)
	{
		double		mean = 0.0;

		for (k = 0; k < K; k++)
			mean += theta[(Size) k * d + j];
		mean /= K;
		for (k = 0; k < K; k++)
			theta[(Size) k * d + j] -= mean;
	}
}

/*
 * Factors s->hessian into s->factor with the condition check of
 * unlearn.min_rcond on its Jacobi-scaled form (s->rcond, the unscaled
 * estimate lambda_min is taken from, and s->hessian_norm1 set); false if
 * it is not positive definite or too ill-conditioned.
 */
static bool
factor_afresh(RemovalState *s)
{
	int			d = removal_params(s);
	double	   *A;
	bool		ok;

	if (s->factor == NULL)
		s->factor = alloc_like(s->hessian, (Size) d * d);
	if (!linalg_all_finite(s->hessian, (Size) d * d))
		return false;
	A = conditioned_hessian(s);
	memcpy(s->factor, A, sizeof(double) * d * d);
	s->hessian_norm1 = linalg_sym_norm1(A, d);
	if (linalg_cholesky_try(s->factor, d) != 0)
	{
		pfree(s->factor);
		s->factor = NULL;
		conditioned_free(s, A);
		return false;
	}
	s->rcond = linalg_cholesky_rcond(s->factor, d, s->hessian_norm1);
	ok = linalg_condition_passes(s->factor, A, d, s->rcond, s->hessian_norm1,
								 unlearn_min_rcond, NULL);
	conditioned_free(s, A);
	return ok;
}

/*
 * Changes the Cholesky factor by sign * sum_i u_i u_i' over k rows u_i of
 * the parameters' width, each scaled by sqrt(w_i) (w NULL: 1): row by row
 * when that is cheaper than a new factorization, else the factor is
 * dropped to be made afresh.  A downdate that would leave the factor
 * indefinite drops it too.
 */
static void
change_factor(RemovalState *s, const double *U, int k, const double *w, double sign)
{
	int			p = removal_params(s);
	double	   *u;
	int			i,
				j;

	if (k == 0 || s->factor == NULL)
		return;
	if ((Size) k * 6 > (Size) p)
	{
		pfree(s->factor);		/* k rank-1 changes cost more than a refactor */
		s->factor = NULL;
		return;
	}
	u = palloc(sizeof(double) * p);
	for (i = 0; i < k; i++)
	{
		double		scale = w ? sqrt(w[i]) : 1.0;

		for (j = 0; j < p; j++)
			u[j] = scale * U[(Size) i * p + j];
		if (sign > 0)
			linalg_cholesky_update(s->factor, p, u);
		else if (!linalg_cholesky_downdate(s->factor, p, u))
		{
			pfree(s->factor);
			s->factor = NULL;
			break;
		}
	}
	pfree(u);
}

/*
 * Changes the Hessian by sign * sum_i w_i x_i x_i' over k rows (w NULL:
 * all 1), and its factor with it (change_factor).
 */
static void
change_hessian(RemovalState *s, const double *X, int k, const double *w, double sign)
{
	if (k == 0)
		return;
	add_outer(s->hessian, s->d, X, k, w, sign);
	change_factor(s, X, k, w, sign);
}

/*
 * Multinomial: changes the Hessian by sign times k rows' terms at their
 * probabilities P (k x K) at theta_ref, and its factor by their K
 * pseudo-rows each (loss.h).
 */
static void
change_hessian_classes(RemovalState *s, const double *X, const double *P, int k, double sign)
{
	int			d = s->d;
	int			K = s->nclasses;
	int			p = removal_params(s);
	double	   *w,
			   *block,
			   *U;
	int			i;

	if (k == 0)
		return;
	w = palloc(sizeof(double) * k);
	block = palloc(sizeof(double) * d * d);
	multinomial_hessian_add(K, d, X, P, k, sign, s->hessian, w, block, NULL);
	pfree(w);
	pfree(block);
	if (s->factor == NULL)
		return;
	if ((Size) k * K * 6 > (Size) p)
	{
		pfree(s->factor);
		s->factor = NULL;
		return;
	}
	U = palloc(sizeof(double) * K * p);
	for (i = 0; i < k && s->factor; i++)
	{
		multinomial_pseudo_rows(K, d, &X[(Size) i * d], &P[(Size) i * K], U);
		change_factor(s, U, K, NULL, sign);
	}
	pfree(U);
}

/*
 * After the Hessian changed: a factor made afresh if there is none (or a
 * rebase is due), else the updated one, with the condition check; false
 * if the Hessian is not positive definite or too ill-conditioned.  With
 * standardize and a numeric term a rebase moves the frame at the save
 * (preprocessing.c),
 * which drops the factor for the next erasure to make afresh: it is not
 * made twice (at d = 1,000 each is a third of a second).
 */
static bool
check_factor(RemovalState *s)
{
	int			p = removal_params(s);
	double	   *A;
	bool		ok;

	if (s->factor == NULL || (s->rebase && !s->frame_movable))
		return factor_afresh(s);
	A = conditioned_hessian(s);
	s->hessian_norm1 = linalg_sym_norm1(A, p);
	s->rcond = linalg_cholesky_rcond(s->factor, p, s->hessian_norm1);
	ok = linalg_condition_passes(s->factor, A, p, s->rcond, s->hessian_norm1,
								 unlearn_min_rcond, NULL);
	conditioned_free(s, A);
	if (ok)
		return true;
	return factor_afresh(s);	/* the updated factor may only have drifted */
}

/* Refinements of a solve with a shifted penalty, at most. */
#define SHIFT_MAX_REFINE 30

/* Refinement over E while |H^-1 E| is at most this (see solve_shifted). */
#define SHIFT_REFINE_RATE 0.25

/*
 * The relative error a logistic step is solved to over E: B bounds the
 * gradient at the point the step reaches, exact or not (update_bound), so
 * an error this small only adds as much to B.
 */
#define LOGISTIC_STEP_TARGET 1e-12

/* Whether the state's penalty is shifted: E has an entry that is not 0. */
bool
removal_penalty_shifted(const RemovalState *s)
{
	int			i;

	if (s->penalty_shift == NULL)
		return false;
	for (i = 0; i < s->d; i++)
		if (s->penalty_shift[i] != 0)
			return true;
	return false;
}

/* r = rhs - (H + E) v, with the explicit Hessian. */
static void
shifted_residual(const RemovalState *s, const double *rhs, const double *v, double *r)
{
	int			p = removal_params(s);
	int			i;

	linalg_sym_matvec(s->hessian, p, v, r);
	for (i = 0; i < p; i++)
		r[i] = rhs[i] - r[i] - (s->penalty_shift ? s->penalty_shift[i % s->d] * v[i] : 0.0);
}

/*
 * (H + E) v = rhs by a factorization of H + E itself, refined twice: for
 * an E too large against H for refinement to converge.  False if H + E is
 * not positive definite.
 */
static bool
solve_explicit(const RemovalState *s, const double *rhs, double *v)
{
	int			d = removal_params(s);
	double	   *A = palloc(sizeof(double) * d * d);
	double	   *r = palloc(sizeof(double) * d);
	int			i,
				step;

	elog(DEBUG1, "the shifted penalty is solved by factoring H + E (d = %d)", d);
	{
		double	   *H = conditioned_hessian(s);

		memcpy(A, H, sizeof(double) * d * d);
		conditioned_free(s, H);
	}
	for (i = 0; i < d; i++)
		A[(Size) i * d + i] += s->penalty_shift[i % s->d];
	if (linalg_cholesky_try(A, d) != 0)
	{
		pfree(A);
		pfree(r);
		return false;
	}
	memcpy(v, rhs, sizeof(double) * d);
	linalg_cholesky_solve(A, d, v, 1);
	for (step = 0; step < 2; step++)
	{
		shifted_residual(s, rhs, v, r);
		linalg_cholesky_solve(A, d, r, 1);
		for (i = 0; i < d; i++)
			v[i] += r[i];
	}
	pfree(A);
	pfree(r);
	return true;
}

/*
 * Solves (H + E) v = rhs in place (v holds rhs on entry) with the factor
 * of H, refined at least refine times with the explicit H + E.  Each
 * refinement takes the error down by rho = |H^-1 E| <= max |E| /
 * lambda_min(H) (lambda_min estimated as rcond |H|_1, which check_factor
 * just set; taken 10 times smaller for the estimate's sake): with a
 * shifted penalty it refines until rho^(k+1) is below target (the
 * relative error left), and when rho is above SHIFT_REFINE_RATE (a large
 * E: a bulk erasure that moved the spread far) factors H + E outright.
 * False if that is not positive definite.
 */
static bool
solve_shifted(const RemovalState *s, double *v, int refine, double target)
{
	int			d = removal_params(s);
	double	   *rhs = palloc(sizeof(double) * d);
	double	   *r = palloc(sizeof(double) * d);
	bool		ok = true;
	int			i,
				step,
				need;

	memcpy(rhs, v, sizeof(double) * d);
	if (removal_penalty_shifted(s))
	{
		double		top = 0.0,
					rho,
					left;

		for (i = 0; i < s->d; i++)
			top = Max(top, fabs(s->penalty_shift[i]));
		rho = 10 * top / (s->rcond * s->hessian_norm1);
		if (!(rho < SHIFT_REFINE_RATE))
		{
			ok = solve_explicit(s, rhs, v);
			goto done;
		}
		/* The factor's solve leaves about rho; each refinement a factor rho. */
		for (left = rho, need = 0; left > target && need < SHIFT_MAX_REFINE; left *= rho)
			need++;
		refine = Max(refine, need);
	}
	linalg_cholesky_solve(s->factor, d, v, 1);
	for (step = 0; step < refine; step++)
	{
		shifted_residual(s, rhs, v, r);
		linalg_cholesky_solve(s->factor, d, r, 1);
		for (i = 0; i < d; i++)
			v[i] += r[i];
	}
done:
	pfree(rhs);
	pfree(r);
	return ok && linalg_all_finite(v, d);
}

/*
 * Sets s->lambda_min, a lower estimate of lambda_min(H~ + E): rcond |H~|_1
 * less the most E takes off (Weyl's inequality); when that takes off more
 * than half of it (a sparse column whose spread moved far: digits' rare
 * pixels), the estimate of H~ + E's own factorization instead, whose
 * O(p^3) costs less than the refresh the pessimistic one would cause.
 */
static void
estimate_lambda_min(RemovalState *s)
{
	int			p = removal_params(s);
	double		plain = s->rcond * s->hessian_norm1;
	double		floor = removal_penalty_shift_floor(s);
	double	   *A;
	double		norm1;
	int			i;

	s->lambda_min = plain - floor;
	if (!(floor > 0.5 * plain))
		return;
	A = palloc(sizeof(double) * p * p);
	{
		double	   *H = conditioned_hessian(s);

		memcpy(A, H, sizeof(double) * p * p);
		conditioned_free(s, H);
	}
	for (i = 0; i < p; i++)
		A[(Size) i * p + i] += s->penalty_shift[i % s->d];
	norm1 = linalg_sym_norm1(A, p);
	if (linalg_cholesky_try(A, p) == 0)
		s->lambda_min = Max(s->lambda_min, linalg_cholesky_rcond(A, p, norm1) * norm1);
	pfree(A);
}

/* A lower estimate of lambda_min(H~ + E) (see removal.h). */
double
removal_lambda_min(const RemovalState *s)
{
	if (s->lambda_min > 0)
		return s->lambda_min;
	return s->rcond * s->hessian_norm1 - removal_penalty_shift_floor(s);
}

/* Takes the change's E as the state's (the state's context holds it). */
static void
take_penalty_shift(RemovalState *s, const double *after)
{
	if (after == NULL)
		return;
	if (s->penalty_shift == NULL)
		s->penalty_shift = alloc_like(s->theta, s->d);
	memcpy(s->penalty_shift, after, sizeof(double) * s->d);
}

/*
 * Appends k rows with a sign to the pending rows, the sign scaled by each
 * row's exposure (NULL: 1), which its weight at theta_ref needs; a rebase
 * when they are many.
 */
static void
add_pending(RemovalState *s, const double *X, const double *exposure, int k, double sign)
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

		row[0] = (sign > 0 ? -1.0 : 1.0) * (exposure ? exposure[i] : 1.0);	/* > 0: a row taken out */
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
	s->lambda_min = 0.0;
	if (s->factor)
		pfree(s->factor);
	s->factor = NULL;
}

/* Which of K blocks of d parameters go with dead terms and classes (see removal.h). */
bool *
removal_dead_parameters(int d, int K, const bool *dead_terms, const bool *dead_classes)
{
	bool	   *dead = palloc(sizeof(bool) * Max(K, 1) * d);
	int			t,
				k;

	for (k = 0; k < Max(K, 1); k++)
		for (t = 0; t < d; t++)
			dead[(Size) k * d + t] = dead_terms[t] || (dead_classes && dead_classes[k]);
	return dead;
}

/* Drops dead terms and classes from a state (see removal.h). */
void
removal_drop(RemovalState *s, const bool *dead_terms, const bool *dead_classes)
{
	int			d = s->d;
	int			K = Max(s->nclasses, 1);
	int			p = removal_params(s);
	bool	   *dead = removal_dead_parameters(d, K, dead_terms, dead_classes);
	int			kept_terms = 0,
				kept_classes = 0,
				t,
				k;

	for (t = 0; t < d; t++)
		kept_terms += dead_terms[t] ? 0 : 1;
	for (k = 0; k < K; k++)
		kept_classes += dead_classes && dead_classes[k] ? 0 : 1;
	linalg_drop_entries(s->theta, p, dead);
	linalg_drop_entries(s->theta_ref, p, dead);
	if (s->ref_gradient)
		linalg_drop_entries(s->ref_gradient, p, dead);
	linalg_drop_square(s->hessian, p, dead, kept_terms * kept_classes);
	if (s->xty)
		linalg_drop_entries(s->xty, d, dead_terms);
	if (s->feature_sums)
	{
		/* Both halves, the sums then the squares', packed to kept_terms each. */
		linalg_drop_entries(s->feature_sums, d, dead_terms);
		linalg_drop_entries(s->feature_sums + d, d, dead_terms);
		memmove(s->feature_sums + kept_terms, s->feature_sums + d, sizeof(double) * kept_terms);
	}
	if (s->penalty_shift)
		linalg_drop_entries(s->penalty_shift, d, dead_terms);
	if (s->gram)
		linalg_drop_square(s->gram, d, dead_terms, kept_terms);
	s->d = kept_terms;
	if (s->loss->multiclass)
	{
		s->nclasses = kept_classes;
		project_classes(s, s->theta);
		project_classes(s, s->theta_ref);
	}
	removal_rebase(s);			/* the stored matrices and pending rows had those terms */
	pfree(dead);
}

/*
 * Brings a loaded state's hessian and gram (as stored) up to date with its
 * pending rows; a loss whose Hessian moves weights them at theta_ref.
 */
void
removal_apply_pending(RemovalState *s)
{
	int			d = s->d;
	double	   *x = palloc(sizeof(double) * d);
	double		w = 1.0,
				sign;
	int			i;

	for (i = 0; i < s->npending; i++)
	{
		const double *row = &s->pending[(Size) i * (d + 1)];

		memcpy(x, &row[1], sizeof(double) * d);
		sign = row[0] > 0 ? 1.0 : -1.0;
		if (s->loss->multiclass)
		{
			/* Softmax: the row's K x K weights at theta_ref, whatever its class. */
			double	   *prob = palloc(sizeof(double) * s->nclasses);
			double		scratch;
			double	   *block = palloc(sizeof(double) * d * d);

			(void) multinomial_residuals(s->nclasses, d, s->theta_ref, x, NULL, 1, prob, NULL);
			multinomial_hessian_add(s->nclasses, d, x, prob, 1, -sign, s->hessian, &scratch,
									block, NULL);
			add_outer(s->gram, d, x, 1, NULL, -sign);
			pfree(prob);
			pfree(block);
			continue;
		}
		if (!s->loss->constant_hessian)
		{
			/* The sign carries the row's exposure t: its offset is log t. */
			double		z = linalg_dot(x, s->theta_ref, d) +
				(fabs(row[0]) != 1.0 ? log(fabs(row[0])) : 0.0);
			double		y = 0.0,	/* w does not depend on the target */
						r;

			(void) s->loss->block(&z, &y, 1, &r, &w);
		}
		add_outer(s->hessian, d, x, 1, &w, -sign);
		if (s->gram)
			add_outer(s->gram, d, x, 1, NULL, -sign);
	}
	pfree(x);
}

/* Ridge: theta = H^-1 X'y from the state's matrices; false if H is bad (theta unchanged). */
bool
removal_ridge_solve(RemovalState *s)
{
	int			d = s->d;
	double	   *theta = palloc(sizeof(double) * d);
	double	   *r = palloc(sizeof(double) * d);
	int			i;

	if (!check_factor(s))
		return false;

	/*
	 * theta = (H + E)^-1 X'y, refined twice with the explicit H (the factor
	 * may carry the rounding of many updates; on an ill-conditioned H one
	 * step leaves part of it), and with a shifted penalty until it is
	 * solved (solve_shifted).
	 */
	memcpy(theta, s->xty, sizeof(double) * d);
	if (!solve_shifted(s, theta, 2, DBL_EPSILON / 2))
	{
		pfree(theta);
		pfree(r);
		return false;
	}

	for (i = 0; i < d; i++)
		r[i] = theta[i] - s->theta[i];
	s->step_norm = linalg_norm2(r, d);
	memcpy(s->theta, theta, sizeof(double) * d);
	pfree(theta);
	pfree(r);
	return true;
}

/* Ridge: removes k rows and adds a, exactly; false if H goes bad (theta unchanged). */
bool
removal_ridge(RemovalState *s, const RowChange *c)
{
	int			d = s->d;

	add_pending(s, c->X, NULL, c->k, -1.0);
	add_pending(s, c->XA, NULL, c->a, 1.0);
	change_hessian(s, c->X, c->k, NULL, -1.0);
	change_hessian(s, c->XA, c->a, NULL, 1.0);
	add_xty(s->xty, d, c->X, c->y, c->k, -1.0);
	add_xty(s->xty, d, c->XA, c->yA, c->a, 1.0);
	add_stats(&s->stats, c->X, c->k, d, c->y, NULL, NULL, false, -1.0);
	add_stats(&s->stats, c->XA, c->a, d, c->yA, NULL, NULL, false, 1.0);
	s->max_row_norm = Max(s->max_row_norm, max_norm(c->XA, c->a, d));
	take_penalty_shift(s, c->penalty_shift_after);
	if (!removal_ridge_solve(s))
		return false;
	if (s->rebase)
		s->npending = 0;
	return true;
}

/*
 * Ridge: a re-sum is due when the terms summed into H or X'y since they
 * were made (P, and sum |y| |x|) outweigh the current rows' by
 * RESUM_RATIO: their rounding could then pass that many times a fresh
 * sum's.  (Current rows' weight at or below 0: only rounding is left.)
 */
bool
removal_resum_due(const RemovalState *s)
{
	return removal_resum_due_at(s, RESUM_RATIO);
}

/* Ridge: whether the kept sums' terms outweigh the rows' by ratio (see removal.h). */
bool
removal_resum_due_at(const RemovalState *s, double ratio)
{
	const SumStats *st = &s->stats;

	return st->norm2 > ratio * Max(st->rows_norm2, 0.0) ||
		st->rnorm > ratio * Max(st->rows_rnorm, 0.0);
}

/* Logistic, Poisson: the rows with a target above 0 that a change leaves in the model. */
int64
removal_positives_after(const RemovalState *s, const RowChange *c)
{
	int64		positives = s->stats.positives;
	int			i;

	for (i = 0; i < c->k; i++)
		positives -= c->y[i] > 0 ? 1 : 0;
	for (i = 0; i < c->a; i++)
		positives += c->yA[i] > 0 ? 1 : 0;
	return positives;
}

/*
 * Multinomial: k rows' gradient terms (p - e_y) (x) x at theta added to v
 * with a sign, their terms at theta_ref added to g_ref, H~ (and its
 * factor) and X'X with the sign of the rows (-1: they leave), and their
 * statistics to the kept sums'.
 */
static void
class_rows_terms(RemovalState *s, const double *X, const double *y, int k, double *v,
				 double v_sign, double sign)
{
	int			d = s->d;
	int			K = s->nclasses;
	double	   *P,
			   *R;
	int			i;

	if (k == 0)
		return;
	P = palloc(sizeof(double) * k * K);
	R = palloc(sizeof(double) * k * K);
	(void) multinomial_residuals(K, d, s->theta, X, y, k, P, R);
	for (i = 0; i < k * K; i++)
		R[i] *= v_sign;
	linalg_rows_tmatmul_add(R, k, K, X, d, v);
	(void) multinomial_residuals(K, d, s->theta_ref, X, y, k, P, R);
	(void) solver_stats_add_classes(&s->stats, X, R, k, d, K, s->theta_ref, sign);
	s->stats.terms++;			/* the rows' own sum, then its addition */
	for (i = 0; i < k * K; i++)
		R[i] *= sign;
	linalg_rows_tmatmul_add(R, k, K, X, d, s->ref_gradient);
	change_hessian_classes(s, X, P, k, sign);
	add_outer(s->gram, d, X, k, NULL, sign);
	pfree(P);
	pfree(R);
}

/*
 * Multinomial: the Newton step on the K d parameters, theta += (H~ +
 * E)^-1 D, D the removed rows' gradient at theta less the added rows'
 * (and the change of E theta), H~ the exact Hessian at theta_ref of the
 * rows after the change; false if it is not usable (theta unchanged).
 */
static bool
newton_classes(RemovalState *s, const RowChange *c)
{
	int			d = s->d;
	int			p = removal_params(s);
	double	   *v = palloc0(sizeof(double) * p);
	int			i;

	add_pending(s, c->X, NULL, c->k, -1.0);
	add_pending(s, c->XA, NULL, c->a, 1.0);
	class_rows_terms(s, c->X, c->y, c->k, v, 1.0, -1.0);
	class_rows_terms(s, c->XA, c->yA, c->a, v, -1.0, 1.0);
	if (c->penalty_shift_after)
		for (i = 0; i < p; i++)
			v[i] -= (c->penalty_shift_after[i % d] -
					 (s->penalty_shift ? s->penalty_shift[i % d] : 0.0)) * s->theta[i];
	take_penalty_shift(s, c->penalty_shift_after);
	if (!check_factor(s))
		return false;
	if (!solve_shifted(s, v, 0, LOGISTIC_STEP_TARGET))
		return false;
	for (i = 0; i < p; i++)
		s->theta[i] += v[i];
	project_classes(s, s->theta);
	s->max_row_norm = Max(s->max_row_norm, max_norm(c->XA, c->a, d));
	update_bound(s);
	estimate_lambda_min(s);
	s->step_norm = linalg_norm2(v, p);
	if (s->rebase)
		s->npending = 0;
	pfree(v);
	return true;
}

/* Logistic, Poisson, multinomial: one Newton step for the change; false if H goes bad (theta unchanged). */
bool
removal_newton(RemovalState *s, const RowChange *c)
{
	int			d = s->d;
	int			n = Max(Max(c->k, c->a), 1);
	double	   *r = palloc(sizeof(double) * n);
	double	   *w = palloc(sizeof(double) * n);
	double	   *r_ref = palloc(sizeof(double) * n);
	double	   *v = palloc0(sizeof(double) * d);
	double	   *zabs;
	double	   *dz,
			   *dz_ref,
			   *dzA,
			   *dzA_ref;
	int			i;

	if (s->gram == NULL || s->ref_gradient == NULL)
		elog(ERROR, "%s model state has no Gram matrix or reference gradient", s->loss->name);
	if (s->loss->multiclass)
		return newton_classes(s, c);
	add_pending(s, c->X, c->exposure, c->k, -1.0);
	add_pending(s, c->XA, c->exposureA, c->a, 1.0);
	dz = logit_shift(c->z_dropped, c->exposure, c->k);
	dz_ref = logit_shift(c->z_ref_dropped, c->exposure, c->k);
	dzA = logit_shift(c->zA_dropped, c->exposureA, c->a);
	dzA_ref = logit_shift(c->zA_ref_dropped, c->exposureA, c->a);

	/*
	 * Removed rows: their gradient at theta (v = D for now), their Hessian
	 * and gradient terms at theta_ref.
	 */
	zabs = abs_logits(c->X, c->k, d, s->theta_ref,
					  c->z_ref_dropped ? c->dropped_ref_weight : 0.0, c->exposure);
	(void) newton_terms(s->loss, c->X, c->y, c->k, d, s->theta, dz, r,
						s->theta_ref, dz_ref, w, r_ref, zabs);
	add_stats(&s->stats, c->X, c->k, d, r_ref, zabs, c->y, true, -1.0);
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
	/* ... and the largest logit covers them (rows leaving keep it a bound). */
	zabs = abs_logits(c->XA, c->a, d, s->theta_ref,
					  c->zA_ref_dropped ? c->dropped_ref_weight : 0.0, c->exposureA);
	s->stats.max_logit = Max(s->stats.max_logit,
							 newton_terms(s->loss, c->XA, c->yA, c->a, d, s->theta,
										  dzA, r, s->theta_ref, dzA_ref, w, r_ref, zabs));
	add_stats(&s->stats, c->XA, c->a, d, r_ref, zabs, c->yA, true, 1.0);
	if (c->a > 0)
	{
		for (i = 0; i < c->a; i++)
			r[i] = -r[i];
		linalg_rows_tmatvec_add(c->XA, c->a, d, r, v);
		linalg_rows_tmatvec_add(c->XA, c->a, d, r_ref, s->ref_gradient);
	}
	change_hessian(s, c->XA, c->a, w, 1.0);
	add_outer(s->gram, d, c->XA, c->a, NULL, 1.0);

	/*
	 * A shifted penalty that changes with the rows: the objective's
	 * gradient at theta gains (E_after - E_before) theta, besides -D.
	 */
	if (c->penalty_shift_after)
		for (i = 0; i < d; i++)
			v[i] -= (c->penalty_shift_after[i] -
					 (s->penalty_shift ? s->penalty_shift[i] : 0.0)) * s->theta[i];
	take_penalty_shift(s, c->penalty_shift_after);

	if (!check_factor(s))
		return false;
	if (!solve_shifted(s, v, 0, LOGISTIC_STEP_TARGET))	/* v = (H~ + E)^-1 D */
		return false;
	for (i = 0; i < d; i++)
		s->theta[i] += v[i];

	/* B at the new theta, over the resulting rows (M must cover the added ones). */
	s->max_row_norm = Max(s->max_row_norm, max_norm(c->XA, c->a, d));
	update_bound(s);
	estimate_lambda_min(s);
	s->step_norm = linalg_norm2(v, d);
	if (s->rebase)
		s->npending = 0;
	return true;
}

/*
 * Logistic refresh step: anchors the state at theta (its gradient and
 * Hessian from a full pass, pass its rows' statistics there), then one
 * Newton step.  g_ref and H~ are sums over the pass's rows now; X'X is
 * too if regram, else it keeps its terms (and N and P, which count them,
 * cover g_ref's and H~'s too).
 */
bool
removal_reanchor(RemovalState *s, const double *gradient, const double *hessian,
				 const SumStats *pass, bool regram)
{
	int			d = removal_params(s);
	double	   *v = palloc(sizeof(double) * d);
	int			i;

	memcpy(s->theta_ref, s->theta, sizeof(double) * d);
	memcpy(s->ref_gradient, gradient, sizeof(double) * d);
	memcpy(s->hessian, hessian, sizeof(double) * d * d);
	if (regram)
	{
		s->stats.terms = pass->terms;
		s->stats.norm2 = pass->norm2;
	}
	else
		s->stats.terms = Max(s->stats.terms, pass->terms);
	s->stats.rows_norm2 = pass->rows_norm2;
	s->stats.rnorm = pass->rnorm;
	s->stats.rows_rnorm = pass->rows_rnorm;
	s->stats.znorm = pass->znorm;
	s->stats.positives = pass->positives;
	s->stats.max_logit = pass->max_logit;
	removal_rebase(s);
	if (!check_factor(s))
		return false;
	removal_shifted_gradient(s, gradient, v);
	for (i = 0; i < d; i++)
		v[i] = -v[i];
	if (!solve_shifted(s, v, 0, LOGISTIC_STEP_TARGET))
		return false;
	for (i = 0; i < d; i++)
		s->theta[i] += v[i];
	if (s->loss->multiclass)
		project_classes(s, s->theta);
	update_bound(s);
	estimate_lambda_min(s);
	pfree(v);
	return true;
}

/* The objective's gradient at theta from one of l2 I' there (see removal.h). */
void
removal_shifted_gradient(const RemovalState *s, const double *gradient, double *out)
{
	int			i;

	for (i = 0; i < removal_params(s); i++)
		out[i] = gradient[i] +
			(s->penalty_shift ? s->penalty_shift[i % s->d] * s->theta[i] : 0.0);
}

/* After a change of frame: the Hessian's norm, and B (see removal.h). */
void
removal_rebound(RemovalState *s)
{
	s->hessian_norm1 = linalg_sym_norm1(s->hessian, removal_params(s));
	s->lambda_min = 0.0;		/* the factor's estimate is of the old frame */
	if (s->gram && s->ref_gradient)
		update_bound(s);
}
