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

#include "erase.h"
#include "model_filter.h"

/* Whether any of the columns a model reads is NULL in a row. */
static bool
row_has_null(Encoder *enc, const bool *isnull)
{
	int			j;

	if (isnull[enc->key_attnum - 1] || isnull[enc->target_attnum - 1])
		return true;
	for (j = 0; j < enc->ncols; j++)
		if (isnull[enc->cols[j].attnum - 1])
			return true;
	return false;
}

/* Growable arrays of term vectors and targets. */
typedef struct RowSet
{
	int			d;
	int			n;
	int			cap;
	double	   *X;
	double	   *y;
} RowSet;

/* Appends a row to a RowSet. */
static void
rowset_add(RowSet *rs, const double *x, double y)
{
	if (rs->n == rs->cap)
	{
		rs->cap = Max(16, rs->cap * 2);
		rs->X = rs->X ? repalloc_huge(rs->X, sizeof(double) * rs->d * rs->cap) :
			palloc(sizeof(double) * rs->d * rs->cap);
		rs->y = rs->y ? repalloc_huge(rs->y, sizeof(double) * rs->cap) :
			palloc(sizeof(double) * rs->cap);
	}
	memcpy(&rs->X[(Size) rs->n * rs->d], x, sizeof(double) * rs->d);
	rs->y[rs->n++] = y;
}

/*
 * Rectifies one model for an UPDATE statement: every training row whose
 * key, features or target changed leaves with its old values and comes
 * back with its new ones (a row that now has a NULL and a model that skips
 * NULLs, or one its "where" filter, run as the model's owner, now leaves
 * out: it only leaves), in one update of the model; lineage follows, keys
 * included.  What cannot be done exactly as it stands marks the model for
 * retraining: a row changed while erasure was not active, or a new value
 * the model cannot take (NaN, a label that is not 0/1, a level it never
 * saw, a NULL under nulls = 'error').
 */
void
rectify_model(const char *name, Relation rel, Tuplestorestate *olds,
			  Tuplestorestate *news)
{
	Oid			relid = RelationGetRelid(rel);
	ErasureModel em;
	StoredModel *m;
	Encoder    *enc;
	TupleTableSlot *old;
	TupleTableSlot *new;
	RowSet		out = {0};
	RowSet		in = {0};
	LineageRemoval *gone = NULL;
	LineageEntry *came = NULL;
	int			ngone = 0,
				ncame = 0,
				cap = 0;
	int64		changed = 0,
				behind = 0,
				unusable = 0,
				left = 0;
	double	   *x;
	RowChange	change;
	ModelFilter *filter = NULL;
	bool		leaves;

	if (!erasure_state_lock(name, &em))
		return;					/* dropped meanwhile */
	m = em.m;
	if (strcmp(m->state, "ready") != 0)
	{
		erasure_state_release(&em);
		return;
	}
	enc = encoder_create(m, RelationGetDescr(rel));
	if (enc == NULL)
	{
		erasure_needs_retrain(m, relid, 0, 0, "rectification",
					  "A column the model uses is gone from its source.", NULL, 0);
		return;
	}
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
					old_fp,
					new_fp = 0;
		double		old_y,
					new_y = 0;
		bool		new_ok;

		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(old);
		slot_getallattrs(new);
		if (old->tts_isnull[enc->key_attnum - 1])
			continue;
		old_key = encoder_key(enc, old->tts_values, &old_text);
		if (!lineage_lookup(m->model_id, old_key, old_text, &stored))
			continue;			/* not a training row of this model */
		if (!encoder_encode(enc, old->tts_values, old->tts_isnull, x, &old_y, &old_fp) ||
			old_fp != stored)
		{
			behind++;			/* changed while erasure was not active */
			continue;
		}
		if (!new->tts_isnull[enc->key_attnum - 1])
			new_key = encoder_key(enc, new->tts_values, &new_text);
		new_ok = !new->tts_isnull[enc->key_attnum - 1] &&
			encoder_encode(enc, new->tts_values, new->tts_isnull, &x[0], &new_y, &new_fp);
		if (new_ok && new_key == old_key && new_fp == old_fp &&
			(old_text == NULL || (new_text && strcmp(old_text, new_text) == 0)))
			continue;			/* nothing the model reads changed */

		changed++;
		/* A row its filter now leaves out leaves the model, as at a retrain. */
		leaves = false;
		if (new_ok && m->options.where != NULL)
		{
			if (filter == NULL)
				filter = model_filter_compile(m);
			leaves = !model_filter_passes(filter, new);
		}
		if (!new_ok && !(m->options.nulls == NULLS_SKIP && row_has_null(enc, new->tts_isnull)))
		{
			unusable++;
			continue;
		}
		if (ngone == cap)
		{
			cap = Max(16, cap * 2);
			gone = gone ? repalloc(gone, sizeof(LineageRemoval) * cap) :
				palloc(sizeof(LineageRemoval) * cap);
			came = came ? repalloc(came, sizeof(LineageEntry) * cap) :
				palloc(sizeof(LineageEntry) * cap);
		}
		/* The old values leave ... */
		memset(&gone[ngone], 0, sizeof(LineageRemoval));
		gone[ngone].key = old_key;
		gone[ngone].key_text = old_text;
		ngone++;
		encoder_encode(enc, old->tts_values, old->tts_isnull, x, &old_y, &old_fp);
		rowset_add(&out, x, old_y);
		/* ... and the new ones come in, unless the row is now skipped. */
		if (!new_ok || leaves)
		{
			left++;
			continue;
		}
		encoder_encode(enc, new->tts_values, new->tts_isnull, x, &new_y, &new_fp);
		rowset_add(&in, x, new_y);
		came[ncame].key = new_key;
		came[ncame].key_text = new_text;
		came[ncame].fingerprint = new_fp;
		ncame++;
	}
	ExecDropSingleTupleTableSlot(old);
	ExecDropSingleTupleTableSlot(new);

	if (behind + unusable > 0)
	{
		erasure_needs_retrain(m, relid, 0, changed + behind, "rectification",
					  psprintf(INT64_FORMAT " updated rows cannot be applied to the model as they stand "
							   "(changed while erasure was not active, or a value it cannot take).",
							   behind + unusable),
					  NULL, 0);
		return;
	}
	if (changed == 0)
	{
		erasure_state_release(&em);
		return;
	}

	lineage_remove(m->model_id, gone, ngone);
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
	erasure_apply_change(&em, enc, rel, &change, left, changed, "rectification", gone, ngone);
}
