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

/* Whether a row of the model's source (in a slot of its row type) passes. */
extern bool model_filter_passes(ModelFilter *f, TupleTableSlot *row);

/* The same for a row given as a composite datum of the source's row type. */
extern bool model_filter_passes_datum(ModelFilter *f, HeapTupleHeader row);

#endif							/* UNLEARN_MODEL_FILTER_H */
