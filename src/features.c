/*-------------------------------------------------------------------------
 *
 * features.c
 *	  From source rows to feature vectors: column kinds, one-hot levels,
 *	  standardization, the parameter (term) layout and row fingerprints.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "parser/parse_relation.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "features.h"
#include "linalg.h"
#include "serial.h"

/* A categorical level in a column's dictionary. */
typedef struct LevelEntry
{
	char	   *text;			/* hash key: the level's text */
	int			id;				/* provisional id, in order of first sight */
} LevelEntry;

/* Classifies a column type; false if it cannot be a feature. */
bool
feature_kind_of_type(Oid typid, ColumnKind *kind)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			*kind = COLUMN_NUMERIC;
			return true;
		case BOOLOID:
			*kind = COLUMN_BOOLEAN;
			return true;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			*kind = COLUMN_CATEGORICAL;
			return true;
		default:
			if (type_is_enum(typid))
			{
				*kind = COLUMN_CATEGORICAL;
				return true;
			}
			return false;
	}
}

/* Converts a numeric or boolean datum of base type typid to double. */
double
feature_datum_to_double(Datum value, Oid typid)
{
	if (likely(typid == FLOAT8OID))
		return DatumGetFloat8(value);
	switch (typid)
	{
		case INT2OID:
			return (double) DatumGetInt16(value);
		case INT4OID:
			return (double) DatumGetInt32(value);
		case INT8OID:
			return (double) DatumGetInt64(value);
		case FLOAT4OID:
			return (double) DatumGetFloat4(value);
		case FLOAT8OID:
			return DatumGetFloat8(value);
		case NUMERICOID:
			/* out of double range becomes +-Infinity, rejected by callers */
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, value));
		case BOOLOID:
			return DatumGetBool(value) ? 1.0 : 0.0;
		default:
			elog(ERROR, "type %u is not numeric", typid);
			return 0.0;			/* keep compiler quiet */
	}
}

/* The text of a categorical datum of base type typid. */
char *
feature_datum_to_text(Datum value, Oid typid)
{
	if (typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID)
		return TextDatumGetCString(value);
	return DatumGetCString(DirectFunctionCall1(enum_out, value));
}

/* Human-readable name of a type, for error messages. */
char *
feature_type_name(Oid typid)
{
	return format_type_be(typid);
}

/* Hash of a level's text (dynahash callback). */
static uint32
level_hash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

/* Equality of two level texts (dynahash callback; 0 means equal). */
static int
level_match(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(char *const *) key1, *(char *const *) key2);
}

/* A hash table keyed by a level's text, in memory context cxt. */
HTAB *
features_level_table(const char *name, Size entrysize, MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(char *);
	ctl.entrysize = entrysize;
	ctl.hash = level_hash;
	ctl.match = level_match;
	ctl.hcxt = cxt;
	return hash_create(name, 16, &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

/* Sets up one feature column after its type was accepted. */
static void
init_column(FeatureSet *fs, FeatureColumn *col, Form_pg_attribute attr,
			ColumnKind kind, Oid basetype)
{
	memset(col, 0, sizeof(FeatureColumn));
	col->name = pstrdup(NameStr(attr->attname));
	col->attnum = attr->attnum;
	col->typid = basetype;
	col->kind = kind;
	col->scale = 1.0;
	col->inv_scale = 1.0;
	if (kind == COLUMN_CATEGORICAL)
	{
		col->levels = features_level_table("unlearn levels", sizeof(LevelEntry), fs->cxt);
		col->maxlevels = 16;
		col->level_text = MemoryContextAlloc(fs->cxt, sizeof(char *) * col->maxlevels);
		col->level_count = MemoryContextAllocZero(fs->cxt, sizeof(int64) * col->maxlevels);
	}
}

/* Raises the error for a column whose type cannot be a feature. */
static void
unusable_type_error(Relation rel, Form_pg_attribute attr)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column \"%s\" of relation \"%s\" has type %s, which cannot be a feature",
					NameStr(attr->attname), RelationGetRelationName(rel),
					feature_type_name(attr->atttypid)),
			 errhint("Features must be integer, floating-point, numeric, boolean, text, varchar, char or enum columns.")));
}

