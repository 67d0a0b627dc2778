/*-------------------------------------------------------------------------
 *
 * erase.c
 *	  Erasure of deleted rows from one model, and the update every change
 *	  of a model's rows ends in (apply_change): ridge exact, logistic by a
 *	  Newton step or a refresh, categorical levels left with no row
 *	  dropped, a log entry.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/table.h"
#include "miscadmin.h"
#include "utils/float.h"

#include "audit.h"
#include "distributed.h"
#include "erase.h"
#include "refresh_journal.h"
#include "refresh_worker.h"
#include "linalg.h"
#include "hierarchy.h"
#include "preprocessing.h"
#include "scratch.h"

/*
 * Marks a model as needing a retrain, with a log entry for the rows the
 * statement touched (erased of them: taken out of the model's count;
 * keys: those taken out of lineage, or NULL).
 */
void
erasure_needs_retrain(StoredModel *m, Oid relid, int64 erased, int64 rows,
			  const char *event, const char *why, const LineageRemoval *keys, int nkeys)
{
	int64		version = catalog_set_state(m->model_id, erased, "needs_retrain");

	audit_log_change(event, m, relid, version, rows, "needs_retrain", NULL, 0,
					 get_float8_nan(), get_float8_nan(), why, keys, nkeys);
	ereport(WARNING,
			(errmsg("model \"%s\" must be retrained", m->name),
			 errdetail("%s", why),
			 errhint("Run unlearn.retrain('%s').", m->name)));
}

/* What the dead terms add to each row's logit x'theta (rows x d, row-major). */
static double *
dropped_logit(const double *X, int rows, int d, const bool *dead, const double *theta)
{
	double	   *dz = palloc0(sizeof(double) * Max(rows, 1));
	int			i,
				t;

	for (i = 0; i < rows; i++)
		for (t = 0; t < d; t++)
			if (dead[t])
				dz[i] += X[(Size) i * d + t] * theta[t];
	return dz;
}

/* Drops the dead columns from a row-major matrix (rows x d) into a copy. */
static double *
drop_columns(const double *A, int rows, int d, const bool *dead, int kept)
{
	double	   *B = palloc(sizeof(double) * Max(rows, 1) * Max(kept, 1));
	int			i,
				t,
				o;

	for (i = 0; i < rows; i++)
		for (t = 0, o = 0; t < d; t++)
			if (!dead[t])
				B[(Size) i * kept + o++] = A[(Size) i * d + t];
	return B;
}

/*
 * The relative parameter error the bound allows: |theta - theta*| <=
 * B / lambda_min(H + E), with lambda_min estimated from below from the
 * factorization the step just made (LAPACK's rcond estimate,
 * removal_lambda_min), relative to max(1, |theta|).
 */
double
erasure_parameter_error(const RemovalState *s)
{
	/* A shifted penalty (removal.h) can take E's most negative entry off it. */
	double		lambda = removal_lambda_min(s);
	double		scale = Max(1.0, linalg_norm2(s->theta, removal_params(s)));

	if (!(lambda > 0))
		return get_float8_infinity();
	return s->error_bound / (lambda * scale);
}

/*
 * Refreshes (or re-sums) a model from its own source, which rel, the table
 * the erased rows came through, may only be a partition or an ancestor
 * of; false, with the reason in *why, if it cannot (*deferred: not yet,
 * see refresh_try).
 */
static bool
refresh_from_source(StoredModel *m, Encoder *enc, Relation rel, RemovalState *s,
					int64 rows, const bool *dead, const char **why, bool *deferred)
{
	Relation	src = RelationGetRelid(rel) == m->source ? rel :
		table_open(m->source, AccessShareLock);
	Encoder    *src_enc;
	bool		refreshed;

	if (distributed_model(m->model_id))
	{
		/* its rows are on the shards; a refit there is a retrain */
		*deferred = false;
		*why = "A model of a distributed table is refitted by unlearn.retrain.";
		if (src != rel)
			table_close(src, AccessShareLock);
		return false;
	}

	/*
	 * The pass sums in the frame of the rows' own preprocessing, moved
	 * first (preprocessing.c): its sums are then a fresh sum's there, not
	 * a mapped one's.  The rows are read with the moved terms.
	 */
	if (preprocessing_move_frame(m, s, rows))
		enc = NULL;
	src_enc = src == rel && enc != NULL ? enc : encoder_create(m, RelationGetDescr(src));

	*deferred = false;
	refreshed = src_enc != NULL && src_enc->usable &&
		refresh_try(m, src_enc, src, s, dead, why, deferred);

	if (src != rel)
		table_close(src, NoLock);
	if (src_enc == NULL || !src_enc->usable)
		*why = "A column it reads is gone from its source.";
	return refreshed;
}

