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

const LossFunctions loss_linear = {
	.name = "linear",
	.constant_hessian = true,
	.binary_labels = false,
	.block = linear_block,
	.predict = linear_predict,
};

/* The loss of a model type name, or NULL if the name is unknown. */
const LossFunctions *
loss_by_name(const char *name)
{
	if (strcmp(name, loss_linear.name) == 0)
		return &loss_linear;
	if (strcmp(name, loss_logistic.name) == 0)
		return &loss_logistic;
	return NULL;
}

/*
 * The loss of a model type as a caller names it: linear, ridge (the same:
 * linear is ridge regression) or logistic, in any case; NULL if unknown.
 */
const LossFunctions *
loss_by_type_name(const char *name)
{
	if (pg_strcasecmp(name, "ridge") == 0)
		return &loss_linear;
	if (pg_strcasecmp(name, loss_linear.name) == 0)
		return &loss_linear;
	if (pg_strcasecmp(name, loss_logistic.name) == 0)
		return &loss_logistic;
	return NULL;
}
