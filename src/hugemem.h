/*-------------------------------------------------------------------------
 *
 * hugemem.h
 *	  Large arrays backed by transparent huge pages.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_HUGEMEM_H
#define UNLEARN_HUGEMEM_H

/* Below this, an array is palloc'd as usual. */
#define HUGEMEM_MIN_SIZE ((Size) 2 * 1024 * 1024)

/*
 * Maps *size bytes (rounded up in place to whole huge pages, or to whole
 * small pages if that would pass limit), aligned to a huge page and
 * advised to be backed by them; NULL if the kernel refuses.  Untouched:
 * its pages are faulted in on first use.  Give back with hugemem_unmap.
 */
extern void *hugemem_map(Size *size, Size limit);

/* Unmaps what hugemem_map returned, with the size it set. */
extern void hugemem_unmap(void *p, Size size);

/*
 * size bytes for an array in CurrentMemoryContext, unmapped when that
 * context is reset or deleted: huge pages from HUGEMEM_MIN_SIZE up, else
 * (or if the kernel refuses) a palloc.  Never pfree or repalloc it.
 */
extern void *hugemem_alloc(Size size);

#endif							/* UNLEARN_HUGEMEM_H */
