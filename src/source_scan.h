/*-------------------------------------------------------------------------
 *
 * source_scan.h
 *	  Scanning a model's source: a plain table, or every leaf partition of
 *	  a partitioned table, with rows handed over in the source's row type.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_SOURCE_SCAN_H
#define UNLEARN_SOURCE_SCAN_H

#include "access/tupconvert.h"
#include "executor/tuptable.h"
#include "nodes/pg_list.h"
#include "utils/rel.h"
#include "utils/snapshot.h"
#include "utils/tuplestore.h"

/* A scan over the tables that hold a source's rows. */
typedef struct SourceScan
{
	Relation	source;			/* the model's source (not closed here) */
	Snapshot	snapshot;
	List	   *leaves;			/* OIDs of the tables holding its rows */
	int			next_leaf;
	Relation	leaf;			/* the one being scanned, or NULL */
	TableScanDesc scan;
	TupleTableSlot *leaf_slot;	/* in the leaf's row type, when it differs */
	TupleConversionMap *map;	/* leaf -> source row type, or NULL */
} SourceScan;

/*
 * The tables that hold rows of a source: itself for a plain table (rows
 * of its inheritance children are not its own), its leaf partitions for
 * a partitioned table.  The caller holds a lock on the source; the
 * leaves are locked in lockmode (NoLock: the caller locked them).
 */
extern List *source_leaves(Relation source, LOCKMODE lockmode);

/* Starts a scan (no synchronized scans: every pass reads rows in one order). */
extern void source_scan_begin(SourceScan *ss, Relation source, Snapshot snapshot);

/*
 * The next row, in the source's row type: in slot (a slot of the source's
 * row type, virtual for a partitioned source), or in the leaf's own slot
 * when the leaf's row type is the source's; NULL at the end.  A leaf whose
 * row type differs (dropped columns, another column order) has its rows
 * converted by name.
 */
extern TupleTableSlot *source_scan_next(SourceScan *ss, TupleTableSlot *slot);

/*
 * Whether the row source_scan_next last returned (slot) was written by
 * the current transaction.
 */
extern bool source_scan_row_written_here(SourceScan *ss, TupleTableSlot *slot);

/*
 * Whether the current transaction deleted (or replaced) that row version
 * (a scan under SnapshotAny finds such versions).
 */
extern bool source_scan_row_deleted_here(SourceScan *ss, TupleTableSlot *slot);

/* Ends a scan (also one that did not reach its end). */
extern void source_scan_end(SourceScan *ss);

/* Every row of a source, in its row type, read with the latest snapshot. */
extern Tuplestorestate *source_scan_all_rows(Relation source);

#endif							/* UNLEARN_SOURCE_SCAN_H */
