/*-------------------------------------------------------------------------
 *
 * parallel_sums.c
 *	  Solver passes shared with parallel workers (see parallel_sums.h).
 *
 *	  The leader copies the rows to the parallel context's shared memory,
 *	  with room for one partial sum per chunk.  A pass: the leader writes
 *	  theta and starts a new generation; every participant (the leader
 *	  too) takes the next chunk from an atomic counter until none is left,
 *	  sums the chunk's rows into the chunk's own slot (solver_sums_add, as
 *	  a serial pass does) and counts it done; the leader waits for the
 *	  count and adds the slots up in chunk order.  A worker's error reaches
 *	  the leader through the parallel context's error queue, and a cancel
 *	  or an error of the leader ends the workers (the context goes with
 *	  its transaction).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/statvfs.h>

#include "access/parallel.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/dsm_impl.h"
#include "storage/shm_toc.h"
#include "storage/spin.h"
#include "fmgr.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "parallel_sums.h"
#include "solver.h"

/* Chunks a pass is cut into at most, and the memory their sums may take. */
#define MAX_CHUNKS 16
#define MAX_SLOT_BYTES ((Size) 256 * 1024 * 1024)

#define KEY_SHARED UINT64CONST(0x756E6C6561726E01)
#define KEY_THETA UINT64CONST(0x756E6C6561726E02)
#define KEY_ROWS UINT64CONST(0x756E6C6561726E03)
#define KEY_SLOTS UINT64CONST(0x756E6C6561726E04)
#define KEY_DATASET UINT64CONST(0x756E6C6561726E05)
#define KEY_PSCAN UINT64CONST(0x756E6C6561726E06)

int			unlearn_parallel_min_rows = 100000;

/* The last fit of this backend: workers launched, -1 for one process, -2 for none yet. */
static int	last_fit_workers = -2;

/* What the leader and its workers share, besides the arrays. */
typedef struct SharedSums
{
	slock_t		mutex;
	ConditionVariable work_cv;	/* workers wait here for a pass */
	ConditionVariable done_cv;	/* the leader waits here for the chunks */
	uint64		generation;		/* passes started (mutex) */
	bool		stop;			/* no more passes (mutex) */
	int			chunks_done;	/* of this pass (mutex) */
	pg_atomic_uint32 next_chunk;	/* the next chunk to take */
	bool		statistics;		/* this pass's: erasure's statistics, not the objective's sums */
	bool		with_hessian;	/* this pass's: written before next_chunk */
	bool		may_overflow;
	char		loss_name[NAMEDATALEN];
	int			d;				/* terms */
	int			nclasses;		/* 1 unless multinomial */
	int64		nrows;
	int			nchunks;
	int			nblocks;		/* of DATASET_BLOCK_ROWS rows: chunks cut at them */
	bool		has_offset;

	/*
	 * Streaming (rows beyond unlearn.train_memory): each pass a parallel
	 * scan of the table, each participant summing its share into its own
	 * slot (the leader's first, then worker i's at 1 + i).  A worker
	 * joins a pass while it is open (mutex), and the leader, its share
	 * done, closes it and waits for those that joined.
	 */
	bool		scan;
	int			nslots;
	bool		pass_closed;	/* mutex */
	int			in_pass;		/* workers summing this pass (mutex) */
} SharedSums;

/* A participant's view of the shared memory. */
typedef struct SumsView
{
	SharedSums *shared;
	const LossFunctions *loss;
	const double *theta;
	const double *X;			/* nrows x d, then y, then offsets */
	const double *y;
	const double *offset;
	double	   *slots;			/* nchunks x (1 + p + p^2) */
} SumsView;

struct ParallelSums
{
	ParallelContext *pcxt;
	Dataset    *ds;				/* the leader's */
	ParallelTableScanDesc pscan;	/* streaming: the passes' scan */
	SumsView	view;
	double	   *theta;			/* the shared copy */
	int			nparams;
};

PGDLLEXPORT void unlearn_parallel_sums_main(dsm_segment *seg, shm_toc *toc);

