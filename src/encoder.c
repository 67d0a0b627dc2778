/*-------------------------------------------------------------------------
 *
 * encoder.c
 *	  A stored model's view of source rows, for erasure: the same term
 *	  vector and fingerprint training computed, from the stored terms.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "dataset.h"
#include "classes.h"
#include "encoder.h"
#include "features.h"
#include "hugemem.h"
#include "model_filter.h"
#include "source_scan.h"

/* A categorical level and its term. */
typedef struct EncoderLevel
{
	char	   *text;			/* hash key */
	int			term;
} EncoderLevel;

/*
 * The attribute number and base type of a column by name, or false.  The
 * search starts at *hint (where the last one was found, updated): a
 * model's columns mostly come in table order, so building an encoder
 * costs O(columns), not O(columns^2) comparisons.
 */
static bool
find_column(TupleDesc desc, const char *name, int *hint, AttrNumber *attnum, Oid *type)
{
	int			k;

	for (k = 0; k < desc->natts; k++)
	{
		int			i = (*hint + k) % desc->natts;
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (!attr->attisdropped && strcmp(NameStr(attr->attname), name) == 0)
		{
			*attnum = attr->attnum;
			*type = getBaseType(attr->atttypid);
			*hint = i + 1;
			return true;
		}
	}
	return false;
}

/* Marks an encoder unusable for a reason; returns it. */
static Encoder *
unusable(Encoder *enc, char *why)
{
	enc->usable = false;
	enc->unusable = why;
	return enc;
}

/* Whether a column's current type still gives values of the kind a term reads. */
static bool
kind_matches(Oid type, bool categorical)
{
	ColumnKind	kind;

	if (!feature_kind_of_type(type, &kind))
		return false;
	return (kind == COLUMN_CATEGORICAL) == categorical;
}

/* Builds the encoder of a stored model for a row type of its source's. */
Encoder *
encoder_create(StoredModel *model, TupleDesc desc)
{
	Encoder    *enc = palloc0(sizeof(Encoder));
	Datum	   *names;
	int			nnames;
	int			hint = 0;
	int			j,
				t;

	enc->model = model;
	enc->usable = true;
	enc->nterms = model->nterms;
	deconstruct_array(model->feature_columns, TEXTOID, -1, false, TYPALIGN_INT,
					  &names, NULL, &nnames);
	enc->ncols = nnames;
	enc->cols = palloc0(sizeof(EncoderColumn) * Max(nnames, 1));
	enc->words = palloc(sizeof(uint64) * (nnames + 1));
	enc->center = palloc(sizeof(double) * model->nterms);
	enc->inv_scale = palloc(sizeof(double) * model->nterms);

	/* The key first: with it, lineage can still be matched. */
	if (!find_column(desc, model->key_column, &hint, &enc->key_attnum, &enc->key_type) ||
		enc->key_type != model->key_type)
		return NULL;
	if (!dataset_key_is_integer(enc->key_type))
	{
		Oid			outfunc;
		bool		isvarlena;

		getTypeOutputInfo(enc->key_type, &outfunc, &isvarlena);
		fmgr_info(outfunc, &enc->key_out);
	}
	hint = 0;
	if (!find_column(desc, model->target_column, &hint, &enc->target_attnum, &enc->target_type))
		return unusable(enc, psprintf("Its target column \"%s\" is gone from its source.",
									  model->target_column));
	if (enc->model->loss->multiclass ? !classes_type_allowed(enc->target_type) :
		!kind_matches(enc->target_type, false))
		return unusable(enc, psprintf("Its target column \"%s\" now has type %s.",
									  model->target_column, format_type_be(enc->target_type)));
	enc->exposure_attnum = InvalidAttrNumber;
	if (model->options.exposure != NULL)
	{
		hint = 0;
		if (!find_column(desc, model->options.exposure, &hint, &enc->exposure_attnum,
						 &enc->exposure_type))
			return unusable(enc, psprintf("Its exposure column \"%s\" is gone from its source.",
										  model->options.exposure));
		if (!kind_matches(enc->exposure_type, false) || enc->exposure_type == BOOLOID)
			return unusable(enc, psprintf("Its exposure column \"%s\" now has type %s.",
										  model->options.exposure,
										  format_type_be(enc->exposure_type)));
	}

	for (j = 0; j < nnames; j++)
	{
		EncoderColumn *col = &enc->cols[j];

		col->name = TextDatumGetCString(names[j]);
		if (!find_column(desc, col->name, &hint, &col->attnum, &col->type))
			return unusable(enc, psprintf("Its feature column \"%s\" is gone from its source.",
										  col->name));
	}
	hint = 0;
	for (t = 0; t < model->nterms; t++)
	{
		ModelTerm  *term = &model->terms[t];
		EncoderColumn *col = NULL;

		enc->center[t] = term->center;
		enc->inv_scale[t] = 1.0 / term->scale;
		if (term->column == NULL)
			continue;
		/* Terms come in column order: search on from the last column found. */
		for (j = 0; j < nnames && col == NULL; j++)
		{
			EncoderColumn *c = &enc->cols[(hint + j) % nnames];

			if (strcmp(c->name, term->column) == 0)
			{
				col = c;
				hint = (hint + j) % nnames;
			}
		}
		if (col == NULL)
			return unusable(enc, psprintf("Its term for column \"%s\" has no feature column.",
										  term->column));
		if (!kind_matches(col->type, term->level != NULL))
			return unusable(enc, psprintf("Its feature column \"%s\" now has type %s.",
										  col->name, format_type_be(col->type)));
		if (term->level == NULL)
		{
			col->term = t;
			continue;
		}
		col->categorical = true;
		if (col->levels == NULL)
			col->levels = features_level_table("unlearn encoder levels",
											   sizeof(EncoderLevel), CurrentMemoryContext);
		{
			EncoderLevel *lev;
			bool		found;

			lev = hash_search(col->levels, &term->level, HASH_ENTER, &found);
			lev->text = term->level;
			lev->term = t;
		}
	}
	/* Every term written by a column or the intercept: no zeroing needed. */
	enc->dense = true;
	for (j = 0; j < nnames; j++)
		if (enc->cols[j].categorical)
			enc->dense = false;
	if (nnames + (model->nterms > 0 && model->terms[0].column == NULL ? 1 : 0) != model->nterms)
		enc->dense = false;
	enc->all_float8 = true;
	enc->attidx = palloc(sizeof(int) * Max(nnames, 1));
	enc->termidx = palloc(sizeof(int) * Max(nnames, 1));
	for (j = 0; j < nnames; j++)
	{
		enc->attidx[j] = enc->cols[j].attnum - 1;
		enc->termidx[j] = enc->cols[j].term;
		if (enc->cols[j].categorical || enc->cols[j].type != FLOAT8OID)
			enc->all_float8 = false;
	}
	return enc;
}

