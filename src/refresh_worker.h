/*-------------------------------------------------------------------------
 *
 * refresh_worker.h
 *	  Background refresh of logistic models: its settings, the request an
 *	  erasure makes, and the worker that serves it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_REFRESH_WORKER_H
#define UNLEARN_REFRESH_WORKER_H

#include "erasure_state.h"
#include "removal.h"

/* unlearn.background_refresh: whether erasures ask a worker to refresh. */
extern bool unlearn_background_refresh;

/* unlearn.refresh_threshold: the part of erasure_tol that asks for one. */
extern double unlearn_refresh_threshold;

/* Defines the settings and the commit hook that starts workers. */
extern void refresh_worker_init(void);

/*
 * After an erasure changed a model (refreshed: it refreshed or re-summed
 * it in the foreground), whether a background refresh is now asked for:
 * a logistic model's bound past the threshold, a ridge model's sums that
 * far on the way to a re-sum, or asked for before and not refreshed since.
 */
extern bool refresh_worker_wanted(const StoredModel *m, const RemovalState *s,
								  bool refreshed);

/*
 * Whether a worker runs for this database now (holds its lock): only its
 * pass can need a change's journal entry.  Skipping one when none runs is
 * safe: a worker that starts meanwhile finds the gap and passes again.
 */
extern bool refresh_worker_running(void);

/*
 * Starts a worker for this database when the transaction commits, if
 * none runs then (at most once a second from a backend: one may be
 * starting up).
 */
extern void refresh_worker_launch_at_commit(void);

#endif							/* UNLEARN_REFRESH_WORKER_H */
