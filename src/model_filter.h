/*-------------------------------------------------------------------------
 *
 * model_filter.h
 *	  A model's stored "where" filter, run over single rows as its owner.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_MODEL_FILTER_H
#define UNLEARN_MODEL_FILTER_H

#include "access/htup.h"
#include "executor/tuptable.h"

#include "catalog.h"

typedef struct ModelFilter ModelFilter;

/* Compiles the stored filter of m (which has one) to run as its owner. */
extern ModelFilter *model_filter_compile(StoredModel *m);

/*
 * The same, or NULL with the reason in *why when it cannot be compiled
 * any more (its owner dropped, a function it calls gone).
 */
extern ModelFilter *model_filter_try_compile(StoredModel *m, char **why);

/*
 * Whether a row passes: a row of the model's source, or of a table of its
 * hierarchy (converted by column name).
 */
extern bool model_filter_passes(ModelFilter *f, TupleTableSlot *row);

/* The same for a row given as a composite datum of the source's row type. */
extern bool model_filter_passes_datum(ModelFilter *f, HeapTupleHeader row);

#endif							/* UNLEARN_MODEL_FILTER_H */
