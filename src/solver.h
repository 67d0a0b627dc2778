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
	double	   *gradient;		/* of the objective at theta */
	double		rcond;			/* reciprocal condition estimate of hessian */
	int			iterations;
	double		gradient_scale; /* max(1, |grad L| at the start): tolerance unit */
	/* sufficient statistics of the training rows, for erasure */
	double	   *gram;			/* X'X, full symmetric */
	double	   *xty;			/* X'y */
	double		max_row_norm;	/* max_i |x_i| */
	bool		separable;		/* logistic, l2 = 0: the classes are separable */
} FitResult;

/*
 * Fits the model to the dataset; raises an error if it cannot converge.
 * Starts from theta0 when given (a refresh), else from zero.  Separable
 * classes are not an error: fit->separable says so, and the caller tells
 * whom it should.
 */
extern FitResult *solver_fit(Dataset *ds, const LossFunctions *loss,
							 const TrainOptions *opts, const char *model_name,
							 const double *theta0);

/* Fills fit's X'X, X'y and largest row norm from one pass over the data. */
extern void solver_statistics(Dataset *ds, FitResult *fit);

/*
 * The objective, its gradient and (unless hessian is NULL) its Hessian at
 * theta, summed over rows given block by block, for a caller that reads
 * the rows itself: begin (zeroes gradient and hessian), add every row
 * once, end (adds the penalty; returns the objective).
 */
typedef struct SolverSums
{
	const LossFunctions *loss;
	int			d;
	const double *theta;
	double		objective;
	double	   *gradient;
	double	   *hessian;
	double	   *z;				/* per block: logits, residuals, weights */
	double	   *resid;
	double	   *weight;
	double	   *scaled;			/* per block: sqrt(weight)-scaled rows */
} SolverSums;

extern void solver_sums_begin(SolverSums *sums, const LossFunctions *loss, int d,
							  const double *theta, double *gradient, double *hessian);
extern void solver_sums_add(SolverSums *sums, const double *X, const double *y, int nrows);
extern double solver_sums_end(SolverSums *sums, double l2, bool intercept);

/*
 * One pass over the data at theta: returns the objective, fills the
 * gradient and, unless hessian is NULL, the full symmetric Hessian.
 */
extern double solver_evaluate(Dataset *ds, const LossFunctions *loss,
							  double l2, bool intercept, const double *theta,
							  double *gradient, double *hessian);

#endif							/* UNLEARN_SOLVER_H */
