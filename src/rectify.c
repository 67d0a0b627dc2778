/*-------------------------------------------------------------------------
 *
 * rectify.c
 *	  Rectification: an UPDATE of training rows takes their old values out
 *	  of a model and puts their new ones in (GDPR Art. 16).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "utils/float.h"

#include "audit.h"
#include "erase.h"
#include "model_filter.h"

/* Whether any of the columns a model reads is NULL in a row. */
static bool
row_has_null(Encoder *enc, const bool *isnull)
{
	int			j;

	if (isnull[enc->key_attnum - 1] || isnull[enc->target_attnum - 1])
		return true;
	if (enc->exposure_attnum != InvalidAttrNumber && isnull[enc->exposure_attnum - 1])
		return true;
	for (j = 0; j < enc->ncols; j++)
		if (isnull[enc->cols[j].attnum - 1])
			return true;
	return false;
}

/* Growable arrays of term vectors, targets and exposures. */
typedef struct RowSet
{
	int			d;
	int			n;
	int			cap;
	double	   *X;
	double	   *y;
	double	   *t;
} RowSet;

/* Appends a row to a RowSet. */
static void
rowset_add(RowSet *rs, const double *x, double y, double t)
{
	if (rs->n == rs->cap)
	{
		rs->cap = Max(16, rs->cap * 2);
		rs->X = rs->X ? repalloc_huge(rs->X, sizeof(double) * rs->d * rs->cap) :
			palloc(sizeof(double) * rs->d * rs->cap);
		rs->y = rs->y ? repalloc_huge(rs->y, sizeof(double) * rs->cap) :
			palloc(sizeof(double) * rs->cap);
		rs->t = rs->t ? repalloc_huge(rs->t, sizeof(double) * rs->cap) :
			palloc(sizeof(double) * rs->cap);
	}
	memcpy(&rs->X[(Size) rs->n * rs->d], x, sizeof(double) * rs->d);
	rs->t[rs->n] = t;
	rs->y[rs->n++] = y;
}

/* Keys of training rows a statement touched, growable. */
typedef struct KeySet
{
	int			n;
	int			cap;
	LineageRemoval *keys;
} KeySet;

/* Adds a key (found in lineage) to a KeySet. */
static void
keyset_add(KeySet *ks, int64 key, char *key_text)
{
	if (ks->n == ks->cap)
	{
		ks->cap = Max(16, ks->cap * 2);
		ks->keys = ks->keys ? repalloc_huge(ks->keys, sizeof(LineageRemoval) * ks->cap) :
			palloc(sizeof(LineageRemoval) * ks->cap);
	}
	memset(&ks->keys[ks->n], 0, sizeof(LineageRemoval));
	ks->keys[ks->n].key = key;
	ks->keys[ks->n].key_text = key_text;
	ks->keys[ks->n].found = true;
	ks->n++;
}

/*
 * Rectifies one model for an UPDATE statement: every training row whose
 * key, features or target changed, or that its "where" filter (run as the
 * model's owner, whatever columns the UPDATE set) or the partition it is
 * stored in no longer admits, leaves with its old values and comes back
 * with its new ones (unless it now has a NULL and the model skips NULLs,
 * or the filter or its partition leaves it out: then it only leaves), in
 * one update of the model; lineage follows, keys included.  Old rows the
 * route does not admit are another table's.  What cannot be done exactly
 * as it stands marks the model for retraining, with the digests of the
 * rows that caused it: a row changed while erasure was not active, a new
 * value the model cannot take (NaN, a label that is not 0/1, a level it
 * never saw, a NULL under nulls = 'error'), a filter that cannot run.  A
 * model that is not ready only loses the rows that leave from its lineage
 * (logged).
 */
