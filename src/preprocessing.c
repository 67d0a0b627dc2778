/*-------------------------------------------------------------------------
 *
 * preprocessing.c
 *	  Standardization that follows the rows.
 *
 * With standardize, a model's numeric and boolean columns enter as
 * x' = (x - c) / s, c and s the training rows' mean and standard
 * deviation: aggregates of the rows, erased ones included, unless erasure
 * moves them too.  It does: the model after an erasure is the one a
 * retrain on the remaining rows gives, whose c and s are theirs.
 *
 * The frame.  theta and the erasure state (Hessian, X'X, X'y, pending
 * rows) are kept in one frame, the c and s stored in unlearn.model_term;
 * the current rows' own are known from the sums of each term and its
 * square over them (feature_sums, kept up to date by every erasure and
 * rectification, O(kd)).  In the frame's units a column has mean m_j and
 * variance w_j over the current rows.  A retrain's inputs are
 * z' = (z - m_j) / sqrt(w_j) (z / sqrt(w_j) without an intercept, which
 * is not centered): an affine map, so its fit predicts as the fit in the
 * frame of the objective with the penalty (l2/2) sum_j w_j theta_j^2
 * (centering moves only the unpenalized intercept; scaling a term by
 * 1/sqrt(w) scales its parameter by sqrt(w)).  So between two moves of the
 * frame an erasure changes the penalty by E = l2 (w - 1) per term, and the
 * solves use H + E (removal.c): ridge exactly (refined to rounding),
 * logistic by the same Newton step, whose gradient gains the change of
 * E theta, with B bounding the gradient of that objective.
 *
 * Moving the frame.  Whenever the kept matrices are stored again (a
 * rebase: every so many erasures, a refresh, a re-sum), the state is mapped
 * to the current rows' frame, so no erased row's mean or spread is left
 * in the stored terms: with A = D + u e_0' (D_j = 1/sqrt(w_j), u_j =
 * -m_j/sqrt(w_j)), the rows' terms go to A x, theta to A^-T theta (each
 * row's x'theta stays), a sum of terms x x' to A S A', X'y and the loss's
 * gradient to A v, and the penalty l2 I' stays as it is (the new w is 1).
 * O(d^2), no factorization (the factor is made afresh at the next
 * erasure, as after any rebase).  What rounding bounds depend on grows
 * with the map: |A x| <= alpha |x|, alpha = max(1, max D) + |u|, scales M
 * and the norms of SumStats (removal.c); the map's own rounding counts as
 * four more summation steps.
 *
 * Until then the stored frame (and, as before, the stored matrices and
 * pending rows) still reflects rows erased since the last rebase: at
 * most pending_limit(d) single-row erasures (removal.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "utils/memutils.h"

#include "linalg.h"
#include "preprocessing.h"

/*
 * A column counts as constant over the rows when its variance is below
 * this part of its square mean (both in the frame's units): its spread is
 * then within what the sums' rounding can make, and a retrain would find
 * it constant or its spread lost to rounding.
 */
#define CONSTANT_VARIANCE 1e-9

/* Whether term t moves with the rows: a numeric or boolean column's, with standardize. */
static bool
term_moves(const StoredModel *m, const RemovalState *s, int t)
{
	return s->feature_sums != NULL && m->terms[t].column != NULL &&
		m->terms[t].level == NULL;
}

/* Whether the model's terms are centered (an intercept absorbs it): term 0 is then the intercept. */
static bool
centered(const StoredModel *m)
{
	return m->options.standardize && m->options.intercept;
}

/* The mean and variance of term t over n rows, from feature sums of d terms. */
static void
term_moments(const double *sums, int d, int t, int64 n, double *mean, double *var)
{
	*mean = sums[t] / (double) n;
	*var = sums[d + t] / (double) n - *mean * *mean;
}

/* Whether a term moves with the rows (see preprocessing.h). */
bool
preprocessing_frame_movable(const StoredModel *m, const RemovalState *s)
{
	int			t;

	for (t = 0; t < s->d && t < m->nterms; t++)
		if (term_moves(m, s, t))
			return true;
	return false;
}

