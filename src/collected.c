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
 * Rows collected in a subtransaction that rolls back go with it.  A
 * transaction must never commit with rows still here: that would be an
 * erasure nobody applied (a statement on a table without erasure
 * triggers, say), so commit fails instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "collected.h"

/* The rows one table lost to one kind of statement. */
typedef struct CollectedKey
{
	Oid			relid;
	bool		update;
} CollectedKey;

typedef struct CollectedRows
{
	CollectedKey key;			/* hash key */
	Tuplestorestate *olds;
	Tuplestorestate *news;		/* updates only */
	SubTransactionId subid;		/* the subtransaction they belong to */
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
	rows = hash_search(collected, &key, HASH_ENTER, &found);
	if (!found)
	{
		rows->olds = transaction_store();
		rows->news = new ? transaction_store() : NULL;
		rows->subid = GetCurrentSubTransactionId();
	}
	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	CurrentResourceOwner = TopTransactionResourceOwner;
	tuplestore_puttuple(rows->olds, old);
	if (new)
		tuplestore_puttuple(rows->news, new);
	CurrentResourceOwner = owner;
	MemoryContextSwitchTo(oldcxt);
}

/* Hands over the rows collected for a table and event; false if none. */
bool
collected_take(Oid relid, bool update, Tuplestorestate **olds, Tuplestorestate **news)
{
	CollectedKey key;
	CollectedRows *rows;

	*olds = NULL;
	*news = NULL;
	if (collected == NULL)
		return false;
	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.update = update;
	rows = hash_search(collected, &key, HASH_FIND, NULL);
	if (rows == NULL)
		return false;
	*olds = rows->olds;
	*news = rows->news;
	hash_search(collected, &key, HASH_REMOVE, NULL);
	return true;
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
 * back are forgotten; a committed one's pass to its parent.
 */
static void
collected_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	HASH_SEQ_STATUS status;
	CollectedRows *rows;

	if (collected == NULL)
		return;
	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	hash_seq_init(&status, collected);
	while ((rows = hash_seq_search(&status)) != NULL)
	{
		if (rows->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			rows->subid = parentSubid;
		else
		{
			tuplestore_end(rows->olds);
			if (rows->news)
				tuplestore_end(rows->news);
			hash_search(collected, &rows->key, HASH_REMOVE, NULL);
		}
	}
}

/* Registers the transaction callbacks, once per backend. */
void
collected_init(void)
{
	RegisterXactCallback(collected_xact_callback, NULL);
	RegisterSubXactCallback(collected_subxact_callback, NULL);
}
