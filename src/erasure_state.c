/*-------------------------------------------------------------------------
 *
 * erasure_state.c
 *	  A model's erasure state, locked and loaded, cached per backend.
 *
 * Every erasure locks its model's row, reads the model, its terms and its
 * erasure state (parameters, Hessian, X'y, ...), and writes them back
 * changed.  Reading them again on the next DELETE, through SPI and TOAST,
 * cost more than the update itself; so what this backend last wrote is kept
 * and used again while the model's row is still the version it wrote.
 *
 * The check is on the locked row: the same row version (its xmin and ctid)
 * and the same model version.  Any other writer (a retrain, another
 * backend's erasure, a rolled-back subtransaction of this one, whose row
 * version is dead) leaves a different row version behind, and the next
 * lock reads the model afresh.
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
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "storage/itemptr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "erasure_state.h"
#include "preprocessing.h"
#include "tablerow.h"

/* Which row version of a model a state belongs to. */
typedef struct RowVersion
{
	Oid			table;			/* unlearn.model itself (a new extension: a new one) */
	TransactionId xmin;
	ItemPointerData ctid;
	int64		version;
} RowVersion;

/*
 * One kept model: its state, in a memory context of its own, and the row
 * version it belongs to.  A statement takes the state itself, not a copy
 * (at d = 200 the copies cost more than the erasure): while it holds it,
 * valid is false, and only a save (or a release of an unchanged state)
 * makes it valid again, so a statement that failed half-way leaves
 * nothing behind that could be used.
 */
typedef struct KeptState
{
	int32		model_id;		/* hash key */
	bool		valid;			/* em is the state of row */
	uint64		last_used;		/* for evicting the least recently used */
	RowVersion	row;
	MemoryContext cxt;			/* holds em's contents */
	ErasureModel em;
} KeptState;

static HTAB *kept_states = NULL;

/* Models whose state a backend keeps at most (at d = 200, ~1 MB each). */
#define MAX_KEPT_STATES 16

/* Counts locks, to tell which kept state was used last. */
static uint64 lock_clock = 0;

/* States this backend loaded from the tables (not kept): for the tests. */
uint64		erasure_state_loads = 0;

