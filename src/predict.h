/*-------------------------------------------------------------------------
 *
 * predict.h
 *	  Prediction (see predict.c): the planner hook that ships predictions
 *	  over Citus tables to the workers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_PREDICT_H
#define UNLEARN_PREDICT_H

/* Installs the planner hook that ships predictions over Citus tables (_PG_init). */
extern void predict_init(void);

#endif							/* UNLEARN_PREDICT_H */
