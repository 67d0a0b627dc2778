/*-------------------------------------------------------------------------
 *
 * loss_linear.c
 *	  Squared loss for ridge regression: l = (z - y)^2 / 2.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "loss.h"

/* Summed squared loss of a block; residual z - y, weight 1. */
static double
linear_block(const double *z, const double *y, int n, double *resid,
			 double *weight)
{
	double		sum = 0.0;
	int			i;

	for (i = 0; i < n; i++)
	{
		double		r = z[i] - y[i];

		resid[i] = r;
		sum += 0.5 * r * r;
		if (weight)
			weight[i] = 1.0;
	}
	return sum;
}

/* A linear model predicts its linear predictor. */
static double
linear_predict(double z)
{
	return z;
}

/* The squared loss's curvature is 1 everywhere; its mean is z, unbounded. */
static void
linear_curvature(double ceiling, LossCurvature *c)
{
	c->mean = ceiling;
	c->weight = 1.0;
	c->lipschitz = 0.0;
	c->unit_residual = false;
	c->weight_log_lipschitz = false;
}

const LossFunctions loss_linear = {
	.name = "linear",
	.constant_hessian = true,
	.binary_labels = false,
	.target = LOSS_TARGET_REAL,
	.block = linear_block,
	.predict = linear_predict,
	.curvature = linear_curvature,
};