/*
 * After a change saved as version: what a background refresh needs.
 * While one is asked for and a worker runs, the change's rows go to its
 * journal (unless levels were dropped or the change is too big: the
 * refresh then starts again; with no worker, no pass can need them), and
 * a worker is started at commit; a request withdrawn (a refresh in the
 * foreground) takes its journal with it.
 */
static void
background_refresh_note(const StoredModel *m, int64 version, bool was_requested,
						int ndead, bool frame_moved, const RowChange *change)
{
	if (was_requested && m->refresh_requested)
	{
		/* Rows of another frame than the pass's are not journaled: it passes again. */
		if (ndead == 0 && !frame_moved && change->k + change->a <= JOURNAL_MAX_ROWS &&
			refresh_worker_running())
			journal_append(m->model_id, version, m->nterms, change->X, change->y,
						   change->exposure, change->k, change->XA, change->yA,
						   change->exposureA, change->a);
	}
	else if (was_requested)
		journal_clear(m->model_id);
	if (m->refresh_requested)
		refresh_worker_launch_at_commit();
}

/*
 * Multinomial: why the model's shape changes (classes and levels left
 * with no row), for the log entry.
 */
static const char *
reshape_reason(const StoredModel *m, const bool *dead_classes, const bool *dead_terms)
{
	StringInfoData buf;
	int			k,
				t;

	initStringInfo(&buf);
	for (k = 0; k < m->nclasses; k++)
		if (dead_classes[k])
			appendStringInfo(&buf, "%sclass \"%s\"", buf.len > 0 ? ", " : "",
							 m->class_labels[k]);
	for (t = 0; t < m->nterms; t++)
		if (dead_terms[t])
			appendStringInfo(&buf, "%slevel \"%s\" of \"%s\"", buf.len > 0 ? ", " : "",
							 m->terms[t].level, m->terms[t].column);
	return psprintf("No training row is left with %s: dropped from the parameters, "
					"as a retrain would not have it, and the model refitted on its remaining rows.",
					buf.data);
}

/*
 * Multinomial: the model's classes without the dead ones (new arrays:
 * the log entry's copy of the model keeps the old), their rows moved by
 * class_delta.
 */
static void
drop_classes(StoredModel *m, const bool *dead_classes, const int64 *class_delta)
{
	char	  **labels = palloc(sizeof(char *) * m->nclasses);
	int64	   *rows = palloc(sizeof(int64) * m->nclasses);
	int			k,
				kept = 0;

	for (k = 0; k < m->nclasses; k++)
	{
		if (dead_classes[k])
			continue;
		labels[kept] = m->class_labels[k];
		rows[kept++] = m->class_rows[k] + class_delta[k];
	}
	m->class_labels = labels;
	m->class_rows = rows;
	m->nclasses = kept;
}

/*
 * Multinomial: whether a class or a level has no training row left (an
 * earlier part of a statement left it so): the last part drops it.
 */
static bool
reshape_due(const StoredModel *m)
{
	int			k,
				t;

	if (!m->loss->multiclass)
		return false;
	for (k = 0; k < m->nclasses; k++)
		if (m->class_rows[k] <= 0)
			return true;
	for (t = 0; t < m->nterms; t++)
		if (m->terms[t].level != NULL && m->terms[t].level_rows == 0)
			return true;
	return false;
}

/*
 * Applies a statement's change to a model: the rows in change leave or
 * come in, "leaving" of them leave for good (the model's row count goes
 * down by that much), "rows" is what the log entry counts.  Categorical
 * levels left with no row go, with their terms (a one-hot column that is
 * zero in every remaining row: dropping it is what a retrain gives).
 * Ridge is exact; logistic takes a Newton step, or refreshes before its
 * bound passes erasure_tol; what cannot be done marks the model for
 * retraining.  Writes the model, its terms and a log entry.
 */
