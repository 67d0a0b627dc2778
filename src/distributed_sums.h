/*-------------------------------------------------------------------------
 *
 * distributed_sums.h
 *	  A solver pass as an aggregate Citus runs on each shard (see
 *	  distributed_sums.c), and the layout its coordinator and its workers
 *	  share.
 *
 * A pass is unlearn._pass_sums(spec, raw): spec (float8[]) says what to
 * sum and at which parameters, raw (float8[]) is one row as the source
 * holds it: the target, the feature columns' values, log(exposure) last
 * when the model has one.  The state is a float8[] whose partials
 * unlearn._pass_combine adds up, so Citus pushes the aggregate down to
 * the shards and ships each shard's partial sums, never its rows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_DISTRIBUTED_SUMS_H
#define UNLEARN_DISTRIBUTED_SUMS_H

#include "solver.h"

/* What a pass sums: spec[PASS_SPEC_KIND]. */
#define PASS_SUMS			1	/* objective and gradient */
#define PASS_SUMS_HESSIAN	2	/* and the Hessian's upper triangle */
#define PASS_STATISTICS		3	/* X'X, X'y, SumStats, the largest row norm */
#define PASS_VERIFY			4	/* verify_model's: two fits' predictions, scaled targets */

/*
 * The spec's header; then center[nfeat], inv_scale[nfeat], theta[d];
 * PASS_VERIFY, then theta_b[d] and weight[d] too.
 */
#define PASS_SPEC_MAGIC		0
#define PASS_SPEC_KIND		1
#define PASS_SPEC_LOSS		2	/* 0 linear, 1 logistic, 2 Poisson */
#define PASS_SPEC_INTERCEPT	3
#define PASS_SPEC_NFEAT		4
#define PASS_SPEC_OFFSET	5	/* raw ends with log(exposure) */
#define PASS_SPEC_OVERFLOW	6	/* an infinite objective is allowed */
#define PASS_SPEC_HEADER	7
#define PASS_SPEC_MAGIC_VALUE 7130501.0

/*
 * A state: [kind, rows, ...].  A sums pass: objective, gradient[d],
 * Hessian[d * d] (upper triangle; PASS_SUMS: none).  A statistics pass:
 * the SumStats summed (STATE_STAT_SUMS of them), the two kept as maxima,
 * X'y[d], X'X[d * d] (upper triangle).  A verify pass: the largest
 * |predict(x'theta) - predict(x'theta_b)| over the rows (no offset, as
 * verify_model compares predictions locally) and the sum of
 * |y| sqrt(sum_t weight_t x_t^2).
 */
#define STATE_KIND			0
#define STATE_ROWS			1
#define STATE_BODY			2
#define STATE_STAT_SUMS		7	/* terms, norm2, rows_norm2, rnorm, rows_rnorm, znorm, positives */
#define STATE_STAT_MAXIMA	2	/* max_logit, max_row_norm */
#define STATE_VERIFY_MAX	STATE_BODY	/* the largest prediction difference */
#define STATE_VERIFY_SUM	(STATE_BODY + 1)	/* the scaled targets' sum */

/* The loss of spec code c, or NULL. */
extern const LossFunctions *pass_loss_of_code(int c);

/* The spec code of a loss (it must have one: see pass_loss_of_code). */
extern int	pass_loss_code(const LossFunctions *loss);

/* Doubles of a state of kind for d terms. */
extern int	pass_state_length(int kind, int d);

/* Reads a combined statistics state into SumStats and its sums. */
extern void pass_state_statistics(const double *state, int d, double *gram, double *xty,
								  SumStats *stats, double *max_row_norm);

#endif							/* UNLEARN_DISTRIBUTED_SUMS_H */
