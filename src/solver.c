/*-------------------------------------------------------------------------
 *
 * solver.c
 *	  Fitting a model to the optimum of its objective.
 *
 * Newton's method: at theta, one pass over the data gives the objective,
 * the gradient and the Hessian (built with dsyrk, block by block while the
 * block is in cache); the step solves H d = -g by Cholesky, with a
 * condition check, and a backtracking (Armijo) line search keeps the
 * objective decreasing.  For ridge the Hessian is constant and the first
 * step lands on the optimum.
 *
 * Stopping rule: |g| <= tol * max(1, |g0|).  Near the optimum the Newton
 * decrement g'H^-1 g falls to the rounding noise of the objective, where
 * a line search can no longer see progress; from there full steps are
 * taken (iterative refinement) while they reduce |g|, and the first that
 * does not ends the fit: that is the optimum to working precision.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "miscadmin.h"

#include "linalg.h"
#include "parallel_sums.h"
#include "removal.h"
#include "solver.h"
#include "distributed.h"
#include "unlearn.h"

#define ARMIJO_SLOPE	1e-4
#define MAX_HALVINGS	50
/* Decrement below this fraction of |objective| is rounding noise. */
#define NOISE_DECREMENT	1e-13

/*
 * Multinomial: a Hessian costs about (K + 1) d / 4 gradients, so a step
 * reuses the last one's factor (a chord step, still a descent direction
 * for the line search) while it takes the gradient down to this share
 * or less, and only then evaluates a new one; the fit ends with the
 * Hessian at its optimum all the same, which erasure needs.
 */
#define REUSE_RATE		0.25
/* Mean logistic loss below this at the optimum means separable classes. */
#define SEPARABLE_LOSS_PER_ROW 1e-6

/* Raises the error for an objective that overflowed. */
static void
overflow_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("the objective overflowed while fitting"),
			 errhint("Standardize the features, or raise l2.")));
}

/*
 * Adds the ridge penalty (l2/2)|w|^2, intercept excluded, at theta; with
 * weights, (l2/2) sum_j weights_j w_j^2.  With K > 1 parameter blocks of d
 * (multinomial), every block's weights alike, and with an intercept
 * (l2/2)(sum_k b_k)^2, which picks the intercepts that sum to 0
 * (loss_multinomial.c).
 */
static double
add_penalty(int d, int K, double l2, const double *weights, bool intercept,
			const double *theta, double *gradient, double *hessian)
{
	Size		p = (Size) d * K;
	double		penalty = 0.0;
	int			j,
				k,
				l;

	for (k = 0; k < K; k++)
		for (j = intercept ? 1 : 0; j < d; j++)
		{
			double		l2_j = weights ? l2 * weights[j] : l2;
			Size		t = (Size) k * d + j;

			penalty += 0.5 * l2_j * theta[t] * theta[t];
			gradient[t] += l2_j * theta[t];
			if (hessian)
				hessian[t * p + t] += l2_j;
		}
	if (K > 1 && intercept)
	{
		double		sum = 0.0;

		for (k = 0; k < K; k++)
			sum += theta[(Size) k * d];
		penalty += 0.5 * l2 * sum * sum;
		for (k = 0; k < K; k++)
		{
			gradient[(Size) k * d] += l2 * sum;
			if (hessian)
				for (l = 0; l < K; l++)
					hessian[(Size) k * d * p + (Size) l * d] += l2;
		}
	}
	return penalty;
}

/* z_i += offset_i over n logits (offset NULL: nothing). */
static inline void
add_offset(double *z, const double *offset, int n)
{
	int			i;

	if (offset)
		for (i = 0; i < n; i++)
			z[i] += offset[i];
}

