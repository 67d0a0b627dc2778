/*-------------------------------------------------------------------------
 *
 * encoder.h
 *	  A stored model's view of source rows: the term vector, target, key
 *	  and fingerprint of a row, by the model's stored terms (fixed scaling
 *	  and levels), for erasure.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_ENCODER_H
#define UNLEARN_ENCODER_H

#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/hsearch.h"

#include "catalog.h"
#include "lineage.h"
#include "utils/rel.h"
#include "utils/snapshot.h"

/* A feature column of the model, located in the source's row type. */
typedef struct EncoderColumn
{
	char	   *name;
	AttrNumber	attnum;
	Oid			type;			/* base type */
	bool		categorical;
	int			term;			/* numeric: its term */
	HTAB	   *levels;			/* categorical: level text -> term */
} EncoderColumn;

/* How to read a model's rows from its source. */
typedef struct Encoder
{
	StoredModel *model;
	bool		usable;			/* every column is there, of a kind the model can read */
	const char *unusable;		/* if not, why */
	struct ModelFilter *filter; /* lineage scans check rows against it, or NULL */
	int			nterms;
	int			ncols;
	EncoderColumn *cols;		/* in feature-list order */
	AttrNumber	target_attnum;
	Oid			target_type;
	AttrNumber	exposure_attnum;	/* Poisson's exposure column, or InvalidAttrNumber */
	Oid			exposure_type;
	double		exposure;		/* scratch: the row's exposure */
	int			class;			/* scratch: multinomial, the row's class */
	AttrNumber	key_attnum;
	Oid			key_type;
	FmgrInfo	key_out;
	double	   *center;			/* per term */
	double	   *inv_scale;		/* per term: 1 / scale, as training computes it */
	uint64	   *words;			/* fingerprint words, scratch */
	bool		dense;			/* each term is one numeric column's or the intercept */
	/* every feature column a float8: the fast path and its column table */
	bool		all_float8;
	int		   *attidx;			/* per column: attnum - 1 */
	int		   *termidx;		/* per column: its term */
} Encoder;

/*
 * Builds the encoder of a stored model for a row type of its source's;
 * NULL if the key column is gone (lineage cannot be matched), not usable
 * (enc->unusable says why) if another column is gone or has changed its
 * type to a kind the model cannot read (the model can only be retrained;
 * its keys are still read).
 */
extern Encoder *encoder_create(StoredModel *model, TupleDesc desc);

/* The lineage key of a row (and its text for hashed keys). */
extern int64 encoder_key(Encoder *enc, const Datum *values, char **key_text);

/*
 * The term vector x, target y, exposure (1 without one) and (unless
 * NULL) fingerprint of a row.  Returns false if the row
 * cannot be what the model was trained on (a NULL, NaN, a label that is
 * not 0/1, a count that is not one, an exposure not above 0, an unknown
 * level): it changed behind the model's back.
 */
extern bool encoder_encode(Encoder *enc, const Datum *values, const bool *isnull,
						   double *x, double *y, double *exposure, int64 *fingerprint);

/* A model's lineage rows as its source holds them now, encoded. */
typedef struct LineageRows
{
	int			d;				/* the model's terms */
	int64		n;
	double	   *X;				/* n x d, row-major */
	double	   *y;
	double	   *offset;			/* n: log(exposure), or NULL without one */
	int64		npositive;		/* rows whose target is above 0 */
	int64		mismatched;		/* lineage rows missing, changed or unusable */
	int64		filtered_out;	/* ... of which its filter no longer admits */
	int64		changed_here;	/* ... of which this transaction changed (not yet rectified) */
	int64		deleted_here;	/* ... of which it deleted or re-keyed (not yet erased) */
} LineageRows;

/* Receives encoded rows, nrows x d row-major (it may change them in place). */
typedef void (*LineageBlockFn) (double *X, double *y, double *offset, int nrows, void *arg);

/*
 * Scans the source (under snapshot) for the rows whose keys are among the
 * sorted lineage entries, as encoder_read_lineage does, but hands each
 * block of up to DATASET_BLOCK_ROWS usable rows to fn instead of keeping
 * them: a pass over all rows with no array of them all.  *counts gets
 * n, npositive and mismatched (X and y NULL).
 */
extern void encoder_scan_lineage(Encoder *enc, Relation rel, Snapshot snapshot,
								 const LineageEntry *keys, int64 nkeys,
								 LineageBlockFn fn, void *arg, LineageRows *counts);

/*
 * Reads the source rows (under snapshot) whose keys are among the sorted
 * lineage entries: a row whose values still have its recorded fingerprint
 * is encoded into rows; lineage rows missing from the source, changed
 * behind the model's back or no longer encodable are counted instead.
 */
extern void encoder_read_lineage(Encoder *enc, Relation rel, Snapshot snapshot,
								 const LineageEntry *keys, int64 nkeys,
								 LineageRows *rows);

#endif							/* UNLEARN_ENCODER_H */
