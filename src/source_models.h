/*-------------------------------------------------------------------------
 *
 * source_models.h
 *	  Which models each source table trained, cached per backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_SOURCE_MODELS_H
#define UNLEARN_SOURCE_MODELS_H

#include "access/tupdesc.h"
#include "nodes/pg_list.h"
#include "utils/tuplestore.h"

/* The names of the models trained on a relation, in model_id order. */
extern List *source_models(Oid relid);

/*
 * The names of the models of a relation an UPDATE may change (those
 * reading a column it changed in some row, and those with a filter), in
 * model_id order; olds and news hold its rows before and after.
 */
extern List *source_models_touched(Oid relid, TupleDesc desc, Tuplestorestate *olds,
								   Tuplestorestate *news);

/* Tells every backend that the models of a relation changed. */
extern void source_models_changed(Oid relid);

#endif							/* UNLEARN_SOURCE_MODELS_H */