/* The lineage key of a row (and its text for hashed keys). */
int64
encoder_key(Encoder *enc, const Datum *values, char **key_text)
{
	return dataset_key_value(enc->key_type, values[enc->key_attnum - 1],
							 &enc->key_out, key_text);
}

/*
 * The fingerprint of the row whose words enc->words holds, with its
 * exposure folded in when the model has one (as training folds it).
 */
static inline int64
row_fingerprint(const Encoder *enc)
{
	int64		fp = features_fingerprint_words(enc->words, enc->ncols + 1);

	if (enc->exposure_attnum != InvalidAttrNumber)
		fp = features_fingerprint_exposure(fp, enc->exposure);
	if (enc->model->loss->multiclass)
		fp = features_fingerprint_class(fp, enc->model->class_labels[enc->class]);
	return fp;
}

/*
 * encoder_encode's loop over the feature columns when every one is a
 * float8 (most wide tables): the same terms and words, from flat tables,
 * with no per-column test of kind or type.
 */
static bool
encode_float8(Encoder *enc, const Datum *values, const bool *isnull, double *x,
			  int64 *fingerprint)
{
	const int  *attidx = enc->attidx;
	const int  *termidx = enc->termidx;
	const double *center = enc->center;
	const double *inv_scale = enc->inv_scale;
	uint64	   *words = enc->words + 1;
	int			j;

	for (j = 0; j < enc->ncols; j++)
	{
		int			a = attidx[j];
		int			t = termidx[j];
		double		v;

		if (isnull[a])
			return false;
		v = DatumGetFloat8(values[a]);
		if (!isfinite(v))
			return false;
		x[t] = (v - center[t]) * inv_scale[t];
		words[j] = features_number_word(v);
	}
	if (fingerprint)
		*fingerprint = row_fingerprint(enc);
	return true;
}

/*
 * Multinomial: the position of a target value among the model's classes,
 * or -1 (a class it does not have: the row cannot be what it trained on).
 */