/* Records that a chosen column is left out, and why. */
static void
skip_column(FeatureSet *fs, const char *name, char *reason)
{
	SkippedFeature *sk = palloc(sizeof(SkippedFeature));

	sk->name = pstrdup(name);
	sk->reason = reason;
	fs->skipped = lappend(fs->skipped, sk);
}

/* The skipped columns and their reasons, as one line for a message. */
char *
features_skipped_text(const List *skipped)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, skipped)
	{
		SkippedFeature *sk = lfirst(lc);

		appendStringInfo(&buf, "%s%s (%s)", buf.len > 0 ? "; " : "",
						 quote_identifier(sk->name), sk->reason);
	}
	return buf.data;
}

/* Raises the error for a table where no column can be a chosen feature. */
static void
features_none_left(const FeatureSet *fs, const char *relname)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("relation \"%s\" has no usable feature columns", relname),
			 fs->skipped != NIL ?
			 errdetail("Skipped: %s.", features_skipped_text(fs->skipped)) : 0,
			 errhint("Features must be integer, floating-point, numeric, boolean, text, varchar, char or enum columns that vary over the training rows.")));
}

/*
 * Resolves the feature columns of rel (given names, or all usable ones
 * but the key, the target and the exposure column).
 */
FeatureSet *
features_resolve(Relation rel, ArrayType *names, AttrNumber key_attnum,
				 AttrNumber target_attnum, AttrNumber exposure_attnum,
				 bool intercept, bool standardize)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	FeatureSet *fs = palloc0(sizeof(FeatureSet));
	int			i;

	fs->intercept = intercept;
	fs->standardize = standardize;
	fs->relid = RelationGetRelid(rel);
	fs->cxt = CurrentMemoryContext;
	fs->cols = palloc0(sizeof(FeatureColumn) * Max(tupdesc->natts, 1));

	if (names == NULL)
	{
		for (i = 0; i < tupdesc->natts; i++)
		{
			Form_pg_attribute attr = TupleDescAttr(tupdesc, i);
			Oid			basetype;
			ColumnKind	kind;

			if (attr->attisdropped || attr->attnum == key_attnum ||
				attr->attnum == target_attnum || attr->attnum == exposure_attnum)
				continue;
			basetype = getBaseType(attr->atttypid);
			if (feature_kind_of_type(basetype, &kind))
				init_column(fs, &fs->cols[fs->nfeatures++], attr, kind, basetype);
			else
				skip_column(fs, NameStr(attr->attname),
							psprintf("type %s cannot be a feature",
									 feature_type_name(attr->atttypid)));
		}
		fs->chosen = true;
		if (fs->nfeatures == 0)
			features_none_left(fs, RelationGetRelationName(rel));
		return fs;
	}

	{
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		if (ARR_NDIM(names) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("feature list must be a one-dimensional array")));
		deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &nelems);
		if (nelems == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature list must not be empty"),
					 errhint("Pass NULL to use every usable column.")));
		fs->cols = palloc0(sizeof(FeatureColumn) * nelems);
		for (i = 0; i < nelems; i++)
		{
			char	   *name;
			AttrNumber	attnum;
			Form_pg_attribute attr;
			Oid			basetype;
			ColumnKind	kind;
			int			k;

			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("feature list must not contain nulls")));
			name = TextDatumGetCString(elems[i]);
			attnum = attnameAttNum(rel, name, false);
			if (attnum == InvalidAttrNumber)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column \"%s\" of relation \"%s\" does not exist",
								name, RelationGetRelationName(rel))));
			if (attnum == key_attnum)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("key column \"%s\" cannot be a feature", name)));
			if (attnum == target_attnum)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("target column \"%s\" cannot be a feature", name)));
			if (attnum == exposure_attnum)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("exposure column \"%s\" cannot be a feature", name),
						 errdetail("It enters every logit as the offset log(exposure), with no weight of its own.")));
			for (k = 0; k < fs->nfeatures; k++)
				if (fs->cols[k].attnum == attnum)
					ereport(ERROR,
							(errcode(ERRCODE_DUPLICATE_COLUMN),
							 errmsg("column \"%s\" is listed twice among the features",
									name)));
			attr = TupleDescAttr(tupdesc, attnum - 1);
			basetype = getBaseType(attr->atttypid);
			if (!feature_kind_of_type(basetype, &kind))
				unusable_type_error(rel, attr);
			init_column(fs, &fs->cols[fs->nfeatures++], attr, kind, basetype);
		}
	}
	return fs;
}

