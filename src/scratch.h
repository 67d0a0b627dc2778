/*-------------------------------------------------------------------------
 *
 * scratch.h
 *	  Memory for the arrays of one erasure, kept from statement to
 *	  statement so that its pages stay mapped.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_SCRATCH_H
#define UNLEARN_SCRATCH_H

/* Registers the transaction callback that empties the region; from _PG_init. */
extern void scratch_init(void);

/* Where the region is filled to now: what scratch_release goes back to. */
extern Size scratch_mark(void);

/*
 * size bytes (MAXALIGNed) from the region, or, when it has no room, from
 * CurrentMemoryContext (palloc_extended, huge allowed).  Never pfree or
 * repalloc the result: it goes with scratch_release, or with the memory
 * context.
 */
extern void *scratch_alloc(Size size);

/* The same, zeroed. */
extern void *scratch_alloc0(Size size);

/*
 * Makes an empty region at least size bytes large (up to work_mem) before
 * an erasure allocates that much from it; does nothing with anything in
 * use.
 */
extern void scratch_reserve(Size size);

/*
 * Gives back everything allocated since mark (callers nest: the last mark
 * taken is released first).  Back at an empty region, it is made as large
 * as the statements since wanted, up to a limit.
 */
extern void scratch_release(Size mark);

#endif							/* UNLEARN_SCRATCH_H */