/* Adds or takes out k rows' terms in a state's feature sums (see preprocessing.h). */
void
preprocessing_add_rows(RemovalState *s, const double *X, int k, double sign)
{
	int			d = s->d;
	int			i,
				t;

	if (s->feature_sums == NULL)
		return;
	for (i = 0; i < k; i++)
	{
		const double *x = &X[(Size) i * d];

		for (t = 0; t < d; t++)
		{
			s->feature_sums[t] += sign * x[t];
			s->feature_sums[d + t] += sign * x[t] * x[t];
		}
	}
}

/* E over n rows (see preprocessing.h); the first constant term, or -1. */
int
preprocessing_penalty_shift(const StoredModel *m, const RemovalState *s, int64 n, double *E)
{
	int			d = s->d;
	int			constant = -1;
	int			t;

	for (t = 0; t < d; t++)
	{
		double		mean,
					var;

		E[t] = 0.0;
		if (!term_moves(m, s, t) || n <= 0)
			continue;
		term_moments(s->feature_sums, d, t, n, &mean, &var);
		if (!(var > CONSTANT_VARIANCE * (1.0 + mean * mean)) && constant < 0)
			constant = t;
		E[t] = s->l2 * (var - 1.0);
	}
	return constant;
}

/* The map from a model's frame to its current rows' preprocessing (see preprocessing.h). */
void
preprocessing_current_map(const StoredModel *m, const double *feature_sums, int d,
						  int64 n, double *D, double *u)
{
	bool		center = centered(m);
	int			t;

	for (t = 0; t < d; t++)
	{
		double		mean,
					var;

		D[t] = 1.0;
		u[t] = 0.0;
		if (feature_sums == NULL || n <= 0 || m->terms[t].column == NULL ||
			m->terms[t].level != NULL)
			continue;
		term_moments(feature_sums, d, t, n, &mean, &var);
		if (!(var > 0))
			continue;			/* constant: the erasure marked the model */
		D[t] = 1.0 / sqrt(var);
		if (center)
			u[t] = -mean * D[t];
	}
}

/* Maps n rows by D and u, in place. */
void
preprocessing_map_rows(const double *D, const double *u, int d, double *X, int64 n)
{
	int64		i;
	int			t;

	for (i = 0; i < n; i++)
	{
		double	   *x = &X[(Size) i * d];

		for (t = 1; t < d; t++)
			x[t] = D[t] * x[t] + u[t] * x[0];
		x[0] = D[0] * x[0];		/* 1 for the intercept; u[t] is 0 without one */
	}
}

/* Maps parameters by D and u: A^-T theta. */
void
preprocessing_map_theta(const double *D, const double *u, int d, double *theta)
{
	int			t;

	for (t = 0; t < d; t++)
		theta[t] /= D[t];
	for (t = 1; t < d; t++)
		theta[0] -= u[t] * theta[t];
}

/* The growth of |x| under the map (see preprocessing.h). */
double
preprocessing_map_growth(const double *D, const double *u, int d)
{
	double		top = 1.0;
	int			t;

	for (t = 0; t < d; t++)
		top = Max(top, D[t]);
	return top + linalg_norm2(u, d);
}

/* Maps a vector of gradient kind (a sum of row terms times scalars): A v. */
static void
map_vector(const double *D, const double *u, int d, double *v)
{
	int			t;

	for (t = 1; t < d; t++)
		v[t] = D[t] * v[t] + u[t] * v[0];
	v[0] *= D[0];
}

/* Maps a symmetric sum of row terms x x' (row-major d x d): A S A'. */
static void
map_square(const double *D, const double *u, int d, double *S)
{
	double	   *col0 = palloc(sizeof(double) * d);
	double		s00 = S[0];
	int			i,
				j;

	for (i = 0; i < d; i++)
		col0[i] = S[(Size) i * d];
	for (i = 0; i < d; i++)
		for (j = 0; j < d; j++)
			S[(Size) i * d + j] = D[i] * D[j] * S[(Size) i * d + j] +
				D[i] * u[j] * col0[i] + u[i] * D[j] * col0[j] + u[i] * u[j] * s00;
	pfree(col0);
}

