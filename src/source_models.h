/*-------------------------------------------------------------------------
 *
 * source_models.h
 *	  Which models each source table trained, cached per backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_SOURCE_MODELS_H
#define UNLEARN_SOURCE_MODELS_H

#include "nodes/pg_list.h"

/* The names of the models trained on a relation, in model_id order. */
extern List *source_models(Oid relid);

/* Tells every backend that the models of a relation changed. */
extern void source_models_changed(Oid relid);

#endif							/* UNLEARN_SOURCE_MODELS_H */
