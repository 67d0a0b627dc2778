/*-------------------------------------------------------------------------
 *
 * tablerow.c
 *	  Direct row access to the extension's own tables on the erasure path.
 *
 * An erasure reads and rewrites a few rows of unlearn.model and
 * unlearn.lineage.  As SQL statements, their planning, executor start-up
 * and constraint expressions (parsed afresh on every statement) cost more
 * than the erasure itself; these rows are written with values the
 * extension built, through the table AM, with the executor's own index
 * maintenance, like lineage_write does for training.  Callers hold the
 * model's row lock, so no other writer touches these rows meanwhile.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "tablerow.h"

/* OID of a relation (table or index) of schema unlearn; an error if missing. */
Oid
tablerow_relid(const char *name)
{
	Oid			relid = get_relname_relid(name, get_namespace_oid("unlearn", false));

	if (!OidIsValid(relid))
		elog(ERROR, "relation unlearn.%s is missing", name);
	return relid;
}

/*
 * The snapshot erasure reads its own tables with, registered: the newest
 * (READ COMMITTED: the model row lock has serialized writers already), or
 * the transaction's (REPEATABLE READ and SERIALIZABLE).
 */
Snapshot
tablerow_snapshot(void)
{
	return RegisterSnapshot(IsolationUsesXactSnapshot() ? GetTransactionSnapshot()
							: GetLatestSnapshot());
}

/* Adds index entries for a new row version tup to every index of rel. */
static void
insert_index_entries(Relation rel, HeapTuple tup)
{
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	TupleTableSlot *slot;

	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	ExecStoreHeapTuple(tup, slot, false);
	ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL);
	ExecDropSingleTupleTableSlot(slot);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
}

/* Replaces the row at otid with tup, keeping the table's indexes. */
void
tablerow_update(Relation rel, ItemPointer otid, HeapTuple tup)
{
	simple_heap_update(rel, otid, tup);
	if (!HeapTupleIsHeapOnly(tup))
		insert_index_entries(rel, tup);	/* not HOT: a new entry everywhere */
}

/* Inserts a row of values, keeping the table's indexes. */
void
tablerow_insert(Relation rel, Datum *values, bool *nulls)
{
	HeapTuple	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);

	simple_heap_insert(rel, tup);
	insert_index_entries(rel, tup);
	heap_freetuple(tup);
}

/*
 * Reads a bytea column of exactly len bytes of the row of an extension
 * table with the largest integer primary key (its first column), or with
 * key when key > 0, as snapshot sees it, and that key; false if no row.
 */
bool
tablerow_read_bytea(const char *table, int64 key, const char *column,
					Snapshot snapshot, int64 *row_key, uint8 *out, size_t len)
{
	Relation	rel = table_open(tablerow_relid(table), AccessShareLock);
	Relation	index = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	AttrNumber	keycol = 1;
	AttrNumber	col = get_attnum(RelationGetRelid(rel), column);
	Oid			keytype = TupleDescAttr(RelationGetDescr(rel), 0)->atttypid;
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	if (key > 0)
		ScanKeyInit(&skey, keycol, BTEqualStrategyNumber,
					keytype == INT8OID ? F_INT8EQ : F_INT4EQ,
					keytype == INT8OID ? Int64GetDatum(key) : Int32GetDatum((int32) key));
	scan = systable_beginscan_ordered(rel, index, snapshot, key > 0 ? 1 : 0, &skey);
	tup = systable_getnext_ordered(scan, BackwardScanDirection);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		k = heap_getattr(tup, keycol, RelationGetDescr(rel), &isnull);
		bytea	   *b = DatumGetByteaPP(heap_getattr(tup, col, RelationGetDescr(rel), &isnull));

		if (VARSIZE_ANY_EXHDR(b) != len)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("unlearn.%s holds a %s of %zu bytes, not %zu",
							table, column, VARSIZE_ANY_EXHDR(b), len)));
		*row_key = keytype == INT8OID ? DatumGetInt64(k) : DatumGetInt32(k);
		memcpy(out, VARDATA_ANY(b), len);
		found = true;
	}
	systable_endscan_ordered(scan);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	return found;
}
