/*-------------------------------------------------------------------------
 *
 * options.h
 *	  Training options: parsing and validation of the options jsonb.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_OPTIONS_H
#define UNLEARN_OPTIONS_H

#include "utils/jsonb.h"

/* What training does with a row whose feature or target is NULL. */
typedef enum NullPolicy
{
	NULLS_ERROR,				/* raise an error */
	NULLS_SKIP					/* leave the row out, count it as skipped */
} NullPolicy;

/* Validated training options, defaults filled in. */
typedef struct TrainOptions
{
	double		l2;				/* absolute ridge penalty on the weights */
	bool		intercept;		/* fit an unpenalized intercept */
	bool		standardize;	/* center/scale numeric features at training */
	int			max_iter;		/* Newton iteration limit */
	double		tol;			/* gradient-norm tolerance, relative */
	char	   *where;			/* row filter expression, or NULL */
	char	   *key;			/* key column when not the primary key, or NULL */
	char	   *exposure;		/* Poisson: the exposure column (offset log t), or NULL */
	NullPolicy	nulls;			/* NULL handling */
	double		erasure_tol;	/* logistic: bound on the relative gradient residual */
	double		holdout;		/* share of the rows kept out of training (by key) */

	/*
	 * Per term, what multiplies l2 (NULL: 1 for every term): never an
	 * option, only a refresh's fit after the rows' spread moved
	 * (preprocessing.c).
	 */
	const double *penalty_weights;
} TrainOptions;

/*
 * Whether the row of lineage key key is held out of training at the
 * share holdout: a hash of the key (MurmurHash3's finalizer), as a
 * fraction of 2^64, below holdout.  Deterministic: the same rows at every
 * retrain, in evaluate, and in rectifications.
 */
extern bool options_key_held_out(int64 key, double holdout);

/* Parses and validates options (NULL means all defaults). */
extern void parse_train_options(Jsonb *options, TrainOptions *opts);

/* The effective options as jsonb, for storage with the model. */
extern Jsonb *train_options_to_jsonb(const TrainOptions *opts);

#endif							/* UNLEARN_OPTIONS_H */