/* Starts sums of the objective at theta (see solver.h). */
void
solver_sums_begin(SolverSums *sums, const LossFunctions *loss, int d, int nclasses,
				  const double *theta, double *gradient, double *hessian)
{
	int			p = d * Max(nclasses, 1);

	sums->loss = loss;
	sums->d = d;
	sums->nclasses = Max(nclasses, 1);
	sums->theta = theta;
	sums->objective = 0.0;
	sums->gradient = gradient;
	sums->hessian = hessian;
	sums->penalty_weights = NULL;
	sums->may_overflow = false;
	sums->z = palloc(sizeof(double) * DATASET_BLOCK_ROWS);
	sums->resid = palloc(sizeof(double) * DATASET_BLOCK_ROWS);
	sums->weight = palloc(sizeof(double) * DATASET_BLOCK_ROWS);
	sums->scaled = hessian && !loss->constant_hessian ?
		palloc(sizeof(double) * DATASET_BLOCK_ROWS * d) : NULL;
	sums->gram = NULL;
	sums->stats = NULL;
	sums->max_row_norm = 0.0;
	if (loss->multiclass)
	{
		/* Multinomial: probabilities, residuals and one Gram block at a time. */
		sums->class_z = palloc(sizeof(double) * DATASET_BLOCK_ROWS * sums->nclasses);
		sums->class_r = palloc(sizeof(double) * DATASET_BLOCK_ROWS * sums->nclasses);
		sums->block = palloc(sizeof(double) * d * d);
		if (sums->scaled == NULL && hessian)
			sums->scaled = palloc(sizeof(double) * DATASET_BLOCK_ROWS * d);
	}
	memset(gradient, 0, sizeof(double) * p);
	if (hessian)
		memset(hessian, 0, sizeof(double) * p * p);
}

/*
 * Adds a block of rows' terms to the sums (the Hessian's by dsyrk, in
 * cache); offset: each row's log(exposure), added to its logit, or NULL.
 */
void
solver_sums_add(SolverSums *sums, const double *X, const double *y, const double *offset,
				int nrows)
{
	const LossFunctions *loss = sums->loss;
	int			d = sums->d;
	int			done;

	for (done = 0; done < nrows; done += DATASET_BLOCK_ROWS)
	{
		const double *bx = &X[(Size) done * d];
		int			rows = Min(DATASET_BLOCK_ROWS, nrows - done);

		if (loss->multiclass)
		{
			sums->objective += multinomial_block_add(sums->nclasses, d, sums->theta, bx,
													 &y[done], rows, sums->gradient,
													 sums->hessian, sums->class_z,
													 sums->class_r, sums->weight,
													 sums->block, sums->scaled);
			if (sums->gram)
				linalg_gram_add(sums->gram, d, bx, rows, NULL, 1.0, NULL);
			if (sums->stats)
			{
				double		m = solver_stats_add_classes(sums->stats, bx, sums->class_r,
														 rows, d, sums->nclasses,
														 sums->theta, 1.0);

				sums->max_row_norm = Max(sums->max_row_norm, m);
			}
			continue;
		}
		linalg_rows_matvec(bx, rows, d, sums->theta, sums->z);
		add_offset(sums->z, offset ? &offset[done] : NULL, rows);
		sums->objective += loss->block(sums->z, &y[done], rows, sums->resid,
									   sums->hessian ? sums->weight : NULL);
		if (!isfinite(sums->objective) && !sums->may_overflow)
			overflow_error();
		linalg_rows_tmatvec_add(bx, rows, d, sums->resid, sums->gradient);
		if (sums->hessian)
			linalg_gram_add(sums->hessian, d, bx, rows,
							loss->constant_hessian ? NULL : sums->weight, 1.0, sums->scaled);
		if (sums->gram)
			linalg_gram_add(sums->gram, d, bx, rows, NULL, 1.0, NULL);
		if (sums->stats)
		{
			double		m = solver_stats_add(sums->stats, bx, sums->resid, &y[done],
											 offset ? &offset[done] : NULL, rows, d,
											 loss->constant_hessian ? NULL : sums->theta,
											 loss->target != LOSS_TARGET_REAL);

			sums->max_row_norm = Max(sums->max_row_norm, m);
		}
	}
}

/* Adds the statistics of other rows, part, to st (see solver.h). */
void
solver_stats_merge(SumStats *st, const SumStats *part)
{
	st->terms += part->terms;
	st->norm2 += part->norm2;
	st->rows_norm2 += part->rows_norm2;
	st->rnorm += part->rnorm;
	st->rows_rnorm += part->rows_rnorm;
	st->znorm += part->znorm;
	st->positives += part->positives;
	st->max_logit = Max(st->max_logit, part->max_logit);
}

