/*-------------------------------------------------------------------------
 *
 * loss_logistic.c
 *	  Binary logistic loss: l = log(1 + e^z) - y z, y in {0, 1}.
 *
 * Computed without overflow: log(1 + e^z) = max(z, 0) + log1p(e^-|z|),
 * and the sigmoid from e^-|z| so no exponential of a large positive
 * number is ever taken.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "loss.h"

/* The logistic sigmoid 1 / (1 + e^-z), stable for any z. */
static double
sigmoid(double z)
{
	double		e = exp(-fabs(z));

	return z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* Summed logistic loss of a block; residual sigma - y, weight sigma(1-sigma). */
static double
logistic_block(const double *z, const double *y, int n, double *resid,
			   double *weight)
{
	double		sum = 0.0;
	int			i;

	for (i = 0; i < n; i++)
	{
		double		e = exp(-fabs(z[i]));
		double		p = z[i] >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);

		sum += Max(z[i], 0.0) + log1p(e) - y[i] * z[i];
		resid[i] = p - y[i];
		if (weight)
			weight[i] = e / ((1.0 + e) * (1.0 + e));	/* p(1-p), no cancellation */
	}
	return sum;
}

/*
 * Any logit: the sigmoid is below 1, w = s(1 - s) below 1/4, |w'| below
 * 1 / (6 sqrt 3) (at s = (3 -+ sqrt 3) / 6), |s - y| <= 1, and |w'| =
 * w |1 - 2s| <= w.
 */
static void
logistic_curvature(double ceiling, LossCurvature *c)
{
	(void) ceiling;
	c->mean = 1.0;
	c->weight = 0.25;
	c->lipschitz = 0.09622504486493763;
	c->unit_residual = true;
	c->weight_log_lipschitz = true;
}

const LossFunctions loss_logistic = {
	.name = "logistic",
	.constant_hessian = false,
	.binary_labels = true,
	.target = LOSS_TARGET_BINARY,
	.block = logistic_block,
	.predict = sigmoid,
	.curvature = logistic_curvature,
};
