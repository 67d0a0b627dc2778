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
 * machine, a page fault costs about 3 us, and the faults of a
 * 10,000-row erasure cost more than encoding its rows.  So those arrays
 * come from one region per backend, mapped once and reused (a bump
 * pointer with nested marks), up to work_mem (the memory a backend keeps
 * for this is the DBA's to bound); beyond it, allocations are ordinary
 * pallocs.  The region is mapped with transparent huge pages where the
 * kernel allows them (madvise mode), so even a session's first erasure
 * takes one fault per 2 MB instead of one per 4 kB.  An erasure reserves
 * what it will need before it starts (scratch_reserve); the region also
 * grows, untouched, to what statements wanted.
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

#include "hugemem.h"
#include "scratch.h"

static char *region = NULL;		/* from hugemem_map */
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

/* Unmaps the region. */
static void
unmap_region(void)
{
	hugemem_unmap(region, region_size);
	region = NULL;
	region_size = 0;
}

/* Maps an empty region of at least size bytes (whole pages, no more than limit if it can). */
static void
map_region(Size size, Size limit)
{
	unmap_region();
	region_size = size;
	region = hugemem_map(&region_size, limit);
	if (region == NULL)
		region_size = 0;
}

/*
 * Makes an empty region at least size bytes large (up to work_mem), so
 * that an erasure about to allocate that much finds it there.  With
 * anything in use it does nothing.
 */
void
scratch_reserve(Size size)
{
	Size		limit = (Size) work_mem * 1024;

	wanted = Max(wanted, size);
	size = Min(size, limit);
	if (region_used == 0 && size > region_size)
		map_region(size, limit);
}

/*
 * Gives back everything allocated since mark.  An empty region grows to
 * what was wanted, up to work_mem, for the next statement; one larger
 * than work_mem (lowered since) is given back.
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
	if (region_size > TYPEALIGN(4096, limit))	/* larger than map_region makes it */
	{
		unmap_region();
		wanted = size;
	}
	if (size > region_size)
		map_region(size, limit);
}