/* Empty statistics (see solver.h). */
void
solver_stats_init(SumStats *st)
{
	memset(st, 0, sizeof(SumStats));
	st->max_logit = -DBL_MAX;
}

/* A computed logit plus its rounding: gamma_(d+3) |x|'|theta| (solver.h). */
double
solver_logit_ceiling(double z, double zabs, int d)
{
	double		ku = (d + 3) * (DBL_EPSILON / 2);

	return z + ku / (1.0 - ku) * zabs;
}

/* Adds rows' statistics to st as new terms and as current rows; returns max |x_i|. */
double
solver_stats_add(SumStats *st, const double *X, const double *resid, const double *y,
				 const double *offset, int rows, int d, const double *theta,
				 bool count_positives)
{
	double		max_norm = 0.0;
	int			i,
				j;

	for (i = 0; i < rows; i++)
	{
		const double *x = &X[(Size) i * d];
		double		norm2 = linalg_dot(x, x, d);
		double		norm = sqrt(norm2);

		max_norm = Max(max_norm, norm);
		st->norm2 += norm2;
		st->rows_norm2 += norm2;
		st->rnorm += fabs(resid[i]) * norm;
		st->rows_rnorm += fabs(resid[i]) * norm;
		if (theta)
		{
			double		zabs = 0.0,
						z = 0.0;

			for (j = 0; j < d; j++)
			{
				zabs += fabs(x[j] * theta[j]);
				z += x[j] * theta[j];
			}
			/* The offset's own rounding (of its log) is within |offset| u. */
			if (offset)
			{
				z += offset[i];
				zabs += fabs(offset[i]);
			}
			st->znorm += norm * zabs;
			st->max_logit = Max(st->max_logit, solver_logit_ceiling(z, zabs, d));
		}
		if (count_positives && y[i] > 0)
			st->positives++;
	}
	st->terms += rows;
	return max_norm;
}

/*
 * Multinomial: adds rows' statistics to st as new terms and as current
 * rows, a row's residual being |p - e_y| (R: rows x K) and its logits'
 * magnitude the largest |x|'|theta_k| over the classes; returns max |x_i|.
 */
double
solver_stats_add_classes(SumStats *st, const double *X, const double *R, int rows, int d,
						 int K, const double *theta, double sign)
{
	double		max_norm = 0.0;
	int			i;

	for (i = 0; i < rows; i++)
	{
		const double *x = &X[(Size) i * d];
		double		norm2 = linalg_dot(x, x, d);
		double		norm = sqrt(norm2);
		double		rnorm = linalg_norm2(&R[(Size) i * K], K);

		max_norm = Max(max_norm, norm);
		st->norm2 += norm2;
		st->rows_norm2 += sign * norm2;
		st->rnorm += rnorm * norm;
		st->rows_rnorm += sign * rnorm * norm;
		st->znorm += norm * solver_class_logit_magnitude(x, d, K, theta);
	}
	st->terms += rows;
	return max_norm;
}

/* The largest |x|'|theta_k| over K class blocks of theta (solver.h). */
double
solver_class_logit_magnitude(const double *x, int d, int K, const double *theta)
{
	double		top = 0.0;
	int			j,
				k;

	for (k = 0; k < K; k++)
	{
		double		zabs = 0.0;

		for (j = 0; j < d; j++)
			zabs += fabs(x[j] * theta[(Size) k * d + j]);
		top = Max(top, zabs);
	}
	return top;
}

/* Adds the penalty, completes the Hessian and returns the objective. */
double
solver_sums_end(SolverSums *sums, double l2, bool intercept)
{
	sums->objective += add_penalty(sums->d, sums->nclasses, l2, sums->penalty_weights,
								   intercept, sums->theta, sums->gradient, sums->hessian);
	/* Multinomial's Hessian is whole already (each block symmetrized as added). */
	if (sums->hessian && !sums->loss->multiclass)
		linalg_symmetrize(sums->hessian, sums->d);
	if (sums->gram)
		linalg_symmetrize(sums->gram, sums->d);
	pfree(sums->z);
	pfree(sums->resid);
	pfree(sums->weight);
	if (sums->scaled)
		pfree(sums->scaled);
	if (sums->loss->multiclass)
	{
		pfree(sums->class_z);
		pfree(sums->class_r);
		pfree(sums->block);
	}
	return sums->objective;
}