/* Defines unlearn.parallel_min_rows. */
void
parallel_sums_define(void)
{
	DefineCustomIntVariable("unlearn.parallel_min_rows",
							"Rows from which a training run shares its solver passes with parallel workers.",
							"Up to max_parallel_maintenance_workers workers are started; below it, or with no workers allowed, training runs in one process.",
							&unlearn_parallel_min_rows,
							100000, 1, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
}

/*
 * A slot's layout for a statistics pass: the largest row norm, the
 * SumStats (as bytes), X'y, X'X's upper triangle (d^2).
 */
#define STATS_DOUBLES ((sizeof(SumStats) + sizeof(double) - 1) / sizeof(double))

/*
 * Doubles of one slot: a sums pass's objective, gradient and Hessian, or
 * a statistics pass's layout (d <= p), with room for either.
 */
static Size
slot_doubles(int p)
{
	return 1 + STATS_DOUBLES + (Size) p + (Size) p * p;
}

/* The rows [*start, *end) of chunk c: whole blocks, in order. */
static void
chunk_rows(const SharedSums *sh, int c, int64 *start, int64 *end)
{
	int64		first = (int64) sh->nblocks * c / sh->nchunks;
	int64		last = (int64) sh->nblocks * (c + 1) / sh->nchunks;

	*start = first * DATASET_BLOCK_ROWS;
	*end = Min(last * DATASET_BLOCK_ROWS, sh->nrows);
}

/* Adds rows to the statistics in slot (see STATS_DOUBLES). */
static void
statistics_into(const SumsView *v, double *slot, const double *X, const double *y,
				const double *offset, int nrows)
{
	const SharedSums *sh = v->shared;
	SumStats	stats;

	memcpy(&stats, slot + 1, sizeof(SumStats));
	solver_statistics_add(v->loss, sh->d, sh->nclasses, v->theta, X, y, offset, nrows,
						  slot + 1 + STATS_DOUBLES + sh->d, slot + 1 + STATS_DOUBLES, &stats,
						  &slot[0]);
	memcpy(slot + 1, &stats, sizeof(SumStats));
}

/* An empty statistics slot: no row, its SumStats initial. */
static void
statistics_clear(const SharedSums *sh, double *slot)
{
	SumStats	stats;

	memset(slot, 0, sizeof(double) * (1 + STATS_DOUBLES + sh->d + (Size) sh->d * sh->d));
	solver_stats_init(&stats);
	memcpy(slot + 1, &stats, sizeof(SumStats));
}

/* Sums chunk c's rows at the shared theta into its slot (no penalty). */
static void
sum_chunk(const SumsView *v, int c)
{
	const SharedSums *sh = v->shared;
	int			p = sh->d * sh->nclasses;
	double	   *slot = &v->slots[(Size) c * slot_doubles(p)];
	SolverSums	sums;
	int64		start,
				end;

	chunk_rows(sh, c, &start, &end);
	if (sh->statistics)
	{
		statistics_clear(sh, slot);
		statistics_into(v, slot, &v->X[(Size) start * sh->d], &v->y[start],
						v->offset ? &v->offset[start] : NULL, (int) (end - start));
		return;
	}
	solver_sums_begin(&sums, v->loss, sh->d, sh->nclasses, v->theta, slot + 1,
					  sh->with_hessian ? slot + 1 + p : NULL);
	sums.may_overflow = sh->may_overflow;
	solver_sums_add(&sums, &v->X[(Size) start * sh->d], &v->y[start],
					v->offset ? &v->offset[start] : NULL, (int) (end - start));
	slot[0] = solver_sums_end(&sums, 0.0, false);
}

/* Takes chunks of the current pass and sums them until none is left. */
static void
take_chunks(SumsView *v)
{
	SharedSums *sh = v->shared;

	for (;;)
	{
		uint32		c = pg_atomic_fetch_add_u32(&sh->next_chunk, 1);	/* a full barrier */
		bool		last;

		if (c >= (uint32) sh->nchunks)
			break;
		CHECK_FOR_INTERRUPTS();
		sum_chunk(v, (int) c);
		SpinLockAcquire(&sh->mutex);
		last = ++sh->chunks_done == sh->nchunks;
		SpinLockRelease(&sh->mutex);
		if (last)
			ConditionVariableBroadcast(&sh->done_cv);
	}
}

/* Sums this process's share of a streaming pass at the shared theta into slot. */
static void
sum_share(const SumsView *v, Dataset *ds, double *slot)
{
	const SharedSums *sh = v->shared;
	int			p = sh->d * sh->nclasses;
	SolverSums	sums;
	DataBlock  *blk;

	if (sh->statistics)
	{
		statistics_clear(sh, slot);
		dataset_begin_pass(ds);
		while ((blk = dataset_next_block(ds)) != NULL)
			statistics_into(v, slot, blk->X, blk->y, blk->offset, blk->nrows);
		return;
	}
	solver_sums_begin(&sums, v->loss, sh->d, sh->nclasses, v->theta, slot + 1,
					  sh->with_hessian ? slot + 1 + p : NULL);
	sums.may_overflow = sh->may_overflow;
	dataset_begin_pass(ds);
	while ((blk = dataset_next_block(ds)) != NULL)
		solver_sums_add(&sums, blk->X, blk->y, blk->offset, blk->nrows);
	slot[0] = solver_sums_end(&sums, 0.0, false);
}

/* A worker's part of a streaming pass, if the pass is still open. */
static void
join_pass(SumsView *v, Dataset *ds, ParallelTableScanDesc pscan, uint64 generation)
{
	SharedSums *sh = v->shared;
	bool		joined;

	SpinLockAcquire(&sh->mutex);
	joined = !sh->pass_closed && sh->generation == generation;
	if (joined)
		sh->in_pass++;
	SpinLockRelease(&sh->mutex);
	if (!joined)
		return;
	ds->pscan = pscan;
	sum_share(v, ds, &v->slots[(Size) (1 + ParallelWorkerNumber) *
								slot_doubles(sh->d * sh->nclasses)]);
	ds->pscan = NULL;
	SpinLockAcquire(&sh->mutex);
	sh->in_pass--;
	SpinLockRelease(&sh->mutex);
	ConditionVariableBroadcast(&sh->done_cv);
}

/* Points a view at the shared memory's parts. */
static void
attach_view(SumsView *v, shm_toc *toc)
{
	SharedSums *sh = shm_toc_lookup(toc, KEY_SHARED, false);
	double	   *rows = sh->scan ? NULL : shm_toc_lookup(toc, KEY_ROWS, false);

	v->shared = sh;
	v->loss = loss_by_name(sh->loss_name);
	if (v->loss == NULL)
		elog(ERROR, "unknown loss \"%s\" in a parallel training run", sh->loss_name);
	v->theta = shm_toc_lookup(toc, KEY_THETA, false);
	v->X = rows;
	v->y = rows ? rows + (Size) sh->nrows * sh->d : NULL;
	v->offset = rows && sh->has_offset ? v->y + sh->nrows : NULL;
	v->slots = shm_toc_lookup(toc, KEY_SLOTS, false);
}

/* A parallel worker: sums chunks of each pass until the leader stops. */
void
unlearn_parallel_sums_main(dsm_segment *seg, shm_toc *toc)
{
	SumsView	v;
	uint64		seen = 0;
	Dataset    *ds = NULL;
	ParallelTableScanDesc pscan = NULL;

	attach_view(&v, toc);
	if (v.shared->scan)
	{
		ds = dataset_attach_passes(shm_toc_lookup(toc, KEY_DATASET, false));
		pscan = shm_toc_lookup(toc, KEY_PSCAN, false);
	}
	for (;;)
	{
		uint64		generation;
		bool		stop;

		ConditionVariablePrepareToSleep(&v.shared->work_cv);
		for (;;)
		{
			SpinLockAcquire(&v.shared->mutex);
			generation = v.shared->generation;
			stop = v.shared->stop;
			SpinLockRelease(&v.shared->mutex);
			if (stop || generation != seen)
				break;
			ConditionVariableSleep(&v.shared->work_cv, PG_WAIT_EXTENSION);
		}
		ConditionVariableCancelSleep();
		if (stop)
			break;
		seen = generation;
		if (ds)
			join_pass(&v, ds, pscan, generation);
		else
			take_chunks(&v);
	}
	if (ds)
		dataset_detach_passes(ds);
}

/*
 * Whether dynamic shared memory can hold bytes more: POSIX segments live in
 * /dev/shm, which a container may keep small (64 MB by default), and a
 * segment that does not fit there fails with an error, not with NULL.
 */
static bool
shared_memory_room(Size bytes)
{
	struct statvfs fs;

	if (dynamic_shared_memory_type != DSM_IMPL_POSIX || statvfs("/dev/shm", &fs) != 0)
		return true;
	return (double) fs.f_bavail * fs.f_frsize > 1.25 * (double) bytes;
}

/* The shared state of a fit's passes over ds, in the context's memory (not yet inserted). */
static SharedSums *
shared_sums_create(ParallelContext *pcxt, const Dataset *ds, const LossFunctions *loss)
{
	SharedSums *sh = shm_toc_allocate(pcxt->toc, sizeof(SharedSums));

	memset(sh, 0, sizeof(SharedSums));
	SpinLockInit(&sh->mutex);
	ConditionVariableInit(&sh->work_cv);
	ConditionVariableInit(&sh->done_cv);
	pg_atomic_init_u32(&sh->next_chunk, 0);
	strlcpy(sh->loss_name, loss->name, NAMEDATALEN);
	sh->d = ds->fs->nterms;
	sh->nclasses = Max(ds->nclasses, 1);
	sh->nrows = ds->nrows;
	sh->has_offset = ds->exposure_attnum != InvalidAttrNumber;
	return sh;
}

/*
 * Starts parallel streaming passes over ds (its rows beyond
 * unlearn.train_memory): a parallel scan of a plain table each pass, the
 * dataset's layout written for the workers to read rows as ds does.
 * NULL for a partitioned or inheritance source (read leaf by leaf).
 */
static ParallelSums *
begin_streaming(Dataset *ds, const LossFunctions *loss, const char *model_name)
{
	int			d = ds->fs->nterms;
	int			K = Max(ds->nclasses, 1);
	int			p = d * K;
	int			nslots = 1 + max_parallel_maintenance_workers;
	StringInfoData layout;
	ParallelSums *ps;
	ParallelContext *pcxt;
	SharedSums *sh;
	Size		pscan_size;
	char	   *copy;

	if (ds->rel->rd_rel->relkind != RELKIND_RELATION || ds->rel->rd_rel->relhassubclass ||
		(Size) nslots * slot_doubles(p) * sizeof(double) > MAX_SLOT_BYTES)
		return NULL;
	initStringInfo(&layout);
	dataset_serialize_passes(ds, &layout);
	if (!shared_memory_room(layout.len + sizeof(double) * nslots * slot_doubles(p)))
		return NULL;

	/* The workers' active snapshot (their rows' filter, holdout) is the fit's. */
	PushActiveSnapshot(ds->snapshot);
	EnterParallelMode();
	pcxt = CreateParallelContext("unlearn", "unlearn_parallel_sums_main",
								 max_parallel_maintenance_workers);
	pscan_size = table_parallelscan_estimate(ds->rel, ds->snapshot);
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(SharedSums));
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(double) * p);
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(double) * nslots * slot_doubles(p));
	shm_toc_estimate_chunk(&pcxt->estimator, layout.len);
	shm_toc_estimate_chunk(&pcxt->estimator, pscan_size);
	shm_toc_estimate_keys(&pcxt->estimator, 5);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		PopActiveSnapshot();
		return NULL;
	}
	sh = shared_sums_create(pcxt, ds, loss);
	sh->scan = true;
	sh->nslots = nslots;
	sh->pass_closed = true;
	shm_toc_insert(pcxt->toc, KEY_SHARED, sh);
	shm_toc_insert(pcxt->toc, KEY_THETA, shm_toc_allocate(pcxt->toc, sizeof(double) * p));
	shm_toc_insert(pcxt->toc, KEY_SLOTS,
				   shm_toc_allocate(pcxt->toc, sizeof(double) * nslots * slot_doubles(p)));
	copy = shm_toc_allocate(pcxt->toc, layout.len);
	memcpy(copy, layout.data, layout.len);
	shm_toc_insert(pcxt->toc, KEY_DATASET, copy);
	ps = palloc0(sizeof(ParallelSums));
	ps->pscan = shm_toc_allocate(pcxt->toc, pscan_size);
	table_parallelscan_initialize(ds->rel, ps->pscan, ds->snapshot);
	shm_toc_insert(pcxt->toc, KEY_PSCAN, ps->pscan);

	LaunchParallelWorkers(pcxt);
	PopActiveSnapshot();
	last_fit_workers = pcxt->nworkers_launched;
	ps->pcxt = pcxt;
	ps->ds = ds;
	ps->nparams = p;
	attach_view(&ps->view, pcxt->toc);
	ps->theta = (double *) ps->view.theta;
	elog(DEBUG1, "training \"%s\": %d of %d parallel workers launched, passes a parallel scan of its " INT64_FORMAT " rows",
		 model_name, pcxt->nworkers_launched, pcxt->nworkers, ds->nrows);
	return ps;
}

