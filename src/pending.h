/*-------------------------------------------------------------------------
 *
 * pending.h
 *	  The rows changed since a model's Hessian was stored (unlearn.model_pending).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_PENDING_H
#define UNLEARN_PENDING_H

/*
 * A model's pending rows, in order, as n x (d + 1) doubles (the sign, then
 * the terms) in the current memory context; NULL when there are none.
 */
extern double *pending_load(int32 model_id, int d, int *n);

/* Stores n more pending rows of a model, numbered from first on. */
extern void pending_append(int32 model_id, int first, const double *rows, int n, int d);

/* Deletes a model's pending rows. */
extern void pending_clear(int32 model_id);

#endif							/* UNLEARN_PENDING_H */
