/*-------------------------------------------------------------------------
 *
 * features.h
 *	  From source rows to feature vectors: column kinds, one-hot levels,
 *	  standardization, the parameter (term) layout and row fingerprints.
 *
 * A model's parameter vector theta has one entry per term:
 *	 [intercept?] then, per feature column in order, one term for a
 *	 numeric or boolean column, or one term per level (sorted) for a
 *	 categorical column (full one-hot coding; an unseen level has no term
 *	 and so contributes nothing).
 *
 * During training, a row is first captured "raw": raw[0] is the target
 * and raw[1 + j] is feature j's value (numeric) or level id (categorical),
 * then expanded into its term vector once levels and scaling are known.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_FEATURES_H
#define UNLEARN_FEATURES_H

#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "utils/hsearch.h"
#include "utils/rel.h"

/* How a column's values enter the model. */
typedef enum ColumnKind
{
	COLUMN_NUMERIC,				/* integer, float, numeric: the value */
	COLUMN_BOOLEAN,				/* 0 or 1 */
	COLUMN_CATEGORICAL			/* text, varchar, char, enum: one-hot levels */
} ColumnKind;

/* One feature column of the source and what training learned about it. */
typedef struct FeatureColumn
{
	char	   *name;
	AttrNumber	attnum;			/* in the relation being read */
	Oid			typid;			/* base type */
	ColumnKind	kind;

	/*
	 * numeric and boolean: running sums of (x - shift) / unit and of its
	 * square, where shift is the first value seen (the "shifted data"
	 * variance: no division per row, no cancellation for data far from
	 * zero) and unit the power of two above the largest |x - shift| so far
	 * (0 while every value equals shift), so that neither sum overflows
	 * or underflows whatever the column's scale (a unit of 1 gives the
	 * plain sums; a power of two scales them exactly); and the scaling
	 * they give
	 */
	int64		count;
	double		shift;
	double		unit;
	double		inv_unit;		/* 1 / unit */
	double		sum;
	double		sumsq;
	double		center;			/* x' = (x - center) * (1 / scale) */
	double		scale;
	double		inv_scale;		/* 1 / scale, as the encoder of erasure computes it */

	/* categorical: level dictionary */
	HTAB	   *levels;			/* text -> provisional id */
	int			nlevels;
	int			maxlevels;
	char	  **level_text;		/* by provisional id */
	int64	   *level_count;	/* training rows per level */
	int		   *level_position; /* provisional id -> rank in sorted order */

	bool		too_many_levels;	/* chosen columns: stopped counting levels */

	int			first_term;		/* index of this column's first term */
} FeatureColumn;

/* A column features = NULL left out, and why (for the NOTICE and catalog). */
typedef struct SkippedFeature
{
	char	   *name;
	char	   *reason;
} SkippedFeature;

/*
 * With features = NULL, a text column with more levels than this is left
 * out (so is one with at least FEATURES_CHOSEN_MIN_ID_LEVELS levels and more
 * levels than half the training rows: an identifier, not a feature).
 */
#define FEATURES_CHOSEN_MAX_LEVELS 1000
#define FEATURES_CHOSEN_MIN_ID_LEVELS 10

/* The feature columns of a model being trained, and its term layout. */
typedef struct FeatureSet
{
	int			nfeatures;
	FeatureColumn *cols;
	bool		intercept;
	bool		standardize;
	int			nterms;			/* parameters, intercept included */
	MemoryContext cxt;			/* where level dictionaries live */
	Oid			relid;			/* the relation the columns are of */
	bool		chosen;			/* features = NULL: columns unlearn chose */
	bool		stored_list;	/* the list is a model's stored one (retrain) */
	List	   *skipped;		/* chosen: SkippedFeature, in column order */
} FeatureSet;

/*
 * A hash table keyed by a level's text (a char * as the first field of
 * entries of entrysize bytes), in memory context cxt.
 */
extern HTAB *features_level_table(const char *name, Size entrysize, MemoryContext cxt);

/* Classifies a column type; false if it cannot be a feature. */
extern bool feature_kind_of_type(Oid typid, ColumnKind *kind);

/* Converts a numeric or boolean datum of base type typid to double. */
extern double feature_datum_to_double(Datum value, Oid typid);

/* The text of a categorical datum of base type typid. */
extern char *feature_datum_to_text(Datum value, Oid typid);

/* Human-readable name of a type, for error messages. */
extern char *feature_type_name(Oid typid);

/*
 * Resolves the feature columns of rel: the given names (a text[]), or
 * when names is NULL every usable column except the key and the target.
 */
extern FeatureSet *features_resolve(Relation rel, ArrayType *names,
									AttrNumber key_attnum,
									AttrNumber target_attnum,
									AttrNumber exposure_attnum,
									bool intercept, bool standardize);

