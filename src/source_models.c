/*-------------------------------------------------------------------------
 *
 * source_models.c
 *	  Which models each source table trained, cached per backend.
 *
 * The erasure triggers need this on every DELETE, and a query against
 * unlearn.model per statement cost more than the rest of an erasure.  The
 * list, with the columns each model reads (so that an UPDATE of other
 * columns can leave the models alone), is kept per relation in a
 * backend-local hash table.  Creating or dropping a model sends a
 * relcache invalidation for its source table
 * (source_models_changed), which reaches every backend, this one at its
 * next command and the others when they next lock the table, and also on
 * ROLLBACK of the transaction that sent it; the callback forgets the
 * relation's entry, and the next look-up reads unlearn.model again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "source_models.h"
#include "spi_cache.h"

/* A model of the relation, and the columns it reads. */
typedef struct ModelColumns
{
	char	   *name;
	int			ncols;
	char	  **cols;			/* key, target, features */
	bool		filtered;		/* has a "where" filter (may read any column) */
} ModelColumns;

/* One cached relation: its models, in CacheMemoryContext. */
typedef struct SourceModels
{
	Oid			relid;			/* hash key */
	int			nmodels;
	ModelColumns *models;
	MemoryContext cxt;			/* holds models */
} SourceModels;

static HTAB *source_models_cache = NULL;

/* Bumped by every invalidation: a list read across one is not kept. */
static uint64 source_models_generation = 0;

/* Frees one entry and removes it. */
static void
forget_entry(SourceModels *entry)
{
	if (entry->cxt)
		MemoryContextDelete(entry->cxt);
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

/* Reads the models of a relation from unlearn.model, in the current context. */
static ModelColumns *
read_models(Oid relid, int *n)
{
	Oid			types[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	MemoryContext cxt = CurrentMemoryContext;
	ModelColumns *models;
	uint64		i;

	SPI_connect();
	/* The newest list, whatever the isolation level: it is kept across transactions. */
	PushActiveSnapshot(GetLatestSnapshot());
	if (spi_execute_cached("SELECT name, key_column, target_column, feature_columns,"
						   " options ? 'where'"
						   " FROM unlearn.model WHERE source = $1 ORDER BY model_id",
						   1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the models of relation %u", relid);
	PopActiveSnapshot();
	models = MemoryContextAllocZero(cxt, sizeof(ModelColumns) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum	   *features;
		int			nfeatures,
					j;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		ModelColumns *m = &models[i];

		m->name = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull)),
						  TEXTOID, -1, false, TYPALIGN_INT, &features, NULL, &nfeatures);
		m->cols = palloc(sizeof(char *) * (nfeatures + 2));
		m->cols[0] = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		m->cols[1] = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		for (j = 0; j < nfeatures; j++)
			m->cols[2 + j] = TextDatumGetCString(features[j]);
		m->ncols = nfeatures + 2;
		m->filtered = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		MemoryContextSwitchTo(old);
	}
	*n = (int) SPI_processed;
	SPI_finish();
	return models;
}

/*
 * The models of a relation, in model_id order: the cached entry, read on
 * first use; or, when an invalidation came while they were read, a
 * transient one in the current memory context (not kept).
 */
static SourceModels *
lookup(Oid relid, SourceModels *transient)
{
	SourceModels *entry;
	MemoryContext cxt,
				old;
	uint64		generation;
	int			n;
	ModelColumns *models;

	if (source_models_cache == NULL)
		source_models_init();
	entry = hash_search(source_models_cache, &relid, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;
	generation = source_models_generation;
	cxt = AllocSetContextCreate(CacheMemoryContext, "unlearn source models",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		models = read_models(relid, &n);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	if (generation != source_models_generation)
	{
		/* Changed while read: use it for this statement, do not keep it. */
		MemoryContextSetParent(cxt, CurrentMemoryContext);
		transient->relid = relid;
		transient->nmodels = n;
		transient->models = models;
		transient->cxt = NULL;
		return transient;
	}
	entry = hash_search(source_models_cache, &relid, HASH_ENTER, NULL);
	entry->nmodels = n;
	entry->models = models;
	entry->cxt = cxt;
	return entry;
}

/* The names of the models trained on a relation, in model_id order. */
List *
source_models(Oid relid)
{
	SourceModels transient;
	SourceModels *entry = lookup(relid, &transient);
	List	   *names = NIL;
	int			i;

	for (i = 0; i < entry->nmodels; i++)
		names = lappend(names, pstrdup(entry->models[i].name));
	return names;
}

/*
 * Which columns of a relation an UPDATE changed in any row: olds and news
 * hold its rows before and after, pairwise.  Binary equality: a value
 * written back equal but differently (numeric scale) counts as changed,
 * which only costs the models a look.
 */
static bool *
changed_columns(TupleDesc desc, Tuplestorestate *olds, Tuplestorestate *news)
{
	bool	   *changed = palloc0(sizeof(bool) * Max(desc->natts, 1));
	TupleTableSlot *old = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	TupleTableSlot *new = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	int			i;

	tuplestore_rescan(olds);
	tuplestore_rescan(news);
	while (tuplestore_gettupleslot(olds, true, false, old) &&
		   tuplestore_gettupleslot(news, true, false, new))
	{
		slot_getallattrs(old);
		slot_getallattrs(new);
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute attr = TupleDescAttr(desc, i);

			if (changed[i] || attr->attisdropped)
				continue;
			if (old->tts_isnull[i] != new->tts_isnull[i] ||
				(!old->tts_isnull[i] &&
				 !datumIsEqual(old->tts_values[i], new->tts_values[i],
							   attr->attbyval, attr->attlen)))
				changed[i] = true;
		}
	}
	ExecDropSingleTupleTableSlot(old);
	ExecDropSingleTupleTableSlot(new);
	tuplestore_rescan(olds);
	tuplestore_rescan(news);
	return changed;
}

/* Whether an UPDATE changed a column a model reads (or might: a filter, a column gone). */
static bool
model_touched(const ModelColumns *m, TupleDesc desc, const bool *changed)
{
	int			c,
				i;

	if (m->filtered)
		return true;
	for (c = 0; c < m->ncols; c++)
	{
		bool		found = false;

		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute attr = TupleDescAttr(desc, i);

			if (!attr->attisdropped && strcmp(NameStr(attr->attname), m->cols[c]) == 0)
			{
				found = true;
				if (changed[i])
					return true;
				break;
			}
		}
		if (!found)
			return true;		/* let the model say what it makes of it */
	}
	return false;
}

/*
 * The names of the models of a relation an UPDATE may change, in model_id
 * order: those reading a column it changed in some row, and those with a
 * filter.  An UPDATE of other columns costs the models nothing: no lock,
 * no log entry.
 */
List *
source_models_touched(Oid relid, TupleDesc desc, Tuplestorestate *olds,
					  Tuplestorestate *news)
{
	SourceModels transient;
	SourceModels *entry = lookup(relid, &transient);
	List	   *names = NIL;
	bool	   *changed;
	int			i;

	if (entry->nmodels == 0)
		return NIL;
	changed = changed_columns(desc, olds, news);
	for (i = 0; i < entry->nmodels; i++)
		if (model_touched(&entry->models[i], desc, changed))
			names = lappend(names, pstrdup(entry->models[i].name));
	return names;
}

/* Tells every backend that the models of a relation changed. */
void
source_models_changed(Oid relid)
{
	CacheInvalidateRelcacheByRelid(relid);
}
