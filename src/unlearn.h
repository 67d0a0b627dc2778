/*-------------------------------------------------------------------------
 *
 * unlearn.h
 *	  Shared declarations of the unlearn extension: version and settings.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_H
#define UNLEARN_H

#include "fmgr.h"

#define UNLEARN_VERSION "0.1.0"

/* unlearn.min_rcond: smallest reciprocal condition number accepted. */
extern double unlearn_min_rcond;

/* unlearn.train_memory: memory (kB) training may hold rows in. */
extern int	unlearn_train_memory;

/* Whether log entries and chain links are copied to the server log. */
extern bool unlearn_log_to_server;

/* unlearn.progress_interval: ms between progress NOTICEs; -1 = none. */
extern int	unlearn_progress_interval;

/* Starts the progress clock of a long operation. */
extern void unlearn_progress_start(void);

/* Sends a progress NOTICE if unlearn.progress_interval has passed. */
extern void unlearn_progress(const char *fmt,...) pg_attribute_printf(1, 2);

/* Raises a 22004 error naming the argument (what) if it is NULL. */
extern void unlearn_require_argument(FunctionCallInfo fcinfo, int argno, const char *what);

/*
 * Raises the error (39P01) for one of unlearn's trigger functions called
 * otherwise than as how says it must be fired.
 */
extern void unlearn_misused_trigger(FunctionCallInfo fcinfo, const char *how);

#endif							/* UNLEARN_H */
