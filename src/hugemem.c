/*-------------------------------------------------------------------------
 *
 * hugemem.c
 *	  Large arrays backed by transparent huge pages.
 *
 * A refresh or a verify_model reads every row of a model into one array
 * (hundreds of megabytes at d = 200), and a bulk erasure's arrays are
 * megabytes.  From malloc, such an array is a fresh mapping whose every
 * 4 kB page faults on first touch: on the virtual machines we measure,
 * about 3 us each, so a 320 MB array cost 0.4 s of page faults, a third
 * of a refresh.  Mapped here with MADV_HUGEPAGE, where the kernel's
 * transparent huge pages are in "madvise" or "always" mode, it takes one
 * fault per 2 MB.  Where they are off, the advice is ignored and nothing
 * is lost.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>

#include "utils/memutils.h"

#include "hugemem.h"

#define HUGE_PAGE_SIZE ((Size) 2 * 1024 * 1024)
#define SMALL_PAGE_SIZE ((Size) 4096)	/* a multiple of the system's */

/* A mapping made by hugemem_alloc, unmapped by its context's reset callback. */
typedef struct HugeMapping
{
	MemoryContextCallback callback;
	void	   *p;
	Size		size;
} HugeMapping;

/* Maps *size bytes aligned to a huge page (see hugemem.h). */
void *
hugemem_map(Size *size, Size limit)
{
	Size		want = TYPEALIGN(HUGE_PAGE_SIZE, Max(*size, 1));
	char	   *p;
	char	   *aligned;

	if (want > limit)
		want = TYPEALIGN(SMALL_PAGE_SIZE, Max(*size, 1));
	p = mmap(NULL, want + HUGE_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Keep an aligned piece of want bytes; give back the rest. */
	aligned = (char *) TYPEALIGN(HUGE_PAGE_SIZE, p);
	if (aligned > p)
		munmap(p, aligned - p);
	munmap(aligned + want, (p + want + HUGE_PAGE_SIZE) - (aligned + want));
#ifdef MADV_HUGEPAGE
	(void) madvise(aligned, want, MADV_HUGEPAGE);	/* advice: harmless if refused */
#endif
	*size = want;
	return aligned;
}

/* Unmaps what hugemem_map returned. */
void
hugemem_unmap(void *p, Size size)
{
	if (p != NULL)
		munmap(p, size);
}

/* The reset callback of a hugemem_alloc mapping. */
static void
unmap_callback(void *arg)
{
	HugeMapping *m = (HugeMapping *) arg;

	hugemem_unmap(m->p, m->size);
	m->p = NULL;
}

/* An array of size bytes, unmapped with CurrentMemoryContext (see hugemem.h). */
void *
hugemem_alloc(Size size)
{
	HugeMapping *m;

	if (size < HUGEMEM_MIN_SIZE)
		return palloc_extended(size, MCXT_ALLOC_HUGE);
	m = palloc0(sizeof(HugeMapping));
	m->size = size;
	m->p = hugemem_map(&m->size, SIZE_MAX);
	if (m->p == NULL)
	{
		pfree(m);
		return palloc_extended(size, MCXT_ALLOC_HUGE);
	}
	m->callback.func = unmap_callback;
	m->callback.arg = m;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &m->callback);
	return m->p;
}
