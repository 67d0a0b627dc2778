/*-------------------------------------------------------------------------
 *
 * hierarchy.c
 *	  Where a source table sits among partitions and inheritance.
 *
 * A model's rows are the rows stored in its source (see source_scan.c).
 * PostgreSQL fires statement-level triggers only on the table a statement
 * names, and their transition tables hold the rows of every table under
 * it, in the named table's row type, without saying which table each row
 * came from.  So:
 *   - a partitioned source's rows may be taken by a statement on it or on
 *     any of its partitions: all of those rows are its own;
 *   - a partition's rows may be taken by a statement on it or on any of
 *     its partitioned ancestors, whose transition table also holds its
 *     siblings' rows: its own are those its partition constraint admits
 *     (a route), exactly the rows PostgreSQL would route to it;
 *   - an inheritance child's (or parent's) own rows may be taken by a
 *     statement on it or on an inheritance ancestor, and nothing in a row
 *     says which table it is stored in: such sources collect their rows
 *     with row-level triggers instead (see collected.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "executor/executor.h"
#include "optimizer/optimizer.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"

#include "hierarchy.h"

/* A partition's constraint, compiled for rows of an ancestor's row type. */
struct PartitionRoute
{
	EState	   *estate;
	ExprState  *qual;			/* NULL: every row (no constraint) */
};

/* The direct inheritance parents of a table, from pg_inherits. */
static List *
inheritance_parents(Oid relid)
{
	Relation	rel = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *parents = NIL;

	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		parents = lappend_oid(parents, ((Form_pg_inherits) GETSTRUCT(tup))->inhparent);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return parents;
}

/* Whether a plain table has an inheritance parent or inheritance children. */
bool
hierarchy_in_inheritance(Oid relid)
{
	if (get_rel_relkind(relid) != RELKIND_RELATION || get_rel_relispartition(relid))
		return false;
	return has_superclass(relid) || has_subclass(relid);
}

/* The partitioned tables a partition belongs to, nearest first. */
List *
hierarchy_partition_ancestors(Oid relid)
{
	return get_rel_relispartition(relid) ? get_partition_ancestors(relid) : NIL;
}

/* Every table a table inherits from, directly or not. */
List *
hierarchy_inheritance_ancestors(Oid relid)
{
	List	   *found = NIL;
	List	   *todo;

	if (get_rel_relispartition(relid))
		return NIL;
	todo = inheritance_parents(relid);
	while (todo != NIL)
	{
		Oid			parent = linitial_oid(todo);

		todo = list_delete_first(todo);
		if (list_member_oid(found, parent))
			continue;
		found = lappend_oid(found, parent);
		todo = list_concat(todo, inheritance_parents(parent));
	}
	return found;
}

/* Every partition or inheritance child under a table, at any depth. */
List *
hierarchy_descendants(Oid relid)
{
	List	   *all;

	if (!has_subclass(relid))
		return NIL;
	all = find_all_inheritors(relid, NoLock, NULL);
	return list_delete_first(all);	/* the table itself comes first */
}

/* The tables whose statements can take rows from a model's source. */
List *
hierarchy_line(Oid source)
{
	List	   *line = list_make1_oid(source);

	if (get_rel_relispartition(source))
		line = list_concat(line, hierarchy_partition_ancestors(source));
	else
		line = list_concat(line, hierarchy_inheritance_ancestors(source));
	if (get_rel_relkind(source) == RELKIND_PARTITIONED_TABLE)
		line = list_concat(line, hierarchy_descendants(source));
	return line;
}

/* Whether relid is a partition, at any depth, of a partitioned table. */
bool
hierarchy_is_partition_of(Oid relid, Oid ancestor)
{
	return list_member_oid(hierarchy_partition_ancestors(relid), ancestor);
}

/* Compiles a partition's constraint for rows of rows_rel's row type. */
PartitionRoute *
hierarchy_route(Relation rows_rel, Oid source)
{
	PartitionRoute *route = palloc0(sizeof(PartitionRoute));
	Relation	part = table_open(source, AccessShareLock);
	List	   *qual = RelationGetPartitionQual(part);

	route->estate = CreateExecutorState();
	if (qual != NIL)
	{
		/* The constraint names the partition's columns: map them by name. */
		qual = map_partition_varattnos(qual, 1, rows_rel, part);
		qual = (List *) expression_planner((Expr *) qual);
		route->qual = ExecPrepareQual(qual, route->estate);
	}
	table_close(part, NoLock);
	return route;
}

/* Whether a row belongs to the route's partition. */
bool
hierarchy_route_passes(PartitionRoute *route, TupleTableSlot *row)
{
	ExprContext *econtext;
	bool		pass;

	if (route->qual == NULL)
		return true;
	econtext = GetPerTupleExprContext(route->estate);
	econtext->ecxt_scantuple = row;
	pass = ExecQual(route->qual, econtext);
	ResetExprContext(econtext);
	return pass;
}
