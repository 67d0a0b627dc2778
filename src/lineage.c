/*-------------------------------------------------------------------------
 *
 * lineage.c
 *	  Which source rows trained each model.
 *
 * One row per key would cost more to write than training itself (a
 * million index insertions), so lineage is stored in chunks: each row of
 * unlearn.lineage holds up to LINEAGE_CHUNK_ENTRIES sorted keys with their
 * fingerprints, and covers the key range (previous chunk's upper_key,
 * upper_key]; the last chunk of a model ends at the largest bigint, so
 * every key has exactly one chunk to look in.  The primary key
 * (model_id, upper_key) finds that chunk with one index probe.
 *
 * Integer keys are stored as they are; other keys as a 64-bit hash, with
 * their text alongside so a hash collision can never confuse two rows
 * (equal hashes are kept in one chunk and told apart by text).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/snapmgr.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "distributed.h"
#include "lineage.h"
#include "tablerow.h"
#include "spi_cache.h"

static void local_lineage_remove(int32 model_id, LineageRemoval *keys, int nkeys);
static bool local_lineage_lookup(int32 model_id, int64 key, const char *key_text,
								 int64 *fingerprint);
static void local_lineage_insert(int32 model_id, const LineageEntry *entries, int n);

/* Column numbers of unlearn.lineage. */
#define Anum_lineage_model_id		1
#define Anum_lineage_upper_key		2
#define Anum_lineage_keys			3
#define Anum_lineage_fingerprints	4
#define Anum_lineage_key_texts		5
#define Natts_lineage				5

/* OID of the table unlearn.lineage. */
static Oid
lineage_relid(void)
{
	Oid			relid = get_relname_relid("lineage",
										  get_namespace_oid("unlearn", false));

	if (!OidIsValid(relid))
		elog(ERROR, "table unlearn.lineage is missing");
	return relid;
}

/* An int8[] of n values. */
static ArrayType *
int8_array(const int64 *values, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = Int64GetDatum(values[i]);
	return construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/*
 * Writes the lineage of a model from entries sorted by (key, key_text).
 * Rows go in through the table AM and the executor's index maintenance,
 * as COPY does, without a planner round trip per chunk.
 */
void
lineage_write(int32 model_id, const LineageEntry *entries, int64 nentries)
{
	Relation	rel = table_open(lineage_relid(), RowExclusiveLock);
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	TupleTableSlot *slot;
	CommandId	cid = GetCurrentCommandId(true);
	int64	   *keys = palloc(sizeof(int64) * LINEAGE_CHUNK_ENTRIES * 2);
	int64	   *fps = palloc(sizeof(int64) * LINEAGE_CHUNK_ENTRIES * 2);
	Datum	   *texts = palloc(sizeof(Datum) * LINEAGE_CHUNK_ENTRIES * 2);
	int64		start = 0;

	if (RelationGetDescr(rel)->natts != Natts_lineage)
		elog(ERROR, "table unlearn.lineage has %d columns, expected %d",
			 RelationGetDescr(rel)->natts, Natts_lineage);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	slot = table_slot_create(rel, NULL);

	while (start < nentries)
	{
		int64		end = Min(start + LINEAGE_CHUNK_ENTRIES, nentries);
		Datum	   *values;
		bool	   *nulls;
		bool		hashed = entries[start].key_text != NULL;
		int			n;
		int			i;

		CHECK_FOR_INTERRUPTS();
		ExecClearTuple(slot);
		values = slot->tts_values;
		nulls = slot->tts_isnull;
		memset(nulls, 0, sizeof(bool) * Natts_lineage);

		/* Equal keys (hash collisions) stay in one chunk. */
		while (end < nentries && entries[end].key == entries[end - 1].key &&
			   end - start < LINEAGE_CHUNK_ENTRIES * 2)
			end++;
		if (end < nentries && entries[end].key == entries[end - 1].key)
			elog(ERROR, "too many lineage keys share the hash " INT64_FORMAT,
				 entries[end].key);

		n = (int) (end - start);
		for (i = 0; i < n; i++)
		{
			keys[i] = entries[start + i].key;
			fps[i] = entries[start + i].fingerprint;
			if (hashed)
				texts[i] = CStringGetTextDatum(entries[start + i].key_text);
		}
		values[Anum_lineage_model_id - 1] = Int32GetDatum(model_id);
		values[Anum_lineage_upper_key - 1] =
			Int64GetDatum(end == nentries ? PG_INT64_MAX : keys[n - 1]);
		values[Anum_lineage_keys - 1] = PointerGetDatum(int8_array(keys, n));
		values[Anum_lineage_fingerprints - 1] = PointerGetDatum(int8_array(fps, n));
		if (hashed)
			values[Anum_lineage_key_texts - 1] =
				PointerGetDatum(construct_array(texts, n, TEXTOID, -1, false, TYPALIGN_INT));
		else
			nulls[Anum_lineage_key_texts - 1] = true;

		ExecStoreVirtualTuple(slot);
		table_tuple_insert(rel, slot, cid, 0, NULL);
		ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL);
		ResetPerTupleExprContext(estate);
		for (i = 2; i < Natts_lineage; i++)
			if (!nulls[i])
				pfree(DatumGetPointer(values[i]));
		if (hashed)
			for (i = 0; i < n; i++)
				pfree(DatumGetPointer(texts[i]));
		start = end;
	}
	ExecDropSingleTupleTableSlot(slot);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	table_close(rel, RowExclusiveLock);
	pfree(keys);
	pfree(fps);
	pfree(texts);
}

