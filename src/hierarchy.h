/*-------------------------------------------------------------------------
 *
 * hierarchy.h
 *	  Where a source table sits among partitions and inheritance, and so
 *	  which statements can take rows from it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_HIERARCHY_H
#define UNLEARN_HIERARCHY_H

#include "executor/tuptable.h"
#include "nodes/pg_list.h"
#include "utils/rel.h"

/* Whether a plain table has an inheritance parent or inheritance children. */
extern bool hierarchy_in_inheritance(Oid relid);

/* The partitioned tables a partition belongs to, nearest first (NIL if none). */
extern List *hierarchy_partition_ancestors(Oid relid);

/* Every table a table inherits from, directly or not (partitions: NIL). */
extern List *hierarchy_inheritance_ancestors(Oid relid);

/* Every partition or inheritance child under a table, at any depth. */
extern List *hierarchy_descendants(Oid relid);

/*
 * The tables whose DELETE, UPDATE or TRUNCATE can take rows from a model's
 * source: the source; a partition's partitioned ancestors; a partitioned
 * source's partitions; a table's inheritance ancestors.
 */
extern List *hierarchy_line(Oid source);

/* Whether relid is a partition (at any depth) of partitioned table ancestor. */
extern bool hierarchy_is_partition_of(Oid relid, Oid ancestor);

/* A partition's constraint, compiled for rows of one of its ancestors. */
typedef struct PartitionRoute PartitionRoute;

/*
 * Compiles the partition constraint of source (a partition, at any depth,
 * of the table rows come from) for rows in rows_rel's row type: a row
 * passes exactly when it is stored in source.
 */
extern PartitionRoute *hierarchy_route(Relation rows_rel, Oid source);

/* Whether a row (in the route's row type) belongs to the route's partition. */
extern bool hierarchy_route_passes(PartitionRoute *route, TupleTableSlot *row);

#endif							/* UNLEARN_HIERARCHY_H */
