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
#include "tablerow.h"

/* Which row version of a model a state belongs to. */
typedef struct RowVersion
{
	TransactionId xmin;
	ItemPointerData ctid;
	int64		version;
} RowVersion;

/* One kept model: its row version and a copy of its state. */
typedef struct KeptState
{
	int32		model_id;		/* hash key */
	RowVersion	row;
	MemoryContext cxt;			/* holds em's contents */
	ErasureModel em;
} KeptState;

static HTAB *kept_states = NULL;

/* A copy of a string, or NULL. */
static char *
copy_string(const char *s)
{
	return s ? pstrdup(s) : NULL;
}

/* A copy of n doubles, or NULL. */
static double *
copy_doubles(const double *v, Size n)
{
	double	   *c;

	if (v == NULL)
		return NULL;
	c = palloc(sizeof(double) * n);
	memcpy(c, v, sizeof(double) * n);
	return c;
}

/* A deep copy of a model and its state, in the current memory context. */
static void
copy_erasure_model(const ErasureModel *from, ErasureModel *to)
{
	const StoredModel *m = from->m;
	StoredModel *c = palloc(sizeof(StoredModel));
	int			d = from->s.d;
	int			t;

	*c = *m;
	c->name = copy_string(m->name);
	c->key_column = copy_string(m->key_column);
	c->target_column = copy_string(m->target_column);
	c->state = copy_string(m->state);
	c->feature_columns = (ArrayType *) PG_DETOAST_DATUM_COPY(PointerGetDatum(m->feature_columns));
	c->options_jsonb = (Jsonb *) PG_DETOAST_DATUM_COPY(PointerGetDatum(m->options_jsonb));
	c->options.where = copy_string(m->options.where);
	c->options.key = copy_string(m->options.key);
	c->theta = copy_doubles(m->theta, m->nterms);
	c->terms = palloc(sizeof(ModelTerm) * Max(m->nterms, 1));
	for (t = 0; t < m->nterms; t++)
	{
		c->terms[t] = m->terms[t];
		c->terms[t].column = copy_string(m->terms[t].column);
		c->terms[t].level = copy_string(m->terms[t].level);
	}
	to->m = c;
	to->s = from->s;
	to->s.theta = copy_doubles(from->s.theta, d);
	to->s.hessian = copy_doubles(from->s.hessian, (Size) d * d);
	to->s.xty = copy_doubles(from->s.xty, d);
	to->s.gram = copy_doubles(from->s.gram, (Size) d * d);
	to->s.theta_ref = copy_doubles(from->s.theta_ref, d);
	to->s.factor = copy_doubles(from->s.factor, (Size) d * d);
	to->s.pending = NULL;
	if (from->s.npending > 0)
		to->s.pending = copy_doubles(from->s.pending, (Size) from->s.npending * (d + 1));
	to->gradient_scale = from->gradient_scale;
	to->rows_now = from->rows_now;
}

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

/* Keeps a copy of a model's state as of a row version. */
static void
keep_state(const ErasureModel *em, const RowVersion *row)
{
	MemoryContext cxt = AllocSetContextCreate(CacheMemoryContext,
											  "unlearn kept erasure state",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ErasureModel copy;
	KeptState  *k;
	int32		model_id = em->m->model_id;

	copy_erasure_model(em, &copy);
	MemoryContextSwitchTo(old);
	forget(model_id);
	k = hash_search(kept_table(), &model_id, HASH_ENTER, NULL);
	k->row = *row;
	k->cxt = cxt;
	k->em = copy;
}

/*
 * Locks a model's row as SELECT ... FOR UPDATE would, straight through its
 * name index and the table AM (a statement cost more than the erasure it
 * serves): under READ COMMITTED the newest version, waiting for a writer;
 * under REPEATABLE READ a version changed since the snapshot is a
 * serialization failure.  False if there is no such model (dropped).
 */
static bool
lock_model_row(const char *name, int32 *model_id, RowVersion *row)
{
	Relation	rel = table_open(tablerow_relid("model"), RowShareLock);
	Relation	index = index_open(tablerow_relid("model_name_key"), AccessShareLock);
	bool		xact_snapshot = IsolationUsesXactSnapshot();
	Snapshot	snapshot = tablerow_snapshot();
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
 * Locks a model's row FOR UPDATE and loads it with its erasure state into
 * the current memory context; false if the model is gone.
 */
bool
erasure_state_lock(const char *name, ErasureModel *em)
{
	int32		model_id;
	RowVersion	row;
	KeptState  *k;

	if (!lock_model_row(name, &model_id, &row))
		return false;			/* dropped since the statement began */

	k = hash_search(kept_table(), &model_id, HASH_FIND, NULL);
	em->ctid = row.ctid;
	if (k != NULL && TransactionIdEquals(k->row.xmin, row.xmin) &&
		ItemPointerEquals(&k->row.ctid, &row.ctid) && k->row.version == row.version)
	{
		copy_erasure_model(&k->em, em);
		em->ctid = row.ctid;
		return true;
	}
	forget(model_id);

	/* The row is locked: what these read is that very version. */
	em->m = catalog_load_model(name, true);
	catalog_load_removal(em->m->model_id, em->m->nterms, &em->s,
						 &em->gradient_scale, &em->rows_now);
	removal_apply_pending(&em->s, em->m->loss->binary_labels);
	em->ctid = row.ctid;
	if (strcmp(em->m->state, "ready") == 0)
		keep_state(em, &row);
	return true;
}

/*
 * Saves a model after rows left it (catalog_save_removal) and returns its
 * new version; with state "ready" and keep, em (whose m and s now describe
 * the model after the change) is kept for the next statement.
 */
int64
erasure_state_save(ErasureModel *em, int64 removed, const char *state, bool keep)
{
	bool		ready = strcmp(state, "ready") == 0;
	RowVersion	row;
	int32		model_id = em->m->model_id;

	forget(model_id);
	if (ready)
		row.version = catalog_save_ready(&em->ctid, &em->s, removed, &row.xmin, &row.ctid);
	else
		row.version = catalog_save_removal(model_id, NULL, removed, state,
										   &row.xmin, &row.ctid);
	if (!ready || !keep)
		return row.version;

	em->m->version = row.version;
	em->m->theta = em->s.theta;
	em->m->nterms = em->s.d;
	em->rows_now -= removed;
	if (em->s.rebase)
		em->s.npending = 0;
	em->s.rebase = false;
	keep_state(em, &row);
	return row.version;
}