/*
 * Adds sign times the penalty's Hessian to a p x p matrix, p = K d (K = 1
 * but for multinomial, solver.c): l2 I' on each of K blocks (the
 * intercept, term 0 if any, unpenalized) and, for K > 1 with an
 * intercept, l2 on every pair of intercepts (their sum's penalty).
 */
static void
add_penalty(double *H, int d, int K, double l2, bool intercept, double sign)
{
	Size		p = (Size) d * K;
	int			t,
				k,
				l;

	for (k = 0; k < K; k++)
		for (t = intercept ? 1 : 0; t < d; t++)
			H[((Size) k * d + t) * p + (Size) k * d + t] += sign * l2;
	if (K > 1 && intercept)
		for (k = 0; k < K; k++)
			for (l = 0; l < K; l++)
				H[(Size) k * d * p + (Size) l * d] += sign * l2;
}

/* Adds sign times the penalty's gradient at theta (K blocks of d) to g. */
static void
add_penalty_gradient(double *g, const double *theta, int d, int K, double l2,
					 bool intercept, double sign)
{
	double		sum = 0.0;
	int			t,
				k;

	for (k = 0; k < K; k++)
	{
		for (t = intercept ? 1 : 0; t < d; t++)
			g[(Size) k * d + t] += sign * l2 * theta[(Size) k * d + t];
		sum += theta[(Size) k * d];
	}
	if (K > 1 && intercept)
		for (k = 0; k < K; k++)
			g[(Size) k * d] += sign * l2 * sum;
}

/* Maps each of K blocks of parameters by A^-T (preprocessing_map_theta). */
static void
map_theta_blocks(const double *D, const double *u, int d, int K, double *theta)
{
	int			k;

	for (k = 0; k < K; k++)
		preprocessing_map_theta(D, u, d, &theta[(Size) k * d]);
}

/* Maps each of K blocks of a vector of gradient kind by A. */
static void
map_vector_blocks(const double *D, const double *u, int d, int K, double *v)
{
	int			k;

	for (k = 0; k < K; k++)
		map_vector(D, u, d, &v[(Size) k * d]);
}

/* Maps each d x d block (k, l) of a K d x K d matrix of row sums: A S_kl A'. */
static void
map_square_blocks(const double *D, const double *u, int d, int K, double *S)
{
	Size		p = (Size) d * K;
	double	   *block;
	int			k,
				l,
				i;

	if (K == 1)
	{
		map_square(D, u, d, S);
		return;
	}
	block = palloc(sizeof(double) * d * d);
	for (k = 0; k < K; k++)
		for (l = 0; l < K; l++)
		{
			for (i = 0; i < d; i++)
				memcpy(&block[(Size) i * d], &S[((Size) k * d + i) * p + (Size) l * d],
					   sizeof(double) * d);
			map_square(D, u, d, block);
			for (i = 0; i < d; i++)
				memcpy(&S[((Size) k * d + i) * p + (Size) l * d], &block[(Size) i * d],
					   sizeof(double) * d);
		}
	pfree(block);
}

