/*-------------------------------------------------------------------------
 *
 * loss_poisson.c
 *	  Poisson regression with the log link: l = e^z - y z, y a count.
 *
 * The mean is mu = e^z, the residual mu - y and the curvature mu: unlike
 * the logistic's, neither is bounded, so the erasure bound takes them over
 * the logits the model's rows can reach (removal.c, LossCurvature).  A
 * logit past POISSON_MAX_LOGIT (a mean of about 1e304) makes the objective
 * infinite, which the solver's line search steps back from.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "loss.h"

/* Logits above this overflow e^z (log DBL_MAX is about 709.78). */
#define POISSON_MAX_LOGIT 700.0

/* Summed Poisson loss of a block; residual e^z - y, weight e^z. */
static double
poisson_block(const double *z, const double *y, int n, double *resid,
			  double *weight)
{
	double		sum = 0.0;
	int			i;

	for (i = 0; i < n; i++)
	{
		double		mu = z[i] <= POISSON_MAX_LOGIT ? exp(z[i]) : INFINITY;

		sum += mu - y[i] * z[i];
		resid[i] = mu - y[i];
		if (weight)
			weight[i] = mu;
	}
	return sum;
}

/* The Poisson mean e^z (the expected count). */
static double
poisson_predict(double z)
{
	return exp(z);
}

/*
 * Logits at or below the ceiling: mu, w and |w'| are all e^z, largest at
 * the ceiling (infinite past POISSON_MAX_LOGIT: no bound).
 */
static void
poisson_curvature(double ceiling, LossCurvature *c)
{
	double		top = ceiling <= POISSON_MAX_LOGIT ? exp(ceiling) : INFINITY;

	c->mean = top;
	c->weight = top;
	c->lipschitz = top;
	c->unit_residual = false;
	c->weight_log_lipschitz = true;
}

const LossFunctions loss_poisson = {
	.name = "poisson",
	.constant_hessian = false,
	.binary_labels = false,
	.target = LOSS_TARGET_COUNT,
	.block = poisson_block,
	.predict = poisson_predict,
	.curvature = poisson_curvature,
};
