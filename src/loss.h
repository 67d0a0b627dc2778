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

/* What a loss's targets must be. */
typedef enum LossTarget
{
	LOSS_TARGET_REAL,			/* any finite number */
	LOSS_TARGET_BINARY,			/* 0 or 1 */
	LOSS_TARGET_COUNT,			/* a non-negative integer */
	LOSS_TARGET_CLASS			/* a class: an integer, boolean, text or enum value */
} LossTarget;

/*
 * Over the logits z <= a ceiling: sup of the mean function mu(z) = l'(z) +
 * y, of the curvature w(z) = l''(z) and of |w'(z)|; whether every
 * residual mu - y lies in [-1, 1]; and whether |w'| <= w everywhere (so
 * w(z + t) <= w(z) e^|t|: the erasure bound then takes each row's Taylor
 * remainder from its own weight).  The erasure bound (removal.c) is made
 * of these.
 */
typedef struct LossCurvature
{
	double		mean;
	double		weight;
	double		lipschitz;
	bool		unit_residual;
	bool		weight_log_lipschitz;
} LossCurvature;

typedef struct LossFunctions
{
	const char *name;			/* model type: "linear", "logistic" or "poisson" */
	bool		constant_hessian;	/* Hessian does not depend on theta */
	bool		binary_labels;	/* targets are 0 or 1, predictions classes */
	LossTarget	target;			/* what a target must be */
	bool		multiclass;		/* K logits a row, K blocks of parameters (multinomial) */

	/*
	 * Returns sum_i l(z_i; y_i) over n rows; fills resid[i] = dl/dz and,
	 * unless weight is NULL, weight[i] = d2l/dz2.
	 */
	double		(*block) (const double *z, const double *y, int n,
						  double *resid, double *weight);

	/* The prediction for a linear predictor z (value, probability, mean). */
	double		(*predict) (double z);

	/* Fills *c for the logits at or below ceiling (see LossCurvature). */
	void		(*curvature) (double ceiling, LossCurvature *c);
} LossFunctions;

extern const LossFunctions loss_linear;
extern const LossFunctions loss_logistic;
extern const LossFunctions loss_poisson;
extern const LossFunctions loss_multinomial;

/*
 * Multinomial: adds a block of rows' softmax cross-entropy sums at theta
 * (K blocks of d, class-major) to gradient (K d) and, unless NULL, the
 * Hessian (K d x K d, full symmetric); y holds class indexes.  Scratch: Z and R of rows x
 * K, w of rows, block of d x d, scaled of rows x d.  Returns the summed loss.
 */
extern double multinomial_block_add(int K, int d, const double *theta, const double *X,
									const double *y, int rows, double *gradient,
									double *hessian, double *Z, double *R, double *w,
									double *block, double *scaled);

/*
 * Multinomial: the rows' class probabilities P (rows x K) at theta and,
 * unless R is NULL, their residuals p - e_y (rows x K; y NULL: class 0);
 * returns the summed loss.  P may not alias X.
 */
extern double multinomial_residuals(int K, int d, const double *theta, const double *X,
									const double *y, int rows, double *P, double *R);

/*
 * Multinomial: adds sign times the rows' Hessian terms at their
 * probabilities P (rows x K), (diag p - p p') (x) x x', to the full
 * Hessian H (K d x K d).  Scratch: w of rows, block of d x d, scaled of
 * rows x d (or NULL).
 */
extern void multinomial_hessian_add(int K, int d, const double *X, const double *P,
									int rows, double sign, double *H, double *w,
									double *block, double *scaled);

/*
 * Multinomial: the K pseudo-rows u_k = sqrt(p_k) (e_k - p) (x) x of a row
 * x (d) with probabilities p, into U (K x K d): the sum of u_k u_k' is
 * the row's Hessian term, so a Cholesky factor follows it by K rank-1
 * changes.
 */
extern void multinomial_pseudo_rows(int K, int d, const double *x, const double *p,
									double *U);

/*
 * Multinomial: the K class probabilities of one row's logits z (K), stably
 * (the largest logit subtracted first); returns log-sum-exp of z.
 */
extern double multinomial_softmax(const double *z, int K, double *p);

/* Whether y is a target the loss takes (finite, and of its kind). */
extern bool loss_target_valid(const LossFunctions *loss, double y);

/* The loss of a model type name as stored, or NULL if the name is unknown. */
extern const LossFunctions *loss_by_name(const char *name);

/*
 * The loss of a model type as a caller names it: linear, ridge (the same),
 * logistic or poisson, in any case; NULL if unknown.  A model stores the loss's
 * own name.
 */
extern const LossFunctions *loss_by_type_name(const char *name);

#endif							/* UNLEARN_LOSS_H */