/* Moves a state to its rows' frame at a rebase (see preprocessing.h). */
bool
preprocessing_move_frame(StoredModel *m, RemovalState *s, int64 n)
{
	int			d = s->d;
	int			K = Max(s->nclasses, 1);
	bool		intercept = m->options.intercept;
	double	   *D,
			   *u,
			   *E;
	double		alpha,
				u_norm,
				old_P = Max(s->stats.norm2, 0.0),
				old_N = (double) s->stats.terms;
	bool		moves = false;
	int			t;

	if (s->feature_sums == NULL || n <= 0 || d != m->nterms)
		return false;
	D = palloc(sizeof(double) * d);
	u = palloc(sizeof(double) * d);
	preprocessing_current_map(m, s->feature_sums, d, n, D, u);
	for (t = 0; t < d; t++)
		moves = moves || D[t] != 1.0 || u[t] != 0.0;
	if (!moves)
		return false;

	/* The terms: a retrain's center and scale on these rows. */
	for (t = 0; t < d; t++)
	{
		ModelTerm  *term = &m->terms[t];

		if (D[t] == 1.0 && u[t] == 0.0)
			continue;
		term->center = term->center - term->scale * u[t] / D[t];
		term->scale = term->scale / D[t];
	}

	/*
	 * Parameters go by A^-T; sums of row terms by A; the penalty stays
	 * (each class block alike).  Multinomial's penalty on the intercepts'
	 * sum is then on the new frame's intercepts: at the optimum of either
	 * objective every term's weights sum to 0 over the classes and so do
	 * the intercepts in both frames, so both have that one optimum.
	 */
	map_theta_blocks(D, u, d, K, s->theta);
	if (s->theta_ref)
	{
		if (s->ref_gradient)
		{
			add_penalty_gradient(s->ref_gradient, s->theta_ref, d, K, s->l2, intercept, -1.0);
			map_vector_blocks(D, u, d, K, s->ref_gradient);
		}
		map_theta_blocks(D, u, d, K, s->theta_ref);
		if (s->ref_gradient)
			add_penalty_gradient(s->ref_gradient, s->theta_ref, d, K, s->l2, intercept, 1.0);
	}
	add_penalty(s->hessian, d, K, s->l2, intercept, -1.0);
	map_square_blocks(D, u, d, K, s->hessian);
	add_penalty(s->hessian, d, K, s->l2, intercept, 1.0);
	if (s->gram)
		map_square(D, u, d, s->gram);
	if (s->xty)
		map_vector(D, u, d, s->xty);
	for (t = 0; t < d; t++)
	{
		double		sum = s->feature_sums[t];
		double		sumsq = s->feature_sums[d + t];

		s->feature_sums[t] = D[t] * sum + (double) n * u[t];
		s->feature_sums[d + t] = D[t] * D[t] * sumsq + 2 * D[t] * u[t] * sum +
			(double) n * u[t] * u[t];
	}

	/* What the rounding bounds depend on, grown by the map (and its own rounding). */
	alpha = preprocessing_map_growth(D, u, d) * (1 + 4 * DBL_EPSILON);
	u_norm = linalg_norm2(u, d);
	s->max_row_norm *= alpha;
	s->stats.terms += 4;
	s->stats.norm2 *= alpha * alpha;
	s->stats.rows_norm2 *= alpha * alpha;
	s->stats.rnorm *= alpha;
	s->stats.rows_rnorm *= alpha;
	if (s->theta_ref)
	{
		s->stats.znorm = alpha * (s->stats.znorm + 2 * u_norm * linalg_norm2(s->theta_ref, d * K) *
								  sqrt(old_N * old_P));
		/* Logits do not move with the frame; the mapped theta_ref's rounding does. */
		if (s->stats.max_logit > -DBL_MAX)
			s->stats.max_logit += 4 * (d + 3) * DBL_EPSILON * s->max_row_norm *
				linalg_norm2(s->theta_ref, d * K);
	}

	/* The new frame's E: 0 but for rounding. */
	E = palloc(sizeof(double) * d);
	(void) preprocessing_penalty_shift(m, s, n, E);
	if (s->penalty_shift)
		memcpy(s->penalty_shift, E, sizeof(double) * d);
	pfree(E);

	/* The factor was of the old frame's matrix: made afresh at the next use. */
	if (s->factor)
		pfree(s->factor);
	s->factor = NULL;
	removal_rebound(s);
	s->frame_moved = true;		/* the terms are written with the model */
	if (s->frame_map == NULL)
		s->frame_map = MemoryContextAlloc(GetMemoryChunkContext(s->theta),
										  sizeof(double) * 2 * d);
	memcpy(s->frame_map, D, sizeof(double) * d);
	memcpy(s->frame_map + d, u, sizeof(double) * d);
	pfree(D);
	pfree(u);
	return true;
}