/* Deletes every lineage chunk of a model. */
void
lineage_delete(int32 model_id)
{
	spi_delete_model_rows("DELETE FROM unlearn.lineage WHERE model_id = $1",
						  model_id, "lineage");
}

/* The first index of sorted keys[0..n) holding a key >= key (n if none). */
static int
first_at_least(const int64 *keys, int n, int64 key)
{
	int			lo = 0,
				hi = n;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Looks a key up in a model's lineage; true and its fingerprint if there. */
bool
lineage_lookup(int32 model_id, int64 key, const char *key_text, int64 *fingerprint)
{
	if (distributed_model(model_id))
		return distributed_lineage_lookup(model_id, key, key_text, fingerprint);
	return local_lineage_lookup(model_id, key, key_text, fingerprint);
}

/* lineage_lookup in unlearn.lineage. */
static bool
local_lineage_lookup(int32 model_id, int64 key, const char *key_text,
					 int64 *fingerprint)
{
	Oid			types[2] = {INT4OID, INT8OID};
	Datum		values[2] = {Int32GetDatum(model_id), Int64GetDatum(key)};
	bool		found = false;

	SPI_connect();
	if (spi_execute_cached("SELECT keys, fingerprints, key_texts FROM unlearn.lineage"
							  " WHERE model_id = $1 AND upper_key >= $2"
							  " ORDER BY upper_key LIMIT 1",
							  2, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the lineage of model %d", model_id);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		ArrayType  *karr = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 1, &isnull));
		ArrayType  *farr = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull));
		Datum		tdatum = SPI_getbinval(tup, desc, 3, &isnull);
		int			n = ArrayGetNItems(ARR_NDIM(karr), ARR_DIMS(karr));
		const int64 *keys = (const int64 *) ARR_DATA_PTR(karr);
		const int64 *fps = (const int64 *) ARR_DATA_PTR(farr);
		Datum	   *texts = NULL;
		int			lo;

		if (!isnull)
		{
			int			ntexts;

			deconstruct_array(DatumGetArrayTypeP(tdatum), TEXTOID, -1, false,
							  TYPALIGN_INT, &texts, NULL, &ntexts);
		}
		for (lo = first_at_least(keys, n, key); lo < n && keys[lo] == key; lo++)
		{
			if (texts == NULL || (key_text != NULL &&
								  strcmp(TextDatumGetCString(texts[lo]), key_text) == 0))
			{
				*fingerprint = fps[lo];
				found = true;
				break;
			}
		}
	}
	SPI_finish();
	return found;
}

