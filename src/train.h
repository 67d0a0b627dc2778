/*-------------------------------------------------------------------------
 *
 * train.h
 *	  Making and dropping models (create_model, retrain, drop_model).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_TRAIN_H
#define UNLEARN_TRAIN_H

/*
 * Drops a model with its terms and lineage, logged (method: NULL for a
 * drop_model, "cascade" when its source or a column went; detail: why).
 * The caller is the extension's owner (privileges_enter_catalog).
 */
extern void model_drop(const char *name, const char *method, const char *detail);

#endif							/* UNLEARN_TRAIN_H */
