/*-------------------------------------------------------------------------
 *
 * collected.c
 *	  Rows of inheritance tables taken by a statement, kept until its
 *	  statement-level trigger hands them to their models.
 *
 * A statement on an inheritance parent takes rows of its children too,
 * and its transition tables do not say which table each row is stored in
 * (see hierarchy.c).  A source with inheritance relatives therefore has
 * row-level AFTER triggers that put each row it loses here, keyed by the
 * table, and every erasure statement trigger of the table the statement
 * named (which fires after the statement's row triggers) takes them and
 * erases them from the table's models.
 *
 * Rows are kept per subtransaction, and a statement trigger takes only
 * those of its own (sub)transaction level: rows collected in a
 * subtransaction that rolls back go with it, and a statement run in a
 * subtransaction (a trigger's exception block, say) never takes rows an
 * outer statement collected, which a rollback of that subtransaction
 * would then lose.  A committed subtransaction's rows pass to its parent.
 * A transaction must never commit with rows still here: that would be an
 * erasure nobody applied (a statement on a table without erasure
 * triggers, say), so commit fails instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "collected.h"

/* The rows one table lost to one kind of statement in one subtransaction. */
typedef struct CollectedKey
{
	Oid			relid;
	bool		update;
	SubTransactionId subid;		/* the subtransaction they belong to */
} CollectedKey;

typedef struct CollectedRows
{
	CollectedKey key;			/* hash key */
	Tuplestorestate *olds;
	Tuplestorestate *news;		/* updates only */
	List	   *merged;			/* more (olds, news) pairs, from committed children */
} CollectedRows;

/* Collected rows of the current transaction, in TopTransactionContext. */
static HTAB *collected = NULL;

/* A tuplestore living as long as the transaction (files and memory). */
static Tuplestorestate *
transaction_store(void)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	ResourceOwner owner = CurrentResourceOwner;
	Tuplestorestate *ts;

	CurrentResourceOwner = TopTransactionResourceOwner;
	ts = tuplestore_begin_heap(false, false, work_mem);
	CurrentResourceOwner = owner;
	MemoryContextSwitchTo(old);
	return ts;
}