/* Starts parallel passes over ds if they are worth it (see parallel_sums.h). */
ParallelSums *
parallel_sums_begin(Dataset *ds, const LossFunctions *loss, const char *model_name)
{
	int			d = ds->fs->nterms;
	int			K = Max(ds->nclasses, 1);
	int			p = d * K;
	int			nchunks = Min(MAX_CHUNKS, ds->nblocks);
	Size		rows_doubles = (Size) ds->nrows * (d + 1) +
		(ds->exposure_attnum != InvalidAttrNumber ? (Size) ds->nrows : 0);
	ParallelSums *ps;
	ParallelContext *pcxt;
	SharedSums *sh;
	double	   *rows;
	Size		at = 0;
	int			b;

	last_fit_workers = -1;
	if (max_parallel_maintenance_workers <= 0 || ds->nrows < unlearn_parallel_min_rows ||
		IsInParallelMode() || ds->distributed)
		return NULL;
	if (!ds->in_memory)
		return begin_streaming(ds, loss, model_name);
	while (nchunks > 1 && (Size) nchunks * slot_doubles(p) * sizeof(double) > MAX_SLOT_BYTES)
		nchunks--;
	if (nchunks < 2)
		return NULL;
	if (!shared_memory_room(sizeof(double) * (rows_doubles + (Size) nchunks * slot_doubles(p))))
	{
		elog(DEBUG1, "training \"%s\" in one process: /dev/shm cannot hold a copy of its rows",
			 model_name);
		return NULL;
	}

	EnterParallelMode();
	pcxt = CreateParallelContext("unlearn", "unlearn_parallel_sums_main",
								 max_parallel_maintenance_workers);
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(SharedSums));
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(double) * p);
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(double) * rows_doubles);
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(double) * nchunks * slot_doubles(p));
	shm_toc_estimate_keys(&pcxt->estimator, 4);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		/* No dynamic shared memory: one process, as without workers. */
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return NULL;
	}

	sh = shared_sums_create(pcxt, ds, loss);
	sh->nchunks = nchunks;
	sh->nblocks = ds->nblocks;
	shm_toc_insert(pcxt->toc, KEY_SHARED, sh);
	shm_toc_insert(pcxt->toc, KEY_THETA, shm_toc_allocate(pcxt->toc, sizeof(double) * p));

	/* The rows in order: X, then y, then the offsets. */
	rows = shm_toc_allocate(pcxt->toc, sizeof(double) * rows_doubles);
	for (b = 0; b < ds->nblocks; b++)
	{
		DataBlock  *blk = ds->blocks[b];

		memcpy(&rows[at * d], blk->X, sizeof(double) * d * blk->nrows);
		memcpy(&rows[(Size) ds->nrows * d + at], blk->y, sizeof(double) * blk->nrows);
		if (sh->has_offset)
			memcpy(&rows[(Size) ds->nrows * (d + 1) + at], blk->offset,
				   sizeof(double) * blk->nrows);
		at += blk->nrows;
	}
	if ((int64) at != ds->nrows)
		elog(ERROR, "a training run's blocks hold " UINT64_FORMAT " rows, not " INT64_FORMAT,
			 (uint64) at, ds->nrows);
	shm_toc_insert(pcxt->toc, KEY_ROWS, rows);
	shm_toc_insert(pcxt->toc, KEY_SLOTS,
				   shm_toc_allocate(pcxt->toc, sizeof(double) * nchunks * slot_doubles(p)));

	LaunchParallelWorkers(pcxt);
	last_fit_workers = pcxt->nworkers_launched;
	ps = palloc0(sizeof(ParallelSums));
	ps->pcxt = pcxt;
	ps->nparams = p;
	attach_view(&ps->view, pcxt->toc);
	ps->theta = (double *) ps->view.theta;
	elog(DEBUG1, "training \"%s\": %d of %d parallel workers launched, passes in %d chunks of its " INT64_FORMAT " rows",
		 model_name, pcxt->nworkers_launched, pcxt->nworkers, nchunks, ds->nrows);
	return ps;
}