void
erasure_apply_change(ErasureModel *em, Encoder *enc, Relation rel, RowChange *change,
			 int64 leaving, int64 rows, const char *event,
			 const LineageRemoval *keys, int nkeys)
{
	StoredModel *m = em->m;
	RemovalState *s = &em->s;
	StoredModel before = *m;	/* as loaded: what the log entry starts from */
	Oid			relid = RelationGetRelid(rel);
	int			d = m->nterms;
	int			p = removal_params(s);	/* K d for multinomial */
	int64	   *class_delta = NULL;
	bool	   *dead_classes = NULL;
	bool		reshape = false;	/* multinomial: classes or levels go */
	const char *reshape_detail = NULL;
	int64	   *delta = palloc0(sizeof(int64) * d);
	bool	   *dead = palloc0(sizeof(bool) * d);
	int			ndead = 0;
	int64		version;
	const char *method;
	bool		applied;
	bool		refreshed = false;	/* refreshed or re-summed here */
	bool		was_requested;
	bool		frame_moved;
	int			i,
				t;

	before.theta = palloc(sizeof(double) * p);	/* m's own may alias s->theta */
	memcpy(before.theta, m->theta, sizeof(double) * p);
	if (leaving >= em->rows_now)
	{
		version = erasure_state_save(em, leaving, "empty", false);
		audit_log_change(event, &before, relid, version, rows, "empty", NULL, 0,
						 get_float8_nan(), get_float8_nan(), NULL, keys, nkeys);
		return;
	}

	/* Level counts move with the rows; a level left with none goes. */
	for (t = 0; t < d; t++)
	{
		if (m->terms[t].level == NULL)
			continue;
		for (i = 0; i < change->k; i++)
			delta[t] -= (int64) change->X[(Size) i * d + t];
		for (i = 0; i < change->a; i++)
			delta[t] += (int64) change->XA[(Size) i * d + t];
		if (m->terms[t].level_rows >= 0 && m->terms[t].level_rows + delta[t] <= 0)
		{
			dead[t] = true;
			ndead++;
		}
	}
	/*
	 * Multinomial: class counts move with the rows.  A class left with no
	 * row goes, with its block of parameters, and a level's terms go from
	 * every block: the parameters then have a retrain's shape, and the
	 * model is refitted on its remaining rows after the step (a retrain
	 * on them is another optimum).  In a part of a statement whose other
	 * parts follow, that waits for the last (a refresh now would meet the
	 * rows still to come): the step is taken in the old shape till then.
	 */
	if (m->loss->multiclass)
	{
		int			kept_classes = 0;

		class_delta = palloc0(sizeof(int64) * m->nclasses);
		dead_classes = palloc0(sizeof(bool) * m->nclasses);
		for (i = 0; i < change->k; i++)
			class_delta[(int) change->y[i]]--;
		for (i = 0; i < change->a; i++)
			class_delta[(int) change->yA[i]]++;
		for (t = 0; t < m->nclasses; t++)
		{
			dead_classes[t] = m->class_rows[t] + class_delta[t] <= 0;
			kept_classes += dead_classes[t] ? 0 : 1;
		}
		if (kept_classes < 2)
		{
			for (t = 0; t < m->nclasses && dead_classes[t]; t++)
				;
			erasure_needs_retrain(&before, relid, leaving, rows, event,
								  psprintf("Only class \"%s\" has training rows left: "
										   "a multinomial model needs two classes.",
										   m->class_labels[t]),
								  keys, nkeys);
			return;
		}
		reshape = kept_classes < m->nclasses || ndead > 0;
		if (reshape && change->more_follows)
		{
			reshape = false;
			memset(dead, 0, sizeof(bool) * d);
			ndead = 0;
		}
		if (reshape)
			reshape_detail = reshape_reason(m, dead_classes, dead);
	}

	/*
	 * Standardize: the rows' sums move with them, and so does the penalty
	 * in the frame with their spread (preprocessing.c).  A column left
	 * constant cannot be scaled by its spread: a retrain would leave it
	 * out, or refuse it.
	 */
	if (s->feature_sums)
	{
		double	   *shift_after = palloc(sizeof(double) * d);
		int			constant;

		preprocessing_add_rows(s, change->X, change->k, -1.0);
		preprocessing_add_rows(s, change->XA, change->a, 1.0);
		constant = preprocessing_penalty_shift(m, s, em->rows_now - leaving, shift_after);
		if (constant >= 0)
		{
			erasure_needs_retrain(&before, relid, leaving, rows, event,
								  psprintf("Feature column \"%s\" is constant over the remaining rows: "
										   "a retrain would leave it out, or refuse it.",
										   m->terms[constant].column),
								  keys, nkeys);
			return;
		}
		change->penalty_shift_after = shift_after;
	}

	if (ndead > 0 && !m->loss->multiclass)
	{
		int			kept = d - ndead;

		/* The rows' logits keep what the dropped terms gave them. */
		change->z_dropped = dropped_logit(change->X, change->k, d, dead, s->theta);
		change->z_ref_dropped = dropped_logit(change->X, change->k, d, dead, s->theta_ref);
		change->zA_dropped = dropped_logit(change->XA, change->a, d, dead, s->theta);
		change->zA_ref_dropped = dropped_logit(change->XA, change->a, d, dead, s->theta_ref);
		for (t = 0; t < d; t++)
			if (dead[t])
				change->dropped_ref_weight += fabs(s->theta_ref[t]);
		change->X = drop_columns(change->X, change->k, d, dead, kept);
		change->XA = drop_columns(change->XA, change->a, d, dead, kept);
		if (change->penalty_shift_after)
			linalg_drop_entries((double *) change->penalty_shift_after, d, dead);
		removal_drop(s, dead, NULL);
	}

	if (!m->loss->constant_hessian)
	{
		const char *why = NULL;
		int64		positives = removal_positives_after(s, change);

		/* One class left: a retrain refuses such rows, so the model must not stay ready. */
		if (m->loss->binary_labels &&
			(positives <= 0 || positives >= em->rows_now - leaving))
		{
			erasure_needs_retrain(&before, relid, leaving, rows, event,
								  psprintf("Its remaining rows are all labelled %d: a logistic model needs both classes.",
										   positives <= 0 ? 0 : 1),
								  keys, nkeys);
			return;
		}
		/* Every count 0: the intercept's optimum is at minus infinity, as a retrain would say. */
		if (m->loss->target == LOSS_TARGET_COUNT && positives <= 0)
		{
			erasure_needs_retrain(&before, relid, leaving, rows, event,
								  "Its remaining rows' counts are all 0: a Poisson model needs a positive count.",
								  keys, nkeys);
			return;
		}
		applied = removal_newton(s, change);
		method = "newton";
		/* The step took the rows out in the old shape; now a retrain's shape, and a refit. */
		if (reshape)
		{
			removal_drop(s, dead, dead_classes);
			drop_classes(m, dead_classes, class_delta);
		}
		/*
		 * No usable Hessian in a part of a statement whose other parts
		 * follow: a refit now would meet their rows, deleted but still in
		 * lineage, and could not run; the model must be retrained.
		 */
		if (!applied && change->more_follows)
		{
			erasure_needs_retrain(&before, relid, leaving, rows, event,
								  "Without those rows its Hessian is singular or too ill-conditioned.",
								  keys, nkeys);
			return;
		}
		/* Past the tolerance, or no usable Hessian: refit on what remains. */
		if (!applied || reshape ||
			(!change->more_follows && refresh_due(s, m->options.erasure_tol)))
		{
			bool		deferred;

			method = "refresh";
			if (refresh_from_source(m, enc, rel, s, em->rows_now - leaving, dead, &why,
									&deferred))
				applied = refreshed = true;
			else if (deferred && applied && !reshape)
				method = "newton";	/* the bound says how far; the rectification refreshes */
			else
			{
				erasure_needs_retrain(&before, relid, leaving, rows, event, why, keys, nkeys);
				return;
			}
		}
	}
	else
	{
		const char *why = NULL;

		applied = removal_ridge(s, change);
		method = "exact";
		/*
		 * Sums rounded by more than a fresh sum would be: made afresh from
		 * the rows (still an exact erasure, logged as one).
		 */
		if (applied && !change->more_follows && removal_resum_due(s))
		{
			bool		deferred;

			/* Deferred: the sums as they are, exact; the rectification re-sums. */
			refreshed = refresh_from_source(m, enc, rel, s, em->rows_now - leaving, dead,
											&why, &deferred);
			if (!refreshed && !deferred)
			{
				erasure_needs_retrain(&before, relid, leaving, rows, event, why, keys, nkeys);
				return;
			}
		}
	}
	/* The step logged is the statement's, not a refresh's or re-sum's alone. */
	if (applied && strcmp(method, "newton") != 0)
	{
		double	   *delta_theta = palloc(sizeof(double) * p);

		memcpy(delta_theta, before.theta, sizeof(double) * p);
		linalg_drop_entries(delta_theta, p,
							removal_dead_parameters(d, before.nclasses, dead, dead_classes));
		/* A refresh that moved the frame: the step is measured in the new one. */
		if (s->frame_moved)
			for (t = 0; t < Max(s->nclasses, 1); t++)
				preprocessing_map_theta(s->frame_map, s->frame_map + s->d, s->d,
										&delta_theta[(Size) t * s->d]);
		for (t = 0; t < removal_params(s); t++)
			delta_theta[t] = s->theta[t] - delta_theta[t];
		s->step_norm = linalg_norm2(delta_theta, removal_params(s));
	}
	if (!applied)
	{
		erasure_needs_retrain(&before, relid, leaving, rows, event,
					  "Without those rows its Hessian is singular or too ill-conditioned.",
					  keys, nkeys);
		return;
	}
	/* Kept for the next statement: the terms as they are now written. */
	for (t = 0; t < d && ndead == 0; t++)
		if (m->terms[t].level_rows >= 0)
			m->terms[t].level_rows += delta[t];
	was_requested = m->refresh_requested;
	m->refresh_requested = refresh_worker_wanted(m, s, refreshed);
	frame_moved = s->frame_moved;
	if (reshape)
		catalog_replace_classes(m->model_id, m->nclasses, m->class_labels, m->class_rows);
	else if (class_delta)
	{
		catalog_update_class_rows(m->model_id, m->nclasses, class_delta);
		for (t = 0; t < m->nclasses; t++)
			m->class_rows[t] += class_delta[t];
	}
	version = erasure_state_save(em, leaving, "ready", ndead == 0 && !reshape);
	catalog_update_terms(m->model_id, d, delta, dead);
	background_refresh_note(m, version, was_requested, ndead + (reshape ? 1 : 0), frame_moved,
							 change);
	audit_log_change(event, &before, relid, version, rows, method, s->theta,
					 removal_params(s), s->step_norm, s->error_bound, reshape_detail,
					 keys, nkeys);
}