/*
 * Refuses, before any row is read, a layout whose fit cannot be unique
 * without a penalty: one-hot terms (one per level) sum to 1 in every row,
 * as the intercept does, so with l2 = 0 an intercept and a categorical
 * column, or two categorical columns, are collinear.  Dropping a reference
 * level instead would make an unseen level indistinguishable from it, and
 * erasing every row of that level would leave the model singular.
 */
void
features_check_identifiable(const FeatureSet *fs, double l2)
{
	const char *first = NULL;
	int			j;

	if (l2 > 0)
		return;
	for (j = 0; j < fs->nfeatures; j++)
	{
		const FeatureColumn *col = &fs->cols[j];

		if (col->kind != COLUMN_CATEGORICAL)
			continue;
		if (fs->intercept)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("categorical feature \"%s\" and an intercept need l2 above 0",
							col->name),
					 errdetail("A categorical column gets one term per level, and in every row these terms sum to 1, as the intercept does: without a penalty the fit is not unique."),
					 errhint("Set the option \"l2\" above 0 (a small penalty such as 1e-6 makes the fit unique), or set \"intercept\" to false.")));
		if (first != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("categorical features \"%s\" and \"%s\" need l2 above 0",
							first, col->name),
					 errdetail("A categorical column gets one term per level, and in every row these terms sum to 1: for two such columns, without a penalty the fit is not unique."),
					 errhint("Set the option \"l2\" above 0 (a small penalty such as 1e-6 makes the fit unique), or keep one categorical column.")));
		first = col->name;
	}
}

/* Registers a categorical level if new; returns its provisional id. */
static int
level_id(FeatureSet *fs, FeatureColumn *col, char *text)
{
	LevelEntry *entry;
	bool		found;

	if (col->too_many_levels)
		return 0;				/* left out: the row is read again without it */
	if (fs->chosen && col->nlevels >= FEATURES_CHOSEN_MAX_LEVELS &&
		hash_search(col->levels, &text, HASH_FIND, NULL) == NULL)
	{
		col->too_many_levels = true;
		return 0;
	}
	entry = hash_search(col->levels, &text, HASH_ENTER, &found);
	if (!found)
	{
		if (col->nlevels >= LINALG_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("categorical column \"%s\" has more than %d levels",
							col->name, LINALG_MAX_DIM)));
		if (col->nlevels == col->maxlevels)
		{
			col->maxlevels *= 2;
			col->level_text = repalloc(col->level_text, sizeof(char *) * col->maxlevels);
			col->level_count = repalloc(col->level_count, sizeof(int64) * col->maxlevels);
			memset(col->level_count + col->nlevels, 0,
				   sizeof(int64) * (col->maxlevels - col->nlevels));
		}
		entry->text = MemoryContextStrdup(fs->cxt, text);
		entry->id = col->nlevels;
		col->level_text[col->nlevels++] = entry->text;
	}
	col->level_count[entry->id]++;
	return entry->id;
}

/* The provisional id of a level already in the dictionary. */
static int
known_level_id(FeatureColumn *col, char *text)
{
	LevelEntry *entry = hash_search(col->levels, &text, HASH_FIND, NULL);

	if (entry == NULL)
		elog(ERROR, "level \"%s\" of column \"%s\" appeared after the first pass",
			 text, col->name);
	return entry->id;
}

/* Raises the error for a non-finite numeric value. */
static void
non_finite_error(const FeatureColumn *col)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("column \"%s\" contains NaN or infinity", col->name),
			 errhint("Leave such rows out with the option \"where\".")));
}

/* The 64-bit hash of a categorical value's text, as fingerprints use it. */
uint64
features_text_hash(const char *text)
{
	return hash_bytes_extended((const unsigned char *) text, strlen(text), 0);
}

/* Raises the error for a numeric column whose range overflows (see features.h). */
void
features_range_error(const FeatureColumn *col)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("values of feature column \"%s\" are too far apart for double precision",
					col->name),
			 errdetail("The difference between two of its values overflows."),
			 errhint("Rescale the column in the source table.")));
}

/*
 * Raises a column's unit to the power of two above adx (a new largest
 * |x - shift|), rescaling its sums exactly.  The exponent stays where the
 * unit and its reciprocal are normal numbers.
 */
