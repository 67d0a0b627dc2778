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

/* What erasure updates in a model (all full d x d / d arrays). */
typedef struct RemovalState
{
	int			d;
	double	   *theta;
	double	   *hessian;		/* ridge: X'X + l2 I'; logistic: at theta_ref */
	double	   *xty;			/* X'y of the current rows */
	double	   *gram;			/* X'X of the current rows */
	double	   *theta_ref;		/* logistic: where hessian was evaluated */
	double		max_row_norm;	/* M: bound on every |x_i| */
	double		error_bound;	/* B: bound on |grad L(theta)| */
	double		rcond;			/* out: condition estimate of the new Hessian */
	double		hessian_norm1;	/* out: its 1-norm */
	double		step_norm;		/* out: |theta_new - theta_old| */
} RemovalState;

/*
 * Ridge: removes k rows (row-major X, k x d; y) exactly.  H, X'y and X'X
 * lose the rows' sums and theta = H^-1 X'y is solved afresh, so no error
 * accumulates over erasures.  Returns false, changing nothing, if the
 * remaining Hessian is not positive definite or too ill-conditioned.
 */
extern bool removal_ridge(RemovalState *s, const double *X, const double *y, int k);

/*
 * Logistic: removes k rows with one Newton step, theta += H~^-1 D, where
 * D is the rows' summed gradient at theta and H~ the exact Hessian of the
 * remaining rows at theta_ref.  The bound B grows by what the step can
 * leave behind (see removal.c).  Returns false, changing nothing, if the
 * remaining Hessian is not positive definite or too ill-conditioned.
 */
extern bool removal_logistic(RemovalState *s, const double *X, const double *y, int k);

#endif							/* UNLEARN_REMOVAL_H */
