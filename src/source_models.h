/*-------------------------------------------------------------------------
 *
 * source_models.h
 *	  Which models a statement on a table reaches, cached per backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_SOURCE_MODELS_H
#define UNLEARN_SOURCE_MODELS_H

#include "access/tupdesc.h"
#include "nodes/bitmapset.h"
#include "nodes/pg_list.h"
#include "utils/tuplestore.h"

/* How a model's rows are found among the rows a statement took. */
typedef enum TargetRows
{
	TARGET_ALL,					/* every row of the named table's transition table */
	TARGET_ROUTED,				/* those its partition constraint admits */
	TARGET_COLLECTED			/* collected row by row on its source (inheritance) */
} TargetRows;

/* A model a statement on a table reaches. */
typedef struct ModelTarget
{
	char	   *name;
	int32		model_id;
	Oid			source;
	TargetRows	rows;
	int			ncols;
	char	  **cols;			/* key, target, features */
	int			nroute_cols;
	char	  **route_cols;		/* TARGET_ROUTED: partition key columns on the way */
	bool		filtered;		/* has a "where" filter (may read any column) */
	const char *unsafe;			/* why its rows cannot be told apart, or NULL */
} ModelTarget;

/*
 * The models (ModelTarget *) whose rows a DELETE, UPDATE or TRUNCATE of
 * table relid can take, in model_id order: those on relid, on its
 * partitioned ancestors, and on the tables under it.
 */
extern List *source_targets(Oid relid);

/*
 * The same, for an UPDATE whose rows (olds and news, pairwise, in relid's
 * row type) are known: only the models reading a column it changed in
 * some row, or with a filter, and the models on a partition whose rows
 * it may have moved out (it changed a partition key on the way).  An
 * UPDATE of other columns costs nothing.  Collected targets are all
 * returned: their rows are judged with source_target_rows_changed.
 */
extern List *source_targets_touched(Oid relid, TupleDesc desc, Tuplestorestate *olds,
									Tuplestorestate *news);

/*
 * The models whose rows include the rows stored in table relid (itself a
 * table with storage): those on it and on its partitioned ancestors.
 */
extern List *source_targets_of_rows(Oid relid);

/*
 * Whether an UPDATE setting these columns (attribute numbers offset by
 * FirstLowInvalidHeapAttributeNumber, as TriggerData.tg_updatedcols;
 * NULL: unknown) may change model t.
 */
extern bool source_target_may_change(const ModelTarget *t, TupleDesc desc,
									 const Bitmapset *updatedcols);

/*
 * Whether rows an UPDATE changed (olds and news, pairwise, in desc's row
 * type) change model t: a column it reads changed in some row, or it has
 * a filter.
 */
extern bool source_target_rows_changed(const ModelTarget *t, TupleDesc desc,
									   Tuplestorestate *olds, Tuplestorestate *news);

/* Tells every backend that the models reached from these tables changed. */
extern void source_models_changed(List *relids);

#endif							/* UNLEARN_SOURCE_MODELS_H */