/*
 * Bytes a deleted row takes in a chunk: its lineage removal, terms,
 * target, fingerprint and flags, and in the log entry its digest (the
 * digest, its sort and the logged array: about 112 bytes a key).
 */
#define ERASE_ROW_BYTES(nterms) \
	(sizeof(LineageRemoval) + sizeof(double) * ((nterms) + 2) + sizeof(int64) + \
	 2 * sizeof(bool) + 112)

/* Bytes a key takes in a TRUNCATE's log entry: its removal and digest. */
#define TRUNCATE_KEY_BYTES (sizeof(LineageRemoval) + 112)

/* What a key's digest takes in the logged bytea[] (one entry: 1 GB at most). */
#define TRUNCATE_DIGEST_BYTES (VARHDRSZ + 32 + 8)

/* Fewest and most rows a chunk of a DELETE takes. */
#define ERASE_MIN_CHUNK 256
#define ERASE_MAX_CHUNK (1 << 20)

/* The rows of a chunk: as many as work_mem holds, within the limits above. */
static int
erase_chunk_rows(int nterms)
{
	Size		rows = ((Size) work_mem * 1024) / ERASE_ROW_BYTES(nterms);

	return (int) Max(Min(rows, ERASE_MAX_CHUNK), ERASE_MIN_CHUNK);
}

