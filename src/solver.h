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

/*
 * What the rounding of a model's kept sums depends on (see removal.c):
 * counters over the row terms summed into them since they were last
 * computed from scratch (a row taken out or put back again counts once
 * more), and over the rows the model holds now.  A term's "residual" is
 * y (ridge: the sums are X'X and X'y) or s(x'theta_ref) - y (logistic:
 * the gradient at theta_ref).
 */
typedef struct SumStats
{
	int64		terms;			/* N: summation steps (rows, plus one per update) */
	double		norm2;			/* P: sum of |x|^2 over the terms */
	double		rows_norm2;		/* Q: sum of |x|^2 over the current rows */
	double		rnorm;			/* sum of |residual| |x| over the terms */
	double		rows_rnorm;		/* the same over the current rows */
	double		znorm;			/* logistic, Poisson: sum of |x| (|x|'|theta_ref|) over the terms */
	int64		positives;		/* logistic: current rows labelled 1; Poisson: counts above 0 */

	/*
	 * Logistic, Poisson: at least the largest logit x'theta_ref of any
	 * current row, its rounding included (rows leaving keep it an upper
	 * bound); -DBL_MAX: no row yet.  Poisson's curvature bound is taken
	 * from it (LossCurvature).
	 */
	double		max_logit;
} SumStats;

/*
 * Multinomial: adds rows' statistics to st with a sign (+1 in, -1 out) as
 * new terms, R their residuals p - e_y (rows x K) at theta (K blocks of
 * d); returns the largest row norm.
 */
extern double solver_stats_add_classes(SumStats *st, const double *X, const double *R,
									   int rows, int d, int K, const double *theta,
									   double sign);

/*
 * Multinomial: the largest |x|'|theta_k| over the K class blocks of theta,
 * what bounds the rounding of a row's logits.
 */
extern double solver_class_logit_magnitude(const double *x, int d, int K,
										   const double *theta);

/* Empty statistics: no term, no row. */
extern void solver_stats_init(SumStats *st);

/* Adds the statistics of other rows, part, to st. */
extern void solver_stats_merge(SumStats *st, const SumStats *part);

/* A fitted model: parameters and the Hessian of the objective there. */
typedef struct FitResult
{
	int			nterms;
	int			nparams;		/* nterms, or K nterms for multinomial (class-major) */
	double	   *theta;
	double	   *hessian;		/* nterms x nterms, full symmetric */
	double		objective;
	double		gradient_norm;
	double	   *gradient;		/* of the objective at theta */
	double		rcond;			/* reciprocal condition estimate of hessian */
	double		jacobi_rcond;	/* the same of its Jacobi-scaled form (min_rcond's test) */
	double		error_bound;	/* logistic: bound on |grad L(theta)|, rounding included */
	int			iterations;
	double		gradient_scale; /* max(1, |grad L| at the start): tolerance unit */
	/* sufficient statistics of the training rows, for erasure */
	double	   *gram;			/* X'X, full symmetric */
	double	   *xty;			/* X'y */
	double		max_row_norm;	/* max_i |x_i| */
	bool		separable;		/* logistic, l2 = 0: the classes are separable */
	SumStats	stats;			/* of the rows, at theta (see removal.c) */
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

/*
 * Fills fit's X'X, X'y, largest row norm and row statistics from one pass
 * over the data.
 */
extern void solver_statistics(Dataset *ds, FitResult *fit, const LossFunctions *loss);

/*
 * Adds a block of nrows rows (X, y, offsets or NULL) to those statistics:
 * X'X (upper triangle), X'y, the rows' SumStats at theta (K classes for
 * multinomial, else 1) and the largest row norm.
 */
extern void solver_statistics_add(const LossFunctions *loss, int d, int K, const double *theta,
								  const double *X, const double *y, const double *offset,
								  int nrows, double *gram, double *xty, SumStats *stats,
								  double *max_row_norm);

/*
 * The objective, its gradient and (unless hessian is NULL) its Hessian at
 * theta, summed over rows given block by block, for a caller that reads
 * the rows itself: begin (zeroes gradient and hessian), add every row
 * once, end (adds the penalty; returns the objective).
 */
typedef struct SolverSums
{
	const LossFunctions *loss;
	int			d;				/* terms */
	int			nclasses;		/* multinomial: K parameter blocks of d; else 1 */
	const double *theta;
	double		objective;
	double	   *gradient;
	double	   *hessian;
	double	   *z;				/* per block: logits, residuals, weights */
	double	   *resid;
	double	   *weight;
	double	   *scaled;			/* per block: sqrt(weight)-scaled rows */
	/* optional, set after begin: what else the pass sums (NULL: nothing) */
	double	   *gram;			/* += X'X (upper triangle; end symmetrizes) */
	SumStats   *stats;			/* += the rows' statistics at theta */
	double		max_row_norm;	/* with stats: max_i |x_i| */
	const double *penalty_weights;	/* what multiplies l2 per term (NULL: 1) */
	bool		may_overflow;	/* an infinite objective is the caller's to judge */
	double	   *class_z;		/* multinomial, per block: probabilities, residuals */
	double	   *class_r;
	double	   *block;			/* multinomial: one d x d Gram block */
} SolverSums;

extern void solver_sums_begin(SolverSums *sums, const LossFunctions *loss, int d,
							  int nclasses, const double *theta, double *gradient,
							  double *hessian);
extern void solver_sums_add(SolverSums *sums, const double *X, const double *y,
							const double *offset, int nrows);
extern double solver_sums_end(SolverSums *sums, double l2, bool intercept);

/*
 * Adds rows' statistics to st: |x|^2, |residual| |x| (resid: per row, the
 * residual or its absolute value), |x| (|x|'|theta|) and the largest logit
 * (offset included, unless NULL) when theta is given, and the targets
 * above 0 when count_positives; as new terms and as current rows.
 * Returns the largest row norm.
 */
extern double solver_stats_add(SumStats *st, const double *X, const double *resid,
							   const double *y, const double *offset, int rows, int d,
							   const double *theta, bool count_positives);

/*
 * The upper bound on a logit x'theta computed as z, given zabs =
 * |x|'|theta|: z plus its rounding (gamma_d zabs, with a few steps more).
 */
extern double solver_logit_ceiling(double z, double zabs, int d);

/*
 * solver_evaluate with the penalty on term j (of every class block)
 * weighted by weights[j] (NULL: 1), as TrainOptions.penalty_weights.
 */
extern double solver_evaluate_weighted(Dataset *ds, const LossFunctions *loss, double l2,
									   const double *weights, bool intercept,
									   const double *theta, double *gradient,
									   double *hessian);

/*
 * One pass over the data at theta: returns the objective, fills the
 * gradient and, unless hessian is NULL, the full symmetric Hessian.
 */
extern double solver_evaluate(Dataset *ds, const LossFunctions *loss,
							  double l2, bool intercept, const double *theta,
							  double *gradient, double *hessian);

#endif							/* UNLEARN_SOLVER_H */