/* The kept-state table, created on first use. */
static HTAB *
kept_table(void)
{
	HASHCTL		ctl;

	if (kept_states == NULL)
	{
		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(KeptState);
		ctl.hcxt = CacheMemoryContext;
		kept_states = hash_create("unlearn erasure states", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	return kept_states;
}

/* Forgets the kept state of a model. */
static void
forget(int32 model_id)
{
	KeptState  *k = hash_search(kept_table(), &model_id, HASH_FIND, NULL);

	if (k == NULL)
		return;
	MemoryContextDelete(k->cxt);
	hash_search(kept_states, &model_id, HASH_REMOVE, NULL);
}

/*
 * Frees the least recently used kept state when there are as many as
 * MAX_KEPT_STATES: states of models dropped by other backends, or not
 * erased from for long, go.  No statement holds one between locks.
 */
static void
evict_least_recent(void)
{
	HASH_SEQ_STATUS status;
	KeptState  *k;
	KeptState  *oldest = NULL;

	if (hash_get_num_entries(kept_table()) < MAX_KEPT_STATES)
		return;
	hash_seq_init(&status, kept_states);
	while ((k = hash_seq_search(&status)) != NULL)
		if (oldest == NULL || k->last_used < oldest->last_used)
			oldest = k;
	if (oldest)
		forget(oldest->model_id);
}

/* Frees the kept state of a model (dropped). */
void
erasure_state_forget(int32 model_id)
{
	forget(model_id);
}

/*
 * Locks a model's row as SELECT ... FOR UPDATE would, straight through its
 * name index and the table AM (a statement cost more than the erasure it
 * serves): under READ COMMITTED the newest version, waiting for a writer;
 * under REPEATABLE READ a version changed since the snapshot is a
 * serialization failure.  With newest, the newest version whatever the
 * isolation level, with no serialization check (the erasure that follows
 * makes it).  False if there is no such model (dropped).
 */
static bool
lock_model_row(const char *name, bool newest, int32 *model_id, RowVersion *row)
{
	Relation	rel = table_open(tablerow_relid("model"), RowShareLock);
	Relation	index = index_open(tablerow_relid("model_name_key"), AccessShareLock);
	bool		xact_snapshot = IsolationUsesXactSnapshot() && !newest;
	Snapshot	snapshot = newest ? RegisterSnapshot(GetLatestSnapshot()) : tablerow_snapshot();
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan;
	ScanKeyData key;
	ItemPointerData tid;
	TM_FailureData tmfd;
	TM_Result	result;
	HeapTuple	tup;
	bool		found,
				isnull;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(name));
	key.sk_collation = index->rd_indcollation[0];
	scan = index_beginscan(rel, index, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	tid = slot->tts_tid;
	index_endscan(scan);
	if (!found && xact_snapshot)
	{
		/* A model created after the snapshot: its rows may include ours. */
		Snapshot	latest = RegisterSnapshot(GetLatestSnapshot());

		scan = index_beginscan(rel, index, latest, 1, 0);
		index_rescan(scan, &key, 1, NULL, 0);
		if (index_getnext_slot(scan, ForwardScanDirection, slot))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update")));
		index_endscan(scan);
		UnregisterSnapshot(latest);
	}
	if (found)
	{
		result = table_tuple_lock(rel, &tid, snapshot, slot, GetCurrentCommandId(true),
								  LockTupleExclusive, LockWaitBlock,
								  xact_snapshot ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION,
								  &tmfd);
		if ((result == TM_Updated || result == TM_Deleted) && xact_snapshot)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update")));
		if (result == TM_Deleted)
			found = false;		/* dropped while we waited */
		else if (result != TM_Ok)
			elog(ERROR, "could not lock the row of model \"%s\" (%d)", name, (int) result);
	}
	if (found)
	{
		tup = ExecFetchSlotHeapTuple(slot, false, NULL);
		*model_id = DatumGetInt32(heap_getattr(tup, get_attnum(RelationGetRelid(rel), "model_id"),
											   RelationGetDescr(rel), &isnull));
		row->version = DatumGetInt64(heap_getattr(tup, get_attnum(RelationGetRelid(rel), "version"),
												  RelationGetDescr(rel), &isnull));
		row->table = RelationGetRelid(rel);
		row->xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
		row->ctid = slot->tts_tid;
	}
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(index, AccessShareLock);
	table_close(rel, NoLock);
	return found;
}

/*
 * Locks a model's row FOR UPDATE and hands over its erasure state, kept
 * from this backend's last statement on the model or loaded; false if the
 * model is gone.  The state lives in a memory context of its own, and
 * what replaces parts of it must be allocated there (see removal.c); the
 * caller ends with erasure_state_save or erasure_state_release.
 */
bool
erasure_state_lock(const char *name, ErasureModel *em)
{
	int32		model_id;
	RowVersion	row;
	KeptState  *k;
	MemoryContext cxt,
				old;

	if (!lock_model_row(name, false, &model_id, &row))
		return false;			/* dropped since the statement began */

	k = hash_search(kept_table(), &model_id, HASH_FIND, NULL);
	if (k != NULL && k->valid && k->row.table == row.table &&
		TransactionIdEquals(k->row.xmin, row.xmin) &&
		ItemPointerEquals(&k->row.ctid, &row.ctid) && k->row.version == row.version)
	{
		k->valid = false;
		k->last_used = ++lock_clock;
		*em = k->em;
		em->ctid = row.ctid;
		return true;
	}
	forget(model_id);
	evict_least_recent();

	/* The row is locked: what these read is that very version. */
	erasure_state_loads++;
	cxt = AllocSetContextCreate(CacheMemoryContext, "unlearn kept erasure state",
								ALLOCSET_DEFAULT_SIZES);
	k = hash_search(kept_table(), &model_id, HASH_ENTER, NULL);
	k->valid = false;
	k->last_used = ++lock_clock;
	k->row = row;
	k->cxt = cxt;
	old = MemoryContextSwitchTo(cxt);
	em->m = catalog_load_model(name, true);
	catalog_load_removal(em->m->model_id, em->m->nterms, em->m->nclasses, &em->s,
						 &em->gradient_scale, &em->rows_now);
	em->s.l2 = em->m->options.l2;
	em->s.loss = em->m->loss;
	removal_apply_pending(&em->s);
	if (em->s.feature_sums)
	{
		/* The penalty as the rows' spread has moved since the frame was set. */
		em->s.penalty_shift = palloc(sizeof(double) * em->s.d);
		(void) preprocessing_penalty_shift(em->m, &em->s, em->rows_now, em->s.penalty_shift);
		em->s.frame_movable = preprocessing_frame_movable(em->m, &em->s);
	}
	MemoryContextSwitchTo(old);
	em->ctid = row.ctid;
	k->em = *em;
	return true;
}

/*
 * Locks a model's row before a statement takes any row of its source (a
 * BEFORE STATEMENT trigger): the newest version, waiting for a writer,
 * with no state loaded.  A statement that waits here holds no row of
 * the source the model's writer may want next.
 */
void
erasure_state_lock_early(const char *name)
{
	int32		model_id;
	RowVersion	row;

	(void) lock_model_row(name, true, &model_id, &row);
}

/* Gives back a state the statement did not change. */
void
erasure_state_release(ErasureModel *em)
{
	int32		model_id = em->m->model_id;
	KeptState  *k = hash_search(kept_table(), &model_id, HASH_FIND, NULL);

	if (k == NULL)
		return;
	k->em = *em;
	k->valid = true;
}

/*
 * Saves a model after rows left it (catalog_save_ready, or
 * catalog_set_state for another state) and returns its new version; with
 * state "ready" and keep, em (whose m and s now describe the model after
 * the change) is kept for the next statement.
 */
int64
erasure_state_save(ErasureModel *em, int64 removed, const char *state, bool keep)
{
	bool		ready = strcmp(state, "ready") == 0;
	RowVersion	row;
	int32		model_id = em->m->model_id;
	KeptState  *k;

	/*
	 * A state not kept stays invalid, and is freed at the model's next lock:
	 * the caller still reads it (its name, for the log entry).
	 */
	if (!ready)
		return catalog_set_state(model_id, removed, state);

	/*
	 * The matrices are stored again: in the frame of the rows' own
	 * preprocessing (preprocessing.c), unless a background refresh still
	 * to come folds journaled rows of this frame in.
	 */
	if (em->s.rebase && !em->m->refresh_requested)
		(void) preprocessing_move_frame(em->m, &em->s, em->rows_now - removed);
	row.version = catalog_save_ready(model_id, &em->ctid, &em->s, removed,
									 em->m->refresh_requested,
									 &row.xmin, &row.ctid);
	if (em->s.frame_moved)
		catalog_update_frame(model_id, em->m->terms, em->s.d);
	em->s.frame_moved = false;
	k = hash_search(kept_table(), &model_id, HASH_FIND, NULL);
	if (!keep || k == NULL)
		return row.version;
	em->m->version = row.version;
	em->m->theta = em->s.theta;
	em->m->nterms = em->s.d;
	em->rows_now -= removed;
	if (em->s.rebase)
		em->s.npending = 0;
	em->s.nstored = em->s.npending;
	em->s.rebase = false;
	row.table = k->row.table;	/* the same unlearn.model it was locked in */
	k->em = *em;
	k->row = row;
	k->valid = true;
	return row.version;
}