/*
 * For chosen columns (features = NULL), after a first pass over the rows:
 * the columns to keep as a text[] when some must be left out (constant,
 * spread lost to rounding, too many levels, identifier-like; each added to
 * fs->skipped with its reason), or NULL when every column stays.
 */
extern ArrayType *features_choose(FeatureSet *fs, int64 nrows);

/* The skipped columns and their reasons, as one line for a message. */
extern char *features_skipped_text(const List *skipped);

/*
 * Refuses, before any row is read, a layout whose fit is not unique
 * without a penalty (l2 = 0): an intercept and a categorical column, or
 * two categorical columns (their one-hot terms are collinear).
 */
extern void features_check_identifiable(const FeatureSet *fs, double l2);

/* Width of a raw row: the target plus one slot per feature. */
#define FEATURES_RAW_WIDTH(fs) ((fs)->nfeatures + 1)

/*
 * Captures the features of a row (values indexed by attnum - 1, none of
 * them NULL) into raw[1..nfeatures].  When learning (the first pass),
 * registers new categorical levels and updates numeric statistics; later
 * passes only look levels up.  Unless text_hash is NULL, stores the hash
 * of each categorical value's text in text_hash[j].  Raises an error for
 * NaN or infinity.
 */
extern void features_capture_row(FeatureSet *fs, const Datum *values,
								 bool learn, double *raw, uint64 *text_hash);

/* Fixes the term layout and scaling once every training row was seen. */
extern void features_finalize(FeatureSet *fs);

/* Raises the error for a numeric column whose values' difference overflows. */
extern void features_range_error(const FeatureColumn *col) pg_attribute_noreturn();

/*
 * With standardize: the sums over the training rows of each term's value
 * as expanded, (x - center) / scale, and of its square, into sums: nterms
 * of each (0 for the intercept and levels).  Erasures keep them up to
 * date: they give the remaining rows' mean and spread (preprocessing.c).
 */
extern void features_term_sums(const FeatureSet *fs, double *sums);

/* Expands a raw row into its term vector x (length nterms). */
extern void features_expand(const FeatureSet *fs, const double *raw, double *x);

/*
 * Whether raw rows can become term vectors in place: no categorical
 * columns, so a term vector is never wider than a raw row.
 */
extern bool features_expand_in_place(const FeatureSet *fs);

/* Number of terms (parameters) a categorical or numeric column gives. */
extern int	features_column_terms(const FeatureColumn *col);

/*
 * 64-bit fingerprint of a row's values: the target and every feature, a
 * number by its double bits (-0 as +0), a categorical value by the hash of
 * its text.  It depends on the values alone, not on training state.
 */
extern int64 features_fingerprint(const FeatureSet *fs, const double *raw,
								  const uint64 *text_hash);

/* The 64-bit hash of a categorical value's text, as fingerprints use it. */
extern uint64 features_text_hash(const char *text);

/*
 * MurmurHash3's 64-bit finalizer: a full-avalanche mix of one word.
 * These three are inline: erasure computes a fingerprint for every
 * deleted row.
 */
static inline uint64
features_mix64(uint64 k)
{
	k ^= k >> 33;
	k *= UINT64CONST(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64CONST(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return k;
}

/* The fingerprint word of a number: its double bits, -0 as +0. */
static inline uint64
features_number_word(double x)
{
	uint64		bits;

	if (x == 0.0)
		x = 0.0;
	memcpy(&bits, &x, sizeof(bits));
	return bits;
}

/*
 * The fingerprint of a row from its words: the target's, then each
 * feature's in feature-list order (a number's, or its text hash).
 */
static inline int64
features_fingerprint_words(const uint64 *words, int n)
{
	uint64		h = features_mix64(words[0]);
	int			j;

	for (j = 1; j < n; j++)
		h = hash_combine64(h, features_mix64(words[j]));
	return (int64) h;
}

/*
 * A fingerprint with a Poisson model's exposure folded in (its number
 * word): an UPDATE of the exposure changes what the model was trained on.
 */
static inline int64
features_fingerprint_exposure(int64 fingerprint, double exposure)
{
	return (int64) hash_combine64((uint64) fingerprint,
								  features_mix64(features_number_word(exposure)));
}

/*
 * A fingerprint with a multinomial model's class folded in, by the hash of
 * its label (the target's own word is then 0).
 */
static inline int64
features_fingerprint_class(int64 fingerprint, const char *label)
{
	return (int64) hash_combine64((uint64) fingerprint,
								  features_mix64(features_text_hash(label)));
}

/*
 * A final feature set (after features_finalize) written flat, and read
 * back in cxt: its columns, their learnt centers, scales and level
 * dictionaries, for a parallel worker to read rows as the leader does.
 */
extern void features_serialize(const FeatureSet *fs, StringInfo buf);
extern FeatureSet *features_deserialize(const char **cursor, MemoryContext cxt);

#endif							/* UNLEARN_FEATURES_H */
