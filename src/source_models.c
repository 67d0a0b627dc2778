/*-------------------------------------------------------------------------
 *
 * source_models.c
 *	  Which models a statement on a table reaches, cached per backend.
 *
 * The erasure triggers need this on every statement, and a query against
 * unlearn.model per statement cost more than the rest of an erasure.  For
 * a table, the models of every table whose rows a statement on it can
 * take (itself, its partitioned ancestors, the tables under it; see
 * hierarchy.c), each with how its rows are found among the statement's,
 * and the columns it reads (so that an UPDATE of other columns can leave
 * it alone), are kept in a backend-local hash table.  An entry remembers
 * the tables it was computed from; a relcache invalidation of any of them
 * forgets it.  Creating or dropping a model invalidates every table of
 * its source's line (source_models_changed), so every backend, this one
 * at its next command and the others when they next lock the table, and
 * also on ROLLBACK of the transaction that sent it, reads unlearn.model
 * again; so do the partition DDL and trigger changes PostgreSQL itself
 * invalidates the tables for.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/sysattr.h"
#include "access/tupdesc.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/snapmgr.h"

#include "arrayutil.h"
#include "erase.h"
#include "hierarchy.h"
#include "source_models.h"
#include "spi_cache.h"

/* What a cache entry answers: a statement on the table, or its stored rows. */
typedef enum LookupKind
{
	FOR_STATEMENT,
	FOR_ROWS
} LookupKind;

typedef struct SourceKey
{
	Oid			relid;
	LookupKind	kind;
} SourceKey;

/* One cached table: its targets and the tables they were found through. */
typedef struct SourceModels
{
	SourceKey	key;			/* hash key */
	int			ntargets;
	ModelTarget *targets;
	int			ndeps;
	Oid		   *deps;
	MemoryContext cxt;			/* holds targets and deps */
} SourceModels;

static HTAB *source_models_cache = NULL;

/* Bumped by every invalidation: a list read across one is not kept. */
static uint64 source_models_generation = 0;

/* Relcache invalidation callback: forget the entries that depend on relid. */
static void
source_models_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	SourceModels *entry;

	source_models_generation++;
	if (source_models_cache == NULL)
		return;
	hash_seq_init(&status, source_models_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		bool		hit = !OidIsValid(relid);
		int			i;

		for (i = 0; i < entry->ndeps && !hit; i++)
			hit = entry->deps[i] == relid;
		if (!hit)
			continue;
		MemoryContextDelete(entry->cxt);
		hash_search(source_models_cache, &entry->key, HASH_REMOVE, NULL);
	}
}

/* Creates the cache and registers its invalidation callback, once. */
static void
source_models_init(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(SourceKey);
	ctl.entrysize = sizeof(SourceModels);
	ctl.hcxt = CacheMemoryContext;
	source_models_cache = hash_create("unlearn source models", 16, &ctl,
									  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	CacheRegisterRelcacheCallback(source_models_invalidate, (Datum) 0);
}

/*
 * How a statement on table named finds the rows of a model on source:
 * all of the transition table's, those routed to the source, or those
 * collected on it; *unsafe gets why neither can be trusted, or NULL.
 */
static TargetRows
target_rows(Oid named, Oid source, bool collectors, const char **unsafe)
{
	*unsafe = NULL;
	if (collectors)
		return TARGET_COLLECTED;
	if (source == named)
	{
		if (hierarchy_in_inheritance(named) && has_subclass(named))
			*unsafe = "Its source has inheritance children, whose rows a statement on it takes too, and it has no erasure triggers that tell its own rows apart.";
		return TARGET_ALL;
	}
	if (get_rel_relkind(named) == RELKIND_PARTITIONED_TABLE &&
		hierarchy_is_partition_of(source, named))
		return TARGET_ROUTED;
	if (hierarchy_is_partition_of(named, source))
		return TARGET_ALL;
	*unsafe = "Its source is an inheritance child of the table the statement named, and it has no erasure triggers that tell its own rows apart.";
	return TARGET_COLLECTED;
}

/* Adds the names of the columns a partitioned table's key reads to *names. */
static void
add_partition_key_columns(Oid relid, List **names)
{
	Relation	rel = table_open(relid, AccessShareLock);
	PartitionKey key = RelationGetPartitionKey(rel);
	Bitmapset  *attnos = NULL;
	ListCell   *lc;
	int			i;

	for (i = 0; i < key->partnatts; i++)
		if (key->partattrs[i] != 0)
			attnos = bms_add_member(attnos,
									key->partattrs[i] - FirstLowInvalidHeapAttributeNumber);
	foreach(lc, key->partexprs)
		pull_varattnos(lfirst(lc), 1, &attnos);
	i = -1;
	while ((i = bms_next_member(attnos, i)) >= 0)
	{
		AttrNumber	attno = i + FirstLowInvalidHeapAttributeNumber;

		if (attno > 0)
			*names = lappend(*names, get_attname(relid, attno, false));
	}
	table_close(rel, AccessShareLock);
}

/*
 * The columns whose change can move a row of partition source out of it
 * through a statement on its partitioned ancestor named: the partition
 * keys of named and of the partitioned tables between them.
 */
static List *
route_columns(Oid named, Oid source)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, hierarchy_partition_ancestors(source))
	{
		add_partition_key_columns(lfirst_oid(lc), &names);
		if (lfirst_oid(lc) == named)
			break;
	}
	return names;
}