static void
grow_unit(FeatureColumn *col, double adx)
{
	int			e;
	double		ratio;

	if (!isfinite(adx))
		features_range_error(col);
	(void) frexp(adx, &e);		/* adx < 2^e */
	e = Max(Min(e, DBL_MAX_EXP - 1), DBL_MIN_EXP + 1);
	if (ldexp(1.0, e) <= col->unit)
		return;
	ratio = col->unit * ldexp(1.0, -e);
	col->sum *= ratio;
	col->sumsq *= ratio * ratio;
	col->unit = ldexp(1.0, e);
	col->inv_unit = ldexp(1.0, -e);
}

/* Captures the features of a row into raw[1..nfeatures]. */
void
features_capture_row(FeatureSet *fs, const Datum *values, bool learn,
					 double *raw, uint64 *text_hash)
{
	int			j;

	for (j = 0; j < fs->nfeatures; j++)
	{
		FeatureColumn *col = &fs->cols[j];
		Datum		value = values[col->attnum - 1];
		double		x;

		if (col->kind == COLUMN_CATEGORICAL)
		{
			char	   *text = feature_datum_to_text(value, col->typid);

			raw[1 + j] = (double) (learn ? level_id(fs, col, text) : known_level_id(col, text));
			if (text_hash)
				text_hash[j] = features_text_hash(text);
			pfree(text);
			continue;
		}
		x = likely(col->typid == FLOAT8OID) ? DatumGetFloat8(value) :
			feature_datum_to_double(value, col->typid);
		if (unlikely(!isfinite(x)))
			non_finite_error(col);
		raw[1 + j] = x;
		if (learn)
		{
			double		dx;

			if (col->count++ == 0)
				col->shift = x;
			dx = x - col->shift;
			if (unlikely(fabs(dx) >= col->unit) && dx != 0)
				grow_unit(col, fabs(dx));
			dx *= col->inv_unit;
			col->sum += dx;
			col->sumsq += dx * dx;
		}
	}
}

/* Number of terms (parameters) a column gives. */
int
features_column_terms(const FeatureColumn *col)
{
	return col->kind == COLUMN_CATEGORICAL ? col->nlevels : 1;
}

/* Sort support: level ids ordered by their text. */
static char **sort_texts;

/* Compares two level ids by text (qsort callback). */
static int
compare_level_ids(const void *a, const void *b)
{
	return strcmp(sort_texts[*(const int *) a], sort_texts[*(const int *) b]);
}

/* The standard deviation and mean of a numeric column's training values. */
static void
column_spread(const FeatureColumn *col, double *sd, double *mean)
{
	/* the sums are in units of col->unit: so are the spread and mean */
	double		n = (double) col->count;
	double		var = n > 0 ? (col->sumsq - col->sum * col->sum / n) / n : 0.0;

	*sd = var > 0 ? col->unit * sqrt(var) : 0.0;
	*mean = n > 0 ? col->shift + (col->sum / n) * col->unit : 0.0;
}

/* Raises the error for a listed feature column that does not vary. */
static void
constant_column_error(const FeatureSet *fs, const FeatureColumn *col)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("feature column \"%s\" is constant over the training rows",
					col->name),
			 fs->stored_list ?
			 errhint("A model's feature list is fixed when it is created: drop the model and create it again without this column.") :
			 errhint("Leave it out of the feature list.")));
}

/* Why a chosen column must be left out after the first pass, or NULL. */
static char *
chosen_column_unfit(const FeatureColumn *col, int64 nrows)
{
	double		sd;
	double		mean;

	if (col->kind == COLUMN_CATEGORICAL)
	{
		if (col->too_many_levels)
			return psprintf("more than %d levels", FEATURES_CHOSEN_MAX_LEVELS);
		if (col->nlevels < 2)
			return pstrdup("constant over the training rows");
		if (col->nlevels >= FEATURES_CHOSEN_MIN_ID_LEVELS &&
			(int64) col->nlevels * 2 > nrows)
			return psprintf("%d levels over " INT64_FORMAT " rows: an identifier, not a feature",
							col->nlevels, nrows);
		return NULL;
	}
	if (col->unit == 0)
		return pstrdup("constant over the training rows");
	column_spread(col, &sd, &mean);
	if (!(sd > 0) || !isfinite(sd))
		return pstrdup("its spread is lost to rounding");
	return NULL;
}

