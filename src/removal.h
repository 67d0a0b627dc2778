/*-------------------------------------------------------------------------
 *
 * removal.h
 *	  Removing training rows from a fitted model: the Newton step with the
 *	  Hessian of the remaining rows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_REMOVAL_H
#define UNLEARN_REMOVAL_H

#include "solver.h"

/*
 * Ridge re-sums H and X'y from its rows (a refresh) when the row terms
 * summed into them since they were computed from scratch outweigh the
 * remaining rows' by this factor (see removal.c).
 */
#define RESUM_RATIO		2.0

/*
 * What erasure updates in a model: theta, theta_ref, ref_gradient and the
 * Hessian have p = K d parameters (K = 1 but for multinomial); X'X, X'y,
 * the feature sums and E are per term (d); pending rows are rows (d).
 */
typedef struct RemovalState
{
	const LossFunctions *loss;	/* the model's: linear, logistic, poisson or multinomial */
	int			d;				/* terms: the width of a row */
	int			nclasses;		/* multinomial: K blocks of d parameters, class-major; else 1 */
	double	   *theta;
	double	   *hessian;		/* ridge: X'X + l2 I'; logistic, Poisson: at theta_ref */
	double	   *xty;			/* X'y of the current rows (ridge; NULL otherwise) */
	double	   *gram;			/* X'X of the current rows (logistic, Poisson; NULL for ridge) */
	double	   *theta_ref;		/* logistic, Poisson: where hessian was evaluated */
	double	   *ref_gradient;	/* logistic, Poisson: grad L of the current rows at theta_ref */
	double		max_row_norm;	/* M: bound on every |x_i| */
	double		error_bound;	/* B: bound on |grad L(theta)| */
	bool		separable;		/* logistic, l2 = 0: a fit found the classes separable */
	SumStats	stats;			/* what the rounding of the sums depends on */
	double		l2;				/* the penalty: its terms round too */
	double	   *factor;			/* Cholesky factor of hessian, or NULL: not made yet */
	double	   *pending;		/* rows changed since hessian/gram were stored: */
	int			npending;		/* npending x (d + 1), sign (+1 out, -1 in), terms */
	int			nstored;		/* how many of them unlearn.model_pending holds */
	bool		rebase;			/* out: store hessian and gram, pending emptied */
	double		rcond;			/* out: condition estimate of the new Hessian */
	double		rounding;		/* out: the part of B that allows for rounding */
	double		lambda_min;		/* out: lower estimate of lambda_min(H~ + E); 0: none made */
	double		hessian_norm1;	/* out: its 1-norm */
	double		step_norm;		/* out: |theta_new - theta_old| */

	/*
	 * Standardize (preprocessing.c): the current rows' sums of each term
	 * and of its square (2d; NULL without standardize), and E, what the
	 * penalty gains per term, l2 (w_j - 1), when the rows' spread has moved
	 * since the frame was set (NULL: nothing).  The objective is then
	 * loss + (l2/2) sum_j w_j theta_j^2: hessian keeps l2 I', and E is
	 * added wherever the objective's Hessian or gradient is used.
	 */
	double	   *feature_sums;
	double	   *penalty_shift;
	bool		frame_movable;	/* a term moves with the rows: a rebase moves the frame */
	bool		frame_moved;	/* out: the frame moved, the terms must be written */
	double	   *frame_map;		/* out, when it moved: its D, then its u (d each) */
} RemovalState;

/* The state's parameters: K d (K = 1 but for multinomial). */
static inline int
removal_params(const RemovalState *s)
{
	return s->d * Max(s->nclasses, 1);
}

/*
 * The rows a statement changes in a model: k rows leave (X, y) and a rows
 * come in (XA, yA), all row-major with d columns.  An UPDATE of a training
 * row is one of each.
 */
typedef struct RowChange
{
	const double *X;
	const double *y;
	int			k;
	const double *XA;
	const double *yA;
	int			a;

	/*
	 * Logistic, Poisson: when terms were dropped from X and XA (levels left with no
	 * row): what they added to each row's logit at theta and at theta_ref,
	 * so the rows' terms are taken at their true logits; NULL: nothing.
	 */
	const double *z_dropped;
	const double *z_ref_dropped;
	const double *zA_dropped;
	const double *zA_ref_dropped;
	double		dropped_ref_weight; /* sum of |theta_ref| over the dropped terms */

	/*
	 * Poisson with an exposure: each row's exposure t (its logit gains
	 * log t), of the k rows and of the a rows; NULL: none.
	 */
	const double *exposure;
	const double *exposureA;

	/*
	 * A part of a statement's change whose other parts follow (a huge
	 * DELETE taken in chunks): a refresh or re-sum due now is left to the
	 * last part, which sees every row of the statement gone from lineage.
	 */
	bool		more_follows;

	/*
	 * Standardize: E for the rows after the change (preprocessing.c), or
	 * NULL if it does not change.
	 */
	const double *penalty_shift_after;
} RowChange;

