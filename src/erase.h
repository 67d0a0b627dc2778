/*-------------------------------------------------------------------------
 *
 * erase.h
 *	  Erasure: the triggers on source tables (triggers.c), the removal of
 *	  deleted rows from a model (erase.c), rectification of updated rows
 *	  (rectify.c) and the refresh of a logistic model (refresh.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_ERASE_H
#define UNLEARN_ERASE_H

#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "encoder.h"
#include "hierarchy.h"
#include "erasure_state.h"
#include "lineage.h"
#include "removal.h"

/*
 * Creates the erasure triggers on a source table unless it has them, and
 * re-enables any that were disabled.  Another trigger holding one of
 * their names is an error.
 */
extern void erase_ensure_triggers(Oid relid);

/* Drops the erasure triggers of a table that has no model left. */
extern void erase_drop_triggers_if_unused(Oid relid);

/* Set while unlearn's own trigger DDL runs (the DDL guard lets it pass). */
extern bool erase_reconciling;

/* Whether a relation carries unlearn's row collectors. */
extern bool erase_has_collectors(Relation rel);

/* The firing mode (pg_trigger.tgenabled) an erasure trigger of that name must have. */
extern char erase_trigger_mode(const char *name);

/* Whether the trigger of rel called name is one of unlearn's erasure triggers. */
extern bool erase_is_erasure_trigger(Relation rel, const char *name);

/*
 * Reconciles the erasure triggers of every table that carries one or is
 * on a model's line: after partitions or inheritance changed.
 */
extern void erase_reconcile_all(void);

/*
 * Takes the deleted rows (in rel's row type; only those route admits,
 * when given) that trained one model out of it, logged as event; rows it
 * never trained on are ignored.
 */
extern void erase_from_model(const char *name, Relation rel, Tuplestorestate *rows,
							 PartitionRoute *route, const char *event);

/*
 * Rectifies one model for an UPDATE statement: olds and news hold the
 * changed rows before and after, pairwise, in rel's row type (only old
 * rows route admits are the model's, when given).
 */
extern void rectify_model(const char *name, Relation rel, Tuplestorestate *olds,
						  Tuplestorestate *news, PartitionRoute *route);

/* Whether a model still has rows in its lineage. */
extern bool erase_model_has_lineage(const char *name);

/*
 * A TRUNCATE of a model's whole source: every row of its lineage left
 * (logged with every key's digest), and it must be retrained.
 */
extern void erase_truncated_model(const char *name, Oid relid);

/*
 * Applies a statement's change to a locked model: the rows in change
 * leave or come in, "leaving" of them for good, "rows" is what the log
 * entry counts; writes the model, its terms and a log entry.
 */
extern void erasure_apply_change(ErasureModel *em, Encoder *enc, Relation rel,
								 RowChange *change, int64 leaving, int64 rows,
								 const char *event, const LineageRemoval *keys, int nkeys);

/*
 * Marks a model as needing a retrain, with a log entry for the rows the
 * statement touched (erased of them: taken out of the model's count;
 * keys: those taken out of lineage, or NULL).
 */
extern void erasure_needs_retrain(StoredModel *m, Oid relid, int64 erased, int64 rows,
								  const char *event, const char *why,
								  const LineageRemoval *keys, int nkeys);

/*
 * The relative parameter error a logistic model's bound allows:
 * B / (lambda_min(H) max(1, |theta|)).
 */
extern double erasure_parameter_error(const RemovalState *s);

/*
 * Whether a logistic model's bound asks for a refresh: past the tolerance,
 * unless the rounding it allows for is past it too and the rest is not
 * bigger (a refresh cannot take B below what rounding allows).
 */
extern bool refresh_due(const RemovalState *s, double erasure_tol);

/*
 * Refreshes a model in a subtransaction (see refresh.c): a logistic model
 * refits on its remaining rows, a ridge model sums its H and X'y afresh
 * from them; false, with the reason in *why, if they cannot be fitted,
 * and with *deferred set (s untouched) if rows this transaction changed
 * are still to be rectified.
 */
extern bool refresh_try(StoredModel *m, Encoder *enc, Relation rel, RemovalState *s,
						const bool *dead, const char **why, bool *deferred);

/*
 * What a background refresh's pass summed from its snapshot, kept until
 * it installs its result under the model's lock (see refresh_worker.c).
 */
typedef struct BackgroundPass
{
	int32		model_id;
	int64		version;		/* the model's version in the snapshot */
	int			d;				/* terms */
	int			nclasses;		/* multinomial: K (theta is K blocks of d); else 1 */
	double	   *theta;			/* where the sums are taken: logistic, its parameters then; ridge, 0 */
	double	   *gradient;		/* of the objective over its rows then, at theta */
	double	   *hessian;		/* the same's Hessian */
	SumStats	stats;			/* the rows' statistics at theta */
	double		max_row_norm;
	int64		rows;			/* rows read */
} BackgroundPass;

/*
 * A background refresh's pass: m as snapshot shows it, its rows read from
 * its source rel under snapshot, summed at its theta into p (allocated in
 * the current memory context).  Rows changed behind lineage's back are an
 * error.  False if no row remains.
 */
extern bool refresh_background_pass(StoredModel *m, Encoder *enc, Relation rel,
									Snapshot snapshot, BackgroundPass *p);

struct JournalEntry;

/*
 * Installs a background pass in em, the model locked now: the journaled
 * changes after the pass's version (entries, n, each version's one) are
 * folded into its sums; for logistic a Newton step from the pass's theta
 * makes the new state (removal_reanchor), for ridge the sums replace the
 * model's and theta is solved from them.  False, with the reason in *why
 * and em's state no longer to be kept, if the sums do not describe the
 * model's rows now, or (*moot set: no pass would do better) the Hessian
 * is not usable or the result no better than the model's: its bound, or
 * its sums' rounding.
 */
extern bool refresh_background_fold(ErasureModel *em, const BackgroundPass *p,
									const struct JournalEntry *entries, int n,
									const char **why, bool *moot);

#endif							/* UNLEARN_ERASE_H */