/*
 * One pass over the data at theta: objective, gradient, optional Hessian,
 * the penalty weighted per term by weights (NULL: not).
 */
static double
evaluate_weighted(Dataset *ds, const LossFunctions *loss, double l2, const double *weights,
				  bool intercept, const double *theta, double *gradient, double *hessian,
				  bool may_overflow)
{
	SolverSums	sums;
	DataBlock  *blk;

	if (ds->parallel)
	{
		/* Shared with workers: the loss's sums, then the penalty here. */
		double		objective = parallel_sums_evaluate(ds->parallel, theta, gradient, hessian,
													   may_overflow);

		return objective + add_penalty(ds->fs->nterms, Max(ds->nclasses, 1), l2, weights,
									   intercept, theta, gradient, hessian);
	}
	if (ds->distributed)
	{
		/* On the shards: the loss's sums, then the penalty here. */
		double		objective = distributed_evaluate(ds, loss, theta, gradient, hessian,
													 may_overflow);

		return objective + add_penalty(ds->fs->nterms, 1, l2, weights, intercept, theta,
									   gradient, hessian);
	}
	solver_sums_begin(&sums, loss, ds->fs->nterms, ds->nclasses, theta, gradient, hessian);
	sums.penalty_weights = weights;
	sums.may_overflow = may_overflow;
	dataset_begin_pass(ds);
	while ((blk = dataset_next_block(ds)) != NULL)
		solver_sums_add(&sums, blk->X, blk->y, blk->offset, blk->nrows);
	return solver_sums_end(&sums, l2, intercept);
}

/* solver_evaluate with the penalty weighted per term (see solver.h). */
double
solver_evaluate_weighted(Dataset *ds, const LossFunctions *loss, double l2,
						 const double *weights, bool intercept, const double *theta,
						 double *gradient, double *hessian)
{
	return evaluate_weighted(ds, loss, l2, weights, intercept, theta, gradient, hessian, false);
}

/* One pass over the data at theta: objective, gradient, optional Hessian. */
double
solver_evaluate(Dataset *ds, const LossFunctions *loss, double l2,
				bool intercept, const double *theta, double *gradient,
				double *hessian)
{
	return evaluate_weighted(ds, loss, l2, NULL, intercept, theta, gradient, hessian, false);
}

/* Adds a block of rows to the statistics a fit keeps for erasure (see solver.h). */
void
solver_statistics_add(const LossFunctions *loss, int d, int K, const double *theta,
					  const double *X, const double *y, const double *offset, int nrows,
					  double *gram, double *xty, SumStats *stats, double *max_row_norm)
{
	int			block = Max(Min(nrows, DATASET_BLOCK_ROWS), 1);
	double	   *z = palloc(sizeof(double) * block);
	double	   *resid = palloc(sizeof(double) * block);
	double	   *class_p = NULL,
			   *class_r = NULL;
	int			done;

	if (loss->multiclass)
	{
		class_p = palloc(sizeof(double) * block * K);
		class_r = palloc(sizeof(double) * block * K);
	}
	linalg_gram_add(gram, d, X, nrows, NULL, 1.0, NULL);
	linalg_rows_tmatvec_add(X, nrows, d, y, xty);
	for (done = 0; done < nrows; done += DATASET_BLOCK_ROWS)
	{
		int			rows = Min(DATASET_BLOCK_ROWS, nrows - done);
		const double *bx = &X[(Size) done * d];
		const double *r = &y[done];
		double		m;

		if (loss->multiclass)
		{
			/* Multinomial: the rows' residual vectors at theta. */
			(void) multinomial_residuals(K, d, theta, bx, &y[done], rows, class_p, class_r);
			m = solver_stats_add_classes(stats, bx, class_r, rows, d, K, theta, 1.0);
			*max_row_norm = Max(*max_row_norm, m);
			continue;
		}
		if (!loss->constant_hessian)
		{
			linalg_rows_matvec(bx, rows, d, theta, z);
			add_offset(z, offset ? &offset[done] : NULL, rows);
			(void) loss->block(z, &y[done], rows, resid, NULL);
			r = resid;
		}
		m = solver_stats_add(stats, bx, r, &y[done], offset ? &offset[done] : NULL, rows, d,
							 loss->constant_hessian ? NULL : theta,
							 loss->target != LOSS_TARGET_REAL);
		*max_row_norm = Max(*max_row_norm, m);
	}
	pfree(z);
	pfree(resid);
	if (class_p)
	{
		pfree(class_p);
		pfree(class_r);
	}
}