/*
 * Ridge: removes k rows and adds a, exactly.  H, X'y and X'X lose the
 * removed rows' sums and gain the added ones', and theta = H^-1 X'y is
 * solved afresh, so no error accumulates over erasures.  Returns false,
 * theta unchanged, if the remaining Hessian is not positive definite or
 * too ill-conditioned; the matrices are then already changed, so the
 * caller must not keep the state (it marks the model for retraining).
 */
extern bool removal_ridge(RemovalState *s, const RowChange *c);

/*
 * Ridge: whether the kept sums should be made afresh from the rows (their
 * rounding could pass RESUM_RATIO times a fresh sum's).
 */
extern bool removal_resum_due(const RemovalState *s);

/*
 * Ridge: whether the row terms summed into the kept sums outweigh the
 * remaining rows' by more than ratio (removal_resum_due: RESUM_RATIO).
 */
extern bool removal_resum_due_at(const RemovalState *s, double ratio);

/*
 * Ridge: theta = H^-1 X'y from the state's matrices (set afresh by a
 * re-sum, with removal_rebase); false, theta unchanged, if H is not
 * positive definite or too ill-conditioned.
 */
extern bool removal_ridge_solve(RemovalState *s);

/* Logistic, Poisson: the rows with a target above 0 that a change leaves. */
extern int64 removal_positives_after(const RemovalState *s, const RowChange *c);

/*
 * Logistic, Poisson: removes k rows (and adds a) with one Newton step,
 * theta += H~^-1 D, where D is the removed rows' summed gradient at theta
 * minus the added rows', and H~ the exact Hessian of the resulting rows at
 * theta_ref.  B becomes a bound on the gradient left at the new theta,
 * from the gradient at theta_ref kept up to date (see removal.c).
 * Returns false, theta unchanged, if the remaining Hessian is not positive
 * definite or too ill-conditioned; the matrices and g_ref are then
 * already changed (for the rows that remain), so the caller refreshes
 * the state or does not keep it.
 */
extern bool removal_newton(RemovalState *s, const RowChange *c);

/*
 * Logistic, Poisson refresh step: theta becomes the reference point, with the
 * gradient and Hessian of the current rows' objective there (from a full
 * pass, whose row statistics at theta are pass), and moves by the Newton
 * step -H^-1 g; B is bounded afresh with the state's X'X and M (the
 * caller sets them from the same rows; regram: X'X was summed afresh in
 * that pass).  False if the Hessian is not positive definite or too
 * ill-conditioned.
 */
extern bool removal_reanchor(RemovalState *s, const double *gradient,
							 const double *hessian, const SumStats *pass,
							 bool regram);

/*
 * Logistic, Poisson: B of a fit at its optimum theta, from its gradient there and
 * its rows' statistics: |g| and what rounding allows.
 */
extern double removal_bound_at_fit(const LossFunctions *loss, const SumStats *st, int d,
								   int nclasses, double l2, const double *theta,
								   const double *gradient, double max_row_norm);

/*
 * Brings a loaded state's hessian and gram (as stored) up to date with its
 * pending rows; logistic and Poisson weight them at theta_ref.
 */
extern void removal_apply_pending(RemovalState *s);

/*
 * A lower estimate of the smallest eigenvalue of H~ + E: the last step's
 * (removal.c), or rcond |H~|_1 less the most E takes off.
 */
extern double removal_lambda_min(const RemovalState *s);

/* Whether the state's penalty is shifted: E has an entry that is not 0. */
extern bool removal_penalty_shifted(const RemovalState *s);

/*
 * The most E takes off any eigenvalue of the Hessian: max(0, -min_j E_j)
 * (0 without E).
 */
extern double removal_penalty_shift_floor(const RemovalState *s);

/*
 * The objective's gradient at s->theta, from gradient, one of the penalty
 * l2 I' there (a pass's): a shifted penalty adds E theta.
 */
extern void removal_shifted_gradient(const RemovalState *s, const double *gradient,
									 double *out);

/*
 * After the state's matrices were mapped to another frame
 * (preprocessing.c): their norm again and, for logistic and Poisson, B at theta.
 */
extern void removal_rebound(RemovalState *s);

/*
 * Marks a state whose hessian and gram were replaced outright (a refresh,
 * dropped terms): stored as they are, nothing pending, factored afresh.
 */
extern void removal_rebase(RemovalState *s);

/*
 * Which of K blocks of d parameters (class-major) go with dead terms (d
 * flags) and dead classes (K flags, or NULL): K d flags.
 */
extern bool *removal_dead_parameters(int d, int K, const bool *dead_terms,
									 const bool *dead_classes);

/*
 * Drops dead terms (d flags) and, for multinomial, dead classes (K flags,
 * or NULL) from the state: theta, theta_ref, g_ref, X'y, the
 * preprocessing sums, the penalty shift, H~ and X'X; a multinomial theta
 * is projected off the classes' common shift again; then rebases.
 */
extern void removal_drop(RemovalState *s, const bool *dead_terms, const bool *dead_classes);

#endif							/* UNLEARN_REMOVAL_H */