/* The first nslots slots added up in order: objective (returned), gradient, Hessian. */
static double
add_slots(const ParallelSums *ps, int nslots, double *gradient, double *hessian)
{
	int			p = ps->nparams;
	Size		stride = slot_doubles(p);
	double		objective = 0.0;
	int			c;
	Size		i;

	memset(gradient, 0, sizeof(double) * p);
	if (hessian)
		memset(hessian, 0, sizeof(double) * p * p);
	for (c = 0; c < nslots; c++)
	{
		const double *slot = &ps->view.slots[(Size) c * stride];

		objective += slot[0];
		for (i = 0; i < (Size) p; i++)
			gradient[i] += slot[1 + i];
		if (hessian)
			for (i = 0; i < (Size) p * p; i++)
				hessian[i] += slot[1 + p + i];
	}
	return objective;
}

/*
 * Waits until the current pass is done: a streaming pass's workers that
 * joined have left it, or every chunk is summed.
 */
static void
wait_for_pass(SharedSums *sh)
{
	bool		done;

	ConditionVariablePrepareToSleep(&sh->done_cv);
	for (;;)
	{
		SpinLockAcquire(&sh->mutex);
		done = sh->scan ? sh->in_pass == 0 : sh->chunks_done == sh->nchunks;
		SpinLockRelease(&sh->mutex);
		if (done)
			break;
		ConditionVariableSleep(&sh->done_cv, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
}

/*
 * A streaming pass at the shared theta: the table's scan reset, the pass
 * opened, the leader's share summed, the pass closed, and the workers
 * that joined waited for (which rows a slot got depends on the scan's
 * pace: the sums agree to rounding).  Returns the slots it filled.
 */
static int
pass_streaming(ParallelSums *ps)
{
	SharedSums *sh = ps->view.shared;
	Size		stride = slot_doubles(ps->nparams);
	int			c;

	/* A slot no worker joins with adds nothing. */
	for (c = 0; c < sh->nslots; c++)
		if (sh->statistics)
			statistics_clear(sh, &ps->view.slots[c * stride]);
		else
			memset(&ps->view.slots[c * stride], 0, sizeof(double) * stride);
	table_parallelscan_reinitialize(ps->ds->rel, ps->pscan);
	SpinLockAcquire(&sh->mutex);
	sh->in_pass = 0;
	sh->pass_closed = false;
	sh->generation++;
	SpinLockRelease(&sh->mutex);
	ConditionVariableBroadcast(&sh->work_cv);

	ps->ds->pscan = ps->pscan;
	PG_TRY();
	{
		sum_share(&ps->view, ps->ds, ps->view.slots);
	}
	PG_FINALLY();
	{
		ps->ds->pscan = NULL;
	}
	PG_END_TRY();
	SpinLockAcquire(&sh->mutex);
	sh->pass_closed = true;
	SpinLockRelease(&sh->mutex);
	wait_for_pass(sh);
	return sh->nslots;
}

/*
 * A pass at theta (copied in) shared with the workers, its kind and flags
 * as given; returns the slots it filled, in the order to add them.
 */
static int
run_pass(ParallelSums *ps, const double *theta, bool statistics, bool with_hessian,
		 bool may_overflow)
{
	SharedSums *sh = ps->view.shared;

	memcpy(ps->theta, theta, sizeof(double) * ps->nparams);
	SpinLockAcquire(&sh->mutex);
	sh->statistics = statistics;
	sh->with_hessian = with_hessian;
	sh->may_overflow = may_overflow;
	SpinLockRelease(&sh->mutex);
	if (sh->scan)
		return pass_streaming(ps);

	SpinLockAcquire(&sh->mutex);
	sh->chunks_done = 0;
	pg_write_barrier();			/* theta and the flags before the chunks open */
	pg_atomic_write_u32(&sh->next_chunk, 0);
	sh->generation++;
	SpinLockRelease(&sh->mutex);
	ConditionVariableBroadcast(&sh->work_cv);

	take_chunks(&ps->view);
	wait_for_pass(sh);
	return sh->nchunks;
}

/* One pass at theta, shared with the workers (see parallel_sums.h). */
double
parallel_sums_evaluate(ParallelSums *ps, const double *theta, double *gradient,
					   double *hessian, bool may_overflow)
{
	/* In slot order: the same sums whoever made them (chunks). */
	return add_slots(ps, run_pass(ps, theta, false, hessian != NULL, may_overflow),
					 gradient, hessian);
}

/* The statistics pass at theta, shared with the workers (see parallel_sums.h). */
void
parallel_sums_statistics(ParallelSums *ps, const double *theta, double *gram, double *xty,
						 SumStats *stats, double *max_row_norm)
{
	int			d = ps->view.shared->d;
	Size		stride = slot_doubles(ps->nparams);
	int			n = run_pass(ps, theta, true, false, false);
	int			c;
	Size		i;

	for (c = 0; c < n; c++)
	{
		const double *slot = &ps->view.slots[c * stride];
		SumStats	part;

		memcpy(&part, slot + 1, sizeof(SumStats));
		*max_row_norm = Max(*max_row_norm, slot[0]);
		solver_stats_merge(stats, &part);
		for (i = 0; i < (Size) d; i++)
			xty[i] += slot[1 + STATS_DOUBLES + i];
		for (i = 0; i < (Size) d * d; i++)
			gram[i] += slot[1 + STATS_DOUBLES + d + i];
	}
}

/* Stops the workers and leaves parallel mode (see parallel_sums.h). */
void
parallel_sums_end(ParallelSums *ps)
{
	SharedSums *sh = ps->view.shared;

	SpinLockAcquire(&sh->mutex);
	sh->stop = true;
	SpinLockRelease(&sh->mutex);
	ConditionVariableBroadcast(&sh->work_cv);
	WaitForParallelWorkersToFinish(ps->pcxt);
	DestroyParallelContext(ps->pcxt);
	ExitParallelMode();
	pfree(ps);
}

PG_FUNCTION_INFO_V1(unlearn_last_fit_workers);

/* unlearn._last_fit_workers(): the last fit's workers (see the SQL script). */
Datum
unlearn_last_fit_workers(PG_FUNCTION_ARGS)
{
	if (last_fit_workers == -2)
		PG_RETURN_NULL();
	PG_RETURN_INT32(last_fit_workers);
}