/*
 * Logs rows taken out of the lineage of a model that is not ready (it
 * must be retrained): lineage follows the source whatever the model's
 * state, and every erasure is on the record.
 */
static void
log_unready(StoredModel *m, Oid relid, int64 k, const char *event,
			const LineageRemoval *keys, int nkeys)
{
	int64		version = catalog_set_state(m->model_id, k, m->state);

	audit_log_change(event, m, relid, version, k, m->state, NULL, 0,
					 get_float8_nan(), get_float8_nan(),
					 "The model must be retrained; the rows left its lineage.", keys, nkeys);
}

/* The deleted rows of a statement, read a chunk at a time. */
typedef struct DeletedRows
{
	Tuplestorestate *rows;
	PartitionRoute *route;		/* only the rows it admits, when given */
	AttrNumber	key_attnum;
	TupleTableSlot *slot;		/* the next row of the model's source */
	bool		have_row;		/* whether slot holds one */
	MemoryContext cxt;			/* outlives the chunks: the slot's tuple lives here */
} DeletedRows;

/*
 * Moves to the next deleted row of the model's source, if any.  A row read
 * back from a tuplestore spilled to disk is allocated where the read runs,
 * and held by the slot across chunks: so not in a chunk's memory.
 */
static void
deleted_rows_advance(DeletedRows *dr)
{
	MemoryContext old = MemoryContextSwitchTo(dr->cxt);

	dr->have_row = false;
	while (tuplestore_gettupleslot(dr->rows, true, false, dr->slot))
	{
		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(dr->slot);
		if (dr->slot->tts_isnull[dr->key_attnum - 1] ||
			(dr->route != NULL && !hierarchy_route_passes(dr->route, dr->slot)))
			continue;			/* not a row of the model's source */
		dr->have_row = true;
		break;
	}
	MemoryContextSwitchTo(old);
}