/* Orders two (key, text) pairs. */
static int
key_order(int64 k1, const char *t1, int64 k2, const char *t2)
{
	if (k1 != k2)
		return k1 < k2 ? -1 : 1;
	if (t1 == NULL || t2 == NULL)
		return 0;
	return strcmp(t1, t2);
}

/* Orders removals by key, then key text (qsort callback). */
static int
compare_removals(const void *a, const void *b)
{
	const LineageRemoval *ra = a;
	const LineageRemoval *rb = b;

	return key_order(ra->key, ra->key_text, rb->key, rb->key_text);
}

/* Whether chunk entry i holds the key of a removal. */
static bool
entry_matches(const int64 *keys, Datum *texts, int i, const LineageRemoval *r)
{
	if (keys[i] != r->key)
		return false;
	if (texts == NULL)
		return true;
	return r->key_text != NULL &&
		strcmp(TextDatumGetCString(texts[i]), r->key_text) == 0;
}

/*
 * A walk over a model's chunks in key order through the primary key: one
 * index scan for a whole removal, which steps on to the next chunk when
 * that covers the next key (a range of keys deleted together) and is
 * positioned afresh otherwise.  Chunks the walk rewrites are new row
 * versions of the walk's own command: its snapshot does not see them.
 */
typedef struct ChunkWalk
{
	IndexScanDesc scan;
	ScanKeyData keys[2];
	bool		positioned;		/* the scan has returned a chunk */
	TupleDesc	desc;
} ChunkWalk;

/* Starts a walk over a model's chunks. */
static void
chunk_walk_begin(ChunkWalk *w, Relation rel, Relation index, Snapshot snapshot,
				 int32 model_id)
{
	ScanKeyInit(&w->keys[0], 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(model_id));
	w->scan = index_beginscan(rel, index, snapshot, 2, 0);
	w->positioned = false;
	w->desc = RelationGetDescr(rel);
}

/* The bound (upper_key) of the chunk in slot. */
static int64
chunk_upper(ChunkWalk *w, TupleTableSlot *slot)
{
	bool		isnull;

	return DatumGetInt64(heap_getattr(ExecFetchSlotHeapTuple(slot, false, NULL),
									  Anum_lineage_upper_key, w->desc, &isnull));
}

/*
 * The chunk that covers key (the first whose bound is at least key), keys
 * coming in ascending order, into slot; false if there is none.
 */
static bool
chunk_walk_to(ChunkWalk *w, int64 key, TupleTableSlot *slot)
{
	if (w->positioned && index_getnext_slot(w->scan, ForwardScanDirection, slot) &&
		chunk_upper(w, slot) >= key)
		return true;
	ScanKeyInit(&w->keys[1], 2, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(key));
	index_rescan(w->scan, w->keys, 2, NULL, 0);
	w->positioned = true;
	return index_getnext_slot(w->scan, ForwardScanDirection, slot);
}

/*
 * Removes keys from a model's lineage; marks which were there.  Runs on
 * every erasure, so chunks are read through the primary key and rewritten
 * through the table AM (tablerow.c); the caller holds the model's row lock.
 */

void
lineage_remove(int32 model_id, LineageRemoval *keys, int nkeys)
{
	if (distributed_model(model_id))
		distributed_lineage_remove(model_id, keys, nkeys);	/* on the workers */
	else
		local_lineage_remove(model_id, keys, nkeys);
}

