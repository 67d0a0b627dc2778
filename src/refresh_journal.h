/*-------------------------------------------------------------------------
 *
 * refresh_journal.h
 *	  The rows erasures change in a model while a background refresh is
 *	  asked for (unlearn.refresh_journal).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_REFRESH_JOURNAL_H
#define UNLEARN_REFRESH_JOURNAL_H

/* Most rows one change journals: a bigger one makes a running refresh start again. */
#define JOURNAL_MAX_ROWS 10000

/*
 * One journaled change: rows x (d + 2) doubles, sign (+1 out, -1 in; times
 * the row's exposure for a Poisson model with one), label, terms.
 */
typedef struct JournalEntry
{
	int64		version;		/* the model's version after the change */
	int			rows;
	double	   *terms;
} JournalEntry;

/*
 * Journals a change of a model that made version: k rows out (X, y,
 * exposure) and a rows in (XA, yA, exposureA), d terms each; an exposure
 * NULL is 1 for every row.
 */
extern void journal_append(int32 model_id, int64 version, int d,
						   const double *X, const double *y, const double *exposure, int k,
						   const double *XA, const double *yA, const double *exposureA,
						   int a);

/*
 * A model's journaled changes after version, in version order, in the
 * current memory context; *n of them.  An entry whose terms are not
 * rows x (d + 2) is corrupt (an error).
 */
extern JournalEntry *journal_load(int32 model_id, int64 after, int d, int *n);

/* Deletes a model's journaled changes. */
extern void journal_clear(int32 model_id);

#endif							/* UNLEARN_REFRESH_JOURNAL_H */
