/*-------------------------------------------------------------------------
 *
 * dataset.h
 *	  Reading a model's training rows from its source table: validation of
 *	  the source, the key, the target and the row filter; one snapshot
 *	  taken after writers are locked out; dense row blocks in memory, or
 *	  re-scans under the same snapshot when they would not fit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_DATASET_H
#define UNLEARN_DATASET_H

#include "access/relscan.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "utils/snapshot.h"

#include "features.h"
#include "lib/stringinfo.h"
#include "loss.h"
#include "options.h"
#include "source_scan.h"

/* Rows per dense block: small enough to stay in cache during a pass. */
#define DATASET_BLOCK_ROWS 1024

/* A block of training rows: term vectors (row-major) and targets. */
typedef struct DataBlock
{
	int			nrows;
	double	   *X;				/* nrows x nterms */
	double	   *y;				/* nrows */
	double	   *offset;			/* nrows: log(exposure) added to each logit, or NULL */
} DataBlock;

/* One training row's lineage: its key and the fingerprint of its values. */
typedef struct LineageEntry
{
	int64		key;			/* the key itself (integer keys) or its hash */
	int64		fingerprint;
	char	   *key_text;		/* the key's text when key is a hash, else NULL */
} LineageEntry;

/* What a model's training reads, as given by the caller. */
typedef struct DatasetSpec
{
	Oid			relid;
	const char *target;
	ArrayType  *features;		/* text[] or NULL for all usable columns */
	LossTarget	target_kind;	/* what a target must be (the model's loss) */
	TrainOptions *options;
	const char *model_name;		/* for progress messages */
	Oid			filter_owner;	/* the role the "where" filter runs as */
	bool		filter_stored;	/* options->where is a model's stored text */
	bool		allow_empty;	/* no rows: return the empty dataset, no error */
} DatasetSpec;

/* The training rows of one model. */
typedef struct Dataset
{
	MemoryContext cxt;			/* where everything that lasts lives */
	MemoryContext row_cxt;		/* reset after every row */
	Relation	rel;
	Snapshot	snapshot;
	AttrNumber	key_attnum;
	Oid			key_type;
	bool		key_is_integer;
	char	   *key_name;
	AttrNumber	target_attnum;
	Oid			target_type;
	char	   *target_name;
	LossTarget	target_kind;
	AttrNumber	exposure_attnum;	/* Poisson's exposure column, or InvalidAttrNumber */
	Oid			exposure_type;
	char	   *exposure_name;
	NullPolicy	nulls;
	double		holdout;		/* the option holdout: share of rows kept out */
	FeatureSet *fs;
	const char *model_name;

	/* row filter */
	EState	   *estate;
	ExprState  *filter;
	char	   *filter_text;	/* its canonical text, or NULL */
	Oid			filter_owner;	/* runs as this role */
	TupleTableSlot *row_slot;	/* of the source's row type */
	TupleTableSlot *slot;		/* the current row: row_slot or a leaf's slot */
	FmgrInfo	key_out;

	/* counts */
	int64		nrows;
	int64		nskipped;
	int64		nheld_out;		/* rows held out of training (option holdout) */
	int64		npositive;		/* rows whose target is above 0 (0/1, count) */
	int			nclasses;		/* multinomial: the target's classes (else 0) */
	struct ClassSet *classes;	/* multinomial: their values and row counts */

	/* rows in memory, or streamed from the table on every pass */
	bool		in_memory;
	struct ParallelSums *parallel;	/* while a fit shares its passes (parallel_sums.h) */
	struct DistributedSource *distributed;	/* a Citus-distributed source (distributed.h) */
	List	   *segments;		/* large allocations the row blocks live in */
	char	   *seg_base;		/* the segment being filled */
	Size		seg_size;
	Size		seg_used;
	List	   *raw_blocks;		/* during the first pass */
	int			nblocks;
	DataBlock **blocks;
	Size		memory_limit;

	/* lineage, sorted by key after the first pass */
	LineageEntry *entries;
	int64		nentries;
	int64		maxentries;

	/* pass state: next in-memory block, or the streaming scan */
	int			cursor;
	SourceScan	scan;
	bool		scanning;
	DataBlock  *stream_block;
	double	   *stream_raw;
	/* a streaming pass shared with parallel workers (parallel_sums.c) */
	ParallelTableScanDesc pscan;	/* set: passes take this scan's share */
	TableScanDesc pdesc;
} Dataset;

/*
 * Opens and checks the source (which must already be locked against
 * writers), resolves key, target, features and filter, and reads every
 * training row once: statistics, levels, lineage, and the rows themselves
 * when they fit in unlearn.train_memory.  On return the feature layout is
 * final.
 */
extern Dataset *dataset_load(const DatasetSpec *spec);

/*
 * What a parallel worker needs to read ds's streaming passes as the leader
 * does (the relation, key, target, exposure, holdout, filter, the final
 * features and classes), written flat; and a dataset for such a worker
 * made from it, its relation opened (the leader holds the lock), reading
 * under the worker's active snapshot (the leader's, restored).
 */
extern void dataset_serialize_passes(const Dataset *ds, StringInfo buf);
extern Dataset *dataset_attach_passes(const char *data);

/* Releases what dataset_attach_passes opened. */
extern void dataset_detach_passes(Dataset *ds);

/*
 * A dataset of rows already encoded as term vectors (row-major X, nrows x
 * nterms; y), for the solver; it takes the arrays over.
 */
extern Dataset *dataset_from_rows(int nterms, double *X, double *y, double *offset,
								  int64 nrows);

/*
 * Compiles a "where" option over rel's rows into estate; *canonical (if
 * not NULL) receives its stored form.  The caller runs it as the filter's
 * owner (privileges_enter_role, search_path pinned); search_path is the
 * path to parse a new filter's text with (its author's), NULL for a
 * stored form, which names everything qualified.
 */
extern ExprState *dataset_compile_filter(Relation rel, const char *where,
										 const char *search_path,
										 EState *estate, char **canonical);

/*
 * The analysed, not yet planned, expression of a "where" option over
 * rel's rows; *canonical (if not NULL) receives its stored form.
 */
extern Node *dataset_filter_expr(Relation rel, const char *where, const char *search_path,
								 char **canonical);

/* Starts a pass over the training rows. */
extern void dataset_begin_pass(Dataset *ds);

/* The next block of the pass, or NULL at its end. */
extern DataBlock *dataset_next_block(Dataset *ds);

/* Releases the snapshot and closes the relation (lock kept). */
extern void dataset_close(Dataset *ds);

/*
 * Checks that a relation can be a model's source (an ordinary, permanent,
 * non-catalog table), from the catalog caches, so it can run before the
 * relation is locked; raises errors for the rest.
 */
extern void dataset_check_source(Oid relid);

/* The 64-bit lineage key of a key datum (and its text if hashed). */
extern int64 dataset_key_value(Oid key_type, Datum value, FmgrInfo *key_out,
							   char **key_text);

/* Whether a key type is stored directly (integers) rather than hashed. */
extern bool dataset_key_is_integer(Oid key_type);

#endif							/* UNLEARN_DATASET_H */