/* Chosen columns: the ones to keep when some must go (see features.h). */
ArrayType *
features_choose(FeatureSet *fs, int64 nrows)
{
	Datum	   *keep = palloc(sizeof(Datum) * Max(fs->nfeatures, 1));
	int			nkeep = 0;
	int			j;

	if (!fs->chosen)
		return NULL;
	for (j = 0; j < fs->nfeatures; j++)
	{
		char	   *reason = chosen_column_unfit(&fs->cols[j], nrows);

		if (reason != NULL)
			skip_column(fs, fs->cols[j].name, reason);
		else
			keep[nkeep++] = CStringGetTextDatum(fs->cols[j].name);
	}
	if (nkeep == fs->nfeatures)
		return NULL;
	if (nkeep == 0)
		features_none_left(fs, get_rel_name(fs->relid));
	return construct_array(keep, nkeep, TEXTOID, -1, false, TYPALIGN_INT);
}

/* Fixes the term layout and scaling once every training row was seen. */
void
features_finalize(FeatureSet *fs)
{
	int			t = fs->intercept ? 1 : 0;
	int			j;

	for (j = 0; j < fs->nfeatures; j++)
	{
		FeatureColumn *col = &fs->cols[j];

		col->first_term = t;
		if (col->kind == COLUMN_CATEGORICAL)
		{
			int		   *order = palloc(sizeof(int) * col->nlevels);
			int			k;

			if (col->nlevels < 2)
				constant_column_error(fs, col);
			for (k = 0; k < col->nlevels; k++)
				order[k] = k;
			sort_texts = col->level_text;
			qsort(order, col->nlevels, sizeof(int), compare_level_ids);
			sort_texts = NULL;
			col->level_position = MemoryContextAlloc(fs->cxt, sizeof(int) * col->nlevels);
			for (k = 0; k < col->nlevels; k++)
				col->level_position[order[k]] = k;
			pfree(order);
		}
		else
		{
			double		sd;
			double		mean;

			column_spread(col, &sd, &mean);
			if (col->unit == 0)
				constant_column_error(fs, col);
			if (!(sd > 0) || !isfinite(sd))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("the spread of feature column \"%s\" is lost to rounding",
								col->name),
						 errdetail("Its values differ, but by too little against their number for double precision."),
						 errhint("Rescale the column in the source table.")));
			/* Centering is only neutral when an intercept absorbs it. */
			col->center = (fs->standardize && fs->intercept) ? mean : 0.0;
			col->scale = fs->standardize ? sd : 1.0;
			col->inv_scale = 1.0 / col->scale;
		}
		t += features_column_terms(col);
		if (t > LINALG_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("model would have more than %d parameters", LINALG_MAX_DIM),
					 errhint("Leave out categorical columns with many levels.")));
	}
	fs->nterms = t;
}

/* The training rows' sums of each term's value and its square (see features.h). */
void
features_term_sums(const FeatureSet *fs, double *sums)
{
	int			d = fs->nterms;
	int			j;

	memset(sums, 0, sizeof(double) * 2 * d);
	for (j = 0; j < fs->nfeatures; j++)
	{
		const FeatureColumn *col = &fs->cols[j];
		double		n = (double) col->count;
		double		sd,
					mean,
					mean_z,
					sd_z;

		if (col->kind == COLUMN_CATEGORICAL)
			continue;
		column_spread(col, &sd, &mean);
		mean_z = (mean - col->center) * col->inv_scale;
		sd_z = sd * col->inv_scale;
		sums[col->first_term] = n * mean_z;
		sums[d + col->first_term] = n * (sd_z * sd_z + mean_z * mean_z);
	}
}

/* Expands a raw row into its term vector x (length nterms). */
void
features_expand(const FeatureSet *fs, const double *raw, double *x)
{
	int			j;

	if (fs->intercept)
		x[0] = 1.0;
	for (j = 0; j < fs->nfeatures; j++)
	{
		const FeatureColumn *col = &fs->cols[j];

		if (col->kind == COLUMN_CATEGORICAL)
		{
			memset(&x[col->first_term], 0, sizeof(double) * col->nlevels);
			x[col->first_term + col->level_position[(int) raw[1 + j]]] = 1.0;
		}
		else
			x[col->first_term] = (raw[1 + j] - col->center) * col->inv_scale;
	}
}