/*
 * One more pass for what erasure needs: the Gram matrix X'X, X'y, the
 * largest row norm and the rows' statistics at fit->theta (for the
 * rounding of the kept sums: residuals at theta, y for ridge), over the
 * same rows; shared with the workers while a fit has them.
 */
void
solver_statistics(Dataset *ds, FitResult *fit, const LossFunctions *loss)
{
	int			d = ds->fs->nterms;
	DataBlock  *blk;

	fit->gram = palloc0(sizeof(double) * d * d);
	fit->xty = palloc0(sizeof(double) * d);
	fit->max_row_norm = 0.0;
	solver_stats_init(&fit->stats);
	if (ds->distributed)
		distributed_statistics(ds, loss, fit->theta, fit->gram, fit->xty, &fit->stats,
							   &fit->max_row_norm);
	else if (ds->parallel)
		parallel_sums_statistics(ds->parallel, fit->theta, fit->gram, fit->xty, &fit->stats,
								 &fit->max_row_norm);
	else
	{
		dataset_begin_pass(ds);
		while ((blk = dataset_next_block(ds)) != NULL)
			solver_statistics_add(loss, d, Max(ds->nclasses, 1), fit->theta, blk->X, blk->y,
								  blk->offset, blk->nrows, fit->gram, fit->xty, &fit->stats,
								  &fit->max_row_norm);
	}
	linalg_symmetrize(fit->gram, d);
}

/* The mean target per unit of exposure over the dataset's rows (one pass). */
static double
mean_target(Dataset *ds)
{
	double		sum = 0.0,
				exposure = 0.0;
	DataBlock  *blk;
	int			i;

	if (ds->distributed)
	{
		distributed_target_sums(ds, &sum, &exposure);
		return exposure > 0 ? sum / exposure : 0.0;
	}
	dataset_begin_pass(ds);
	while ((blk = dataset_next_block(ds)) != NULL)
		for (i = 0; i < blk->nrows; i++)
		{
			sum += blk->y[i];
			exposure += blk->offset ? exp(blk->offset[i]) : 1.0;
		}
	return exposure > 0 ? sum / exposure : 0.0;
}

/* The current point of the Newton iteration. */
typedef struct Point
{
	double	   *theta;
	double	   *gradient;
	double	   *hessian;
	double		objective;
	double		gradient_norm;
} Point;

/* Allocates a point of dimension d. */
static Point *
point_new(int d)
{
	Point	   *p = palloc0(sizeof(Point));

	p->theta = palloc0(sizeof(double) * d);
	p->gradient = palloc0(sizeof(double) * d);
	p->hessian = palloc0(sizeof(double) * d * d);
	return p;
}

/*
 * Evaluates the objective, gradient and Hessian at p->theta.  A trial
 * point (one the line search may step back from) whose objective or
 * gradient overflows (Poisson: a logit past e^700) gets an infinite
 * objective; any other is an error.
 */
static void
point_evaluate(Point *p, Dataset *ds, const LossFunctions *loss,
			   const TrainOptions *opts, const double *constant_hessian, bool trial,
			   bool with_hessian)
{
	int			d = ds->fs->nterms * Max(ds->nclasses, 1);	/* parameters */

	if (!with_hessian)
		p->objective = evaluate_weighted(ds, loss, opts->l2, opts->penalty_weights,
										 opts->intercept, p->theta, p->gradient, NULL, trial);
	else if (constant_hessian)
	{
		p->objective = evaluate_weighted(ds, loss, opts->l2, opts->penalty_weights,
										 opts->intercept, p->theta, p->gradient, NULL, trial);
		memcpy(p->hessian, constant_hessian, sizeof(double) * d * d);
	}
	else
		p->objective = evaluate_weighted(ds, loss, opts->l2, opts->penalty_weights,
										 opts->intercept, p->theta, p->gradient, p->hessian,
										 trial);
	p->gradient_norm = linalg_norm2(p->gradient, d);
	if (!isfinite(p->objective) || !isfinite(p->gradient_norm))
	{
		if (!trial)
			overflow_error();
		p->objective = INFINITY;
		p->gradient_norm = INFINITY;
	}
}