/* What a chunk did to the model's parameters. */
typedef enum ChunkUpdate
{
	CHUNK_NO_UPDATE,			/* none (no row of it, or the model not ready) */
	CHUNK_UPDATE_DEFERRING,		/* updated, a refresh or re-sum left to later */
	CHUNK_UPDATE_FINAL			/* updated as a statement's last part */
} ChunkUpdate;

/*
 * Takes the next chunk of deleted rows out of a model (see
 * erase_from_model), saying in *update what it did to the parameters.
 * The first chunk gets the model as erase_from_model locked it (first,
 * with its encoder); the others lock it again.  False when the model has
 * no row left to lose (dropped, or empty).
 */
static bool
erase_chunk(const char *name, Relation rel, DeletedRows *dr, const char *event,
			ErasureModel *first, Encoder *first_enc, ChunkUpdate *update)
{
	Oid			relid = RelationGetRelid(rel);
	ErasureModel em;
	StoredModel *m;
	Encoder    *enc;
	int			capacity;
	bool		ready;
	int			n = 0;
	LineageRemoval *keys;
	double	   *X;
	double	   *Y;
	double	   *T;
	int64	   *fps;
	bool	   *ok;
	bool	   *found;
	int			k = 0,
				changed = 0,
				i;
	RowChange	change;

	*update = CHUNK_NO_UPDATE;
	if (first != NULL)
	{
		em = *first;
		enc = first_enc;
	}
	else
	{
		if (!erasure_state_lock(name, &em))
			return false;		/* dropped meanwhile */
		if (strcmp(em.m->state, "empty") == 0)
		{
			erasure_state_release(&em);
			return false;		/* no row left in its lineage */
		}

		/*
		 * The chunk's own encoder, from the model as it is now: an earlier
		 * chunk may have dropped terms (a level left with no row), after
		 * which the model is read afresh.  The key column is the same.
		 */
		enc = encoder_create(em.m, RelationGetDescr(rel));
		if (enc == NULL)
			elog(ERROR, "the key column of model \"%s\" changed during a statement", name);
	}
	m = em.m;
	ready = strcmp(m->state, "ready") == 0 && enc->usable;
	capacity = erase_chunk_rows(m->nterms);
	scratch_reserve((Size) capacity * ERASE_ROW_BYTES(m->nterms));
	keys = scratch_alloc(sizeof(LineageRemoval) * capacity);
	X = scratch_alloc(sizeof(double) * m->nterms * capacity);
	Y = scratch_alloc(sizeof(double) * capacity);
	T = scratch_alloc(sizeof(double) * capacity);
	fps = scratch_alloc(sizeof(int64) * capacity);
	ok = scratch_alloc(sizeof(bool) * capacity);

	/* The chunk's rows: each one's key, and what it would give the model. */
	while (dr->have_row && n < capacity)
	{
		TupleTableSlot *slot = dr->slot;

		ok[n] = ready && encoder_encode(enc, slot->tts_values, slot->tts_isnull,
										&X[(Size) n * m->nterms], &Y[n], &T[n], &fps[n]);
		memset(&keys[n], 0, sizeof(LineageRemoval));
		keys[n].row = n;
		keys[n].key = encoder_key(enc, slot->tts_values, &keys[n].key_text);
		n++;
		deleted_rows_advance(dr);
	}

	lineage_remove(m->model_id, keys, n);

	/*
	 * Keep the rows that were in lineage, in place, in X and Y.  The
	 * removals came back sorted by key, not in row order: mark the rows
	 * first, then compact front to back, so no row is overwritten before
	 * it is moved.
	 */
	found = scratch_alloc0(sizeof(bool) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		int			row = keys[i].row;

		if (!keys[i].found)
			continue;
		found[row] = true;
		if (!ok[row] || fps[row] != keys[i].fingerprint)
			changed++;
	}
	for (i = 0; i < n; i++)
	{
		if (!found[i])
			continue;
		if (i != k)
		{
			memmove(&X[(Size) k * m->nterms], &X[(Size) i * m->nterms],
					sizeof(double) * m->nterms);
			Y[k] = Y[i];
			T[k] = T[i];
		}
		k++;
	}
	if (k == 0)
	{
		erasure_state_release(&em);
		return true;			/* none of these rows trained this model */
	}
	if (strcmp(m->state, "ready") != 0)
	{
		log_unready(m, relid, k, event, keys, n);
		return true;
	}
	if (!enc->usable)
	{
		erasure_needs_retrain(m, relid, k, k, event, enc->unusable, keys, n);
		return true;
	}
	if (changed > 0)
	{
		erasure_needs_retrain(m, relid, k, k, event,
							  psprintf("%d deleted rows differ from the values the model was trained on; "
									   "they were changed while erasure was not active.", changed),
							  keys, n);
		return true;
	}

	memset(&change, 0, sizeof(change));
	change.X = X;
	change.y = Y;
	change.exposure = enc->exposure_attnum != InvalidAttrNumber ? T : NULL;
	change.k = k;
	change.more_follows = dr->have_row;
	erasure_apply_change(&em, enc, rel, &change, k, k, event, keys, n);
	*update = change.more_follows ? CHUNK_UPDATE_DEFERRING : CHUNK_UPDATE_FINAL;
	return true;
}