/* Whether table relid carries unlearn's row collectors (see collected.c). */
static bool
has_collectors(Oid relid)
{
	Relation	rel = try_table_open(relid, AccessShareLock);
	bool		found;

	if (rel == NULL)
		return false;
	found = erase_has_collectors(rel);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Reads the targets of a table from unlearn.model, in the current memory
 * context; *deps gets the tables they were found through.
 */
static ModelTarget *
read_targets(Oid relid, LookupKind kind, int *n, List **deps)
{
	Oid			types[1] = {REGCLASSARRAYOID};
	Datum		values[1];
	MemoryContext cxt = CurrentMemoryContext;
	List	   *candidates = list_make1_oid(relid);
	ModelTarget *targets;
	uint64		i;

	candidates = list_concat(candidates, hierarchy_partition_ancestors(relid));
	if (kind == FOR_STATEMENT)
		candidates = list_concat(candidates, hierarchy_descendants(relid));
	values[0] = PointerGetDatum(oid_list_array(candidates, REGCLASSOID));

	SPI_connect();
	/* The newest list, whatever the isolation level: it is kept across transactions. */
	PushActiveSnapshot(GetLatestSnapshot());
	if (spi_execute_cached("SELECT name, model_id, source, key_column, target_column,"
						   " feature_columns, options ? 'where', options->>'exposure'"
						   " FROM unlearn.model WHERE source = ANY ($1) ORDER BY model_id",
						   1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the models of relation %u", relid);
	PopActiveSnapshot();
	targets = MemoryContextAllocZero(cxt, sizeof(ModelTarget) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum	   *features;
		int			nfeatures,
					j;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		ModelTarget *t = &targets[i];
		bool		collectors;

		t->name = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		t->model_id = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		t->source = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 6, &isnull)),
						  TEXTOID, -1, false, TYPALIGN_INT, &features, NULL, &nfeatures);
		t->cols = palloc(sizeof(char *) * (nfeatures + 3));
		t->cols[0] = TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull));
		t->cols[1] = TextDatumGetCString(SPI_getbinval(tup, desc, 5, &isnull));
		for (j = 0; j < nfeatures; j++)
			t->cols[2 + j] = TextDatumGetCString(features[j]);
		t->ncols = nfeatures + 2;
		t->filtered = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
		/* A Poisson model's exposure: an UPDATE of it changes the model. */
		{
			Datum		exposure = SPI_getbinval(tup, desc, 8, &isnull);

			if (!isnull)
				t->cols[t->ncols++] = TextDatumGetCString(exposure);
		}
		collectors = has_collectors(t->source);
		if (kind == FOR_ROWS)
		{
			t->rows = TARGET_ALL;
			t->unsafe = NULL;
		}
		else
			t->rows = target_rows(relid, t->source, collectors, &t->unsafe);
		if (t->rows == TARGET_ROUTED)
		{
			List	   *route = route_columns(relid, t->source);
			ListCell   *lc;

			t->route_cols = palloc(sizeof(char *) * Max(list_length(route), 1));
			foreach(lc, route)
				t->route_cols[t->nroute_cols++] = pstrdup(lfirst(lc));
		}
		MemoryContextSwitchTo(old);
	}
	*n = (int) SPI_processed;
	SPI_finish();
	*deps = candidates;
	return targets;
}

/*
 * Reads the targets of a table into a new memory context under
 * CacheMemoryContext, which is deleted again if reading fails.
 */