static double
class_index(Encoder *enc, Datum value)
{
	Oid			outfunc;
	bool		isvarlena;
	char	   *label;
	int			k;

	getTypeOutputInfo(enc->target_type, &outfunc, &isvarlena);
	label = OidOutputFunctionCall(outfunc, value);
	for (k = 0; k < enc->model->nclasses; k++)
		if (strcmp(enc->model->class_labels[k], label) == 0)
			return (double) k;
	return -1.0;
}

/* The term vector, target, exposure and fingerprint of a row; false if it changed. */
bool
encoder_encode(Encoder *enc, const Datum *values, const bool *isnull,
			   double *x, double *y, double *exposure, int64 *fingerprint)
{
	double		target;
	int			j;

	if (isnull[enc->target_attnum - 1])
		return false;
	if (enc->model->loss->multiclass)
	{
		target = class_index(enc, values[enc->target_attnum - 1]);
		if (target < 0)
			return false;
		enc->class = (int) target;
	}
	else
		target = feature_datum_to_double(values[enc->target_attnum - 1], enc->target_type);
	if (!loss_target_valid(enc->model->loss, target))
		return false;
	*y = target;
	*exposure = 1.0;
	if (enc->exposure_attnum != InvalidAttrNumber)
	{
		if (isnull[enc->exposure_attnum - 1])
			return false;
		enc->exposure = feature_datum_to_double(values[enc->exposure_attnum - 1],
												enc->exposure_type);
		if (!(isfinite(enc->exposure) && enc->exposure > 0))
			return false;
		*exposure = enc->exposure;
	}
	if (fingerprint)
		enc->words[0] = features_number_word(enc->model->loss->multiclass ? 0.0 : target);

	if (!enc->dense)
		memset(x, 0, sizeof(double) * enc->nterms);
	if (enc->nterms > 0 && enc->model->terms[0].column == NULL)
		x[0] = 1.0;
	if (enc->all_float8)
		return encode_float8(enc, values, isnull, x, fingerprint);
	for (j = 0; j < enc->ncols; j++)
	{
		EncoderColumn *col = &enc->cols[j];
		Datum		value = values[col->attnum - 1];

		if (isnull[col->attnum - 1])
			return false;
		if (col->categorical)
		{
			char	   *text = feature_datum_to_text(value, col->type);
			EncoderLevel *lev = hash_search(col->levels, &text, HASH_FIND, NULL);

			if (lev == NULL)
				return false;
			x[lev->term] = 1.0;
			if (fingerprint)
				enc->words[1 + j] = features_text_hash(text);
			pfree(text);
		}
		else
		{
			double		v = likely(col->type == FLOAT8OID) ? DatumGetFloat8(value) :
				feature_datum_to_double(value, col->type);

			if (!isfinite(v))
				return false;
			x[col->term] = (v - enc->center[col->term]) * enc->inv_scale[col->term];
			if (fingerprint)
				enc->words[1 + j] = features_number_word(v);
		}
	}
	if (fingerprint)
		*fingerprint = row_fingerprint(enc);
	return true;
}

/*
 * Of the lineage rows a scan did not see (seen), how many the current
 * transaction deleted or re-keyed: their erasure or rectification is
 * still to come in this statement.  A scan of every row version
 * (SnapshotAny), only when rows were missing.
 */
static int64
count_deleted_here(Encoder *enc, Relation rel, const LineageEntry *keys, int64 nkeys,
				   const bool *seen, TupleTableSlot *row_slot)
{
	bool	   *ours = palloc0(sizeof(bool) * Max(nkeys, 1));
	int64		count = 0;
	TupleTableSlot *slot;
	SourceScan	scan;

	source_scan_begin(&scan, rel, SnapshotAny);
	while ((slot = source_scan_next(&scan, row_slot)) != NULL)
	{
		LineageEntry probe;
		const LineageEntry *hit;

		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(slot);
		if (slot->tts_isnull[enc->key_attnum - 1])
			continue;
		probe.key = encoder_key(enc, slot->tts_values, &probe.key_text);
		hit = bsearch(&probe, keys, nkeys, sizeof(LineageEntry), lineage_compare_entries);
		if (hit == NULL || seen[hit - keys] || ours[hit - keys] ||
			!source_scan_row_deleted_here(&scan, slot))
			continue;
		ours[hit - keys] = true;
		count++;
	}
	source_scan_end(&scan);
	pfree(ours);
	return count;
}

/*
 * Scans the source under snapshot for the rows of a model's lineage and
 * hands them to fn encoded, a block at a time; counts them in *counts (X
 * and y left NULL).
 */
