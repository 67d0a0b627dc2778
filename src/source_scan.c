/*-------------------------------------------------------------------------
 *
 * source_scan.c
 *	  Scanning a model's source, a plain table or a partitioned one.
 *
 * A model's rows are the rows stored in its source: in the table itself
 * for a plain table (as SELECT ... FROM ONLY reads it: an inheritance
 * child's rows are its own table's), in its leaf partitions for a
 * partitioned table.  Training, refresh and verification read them with
 * this scan, one leaf after the other, in the source's row type.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/pg_inherits.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "source_scan.h"

/* The tables that hold rows of a source (see source_scan.h). */
List *
source_leaves(Relation source, LOCKMODE lockmode)
{
	List	   *all;
	List	   *leaves = NIL;
	ListCell   *lc;

	if (source->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return list_make1_oid(RelationGetRelid(source));
	all = find_all_inheritors(RelationGetRelid(source), lockmode, NULL);
	foreach(lc, all)
	{
		Oid			relid = lfirst_oid(lc);

		if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
			leaves = lappend_oid(leaves, relid);
	}
	return leaves;
}

/* Starts a scan over a source's rows. */
void
source_scan_begin(SourceScan *ss, Relation source, Snapshot snapshot)
{
	memset(ss, 0, sizeof(SourceScan));
	ss->source = source;
	ss->snapshot = snapshot;
	ss->leaves = source_leaves(source, NoLock);
}

/* Closes the leaf being scanned. */
static void
close_leaf(SourceScan *ss)
{
	if (ss->scan)
		table_endscan(ss->scan);
	if (ss->leaf_slot)
		ExecDropSingleTupleTableSlot(ss->leaf_slot);
	if (ss->map)
		free_conversion_map(ss->map);
	if (ss->leaf && ss->leaf != ss->source)
		table_close(ss->leaf, NoLock);
	ss->scan = NULL;
	ss->leaf_slot = NULL;
	ss->map = NULL;
	ss->leaf = NULL;
}

/*
 * The next row of the source: in slot (of the source's row type) for a
 * plain source or a leaf whose row type differs (converted by name), or
 * in the leaf's own slot when its row type is the source's; NULL at the
 * end.
 */
TupleTableSlot *
source_scan_next(SourceScan *ss, TupleTableSlot *slot)
{
	for (;;)
	{
		if (ss->scan == NULL)
		{
			Oid			relid;

			if (ss->next_leaf >= list_length(ss->leaves))
				return NULL;
			relid = list_nth_oid(ss->leaves, ss->next_leaf++);
			ss->leaf = relid == RelationGetRelid(ss->source) ? ss->source :
				table_open(relid, NoLock);
			if (ss->leaf != ss->source)
			{
				ss->map = convert_tuples_by_name(RelationGetDescr(ss->leaf),
												 RelationGetDescr(ss->source));
				ss->leaf_slot = table_slot_create(ss->leaf, NULL);
			}
			ss->scan = table_beginscan_strat(ss->leaf, ss->snapshot, 0, NULL, true, false);
		}
		if (ss->leaf_slot == NULL)
		{
			if (table_scan_getnextslot(ss->scan, ForwardScanDirection, slot))
				return slot;
		}
		else if (table_scan_getnextslot(ss->scan, ForwardScanDirection, ss->leaf_slot))
		{
			if (ss->map == NULL)
				return ss->leaf_slot;
			execute_attr_map_slot(ss->map->attrMap, ss->leaf_slot, slot);
			return slot;
		}
		/* A heap scan restarts if asked again after its end: close it here. */
		close_leaf(ss);
	}
}

/*
 * Whether the current transaction wrote (which: MinTransactionId...) or
 * deleted or replaced (MaxTransactionId...) the row version
 * source_scan_next last returned: read from the table AM's own slot,
 * which a converted row came from.
 */
static bool
row_by_current_transaction(SourceScan *ss, TupleTableSlot *slot, AttrNumber which)
{
	TupleTableSlot *stored = ss->leaf_slot != NULL ? ss->leaf_slot : slot;
	bool		isnull;
	Datum		xid = slot_getsysattr(stored, which, &isnull);

	return !isnull && TransactionIdIsValid(DatumGetTransactionId(xid)) &&
		TransactionIdIsCurrentTransactionId(DatumGetTransactionId(xid));
}

/* Whether the current transaction wrote the row version last returned. */
bool
source_scan_row_written_here(SourceScan *ss, TupleTableSlot *slot)
{
	return row_by_current_transaction(ss, slot, MinTransactionIdAttributeNumber);
}

/* Whether the current transaction deleted (or replaced) the row version last returned. */
bool
source_scan_row_deleted_here(SourceScan *ss, TupleTableSlot *slot)
{
	return row_by_current_transaction(ss, slot, MaxTransactionIdAttributeNumber);
}

/* Ends a scan. */
void
source_scan_end(SourceScan *ss)
{
	close_leaf(ss);
	list_free(ss->leaves);
	ss->leaves = NIL;
}

/* Every row of a source, in its row type, read with the latest snapshot. */
Tuplestorestate *
source_scan_all_rows(Relation source)
{
	Tuplestorestate *rows = tuplestore_begin_heap(false, false, work_mem);
	TupleTableSlot *row_slot = table_slot_create(source, NULL);
	TupleTableSlot *slot;
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	SourceScan	scan;

	source_scan_begin(&scan, source, snapshot);
	while ((slot = source_scan_next(&scan, row_slot)) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		tuplestore_puttupleslot(rows, slot);
	}
	source_scan_end(&scan);
	UnregisterSnapshot(snapshot);
	ExecDropSingleTupleTableSlot(row_slot);
	return rows;
}
