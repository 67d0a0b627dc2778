/*-------------------------------------------------------------------------
 *
 * loss_multinomial.c
 *	  Multinomial logistic regression: softmax cross-entropy over K classes.
 *
 * A row's logits are z_k = x' theta_k for K parameter blocks theta_k (one
 * per class, class-major in theta), its loss log sum_k e^(z_k) - z_y,
 * computed stably (the largest logit subtracted before exp).  All K blocks
 * are penalized alike, (l2/2) sum_k |w_k|^2, so the weights are identified
 * by the penalty (their sum over classes is 0 at the optimum, as
 * scikit-learn's); the loss does not change when every intercept moves by
 * the same amount, so (l2/2)(sum_k b_k)^2 picks the intercepts whose sum
 * is 0, which changes no prediction and keeps the Hessian definite (the
 * penalty is solver.c's).
 *
 * The gradient is sum_i (p_i - e_(y_i)) (x) x_i and the Hessian's block
 * (k, l) sum_i p_ik (delta_kl - p_il) x_i x_i': K (K + 1) / 2 weighted Gram
 * matrices of d x d, each by dsyrk on scaled rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "linalg.h"
#include "loss.h"

/* The K class probabilities of one row's logits, stably; returns log-sum-exp. */
double
multinomial_softmax(const double *z, int K, double *p)
{
	double		top = z[0],
				sum = 0.0;
	int			k;

	for (k = 1; k < K; k++)
		top = Max(top, z[k]);
	for (k = 0; k < K; k++)
	{
		p[k] = exp(z[k] - top);
		sum += p[k];
	}
	for (k = 0; k < K; k++)
		p[k] /= sum;
	return top + log(sum);
}

/*
 * Adds the Gram block of classes k and l (the upper triangle linalg_gram_add
 * filled, made whole here) into the full Hessian H, at (k, l) and, being
 * symmetric, at (l, k).
 */
static void
add_block(double *H, int K, int d, int k, int l, double *block)
{
	Size		p = (Size) K * d;
	int			i,
				j;

	linalg_symmetrize(block, d);
	for (i = 0; i < d; i++)
		for (j = 0; j < d; j++)
		{
			double		v = block[(Size) i * d + j];

			H[(k * d + i) * p + l * d + j] += v;
			if (k != l)
				H[(l * d + i) * p + k * d + j] += v;
		}
}

/*
 * Adds sign times the rows' Hessian terms, block (k, l) sum_i P_ik
 * (delta_kl - P_il) x_i x_i', to the full Hessian H (see loss.h).
 */
void
multinomial_hessian_add(int K, int d, const double *X, const double *P, int rows,
						double sign, double *H, double *w, double *block, double *scaled)
{
	int			i,
				k,
				l;

	for (k = 0; k < K; k++)
		for (l = k; l < K; l++)
		{
			for (i = 0; i < rows; i++)
			{
				double		pk = P[(Size) i * K + k];

				w[i] = k == l ? pk * (1.0 - pk) : pk * P[(Size) i * K + l];
			}
			memset(block, 0, sizeof(double) * d * d);
			linalg_gram_add(block, d, X, rows, w, k == l ? sign : -sign, scaled);
			add_block(H, K, d, k, l, block);
		}
}

/* The rows' probabilities P and residuals p - e_y (R, unless NULL) at theta (see loss.h). */
double
multinomial_residuals(int K, int d, const double *theta, const double *X, const double *y,
					  int rows, double *P, double *R)
{
	double		sum = 0.0;
	int			i;

	linalg_rows_matmul_t(X, rows, d, theta, K, P);
	for (i = 0; i < rows; i++)
	{
		double	   *z = &P[(Size) i * K];
		int			c = y ? (int) y[i] : 0;
		double		zc = z[c];

		sum += multinomial_softmax(z, K, z) - zc;
		if (R)
		{
			memcpy(&R[(Size) i * K], z, sizeof(double) * K);
			R[(Size) i * K + c] -= 1.0;
		}
	}
	return sum;
}

/*
 * The K rows u_k = sqrt(p_k) (e_k - p) (x) x (each K d long) whose outer
 * products sum to a row's Hessian term (diag p - p p') (x) x x' (see loss.h).
 */
void
multinomial_pseudo_rows(int K, int d, const double *x, const double *p, double *U)
{
	Size		n = (Size) K * d;
	int			k,
				l,
				j;

	for (k = 0; k < K; k++)
	{
		double		root = sqrt(p[k]);

		for (l = 0; l < K; l++)
		{
			double		a = root * ((k == l ? 1.0 : 0.0) - p[l]);

			for (j = 0; j < d; j++)
				U[k * n + (Size) l * d + j] = a * x[j];
		}
	}
}

/* Adds a block of rows' multinomial sums (see loss.h). */
double
multinomial_block_add(int K, int d, const double *theta, const double *X,
					  const double *y, int rows, double *gradient, double *hessian,
					  double *Z, double *R, double *w, double *block, double *scaled)
{
	double		sum = multinomial_residuals(K, d, theta, X, y, rows, Z, R);

	linalg_rows_tmatmul_add(R, rows, K, X, d, gradient);
	if (hessian)
		multinomial_hessian_add(K, d, X, Z, rows, 1.0, hessian, w, block, scaled);
	return sum;
}

/* The softmax's curvature: probabilities below 1, residual norms below sqrt 2. */
static void
multinomial_curvature(double ceiling, LossCurvature *c)
{
	(void) ceiling;
	c->mean = 1.0;
	c->weight = 0.5;
	c->lipschitz = 1.0;
	c->unit_residual = false;
	c->weight_log_lipschitz = false;
}

const LossFunctions loss_multinomial = {
	.name = "multinomial",
	.constant_hessian = false,
	.binary_labels = false,
	.target = LOSS_TARGET_CLASS,
	.multiclass = true,
	.block = NULL,
	.predict = NULL,
	.curvature = multinomial_curvature,
};