/* lineage_remove for a lineage in unlearn.lineage. */
static void
local_lineage_remove(int32 model_id, LineageRemoval *keys, int nkeys)
{
	Relation	rel = table_open(tablerow_relid("lineage"), RowExclusiveLock);
	Relation	index = index_open(tablerow_relid("lineage_pkey"), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	Snapshot	snapshot = tablerow_snapshot();
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	/* Each chunk's copies are made in a context emptied for the next one. */
	MemoryContext chunk_cxt = AllocSetContextCreate(CurrentMemoryContext,
													"unlearn lineage chunk",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	ChunkWalk	walk;
	int			next = 0;

	if (desc->natts != Natts_lineage)
		elog(ERROR, "table unlearn.lineage has %d columns, expected %d",
			 desc->natts, Natts_lineage);
	qsort(keys, nkeys, sizeof(LineageRemoval), compare_removals);
	chunk_walk_begin(&walk, rel, index, snapshot, model_id);
	old = MemoryContextSwitchTo(chunk_cxt);
	while (next < nkeys)
	{
		HeapTuple	tup;
		bool		isnull;
		int64		upper;
		ArrayType  *karr;
		int64	   *ckeys;
		int64	   *cfps;
		Datum	   *ctexts = NULL;
		bool	   *gone;
		int			n,
					i,
					kept,
					removed = 0;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(chunk_cxt);	/* the previous chunk's copies */
		/* The index scan's own memory stays outside the chunk's context. */
		MemoryContextSwitchTo(old);
		if (!chunk_walk_to(&walk, keys[next].key, slot))
			break;				/* no chunk covers these keys: none is there */
		MemoryContextSwitchTo(chunk_cxt);
		tup = ExecFetchSlotHeapTuple(slot, false, NULL);
		upper = chunk_upper(&walk, slot);
		karr = DatumGetArrayTypePCopy(heap_getattr(tup, Anum_lineage_keys, desc, &isnull));
		n = ArrayGetNItems(ARR_NDIM(karr), ARR_DIMS(karr));
		ckeys = palloc(sizeof(int64) * Max(n, 1));
		cfps = palloc(sizeof(int64) * Max(n, 1));
		memcpy(ckeys, ARR_DATA_PTR(karr), sizeof(int64) * n);
		memcpy(cfps, ARR_DATA_PTR(DatumGetArrayTypeP(heap_getattr(tup, Anum_lineage_fingerprints,
																  desc, &isnull))),
			   sizeof(int64) * n);
		{
			Datum		t = heap_getattr(tup, Anum_lineage_key_texts, desc, &isnull);
			int			nt;

			if (!isnull)
				deconstruct_array(DatumGetArrayTypePCopy(t), TEXTOID, -1, false,
								  TYPALIGN_INT, &ctexts, NULL, &nt);
		}

		/* Every pending key up to this chunk's bound belongs to it. */
		gone = palloc0(sizeof(bool) * Max(n, 1));
		for (; next < nkeys && keys[next].key <= upper; next++)
		{
			for (i = first_at_least(ckeys, n, keys[next].key); i < n && ckeys[i] == keys[next].key; i++)
			{
				if (!gone[i] && entry_matches(ckeys, ctexts, i, &keys[next]))
				{
					gone[i] = true;
					keys[next].found = true;
					keys[next].fingerprint = cfps[i];
					removed++;
					break;
				}
			}
		}
		if (removed == 0)
			continue;

		/* Rewrite the chunk without the removed entries. */
		kept = 0;
		for (i = 0; i < n; i++)
		{
			if (gone[i])
				continue;
			ckeys[kept] = ckeys[i];
			cfps[kept] = cfps[i];
			if (ctexts)
				ctexts[kept] = ctexts[i];
			kept++;
		}
		if (kept == 0 && upper != PG_INT64_MAX)
			simple_heap_delete(rel, &slot->tts_tid);
		else
		{
			Datum		values[Natts_lineage] = {0};
			bool		nulls[Natts_lineage] = {0};
			bool		replace[Natts_lineage] = {0};

			values[Anum_lineage_keys - 1] = PointerGetDatum(int8_array(ckeys, kept));
			values[Anum_lineage_fingerprints - 1] = PointerGetDatum(int8_array(cfps, kept));
			replace[Anum_lineage_keys - 1] = replace[Anum_lineage_fingerprints - 1] = true;
			if (ctexts)
			{
				values[Anum_lineage_key_texts - 1] =
					PointerGetDatum(construct_array(ctexts, kept, TEXTOID, -1, false, TYPALIGN_INT));
				replace[Anum_lineage_key_texts - 1] = true;
			}
			tablerow_update(rel, &slot->tts_tid, heap_modify_tuple(tup, desc, values, nulls, replace));
		}
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(chunk_cxt);
	index_endscan(walk.scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(index, AccessShareLock);
	table_close(rel, NoLock);
	CommandCounterIncrement();
}

/*
 * Every key in a model's lineage, sorted, with fingerprints: under the
 * active snapshot when read_only, else under a fresh one.
 */
static LineageEntry *
load_entries(int32 model_id, int64 *n, bool read_only)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(model_id)};
	int64		cap = 1024;
	int64		count = 0;
	LineageEntry *entries = palloc(sizeof(LineageEntry) * cap);
	uint64		c;

	SPI_connect();
	if (spi_execute_cached("SELECT keys, fingerprints, key_texts FROM unlearn.lineage"
							  " WHERE model_id = $1 ORDER BY upper_key",
							  1, types, values, NULL, read_only, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the lineage of model %d", model_id);
	for (c = 0; c < SPI_processed; c++)
	{
		HeapTuple	tup = SPI_tuptable->vals[c];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		ArrayType  *karr = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 1, &isnull));
		ArrayType  *farr = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull));
		Datum		t = SPI_getbinval(tup, desc, 3, &isnull);
		Datum	   *texts = NULL;
		int			nk = ArrayGetNItems(ARR_NDIM(karr), ARR_DIMS(karr));
		int			nt;
		int			i;

		CHECK_FOR_INTERRUPTS();
		if (!isnull)
			deconstruct_array(DatumGetArrayTypeP(t), TEXTOID, -1, false, TYPALIGN_INT,
							  &texts, NULL, &nt);
		for (i = 0; i < nk; i++)
		{
			if (count == cap)
			{
				cap *= 2;
				entries = repalloc_huge(entries, sizeof(LineageEntry) * cap);
			}
			entries[count].key = ((int64 *) ARR_DATA_PTR(karr))[i];
			entries[count].fingerprint = ((int64 *) ARR_DATA_PTR(farr))[i];
			entries[count].key_text = texts ?
				MemoryContextStrdup(cxt, TextDatumGetCString(texts[i])) : NULL;
			count++;
		}
	}
	SPI_finish();
	*n = count;
	return entries;
}

