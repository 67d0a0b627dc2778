/*-------------------------------------------------------------------------
 *
 * scratch.c
 *	  Memory for the arrays of one erasure, kept from statement to
 *	  statement.
 *
 * A bulk erasure needs a few megabytes of arrays: the rows' term vectors
 * and keys, the digests of the keys and their sort.  Allocated afresh in
 * every statement, their pages are new each time: glibc gives the freed
 * heap back to the kernel at the statement's end, and the next statement
 * takes a page fault for every 4 kB it touches.  Measured on a virtual
 * machine, the page faults of a 10,000-row erasure cost more than
 * encoding the rows.  So those arrays come from one region per backend,
 * allocated once in TopMemoryContext and reused (a bump pointer with
 * nested marks); its size follows what statements wanted, up to
 * work_mem (the memory a backend keeps for this is the DBA's to bound),
 * beyond which allocations are ordinary pallocs.
 *
 * The region is emptied at the end of every transaction, so an error that
 * skips a scratch_release leaves nothing in use for longer than that.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "scratch.h"

static char *region = NULL;		/* in TopMemoryContext */
static Size region_size = 0;
static Size region_used = 0;
static Size spilled = 0;		/* allocated elsewhere since the region was empty */
static Size wanted = 0;			/* the most in use at once, spills included */

/* Empties the region at the end of every top-level transaction. */
static void
scratch_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			region_used = 0;
			spilled = 0;
			break;
		default:
			break;
	}
}

/* Registers the transaction callback that empties the region; from _PG_init. */
void
scratch_init(void)
{
	RegisterXactCallback(scratch_xact_callback, NULL);
}

/* Where the region is filled to now: what scratch_release goes back to. */
Size
scratch_mark(void)
{
	return region_used;
}

/* size bytes from the region, or from CurrentMemoryContext when it has no room. */
void *
scratch_alloc(Size size)
{
	Size		need = MAXALIGN(Max(size, 1));
	void	   *p;

	if (region_used + need <= region_size)
	{
		p = region + region_used;
		region_used += need;
	}
	else
	{
		p = palloc_extended(size, MCXT_ALLOC_HUGE);
		spilled += need;
	}
	wanted = Max(wanted, region_used + spilled);
	return p;
}

/* The same, zeroed. */
void *
scratch_alloc0(Size size)
{
	void	   *p = scratch_alloc(size);

	memset(p, 0, size);
	return p;
}

/*
 * Gives back everything allocated since mark.  An empty region grows to
 * what was wanted, up to work_mem, its pages touched now, so that the
 * next statement finds them mapped; one larger than work_mem (lowered
 * since) is given back.
 */
void
scratch_release(Size mark)
{
	Size		limit = (Size) work_mem * 1024;
	Size		size = Min(wanted, limit);

	Assert(mark <= region_used);
	region_used = mark;
	if (region_used > 0)
		return;
	spilled = 0;
	if (region_size > limit)
	{
		pfree(region);
		region = NULL;
		region_size = 0;
		wanted = size;
	}
	if (size <= region_size)
		return;
	if (region != NULL)
		pfree(region);
	region = MemoryContextAllocExtended(TopMemoryContext, size, MCXT_ALLOC_NO_OOM);
	region_size = region != NULL ? size : 0;
	if (region != NULL)
		memset(region, 0, region_size);
}
