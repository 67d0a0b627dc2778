/*-------------------------------------------------------------------------
 *
 * preprocessing.h
 *	  Standardization that follows the rows: a model's centering and
 *	  scaling are its current rows' mean and spread, erasures included.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_PREPROCESSING_H
#define UNLEARN_PREPROCESSING_H

#include "catalog.h"
#include "removal.h"

/*
 * Adds k rows' terms (sign +1) or takes them out (-1) of a state's
 * feature sums; nothing without standardize.
 */
extern void preprocessing_add_rows(RemovalState *s, const double *X, int k, double sign);

/*
 * E of a state whose feature sums are over n rows, into E (d): l2 (w_j - 1)
 * for each term that moves with the rows, w_j its rows' variance in the
 * frame's units.  Returns the first term whose column is constant over
 * the rows (within rounding), or -1.
 */
extern int	preprocessing_penalty_shift(const StoredModel *m, const RemovalState *s,
										int64 n, double *E);

/*
 * Moves a ready state, its parameters and m's terms to the frame of its n
 * current rows' preprocessing (a retrain's centering and scaling), at a
 * rebase or before a refresh's pass; E becomes 0 (to rounding) and
 * s->frame_moved true (the save writes the terms).  False, nothing
 * changed, if nothing moves (no standardize, or the frame is already
 * theirs).
 */
extern bool preprocessing_move_frame(StoredModel *m, RemovalState *s, int64 n);

/* Whether a term of the model moves with its rows (standardize, a numeric column). */
extern bool preprocessing_frame_movable(const StoredModel *m, const RemovalState *s);

/*
 * The map from a model's frame to its n current rows' preprocessing: a
 * term x goes to D x + u x_0 (x_0 the intercept's 1).
 */
extern void preprocessing_current_map(const StoredModel *m, const double *feature_sums,
									  int d, int64 n, double *D, double *u);

/* Maps n rows (row-major, d terms) by D and u, in place. */
extern void preprocessing_map_rows(const double *D, const double *u, int d, double *X, int64 n);

/* Maps parameters by D and u (so that each row's x'theta stays), in place. */
extern void preprocessing_map_theta(const double *D, const double *u, int d, double *theta);

/* The largest |x| growth the map allows: |D x + u x_0| <= alpha |x|. */
extern double preprocessing_map_growth(const double *D, const double *u, int d);

#endif							/* UNLEARN_PREPROCESSING_H */