/* Every key in a model's lineage, sorted, with fingerprints. */
LineageEntry *
lineage_load(int32 model_id, int64 *n)
{
	return load_entries(model_id, n, false);
}

/* The same, as the active snapshot sees it. */
LineageEntry *
lineage_load_snapshot(int32 model_id, int64 *n)
{
	return load_entries(model_id, n, true);
}

/* Writes one chunk row (insert, or update of the row with that bound). */
static void
put_chunk(int32 model_id, int64 upper, const int64 *keys, const int64 *fps,
		  char **texts, int n, bool update)
{
	Oid			types[5] = {INT4OID, INT8OID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', texts ? ' ' : 'n'};

	values[0] = Int32GetDatum(model_id);
	values[1] = Int64GetDatum(upper);
	values[2] = PointerGetDatum(int8_array(keys, n));
	values[3] = PointerGetDatum(int8_array(fps, n));
	values[4] = (Datum) 0;
	if (texts)
	{
		Datum	   *t = palloc(sizeof(Datum) * Max(n, 1));
		int			i;

		for (i = 0; i < n; i++)
			t[i] = CStringGetTextDatum(texts[i]);
		values[4] = PointerGetDatum(construct_array(t, n, TEXTOID, -1, false, TYPALIGN_INT));
	}
	if (spi_execute_cached(update ?
							  "UPDATE unlearn.lineage SET keys = $3, fingerprints = $4,"
							  " key_texts = $5 WHERE model_id = $1 AND upper_key = $2" :
							  "INSERT INTO unlearn.lineage (model_id, upper_key, keys,"
							  " fingerprints, key_texts) VALUES ($1, $2, $3, $4, $5)",
							  5, types, values, nulls, false, 0) !=
		(update ? SPI_OK_UPDATE : SPI_OK_INSERT))
		elog(ERROR, "could not write the lineage of model %d", model_id);
}

/* Adds entries to a model's lineage, each into the chunk covering it. */
void
lineage_insert(int32 model_id, const LineageEntry *entries, int n)
{
	if (distributed_model(model_id))
		distributed_lineage_insert(model_id, entries, n);
	else
		local_lineage_insert(model_id, entries, n);
}

/* lineage_insert into unlearn.lineage. */
static void
local_lineage_insert(int32 model_id, const LineageEntry *entries, int n)
{
	int			next = 0;

	SPI_connect();
	while (next < n)
	{
		Oid			types[2] = {INT4OID, INT8OID};
		Datum		values[2] = {Int32GetDatum(model_id), Int64GetDatum(entries[next].key)};
		HeapTuple	tup;
		TupleDesc	desc;
		bool		isnull;
		int64		upper;
		ArrayType  *karr;
		int			have,
					total,
					i,
					j,
					o,
					start;
		int64	   *keys;
		int64	   *fps;
		char	  **texts = NULL;
		Datum	   *ctexts = NULL;
		int			first = next;

		CHECK_FOR_INTERRUPTS();
		if (spi_execute_cached("SELECT upper_key, keys, fingerprints, key_texts"
								  " FROM unlearn.lineage WHERE model_id = $1 AND upper_key >= $2"
								  " ORDER BY upper_key LIMIT 1",
								  2, types, values, NULL, false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "no lineage chunk of model %d covers key " INT64_FORMAT,
				 model_id, entries[next].key);
		tup = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		upper = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		karr = DatumGetArrayTypePCopy(SPI_getbinval(tup, desc, 2, &isnull));
		have = ArrayGetNItems(ARR_NDIM(karr), ARR_DIMS(karr));
		while (next < n && entries[next].key <= upper)
			next++;
		total = have + (next - first);
		keys = palloc(sizeof(int64) * total);
		fps = palloc(sizeof(int64) * total);
		{
			Datum		t = SPI_getbinval(tup, desc, 4, &isnull);
			int			nt;

			if (!isnull)
				deconstruct_array(DatumGetArrayTypePCopy(t), TEXTOID, -1, false,
								  TYPALIGN_INT, &ctexts, NULL, &nt);
		}
		if (ctexts || entries[first].key_text)
			texts = palloc(sizeof(char *) * total);

		/* Merge the chunk's sorted entries with the new ones. */
		{
			const int64 *ck = (const int64 *) ARR_DATA_PTR(karr);
			const int64 *cf = (const int64 *)
			ARR_DATA_PTR(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 3, &isnull)));

			i = 0;
			j = first;
			for (o = 0; o < total; o++)
			{
				char	   *ctext = (ctexts && i < have) ? TextDatumGetCString(ctexts[i]) : NULL;

				if (i < have &&
					(j >= next || key_order(ck[i], ctext, entries[j].key, entries[j].key_text) <= 0))
				{
					keys[o] = ck[i];
					fps[o] = cf[i];
					if (texts)
						texts[o] = ctext;
					i++;
				}
				else
				{
					keys[o] = entries[j].key;
					fps[o] = entries[j].fingerprint;
					if (texts)
						texts[o] = entries[j].key_text;
					j++;
				}
			}
		}

		/* Split a chunk grown past twice its size, never between equal keys. */
		start = 0;
		while (total - start > 2 * LINEAGE_CHUNK_ENTRIES)
		{
			int			end = start + LINEAGE_CHUNK_ENTRIES;

			while (end < total && keys[end] == keys[end - 1])
				end++;
			if (end >= total)
				break;
			put_chunk(model_id, keys[end - 1], &keys[start], &fps[start],
					  texts ? &texts[start] : NULL, end - start, false);
			start = end;
		}
		put_chunk(model_id, upper, &keys[start], &fps[start],
				  texts ? &texts[start] : NULL, total - start, true);
	}
	SPI_finish();
}

/* Orders lineage entries by key, then key text (a qsort comparator). */
int
lineage_compare_entries(const void *a, const void *b)
{
	const LineageEntry *ea = a;
	const LineageEntry *eb = b;

	return key_order(ea->key, ea->key_text, eb->key, eb->key_text);
}
