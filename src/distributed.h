/*-------------------------------------------------------------------------
 *
 * distributed.h
 *	  Models of Citus-distributed sources, the coordinator's side (see
 *	  distributed.c): training from partial sums the shards compute,
 *	  lineage co-located with the rows, and the journal of the rows that
 *	  leave them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_DISTRIBUTED_H
#define UNLEARN_DISTRIBUTED_H

#include "catalog.h"
#include "dataset.h"
#include "lineage.h"
#include "solver.h"

/* What a fit of a distributed source needs of it (dataset.h). */
typedef struct DistributedSource DistributedSource;

/* Whether relid is a hash-distributed table of Citus. */
extern bool distributed_is_source(Oid relid);

/* Whether a model of distributed source relid keeps its lineage locally (trained before). */
extern bool distributed_has_local_models(Oid relid);

/* Whether model_id is a model of a distributed source (its lineage is distributed). */
extern bool distributed_model(int32 model_id);

/* Sets citus.enable_unsafe_triggers until the nest level returned is popped. */
extern int	distributed_allow_triggers(void);

/* Locks out a distributed source's writers on every node (LOCK TABLE, which Citus propagates). */
extern void distributed_lock(Oid relid);

/* Checks that a distributed source can be trained on, and sets ds up for it. */
extern void distributed_begin(Dataset *ds);

/* The first pass: counts, checks and the columns' statistics, from the shards. */
extern void distributed_first_pass(Dataset *ds);

/* A solver pass at theta on the shards: objective, gradient, Hessian (no penalty). */
extern double distributed_evaluate(Dataset *ds, const LossFunctions *loss, const double *theta,
								   double *gradient, double *hessian, bool may_overflow);

/* The statistics pass at theta on the shards (see solver_statistics). */
extern void distributed_statistics(Dataset *ds, const LossFunctions *loss, const double *theta,
								   double *gram, double *xty, SumStats *stats,
								   double *max_row_norm);

/* Sums of the target and of the exposure over the training rows. */
extern void distributed_target_sums(Dataset *ds, double *sum, double *exposure);

/*
 * verify_model: the rows of a model's lineage as its distributed source
 * holds them now, as a Dataset whose passes run on the shards, encoded
 * by terms (the model's, or a retrain's frame); *mismatched is the number
 * of lineage rows missing from the source or changed.
 */
extern Dataset *distributed_lineage_dataset(const StoredModel *m, Relation rel,
											const ModelTerm *terms, int64 *mismatched);

/*
 * verify_model's pass over such rows: the largest difference of the
 * predictions at theta_a and theta_b (no offset), and the sum of
 * |y| sqrt(sum_t weight_t x_t^2).
 */
extern void distributed_verify_pass(Dataset *ds, const LossFunctions *loss,
									const double *theta_a, const double *theta_b,
									const double *weight, double *max_prediction,
									double *scaled_targets);

/*
 * For a plan whose calls carry model_id's state (predict over a
 * distributed table): makes it depend on the model catalog, which every
 * log entry invalidates, and for a model of a distributed table notes it
 * for the journal check before the plan runs (check_shipped_models).
 */
struct PlannerGlobal;
extern void distributed_depend_on_model(struct PlannerGlobal *glob, int32 model_id);

/* Writes a model's lineage next to its rows, and (re)starts its journal. */
extern void distributed_write_lineage(int32 model_id, Dataset *ds);

/* Rows the model was trained on that have left its source since. */
extern int64 distributed_pending(const StoredModel *m);

/*
 * Before a model of a distributed source is read (use: for the error):
 * folds the rows its journal holds of its lineage into it, true if it
 * did (the caller reads the model again); in a read-only transaction,
 * where it cannot, refuses (55000).
 */
extern bool distributed_check_current(const StoredModel *m, const char *use);

/* distributed_check_current, then the model as it is now (m itself if nothing was folded). */
extern StoredModel *distributed_current_model(StoredModel *m, const char *use);

/* Folds a model's journaled rows into it if the transaction can write (lineage_of). */
extern void distributed_fold_if_writable(int32 model_id, Oid source);

/* Whether the model's lineage holds key (a value of the key column's type). */
extern bool distributed_lineage_holds(int32 model_id, Oid key_type, Datum key);

/* lineage_lookup and lineage_insert for a model of a distributed source (see lineage.h). */
extern bool distributed_lineage_lookup(int32 model_id, int64 key, const char *key_text,
									   int64 *fingerprint);
extern void distributed_lineage_insert(int32 model_id, const LineageEntry *entries, int n);

/* lineage_remove for a model of a distributed source (see lineage.h). */
extern void distributed_lineage_remove(int32 model_id, LineageRemoval *keys, int nkeys);

/*
 * After a DELETE or UPDATE of rel, a distributed source, on this node:
 * takes the rows its shards journaled out of each of its models, as a
 * local erasure does (erase_from_model), in the statement's transaction.
 */
extern void distributed_fold(Relation rel, const char *event);

/* Installs the hook that folds journaled rows after each DELETE or UPDATE. */
extern void distributed_init(void);

/* Drops a model's lineage, journal and journal trigger. */
extern void distributed_drop(int32 model_id, Oid source);

/* What the last distributed fit shipped: passes, shards, bytes of partial sums. */
extern void distributed_last_fit(int *passes, int *shards, int64 *bytes);

#endif							/* UNLEARN_DISTRIBUTED_H */