/* Adds a row a statement took from table relid. */
void
collected_add(Oid relid, HeapTuple old, HeapTuple new)
{
	CollectedKey key;
	CollectedRows *rows;
	bool		found;
	MemoryContext oldcxt;
	ResourceOwner owner = CurrentResourceOwner;

	if (collected == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(CollectedKey);
		ctl.entrysize = sizeof(CollectedRows);
		ctl.hcxt = TopTransactionContext;
		collected = hash_create("unlearn collected rows", 8, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.update = new != NULL;
	key.subid = GetCurrentSubTransactionId();
	rows = hash_search(collected, &key, HASH_ENTER, &found);
	if (!found)
	{
		rows->olds = transaction_store();
		rows->news = new ? transaction_store() : NULL;
		rows->merged = NIL;
	}
	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	CurrentResourceOwner = TopTransactionResourceOwner;
	tuplestore_puttuple(rows->olds, old);
	if (new)
		tuplestore_puttuple(rows->news, new);
	CurrentResourceOwner = owner;
	MemoryContextSwitchTo(oldcxt);
}

/* Appends the rows of tuplestore from to tuplestore to (rows of desc). */
static void
append_rows(Tuplestorestate *to, Tuplestorestate *from, TupleDesc desc)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	MemoryContext oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	ResourceOwner owner = CurrentResourceOwner;

	CurrentResourceOwner = TopTransactionResourceOwner;
	tuplestore_rescan(from);
	while (tuplestore_gettupleslot(from, true, false, slot))
		tuplestore_puttupleslot(to, slot);
	tuplestore_end(from);
	CurrentResourceOwner = owner;
	MemoryContextSwitchTo(oldcxt);
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * Hands over the rows collected for a table (of row type desc) and event
 * at the current (sub)transaction level; false if none.
 */
bool
collected_take(Oid relid, bool update, TupleDesc desc, Tuplestorestate **olds,
			   Tuplestorestate **news)
{
	CollectedKey key;
	CollectedRows *rows;
	ListCell   *lc;

	*olds = NULL;
	*news = NULL;
	if (collected == NULL)
		return false;
	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.update = update;
	key.subid = GetCurrentSubTransactionId();
	rows = hash_search(collected, &key, HASH_FIND, NULL);
	if (rows == NULL)
		return false;
	foreach(lc, rows->merged)
	{
		Tuplestorestate **pair = lfirst(lc);

		append_rows(rows->olds, pair[0], desc);
		if (rows->news)
			append_rows(rows->news, pair[1], desc);
	}
	*olds = rows->olds;
	*news = rows->news;
	hash_search(collected, &key, HASH_REMOVE, NULL);
	return true;
}

/* Frees the rows of an entry (a subtransaction rolled back). */
static void
forget_rows(CollectedRows *rows)
{
	ListCell   *lc;

	tuplestore_end(rows->olds);
	if (rows->news)
		tuplestore_end(rows->news);
	foreach(lc, rows->merged)
	{
		Tuplestorestate **pair = lfirst(lc);

		tuplestore_end(pair[0]);
		if (pair[1])
			tuplestore_end(pair[1]);
	}
}

/*
 * Transaction callback: a commit with rows still collected is refused (an
 * erasure would be lost); at the end of the transaction they are gone.
 */
static void
collected_xact_callback(XactEvent event, void *arg)
{
	HASH_SEQ_STATUS status;
	CollectedRows *rows;

	if (collected == NULL)
		return;
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
	{
		hash_seq_init(&status, collected);
		while ((rows = hash_seq_search(&status)) != NULL)
		{
			char	   *name = get_rel_name(rows->key.relid);

			hash_seq_term(&status);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("rows %s in table \"%s\" were not erased from its models",
							rows->key.update ? "updated" : "deleted", name ? name : "?"),
					 errdetail("The statement that changed them named a table without unlearn's erasure triggers."),
					 errhint("Run SELECT unlearn.retrain(name) FROM unlearn.models WHERE source = '%s'::regclass, which sets the triggers up again, then repeat the change.",
							 name ? name : "?")));
		}
		return;
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT)
		collected = NULL;		/* its memory goes with TopTransactionContext */
}

/*
 * Subtransaction callback: rows collected in a subtransaction that rolls
 * back are forgotten; a committed one's pass to its parent (kept beside
 * the parent's own rows for the same table, merged when taken).
 */
static void
collected_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	HASH_SEQ_STATUS status;
	CollectedRows *rows;
	List	   *moving = NIL;
	ListCell   *lc;

	if (collected == NULL)
		return;
	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	hash_seq_init(&status, collected);
	while ((rows = hash_seq_search(&status)) != NULL)
	{
		if (rows->key.subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			forget_rows(rows);
		else
		{
			CollectedRows *copy = MemoryContextAlloc(TopTransactionContext,
													 sizeof(CollectedRows));

			*copy = *rows;
			moving = lappend(moving, copy);
		}
		hash_search(collected, &rows->key, HASH_REMOVE, NULL);
	}
	foreach(lc, moving)
	{
		CollectedRows *child = lfirst(lc);
		CollectedKey key = child->key;
		CollectedRows *parent;
		bool		found;
		MemoryContext oldcxt = MemoryContextSwitchTo(TopTransactionContext);

		key.subid = parentSubid;
		parent = hash_search(collected, &key, HASH_ENTER, &found);
		if (!found)
		{
			parent->olds = child->olds;
			parent->news = child->news;
			parent->merged = child->merged;
		}
		else
		{
			Tuplestorestate **pair = palloc(sizeof(Tuplestorestate *) * 2);

			pair[0] = child->olds;
			pair[1] = child->news;
			parent->merged = lappend(list_concat(parent->merged, child->merged), pair);
		}
		MemoryContextSwitchTo(oldcxt);
	}
}

/* Registers the transaction callbacks, once per backend. */
void
collected_init(void)
{
	RegisterXactCallback(collected_xact_callback, NULL);
	RegisterSubXactCallback(collected_subxact_callback, NULL);
}
