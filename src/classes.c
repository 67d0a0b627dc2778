/*-------------------------------------------------------------------------
 *
 * classes.c
 *	  The classes of a multinomial model's target (see classes.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "classes.h"
#include "features.h"

/* One class in the label table. */
typedef struct ClassEntry
{
	char	   *label;			/* key */
	int			id;
} ClassEntry;

/* Whether a target of this base type can be classes: integers, booleans, text, enums. */
bool
classes_type_allowed(Oid type)
{
	ColumnKind	kind;

	if (type == INT2OID || type == INT4OID || type == INT8OID || type == BOOLOID)
		return true;
	return feature_kind_of_type(type, &kind) && kind == COLUMN_CATEGORICAL;
}

/* An empty set of classes (see classes.h). */
ClassSet *
classes_create(Oid type, MemoryContext cxt)
{
	ClassSet   *cs = MemoryContextAllocZero(cxt, sizeof(ClassSet));
	Oid			outfunc;
	bool		isvarlena;

	cs->type = type;
	cs->cxt = cxt;
	cs->cap = 8;
	cs->values = MemoryContextAlloc(cxt, sizeof(Datum) * cs->cap);
	cs->labels = MemoryContextAlloc(cxt, sizeof(char *) * cs->cap);
	cs->rows = MemoryContextAllocZero(cxt, sizeof(int64) * cs->cap);
	cs->by_label = features_level_table("unlearn classes", sizeof(ClassEntry), cxt);
	getTypeOutputInfo(type, &outfunc, &isvarlena);
	fmgr_info_cxt(outfunc, &cs->out, cxt);
	return cs;
}

/* Counts a row of a class value; its provisional id (see classes.h). */
int
classes_add(ClassSet *cs, Datum value)
{
	char	   *label = OutputFunctionCall(&cs->out, value);
	ClassEntry *e;
	bool		found;

	e = hash_search(cs->by_label, &label, HASH_FIND, NULL);
	if (e == NULL)
	{
		int16		typlen;
		bool		typbyval;
		MemoryContext old;

		if (cs->n == cs->cap)
		{
			cs->cap *= 2;
			cs->values = repalloc(cs->values, sizeof(Datum) * cs->cap);
			cs->labels = repalloc(cs->labels, sizeof(char *) * cs->cap);
			cs->rows = repalloc(cs->rows, sizeof(int64) * cs->cap);
		}
		get_typlenbyval(cs->type, &typlen, &typbyval);
		old = MemoryContextSwitchTo(cs->cxt);
		cs->labels[cs->n] = pstrdup(label);
		cs->values[cs->n] = datumCopy(value, typbyval, typlen);
		MemoryContextSwitchTo(old);
		cs->rows[cs->n] = 0;
		e = hash_search(cs->by_label, &cs->labels[cs->n], HASH_ENTER, &found);
		e->label = cs->labels[cs->n];
		e->id = cs->n++;
	}
	pfree(label);
	cs->rows[e->id]++;
	return e->id;
}

/* qsort_arg comparator of provisional ids by their values. */
static int
compare_classes(const void *a, const void *b, void *arg)
{
	ClassSet   *cs = (ClassSet *) arg;
	TypeCacheEntry *tc = lookup_type_cache(cs->type, TYPECACHE_CMP_PROC_FINFO);
	int			ia = *(const int *) a,
				ib = *(const int *) b;

	return DatumGetInt32(FunctionCall2Coll(&tc->cmp_proc_finfo, DEFAULT_COLLATION_OID,
										   cs->values[ia], cs->values[ib]));
}

/* Sorts the classes into the type's order (see classes.h). */
void
classes_finish(ClassSet *cs)
{
	int		   *order = palloc(sizeof(int) * Max(cs->n, 1));
	Datum	   *values = MemoryContextAlloc(cs->cxt, sizeof(Datum) * Max(cs->n, 1));
	char	  **labels = MemoryContextAlloc(cs->cxt, sizeof(char *) * Max(cs->n, 1));
	int64	   *rows = MemoryContextAlloc(cs->cxt, sizeof(int64) * Max(cs->n, 1));
	TypeCacheEntry *tc = lookup_type_cache(cs->type, TYPECACHE_CMP_PROC_FINFO);
	int			i;

	if (!OidIsValid(tc->cmp_proc_finfo.fn_oid))
		elog(ERROR, "type %s has no default ordering", format_type_be(cs->type));
	for (i = 0; i < cs->n; i++)
		order[i] = i;
	qsort_arg(order, cs->n, sizeof(int), compare_classes, cs);
	cs->position = MemoryContextAlloc(cs->cxt, sizeof(int) * Max(cs->n, 1));
	for (i = 0; i < cs->n; i++)
	{
		cs->position[order[i]] = i;
		values[i] = cs->values[order[i]];
		labels[i] = cs->labels[order[i]];
		rows[i] = cs->rows[order[i]];
	}
	/* The table keeps provisional ids; position maps them. */
	cs->values = values;
	cs->labels = labels;
	cs->rows = rows;
	cs->finished = true;
	pfree(order);
}

/* The position of a value's class, or -1 (see classes.h). */
int
classes_find(const ClassSet *cs, Datum value)
{
	char	   *label = OutputFunctionCall((FmgrInfo *) &cs->out, value);
	ClassEntry *e = hash_search(cs->by_label, &label, HASH_FIND, NULL);

	pfree(label);
	if (e == NULL)
		return -1;
	return cs->finished ? cs->position[e->id] : e->id;
}
