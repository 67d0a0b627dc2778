/*-------------------------------------------------------------------------
 *
 * source_models.c
 *	  Which models each source table trained, cached per backend.
 *
 * The erasure triggers need this on every DELETE, and a query against
 * unlearn.model per statement cost more than the rest of an erasure.  The
 * list is kept per relation in a backend-local hash table.  Creating or
 * dropping a model sends a relcache invalidation for its source table
 * (source_models_changed), which reaches every backend, this one at its
 * next command and the others when they next lock the table, and also on
 * ROLLBACK of the transaction that sent it; the callback forgets the
 * relation's entry, and the next look-up reads unlearn.model again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "source_models.h"
#include "spi_cache.h"

/* One cached relation: its model names, in CacheMemoryContext. */
typedef struct SourceModels
{
	Oid			relid;			/* hash key */
	int			nmodels;
	char	  **names;
} SourceModels;

static HTAB *source_models_cache = NULL;

/* Bumped by every invalidation: a list read across one is not kept. */
static uint64 source_models_generation = 0;

/* Frees one entry's names and removes it. */
static void
forget_entry(SourceModels *entry)
{
	int			i;

	for (i = 0; i < entry->nmodels; i++)
		pfree(entry->names[i]);
	if (entry->names)
		pfree(entry->names);
	hash_search(source_models_cache, &entry->relid, HASH_REMOVE, NULL);
}

/* Relcache invalidation callback: forget the relation (all, for InvalidOid). */
static void
source_models_invalidate(Datum arg, Oid relid)
{
	SourceModels *entry;

	source_models_generation++;
	if (source_models_cache == NULL)
		return;
	if (OidIsValid(relid))
	{
		entry = hash_search(source_models_cache, &relid, HASH_FIND, NULL);
		if (entry)
			forget_entry(entry);
		return;
	}
	{
		HASH_SEQ_STATUS status;

		hash_seq_init(&status, source_models_cache);
		while ((entry = hash_seq_search(&status)) != NULL)
			forget_entry(entry);
	}
}

/* Creates the cache and registers its invalidation callback, once. */
static void
source_models_init(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(SourceModels);
	ctl.hcxt = CacheMemoryContext;
	source_models_cache = hash_create("unlearn source models", 16, &ctl,
									  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	CacheRegisterRelcacheCallback(source_models_invalidate, (Datum) 0);
}

/* Reads the model names of a relation from unlearn.model, in cxt. */
static List *
read_models(Oid relid, MemoryContext cxt)
{
	Oid			types[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	List	   *names = NIL;
	uint64		i;

	SPI_connect();
	/* The newest list, whatever the isolation level: it is kept across transactions. */
	PushActiveSnapshot(GetLatestSnapshot());
	if (spi_execute_cached("SELECT name FROM unlearn.model WHERE source = $1"
						   " ORDER BY model_id",
						   1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the models of relation %u", relid);
	PopActiveSnapshot();
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		name = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
										 1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		names = lappend(names, TextDatumGetCString(name));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return names;
}

/* The names of the models trained on a relation, in model_id order. */
List *
source_models(Oid relid)
{
	SourceModels *entry;
	List	   *names;
	uint64		generation;
	ListCell   *lc;
	int			i;

	if (source_models_cache == NULL)
		source_models_init();
	entry = hash_search(source_models_cache, &relid, HASH_FIND, NULL);
	if (entry == NULL)
	{
		generation = source_models_generation;
		names = read_models(relid, CurrentMemoryContext);
		if (generation != source_models_generation)
			return names;		/* changed while read: do not keep it */
		entry = hash_search(source_models_cache, &relid, HASH_ENTER, NULL);
		entry->nmodels = list_length(names);
		entry->names = MemoryContextAllocZero(CacheMemoryContext,
											  sizeof(char *) * Max(entry->nmodels, 1));
		i = 0;
		foreach(lc, names)
			entry->names[i++] = MemoryContextStrdup(CacheMemoryContext, lfirst(lc));
		return names;
	}
	names = NIL;
	for (i = 0; i < entry->nmodels; i++)
		names = lappend(names, pstrdup(entry->names[i]));
	return names;
}

/* Tells every backend that the models of a relation changed. */
void
source_models_changed(Oid relid)
{
	CacheInvalidateRelcacheByRelid(relid);
}