/*
 * After the chunks of a DELETE: a refresh or re-sum the earlier chunks
 * left to a last one that took no row of the model, logged as a part of
 * the statement that took no row.
 */
static void
erase_finish_chunks(const char *name, Relation rel, const char *event)
{
	ErasureModel em;
	RowChange	change;
	Encoder    *enc;
	bool		due;

	if (!erasure_state_lock(name, &em))
		return;
	enc = strcmp(em.m->state, "ready") == 0 ? encoder_create(em.m, RelationGetDescr(rel)) : NULL;
	if (enc == NULL || !enc->usable)
	{
		erasure_state_release(&em);
		return;
	}
	due = !em.m->loss->constant_hessian ?
		refresh_due(&em.s, em.m->options.erasure_tol) || reshape_due(em.m) :
		removal_resum_due(&em.s);
	if (!due)
	{
		erasure_state_release(&em);
		return;
	}
	memset(&change, 0, sizeof(change));
	erasure_apply_change(&em, enc, rel, &change, 0, 0, event, NULL, 0);
}

/*
 * Takes the deleted rows (in rel's row type; only those route admits,
 * when given) that trained one model out of it: finds them in lineage
 * (removing them there), checks each row's fingerprint, and applies the
 * removal update.  Rows it never trained on are ignored.  A model that
 * is not ready loses the rows from its lineage, logged; one whose source
 * lost a column it reads is marked, with the rows' digests.
 *
 * The rows go in chunks of what work_mem holds (at least 256 rows), each
 * in its own memory and with its own log entry, so that a DELETE of any
 * size erases in bounded memory; a refresh or re-sum that falls due is
 * done once, after the last chunk.
 */
