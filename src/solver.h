/*-------------------------------------------------------------------------
 *
 * solver.h
 *	  Fitting a model to the optimum of its objective: Newton's method with
 *	  a backtracking line search, to a gradient-norm tolerance.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_SOLVER_H
#define UNLEARN_SOLVER_H

#include "dataset.h"
#include "loss.h"
#include "options.h"

/* A fitted model: parameters and the Hessian of the objective there. */
typedef struct FitResult
{
	int			nterms;
	double	   *theta;
	double	   *hessian;		/* nterms x nterms, full symmetric */
	double		objective;
	double		gradient_norm;
	double		rcond;			/* reciprocal condition estimate of hessian */
	int			iterations;
} FitResult;

/* Fits the model to the dataset; raises an error if it cannot converge. */
extern FitResult *solver_fit(Dataset *ds, const LossFunctions *loss,
							 const TrainOptions *opts, const char *model_name);

/*
 * One pass over the data at theta: returns the objective, fills the
 * gradient and, unless hessian is NULL, the full symmetric Hessian.
 */
extern double solver_evaluate(Dataset *ds, const LossFunctions *loss,
							  double l2, bool intercept, const double *theta,
							  double *gradient, double *hessian);

#endif							/* UNLEARN_SOLVER_H */
