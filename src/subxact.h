/*-------------------------------------------------------------------------
 *
 * subxact.h
 *	  Running a step in a subtransaction of its own, so that an error it
 *	  raises can be turned into an outcome (a marked model, another start)
 *	  instead of failing the statement.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_SUBXACT_H
#define UNLEARN_SUBXACT_H

/* A step subxact_try runs. */
typedef void (*SubxactStep) (void *arg);

/* Which errors (by SQLSTATE) a caller turns into an outcome. */
typedef bool (*SubxactCatches) (int sqlerrcode);

/*
 * Runs step(arg) in a subtransaction: true if it returned; false if it
 * raised an error catches accepts, which is rolled back and handed over
 * in *error (allocated in the caller's memory context).  Any other error
 * (a cancel, say) propagates.
 */
extern bool subxact_try(SubxactStep step, void *arg, SubxactCatches catches, ErrorData **error);

/* Data exceptions (class 22): the data cannot be fitted. */
extern bool subxact_catches_data_errors(int sqlerrcode);

#endif							/* UNLEARN_SUBXACT_H */