void
erase_from_model(const char *name, Relation rel, Tuplestorestate *rows,
				 PartitionRoute *route, const char *event)
{
	Oid			relid = RelationGetRelid(rel);
	ErasureModel em;
	Encoder    *enc;
	DeletedRows dr;
	MemoryContext chunk_cxt;
	MemoryContext old;
	bool		owed = false;
	bool		more = true;
	int			chunks = 0;
	Size		peak = 0;

	/* Locked once here for the first chunk, which is all most DELETEs have. */
	if (!erasure_state_lock(name, &em))
		return;					/* dropped meanwhile */
	if (strcmp(em.m->state, "empty") == 0)
	{
		erasure_state_release(&em);
		return;					/* no row left in its lineage */
	}
	enc = encoder_create(em.m, RelationGetDescr(rel));
	if (enc == NULL)
	{
		erasure_needs_retrain(em.m, relid, 0, 0, event,
							  psprintf("Its key column \"%s\" is gone from its source, or has another type: its rows cannot be found in its lineage.",
									   em.m->key_column),
							  NULL, 0);
		return;
	}

	dr.rows = rows;
	dr.route = route;
	dr.key_attnum = enc->key_attnum;
	dr.slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	dr.cxt = CurrentMemoryContext;
	tuplestore_rescan(rows);
	deleted_rows_advance(&dr);
	if (!dr.have_row)
	{
		erasure_state_release(&em);
		ExecDropSingleTupleTableSlot(dr.slot);
		return;					/* no row of the model's source */
	}

	chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "unlearn erasure chunk",
									  ALLOCSET_DEFAULT_SIZES);
	while (dr.have_row && more)
	{
		Size		mark = scratch_mark();
		ChunkUpdate update;

		old = MemoryContextSwitchTo(chunk_cxt);
		more = erase_chunk(name, rel, &dr, event, chunks == 0 ? &em : NULL, enc, &update);
		MemoryContextSwitchTo(old);
		chunks++;
		peak = Max(peak, MemoryContextMemAllocated(chunk_cxt, true) + scratch_mark() - mark);
		scratch_release(mark);
		MemoryContextReset(chunk_cxt);
		if (update != CHUNK_NO_UPDATE)
			owed = update == CHUNK_UPDATE_DEFERRING;
	}
	if (owed && more)
	{
		old = MemoryContextSwitchTo(chunk_cxt);
		erase_finish_chunks(name, rel, event);
		MemoryContextSwitchTo(old);
	}
	MemoryContextDelete(chunk_cxt);
	ExecDropSingleTupleTableSlot(dr.slot);
	elog(DEBUG1, "erasure from model \"%s\": %d chunks, the largest in %zu kB",
		 name, chunks, peak / 1024);
}

/* Whether a model still has rows in its lineage. */
bool
erase_model_has_lineage(const char *name)
{
	ErasureModel em;
	bool		any;

	if (!erasure_state_lock(name, &em))
		return false;
	any = em.rows_now > 0 && strcmp(em.m->state, "empty") != 0;
	erasure_state_release(&em);
	return any;
}

/*
 * A TRUNCATE of a model's whole source: every row of its lineage left
 * (logged with every key's digest, in entries of work_mem), and it must
 * be retrained.
 */
void
erase_truncated_model(const char *name, Oid relid)
{
	ErasureModel em;
	StoredModel *m;
	StoredModel after;
	LineageEntry *entries;
	LineageRemoval *keys;
	const char *state;
	int64		n,
				i,
				per_entry;
	int64		version;

	if (!erasure_state_lock(name, &em))
		return;					/* dropped meanwhile */
	m = em.m;
	entries = lineage_load(m->model_id, &n);
	keys = palloc_extended(sizeof(LineageRemoval) * Max(n, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < n; i++)
	{
		memset(&keys[i], 0, sizeof(LineageRemoval));
		keys[i].key = entries[i].key;
		keys[i].key_text = entries[i].key_text;
		keys[i].found = true;
	}
	lineage_delete(m->model_id);
	state = strcmp(m->state, "empty") == 0 ? "empty" : "needs_retrain";
	version = catalog_set_state(m->model_id, em.rows_now, state);

	/*
	 * Every key's digest, in entries of what work_mem holds (at least 256
	 * keys): one entry cannot hold more than about 33 million.  The first
	 * records the change of version; the others continue it.
	 */
	per_entry = (int64) Max(Min(((Size) work_mem * 1024) / TRUNCATE_KEY_BYTES,
								(MaxAllocSize - 1024) / TRUNCATE_DIGEST_BYTES),
							ERASE_MIN_CHUNK);
	after = *m;
	after.version = version;
	for (i = 0; i < Max(n, 1); i += per_entry)
	{
		int			count = (int) Min(per_entry, n - i);

		audit_log_change("truncate", i == 0 ? m : &after, relid, version, count, state,
						 NULL, 0, get_float8_nan(), get_float8_nan(),
						 i == 0 && count == n ? "Its source was truncated: every row left it." :
						 i == 0 ? "Its source was truncated: every row left it; the digests of its rows are in this entry and the next ones, and their rows add up." :
						 "Its source was truncated: the digests of more of its rows.",
						 keys + i, count);
	}
}
