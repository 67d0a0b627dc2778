/*-------------------------------------------------------------------------
 *
 * erasure_state.h
 *	  A model's erasure state, locked and loaded, cached per backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_ERASURE_STATE_H
#define UNLEARN_ERASURE_STATE_H

#include "catalog.h"
#include "removal.h"

/* A model locked for erasure, with what erasure changes in it. */
typedef struct ErasureModel
{
	StoredModel *m;
	RemovalState s;
	double		gradient_scale; /* the tolerance unit of the logistic bound */
	int64		rows_now;		/* rows the model holds */
	ItemPointerData ctid;		/* where its locked row version is */
} ErasureModel;

/*
 * Locks a model's row FOR UPDATE and hands over its erasure state (kept
 * from this backend's last statement on it, or loaded); false if the model
 * is gone.  Arrays that replace parts of the state must be allocated in
 * its memory context; the caller ends with erasure_state_save or
 * erasure_state_release.
 */
extern bool erasure_state_lock(const char *name, ErasureModel *em);

/*
 * Locks a model's row, newest version, before a statement takes any row
 * of its source; loads nothing.
 */
extern void erasure_state_lock_early(const char *name);

/* States this backend loaded from the tables (not kept): for the tests. */
extern uint64 erasure_state_loads;

/* Frees the kept state of a model (dropped). */
extern void erasure_state_forget(int32 model_id);

/* Gives back a state the statement did not change. */
extern void erasure_state_release(ErasureModel *em);

/*
 * Saves a model after rows left it (catalog_save_ready, or
 * catalog_set_state for another state) and returns its new version; with
 * state "ready" and keep, em (whose m and s now describe the model after
 * the change) is kept for the next statement.
 */
extern int64 erasure_state_save(ErasureModel *em, int64 removed, const char *state,
								bool keep);

#endif							/* UNLEARN_ERASURE_STATE_H */