/* Whether raw rows can become term vectors in place (no categoricals). */
bool
features_expand_in_place(const FeatureSet *fs)
{
	int			j;

	for (j = 0; j < fs->nfeatures; j++)
		if (fs->cols[j].kind == COLUMN_CATEGORICAL)
			return false;
	return true;
}

/* 64-bit fingerprint of a row's values (target first, then features). */
int64
features_fingerprint(const FeatureSet *fs, const double *raw,
					 const uint64 *text_hash)
{
	uint64		h = features_mix64(features_number_word(raw[0]));
	int			j;

	/* the same as features_fingerprint_words, without building the words */
	for (j = 0; j < fs->nfeatures; j++)
	{
		uint64		word = fs->cols[j].kind == COLUMN_CATEGORICAL ?
			text_hash[j] : features_number_word(raw[1 + j]);

		h = hash_combine64(h, features_mix64(word));
	}
	return (int64) h;
}

/* Writes a final feature set's layout and learnt state (see features.h). */
void
features_serialize(const FeatureSet *fs, StringInfo buf)
{
	int			j,
				k;

	serial_put_int(buf, fs->nfeatures);
	serial_put_int(buf, fs->intercept);
	serial_put_int(buf, fs->standardize);
	serial_put_int(buf, fs->nterms);
	for (j = 0; j < fs->nfeatures; j++)
	{
		const FeatureColumn *col = &fs->cols[j];

		serial_put_string(buf, col->name);
		serial_put_int(buf, col->attnum);
		serial_put_int(buf, col->typid);
		serial_put_int(buf, col->kind);
		serial_put_double(buf, col->center);
		serial_put_double(buf, col->scale);
		serial_put_double(buf, col->inv_scale);
		serial_put_int(buf, col->first_term);
		serial_put_int(buf, col->kind == COLUMN_CATEGORICAL ? col->nlevels : 0);
		for (k = 0; col->kind == COLUMN_CATEGORICAL && k < col->nlevels; k++)
		{
			serial_put_string(buf, col->level_text[k]);
			serial_put_int(buf, col->level_position[k]);
		}
	}
}

/* A feature set as features_serialize wrote it, in cxt (see features.h). */
FeatureSet *
features_deserialize(const char **cursor, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	FeatureSet *fs = palloc0(sizeof(FeatureSet));
	int			j,
				k;

	fs->cxt = cxt;
	fs->nfeatures = (int) serial_get_int(cursor);
	fs->intercept = serial_get_int(cursor) != 0;
	fs->standardize = serial_get_int(cursor) != 0;
	fs->nterms = (int) serial_get_int(cursor);
	fs->cols = palloc0(sizeof(FeatureColumn) * Max(fs->nfeatures, 1));
	for (j = 0; j < fs->nfeatures; j++)
	{
		FeatureColumn *col = &fs->cols[j];

		col->name = serial_get_string(cursor);
		col->attnum = (AttrNumber) serial_get_int(cursor);
		col->typid = (Oid) serial_get_int(cursor);
		col->kind = (ColumnKind) serial_get_int(cursor);
		col->center = serial_get_double(cursor);
		col->scale = serial_get_double(cursor);
		col->inv_scale = serial_get_double(cursor);
		col->first_term = (int) serial_get_int(cursor);
		col->nlevels = (int) serial_get_int(cursor);
		if (col->kind != COLUMN_CATEGORICAL)
			continue;
		col->maxlevels = Max(col->nlevels, 1);
		col->level_text = palloc(sizeof(char *) * col->maxlevels);
		col->level_count = palloc0(sizeof(int64) * col->maxlevels);
		col->level_position = palloc(sizeof(int) * col->maxlevels);
		col->levels = features_level_table("unlearn levels", sizeof(LevelEntry), cxt);
		for (k = 0; k < col->nlevels; k++)
		{
			LevelEntry *entry;
			char	   *text = serial_get_string(cursor);
			bool		found;

			col->level_text[k] = text;
			col->level_position[k] = (int) serial_get_int(cursor);
			entry = hash_search(col->levels, &text, HASH_ENTER, &found);
			entry->text = text;
			entry->id = k;
		}
	}
	MemoryContextSwitchTo(old);
	return fs;
}