static FitResult *fit_to_optimum(Dataset *ds, const LossFunctions *loss,
								 const TrainOptions *opts, const char *model_name,
								 const double *theta0);

/*
 * Fits the model to the dataset, its passes shared with parallel workers
 * when it is large enough (parallel_sums.h); raises an error if it cannot
 * converge.
 */
FitResult *
solver_fit(Dataset *ds, const LossFunctions *loss, const TrainOptions *opts,
		   const char *model_name, const double *theta0)
{
	ParallelSums *ps = ds->parallel ? NULL : parallel_sums_begin(ds, loss, model_name);
	FitResult  *fit;

	if (ps == NULL)
		return fit_to_optimum(ds, loss, opts, model_name, theta0);
	ds->parallel = ps;
	PG_TRY();
	{
		fit = fit_to_optimum(ds, loss, opts, model_name, theta0);
	}
	PG_FINALLY();
	{
		/* After an error the context goes with the (sub)transaction. */
		ds->parallel = NULL;
	}
	PG_END_TRY();
	parallel_sums_end(ps);
	return fit;
}

/* Fits the model to the dataset by Newton's method (see solver_fit). */
static FitResult *
fit_to_optimum(Dataset *ds, const LossFunctions *loss, const TrainOptions *opts,
			   const char *model_name, const double *theta0)
{
	int			d = ds->fs->nterms * Max(ds->nclasses, 1);	/* parameters */
	Point	   *cur = point_new(d);
	Point	   *trial = point_new(d);
	double	   *factor = palloc(sizeof(double) * d * d);
	double	   *step = palloc(sizeof(double) * d);
	double	   *constant_hessian = NULL;
	char	   *what = psprintf("the Hessian of model \"%s\"", model_name);
	const char *hint = "Raise l2, or leave out collinear or constant features.";
	double		threshold;
	FitResult  *fit = palloc0(sizeof(FitResult));
	int			iter;
	bool		reuse = loss->multiclass;	/* chord steps (REUSE_RATE) */
	bool		fresh = true;	/* cur->hessian is cur's */
	bool		refactor = true;	/* factor is not yet of cur->hessian */

	/*
	 * Start at zero, with a logistic intercept at the log-odds of the
	 * labels, a Poisson one at the log of the mean count.
	 */
	if (theta0)
		memcpy(cur->theta, theta0, sizeof(double) * d);
	else if (loss->binary_labels && opts->intercept)
	{
		double		p = (double) ds->npositive / ds->nrows;

		cur->theta[0] = log(p / (1.0 - p));
	}
	else if (loss->target == LOSS_TARGET_COUNT && opts->intercept)
	{
		double		mean = mean_target(ds);

		if (mean > 0)
			cur->theta[0] = log(mean);
	}
	point_evaluate(cur, ds, loss, opts, NULL, false, true);
	if (loss->constant_hessian)
	{
		constant_hessian = palloc(sizeof(double) * d * d);
		memcpy(constant_hessian, cur->hessian, sizeof(double) * d * d);
	}
	threshold = opts->tol * Max(1.0, cur->gradient_norm);

	for (iter = 0;; iter++)
	{
		double		decrement;
		double		t;
		int			halvings;
		Point	   *swap;

		unlearn_progress("training \"%s\": iteration %d, objective %.10g, gradient norm %.3g",
						 model_name, iter, cur->objective, cur->gradient_norm);
		if (cur->gradient_norm <= threshold && !fresh)
		{
			point_evaluate(cur, ds, loss, opts, constant_hessian, false, true);
			fresh = true;
			refactor = true;
		}
		if (cur->gradient_norm <= threshold)
			break;
		if (iter == opts->max_iter)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("model \"%s\" did not converge within max_iter = %d iterations",
							model_name, opts->max_iter),
					 errdetail("The gradient norm is %.3g; the tolerance is %.3g.",
							   cur->gradient_norm, threshold),
					 errhint("Raise max_iter, or raise l2 if the classes are separable.")));

		/* Newton step: H step = -g (the last Hessian's factor when reused). */
		if (refactor)
		{
			memcpy(factor, cur->hessian, sizeof(double) * d * d);
			linalg_cholesky(factor, d, unlearn_min_rcond, what, hint);
			refactor = false;
		}
		for (int j = 0; j < d; j++)
			step[j] = -cur->gradient[j];
		linalg_cholesky_solve(factor, d, step, 1);
		decrement = -linalg_dot(cur->gradient, step, d);

		if (decrement <= NOISE_DECREMENT * Max(1.0, fabs(cur->objective)))
		{
			/* At rounding noise: a full step counts only if |g| shrinks. */
			for (int j = 0; j < d; j++)
				trial->theta[j] = cur->theta[j] + step[j];
			point_evaluate(trial, ds, loss, opts, constant_hessian, true, !reuse);
			if (!(trial->gradient_norm < cur->gradient_norm) && !fresh)
			{
				/* A chord step at rounding noise: Newton's own from here. */
				point_evaluate(cur, ds, loss, opts, constant_hessian, false, true);
				fresh = refactor = true;
				continue;
			}
			if (!(trial->gradient_norm < cur->gradient_norm))
				break;
		}
		else
		{
			t = 1.0;
			for (halvings = 0;; halvings++)
			{
				for (int j = 0; j < d; j++)
					trial->theta[j] = cur->theta[j] + t * step[j];
				point_evaluate(trial, ds, loss, opts, constant_hessian, true, !reuse);
				if (trial->objective <= cur->objective - ARMIJO_SLOPE * t * decrement)
					break;
				if (halvings == MAX_HALVINGS)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_EXCEPTION),
							 errmsg("the line search failed while fitting model \"%s\"",
									model_name),
							 errdetail("The gradient norm is %.3g.", cur->gradient_norm),
							 errhint("Standardize the features, or raise l2.")));
				t *= 0.5;
			}
		}
		if (reuse)
		{
			/* A chord step that did not take the gradient down enough: a new Hessian. */
			bool		slow = !(trial->gradient_norm <= REUSE_RATE * cur->gradient_norm);

			if (slow && trial->gradient_norm > threshold)
			{
				point_evaluate(trial, ds, loss, opts, constant_hessian, false, true);
				refactor = true;
			}
			fresh = refactor;
		}
		else
			refactor = true;
		swap = cur;
		cur = trial;
		trial = swap;
	}

	/*
	 * Without a penalty, a logistic loss that falls to (almost) zero means
	 * the classes are separable: the infimum is only approached as the
	 * weights grow without bound, and the "optimum" found is arbitrary.
	 */
	fit->separable = loss->binary_labels && opts->l2 == 0 &&
		cur->objective < SEPARABLE_LOSS_PER_ROW * ds->nrows;

	/* The Hessian at the optimum must be usable for erasure later. */
	memcpy(factor, cur->hessian, sizeof(double) * d * d);
	fit->rcond = linalg_cholesky_checked(factor, d, unlearn_min_rcond, what, hint,
										 &fit->jacobi_rcond);
	fit->nterms = ds->fs->nterms;
	fit->nparams = d;
	fit->theta = cur->theta;
	fit->hessian = cur->hessian;
	fit->objective = cur->objective;
	fit->gradient_norm = cur->gradient_norm;
	fit->gradient = cur->gradient;
	fit->iterations = iter;
	fit->gradient_scale = threshold / opts->tol;
	solver_statistics(ds, fit, loss);
	fit->error_bound = !loss->constant_hessian ?
		removal_bound_at_fit(loss, &fit->stats, fit->nterms, Max(ds->nclasses, 1), opts->l2,
							 fit->theta, fit->gradient, fit->max_row_norm) :
		fit->gradient_norm;
	return fit;
}