static MemoryContext
read_into_context(Oid relid, LookupKind kind, ModelTarget **targets, int *n, List **deps)
{
	MemoryContext cxt = AllocSetContextCreate(CacheMemoryContext, "unlearn source models",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	PG_TRY();
	{
		*targets = read_targets(relid, kind, n, deps);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return cxt;
}

/*
 * The targets of a table, as copies in the current memory context (an
 * invalidation may free the cache entry meanwhile): from the cached
 * entry, read on first use; or, when an invalidation came while they were
 * read, read and not kept.
 */
static List *
lookup(Oid relid, LookupKind kind)
{
	SourceKey	key;
	SourceModels *entry;
	MemoryContext cxt;
	uint64		generation;
	int			n,
				i;
	ModelTarget *targets;
	List	   *deps;
	List	   *result = NIL;

	if (source_models_cache == NULL)
		source_models_init();
	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.kind = kind;
	entry = hash_search(source_models_cache, &key, HASH_FIND, NULL);
	if (entry == NULL)
	{
		generation = source_models_generation;
		cxt = read_into_context(relid, kind, &targets, &n, &deps);
		if (generation != source_models_generation)
		{
			/* Changed while read: use it for this statement, do not keep it. */
			MemoryContextSetParent(cxt, CurrentMemoryContext);
			for (i = 0; i < n; i++)
				result = lappend(result, &targets[i]);
			return result;
		}
		entry = hash_search(source_models_cache, &key, HASH_ENTER, NULL);
		entry->ntargets = n;
		entry->targets = targets;
		entry->ndeps = list_length(deps);
		entry->deps = MemoryContextAlloc(cxt, sizeof(Oid) * Max(entry->ndeps, 1));
		for (i = 0; i < entry->ndeps; i++)
			entry->deps[i] = list_nth_oid(deps, i);
		entry->cxt = cxt;
	}
	for (i = 0; i < entry->ntargets; i++)
	{
		ModelTarget *t = palloc(sizeof(ModelTarget));
		int			c;

		*t = entry->targets[i];
		t->name = pstrdup(t->name);
		t->cols = palloc(sizeof(char *) * Max(t->ncols, 1));
		for (c = 0; c < t->ncols; c++)
			t->cols[c] = pstrdup(entry->targets[i].cols[c]);
		t->route_cols = palloc(sizeof(char *) * Max(t->nroute_cols, 1));
		for (c = 0; c < t->nroute_cols; c++)
			t->route_cols[c] = pstrdup(entry->targets[i].route_cols[c]);
		result = lappend(result, t);
	}
	return result;
}

/* The models a statement on relid reaches, in model_id order. */
List *
source_targets(Oid relid)
{
	return lookup(relid, FOR_STATEMENT);
}

/* The models whose rows include the rows stored in relid. */
List *
source_targets_of_rows(Oid relid)
{
	return lookup(relid, FOR_ROWS);
}

/* The index in desc of the live column called name, or -1. */
static int
column_index(TupleDesc desc, const char *name)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (!attr->attisdropped && strcmp(NameStr(attr->attname), name) == 0)
			return i;
	}
	return -1;
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

/*
 * Whether one of the named columns is gone from desc, or changed: by
 * index in changed[], or (changed NULL) by attribute number in set.
 */
static bool
columns_changed(char **names, int n, TupleDesc desc, const bool *changed, const Bitmapset *set)
{
	int			c;

	for (c = 0; c < n; c++)
	{
		int			i = column_index(desc, names[c]);

		if (i < 0)
			return true;		/* gone: let the model say what it makes of it */
		if (changed ? changed[i] :
			bms_is_member(TupleDescAttr(desc, i)->attnum - FirstLowInvalidHeapAttributeNumber, set))
			return true;
	}
	return false;
}

/* Whether a change of those columns of desc changes model t (see columns_changed). */
static bool
target_changed(const ModelTarget *t, TupleDesc desc, const bool *changed, const Bitmapset *set)
{
	return t->filtered ||
		columns_changed(t->cols, t->ncols, desc, changed, set) ||
		columns_changed(t->route_cols, t->nroute_cols, desc, changed, set);
}

/* The models an UPDATE with these rows may change, in model_id order. */
List *
source_targets_touched(Oid relid, TupleDesc desc, Tuplestorestate *olds,
					   Tuplestorestate *news)
{
	List	   *all = source_targets(relid);
	List	   *touched = NIL;
	bool	   *changed = NULL;
	ListCell   *lc;

	foreach(lc, all)
	{
		ModelTarget *t = lfirst(lc);

		/* Collected rows are another table's: they are judged there. */
		if (t->rows == TARGET_COLLECTED || olds == NULL)
		{
			touched = lappend(touched, t);
			continue;
		}
		if (changed == NULL)
			changed = changed_columns(desc, olds, news);
		if (target_changed(t, desc, changed, NULL))
			touched = lappend(touched, t);
	}
	return touched;
}

/* Whether rows an UPDATE changed (in desc's row type) change model t. */
bool
source_target_rows_changed(const ModelTarget *t, TupleDesc desc, Tuplestorestate *olds,
						   Tuplestorestate *news)
{
	return target_changed(t, desc, changed_columns(desc, olds, news), NULL);
}

/*
 * Whether an UPDATE of table desc setting updatedcols (attribute numbers
 * offset by FirstLowInvalidHeapAttributeNumber; NULL: unknown) may change
 * the model: as source_targets_touched will judge it from the rows.
 */
bool
source_target_may_change(const ModelTarget *t, TupleDesc desc, const Bitmapset *updatedcols)
{
	return updatedcols == NULL || target_changed(t, desc, NULL, updatedcols);
}

/* Tells every backend that the models reached from these tables changed. */
void
source_models_changed(List *relids)
{
	ListCell   *lc;

	foreach(lc, relids)
		CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
}