void
rectify_model(const char *name, Relation rel, Tuplestorestate *olds,
			  Tuplestorestate *news, PartitionRoute *route)
{
	Oid			relid = RelationGetRelid(rel);
	ErasureModel em;
	StoredModel *m;
	Encoder    *enc;
	TupleTableSlot *old;
	TupleTableSlot *new;
	RowSet		out = {0};
	RowSet		in = {0};
	KeySet		gone = {0};
	KeySet		trouble = {0};
	KeySet		touched = {0};
	LineageEntry *came = NULL;
	int			ncame = 0,
				cap = 0;
	int64		changed = 0,
				behind = 0,
				unusable = 0,
				left = 0;
	double	   *x;
	RowChange	change;
	ModelFilter *filter = NULL;
	char	   *filter_broken = NULL;
	bool		ready;

	if (!erasure_state_lock(name, &em))
		return;					/* dropped meanwhile */
	m = em.m;
	enc = strcmp(m->state, "empty") == 0 ? NULL : encoder_create(m, RelationGetDescr(rel));
	if (enc == NULL)
	{
		if (strcmp(m->state, "ready") == 0)
			erasure_needs_retrain(m, relid, 0, 0, "rectification",
								  psprintf("Its key column \"%s\" is gone from its source, or has another type: its rows cannot be found in its lineage.",
										   m->key_column),
								  NULL, 0);
		else
			erasure_state_release(&em);
		return;
	}
	ready = strcmp(m->state, "ready") == 0 && enc->usable;
	if (m->options.where != NULL)
		filter = model_filter_try_compile(m, &filter_broken);
	out.d = in.d = m->nterms;
	x = palloc(sizeof(double) * m->nterms);
	old = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	new = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	tuplestore_rescan(olds);
	tuplestore_rescan(news);
	/* The two transition tables hold old and new rows pairwise, in order. */
	while (tuplestore_gettupleslot(olds, true, false, old) &&
		   tuplestore_gettupleslot(news, true, false, new))
	{
		char	   *old_text;
		char	   *new_text = NULL;
		int64		old_key,
					new_key = 0,
					stored,
					old_fp = 0,
					new_fp = 0;
		double		old_y,
					new_y = 0,
					old_t,
					new_t = 1;
		bool		leaves,
					new_ok;

		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(old);
		slot_getallattrs(new);
		if (old->tts_isnull[enc->key_attnum - 1] ||
			(route != NULL && !hierarchy_route_passes(route, old)))
			continue;			/* not a row of the model's source */
		old_key = encoder_key(enc, old->tts_values, &old_text);
		if (!lineage_lookup(m->model_id, old_key, old_text, &stored))
			continue;			/* not a training row of this model */
		if (!new->tts_isnull[enc->key_attnum - 1])
			new_key = encoder_key(enc, new->tts_values, &new_text);

		/*
		 * Does the row still belong?  Whatever columns the UPDATE set: its
		 * partition, its key, and its filter (which may read any column).
		 */
		leaves = new->tts_isnull[enc->key_attnum - 1] ||
			(route != NULL && !hierarchy_route_passes(route, new));
		if (!leaves && filter != NULL)
			leaves = !model_filter_passes(filter, new);
		/* A key that the option holdout keeps out: a retrain would not train on it. */
		if (!leaves && options_key_held_out(new_key, m->options.holdout))
			leaves = true;
		if (!leaves && m->options.nulls == NULLS_SKIP && row_has_null(enc, new->tts_isnull))
			leaves = true;

		if (!ready)
		{
			/* Not ready: lineage follows the rows that leave it, or move. */
			if (leaves || new_key != old_key ||
				(old_text != NULL && (new_text == NULL || strcmp(old_text, new_text) != 0)))
			{
				keyset_add(&gone, old_key, old_text);
				left++;
			}
			keyset_add(&touched, old_key, old_text);
			continue;
		}
		if (filter_broken != NULL)
		{
			keyset_add(&trouble, old_key, old_text);
			continue;
		}
		if (!encoder_encode(enc, old->tts_values, old->tts_isnull, x, &old_y, &old_t, &old_fp) ||
			old_fp != stored)
		{
			behind++;			/* changed while erasure was not active */
			keyset_add(&trouble, old_key, old_text);
			continue;
		}
		new_ok = !leaves &&
			encoder_encode(enc, new->tts_values, new->tts_isnull, x, &new_y, &new_t, &new_fp);
		if (!leaves && !new_ok)
		{
			unusable++;
			keyset_add(&trouble, old_key, old_text);
			continue;
		}
		if (!leaves && new_key == old_key && new_fp == old_fp &&
			(old_text == NULL || (new_text && strcmp(old_text, new_text) == 0)))
			continue;			/* nothing the model reads changed */

		changed++;
		/* The old values leave ... */
		keyset_add(&gone, old_key, old_text);
		encoder_encode(enc, old->tts_values, old->tts_isnull, x, &old_y, &old_t, &old_fp);
		rowset_add(&out, x, old_y, old_t);
		/* ... and the new ones come in, unless the row now leaves. */
		if (leaves)
		{
			left++;
			continue;
		}
		if (ncame == cap)
		{
			cap = Max(16, cap * 2);
			came = came ? repalloc(came, sizeof(LineageEntry) * cap) :
				palloc(sizeof(LineageEntry) * cap);
		}
		encoder_encode(enc, new->tts_values, new->tts_isnull, x, &new_y, &new_t, &new_fp);
		rowset_add(&in, x, new_y, new_t);
		came[ncame].key = new_key;
		came[ncame].key_text = new_text;
		came[ncame].fingerprint = new_fp;
		ncame++;
	}
	ExecDropSingleTupleTableSlot(old);
	ExecDropSingleTupleTableSlot(new);

	if (!ready)
	{
		if (gone.n > 0)
			lineage_remove(m->model_id, gone.keys, gone.n);
		if (strcmp(m->state, "ready") == 0 && touched.n > 0)
			erasure_needs_retrain(m, relid, left, touched.n, "rectification", enc->unusable,
								  touched.keys, touched.n);
		else if (gone.n > 0)
		{
			int64		version = catalog_set_state(m->model_id, left, m->state);

			audit_log_change("rectification", m, relid, version, gone.n, m->state, NULL, 0,
							 get_float8_nan(), get_float8_nan(),
							 "The model must be retrained; the rows left its lineage.",
							 gone.keys, gone.n);
		}
		else
			erasure_state_release(&em);
		return;
	}
	if (trouble.n > 0)
	{
		erasure_needs_retrain(m, relid, 0, changed + trouble.n, "rectification",
							  filter_broken ? filter_broken :
							  psprintf(INT64_FORMAT " updated rows cannot be applied to the model as they stand "
									   "(changed while erasure was not active, or a value it cannot take).",
									   behind + unusable),
							  trouble.keys, trouble.n);
		return;
	}
	if (changed == 0)
	{
		erasure_state_release(&em);
		return;
	}

	lineage_remove(m->model_id, gone.keys, gone.n);
	if (ncame > 0)
	{
		qsort(came, ncame, sizeof(LineageEntry), lineage_compare_entries);
		lineage_insert(m->model_id, came, ncame);
	}
	memset(&change, 0, sizeof(change));
	change.X = out.X;
	change.y = out.y;
	change.k = out.n;
	change.XA = in.X;
	change.yA = in.y;
	change.a = in.n;
	if (enc->exposure_attnum != InvalidAttrNumber)
	{
		change.exposure = out.t;
		change.exposureA = in.t;
	}
	erasure_apply_change(&em, enc, rel, &change, left, changed, "rectification",
						 gone.keys, gone.n);
}
