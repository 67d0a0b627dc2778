/*-------------------------------------------------------------------------
 *
 * parallel_sums.h
 *	  Solver passes shared with parallel workers: the rows a training run
 *	  holds in memory are copied once to dynamic shared memory, cut into a
 *	  fixed number of chunks, and every pass's loss, gradient and Hessian
 *	  are summed a chunk at a time by the leader and its workers, then
 *	  added up by the leader in chunk order.  The chunks depend on the
 *	  rows and the parameters only, so the result is the same to the bit
 *	  whatever the number of workers that ran (none included).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_PARALLEL_SUMS_H
#define UNLEARN_PARALLEL_SUMS_H

#include "dataset.h"
#include "loss.h"
#include "solver.h"

typedef struct ParallelSums ParallelSums;

/* Rows below which a training run does not start workers (unlearn.parallel_min_rows). */
extern int	unlearn_parallel_min_rows;

/* Defines unlearn.parallel_min_rows. */
extern void parallel_sums_define(void);

/*
 * Starts parallel passes over ds (held in memory) for loss: NULL, and
 * nothing started, when the rows are too few, workers are not allowed
 * (max_parallel_maintenance_workers = 0, parallel mode already), or the
 * chunks' sums would not fit.  Enters parallel mode until
 * parallel_sums_end.
 */
extern ParallelSums *parallel_sums_begin(Dataset *ds, const LossFunctions *loss,
										 const char *model_name);

/*
 * One pass at theta: the loss's objective (returned), gradient and, when
 * hessian is not NULL, Hessian (whole, not only a triangle), without the
 * penalty.  may_overflow: an infinite objective is the caller's to judge.
 */
extern double parallel_sums_evaluate(ParallelSums *ps, const double *theta,
									 double *gradient, double *hessian, bool may_overflow);

/*
 * The statistics pass erasure needs (solver_statistics), shared with the
 * workers: X'X's upper triangle and X'y added into gram and xty, the
 * rows' SumStats at theta into stats, the largest row norm.
 */
extern void parallel_sums_statistics(ParallelSums *ps, const double *theta, double *gram,
									 double *xty, SumStats *stats, double *max_row_norm);

/* Stops the workers and leaves parallel mode. */
extern void parallel_sums_end(ParallelSums *ps);

#endif							/* UNLEARN_PARALLEL_SUMS_H */