void
encoder_scan_lineage(Encoder *enc, Relation rel, Snapshot snapshot,
					 const LineageEntry *keys, int64 nkeys,
					 LineageBlockFn fn, void *arg, LineageRows *counts)
{
	int			block = DATASET_BLOCK_ROWS;	/* rows: dsyrk wants many per call */
	bool	   *seen = palloc0(sizeof(bool) * Max(nkeys, 1));
	double	   *X = palloc(sizeof(double) * enc->nterms * block);
	double	   *y = palloc(sizeof(double) * block);
	double	   *offset = palloc(sizeof(double) * block);
	int			fill = 0;
	int64		nseen = 0;
	TupleTableSlot *row_slot = table_slot_create(rel, NULL);
	TupleTableSlot *slot;
	SourceScan	scan;

	memset(counts, 0, sizeof(LineageRows));
	counts->d = enc->nterms;
	source_scan_begin(&scan, rel, snapshot);
	while ((slot = source_scan_next(&scan, row_slot)) != NULL)
	{
		LineageEntry probe;
		const LineageEntry *hit;
		int64		fingerprint;

		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(slot);
		if (slot->tts_isnull[enc->key_attnum - 1])
			continue;
		probe.key = encoder_key(enc, slot->tts_values, &probe.key_text);
		hit = bsearch(&probe, keys, nkeys, sizeof(LineageEntry), lineage_compare_entries);
		if (hit == NULL || seen[hit - keys])
			continue;			/* not a row of this model (or a duplicate key) */
		seen[hit - keys] = true;
		nseen++;
		if (!encoder_encode(enc, slot->tts_values, slot->tts_isnull,
							&X[(Size) fill * enc->nterms], &y[fill], &offset[fill],
							&fingerprint) ||
			fingerprint != hit->fingerprint)
		{
			/* Counted below, as not seen usable; ours, its rectification is to come. */
			if (source_scan_row_written_here(&scan, slot))
				counts->changed_here++;
			continue;
		}
		if (enc->filter != NULL && !model_filter_passes(enc->filter, slot))
		{
			counts->filtered_out++; /* a row its filter would leave out */
			if (source_scan_row_written_here(&scan, slot))
				counts->changed_here++;
			continue;
		}
		if (y[fill] > 0.0)
			counts->npositive++;
		offset[fill] = log(offset[fill]);	/* the exposure's log, as training takes it */
		counts->n++;
		if (++fill == block)
		{
			fn(X, y, enc->exposure_attnum != InvalidAttrNumber ? offset : NULL, fill, arg);
			fill = 0;
		}
	}
	if (fill > 0)
		fn(X, y, enc->exposure_attnum != InvalidAttrNumber ? offset : NULL, fill, arg);
	source_scan_end(&scan);
	counts->mismatched = nkeys - counts->n;
	if (nseen < nkeys)
		counts->deleted_here = count_deleted_here(enc, rel, keys, nkeys, seen, row_slot);
	ExecDropSingleTupleTableSlot(row_slot);
	pfree(seen);
	pfree(X);
	pfree(y);
	pfree(offset);
}

/* Appends a block of encoded rows to a LineageRows (an encoder_scan_lineage callback). */
static void
append_rows(double *X, double *y, double *offset, int nrows, void *arg)
{
	LineageRows *rows = (LineageRows *) arg;

	memcpy(&rows->X[(Size) rows->n * rows->d], X, sizeof(double) * rows->d * nrows);
	memcpy(&rows->y[rows->n], y, sizeof(double) * nrows);
	if (rows->offset && offset)
		memcpy(&rows->offset[rows->n], offset, sizeof(double) * nrows);
	rows->n += nrows;
}

/* Reads the source rows of a model's lineage under snapshot, encoded; counts what no longer matches. */
void
encoder_read_lineage(Encoder *enc, Relation rel, Snapshot snapshot,
					 const LineageEntry *keys, int64 nkeys, LineageRows *rows)
{
	int64		cap = Max(nkeys, 1);	/* every row used is in lineage */
	LineageRows into;
	LineageRows counts;

	memset(&into, 0, sizeof(LineageRows));
	into.d = enc->nterms;
	into.X = hugemem_alloc(sizeof(double) * into.d * cap);
	into.y = palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE);
	into.offset = enc->exposure_attnum != InvalidAttrNumber ?
		palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE) : NULL;
	encoder_scan_lineage(enc, rel, snapshot, keys, nkeys, append_rows, &into, &counts);
	*rows = counts;
	rows->X = into.X;
	rows->y = into.y;
	rows->offset = into.offset;
}
