/*-------------------------------------------------------------------------
 *
 * loss.h
 *	  Per-model-type loss behind one small interface.
 *
 * A model's objective is L(theta) = sum_i l(x_i' theta; y_i) + (l2/2)|w|^2
 * with the intercept unpenalized.  Each loss gives, for a block of linear
 * predictors z_i = x_i' theta, the summed loss and its first and second
 * derivatives in z, from which the solver forms gradient X'r and Hessian
 * X' diag(w) X.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_LOSS_H
#define UNLEARN_LOSS_H

typedef struct LossFunctions
{
	const char *name;			/* model type: "linear" or "logistic" */
	bool		constant_hessian;	/* Hessian does not depend on theta */
	bool		binary_labels;	/* targets must be 0 or 1 */

	/*
	 * Returns sum_i l(z_i; y_i) over n rows; fills resid[i] = dl/dz and,
	 * unless weight is NULL, weight[i] = d2l/dz2.
	 */
	double		(*block) (const double *z, const double *y, int n,
						  double *resid, double *weight);

	/* The prediction for a linear predictor z (value or probability). */
	double		(*predict) (double z);
} LossFunctions;

extern const LossFunctions loss_linear;
extern const LossFunctions loss_logistic;

/* The loss of a model type name as stored, or NULL if the name is unknown. */
extern const LossFunctions *loss_by_name(const char *name);

/*
 * The loss of a model type as a caller names it: linear, ridge (the same)
 * or logistic, in any case; NULL if unknown.  A model stores the loss's
 * own name.
 */
extern const LossFunctions *loss_by_type_name(const char *name);

#endif							/* UNLEARN_LOSS_H */
