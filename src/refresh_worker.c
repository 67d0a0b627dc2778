/*-------------------------------------------------------------------------
 *
 * refresh_worker.c
 *	  Background refresh: a dynamic background worker that refreshes a
 *	  logistic model (or re-sums a ridge model) from its own snapshot,
 *	  without the model's lock, while erasures go on.
 *
 * An erasure whose Newton step leaves a logistic model's bound past
 * unlearn.refresh_threshold of its erasure_tol (a ridge model's kept sums
 * that part of the way to their re-sum, RESUM_RATIO) sets the model's
 * refresh_requested; when a transaction that leaves a request commits
 * and no worker runs for its database (the worker holds an advisory lock
 * while it runs), it starts one.  The worker, for each model asked for:
 *
 *	 1. the pass: in a REPEATABLE READ transaction of its own, reads the
 *		model as its snapshot shows it (version V) and sums the gradient
 *		and Hessian of its rows there (logistic at its parameters then,
 *		ridge at 0: X'y and X'X), holding only the source's
 *		AccessShareLock (refresh_background_pass);
 *	 2. the install: in a short transaction, locks the model as an
 *		erasure does, folds in the rows every erasure after V took out or
 *		put in (each journaled them while the request stood:
 *		refresh_journal.c), and, logistic, takes the Newton step from the
 *		pass's parameters with the Hessian of the rows as they are now,
 *		installed with a log entry "refresh" if its bound is better than
 *		the model's; ridge, puts the fresh sums in and solves them
 *		(refresh_background_fold).

 * Nothing is lost or counted twice: the snapshot's rows are exactly the
 * model's at V (an erasure writes both in one transaction), and every
 * version after V must have its journal entry, or something else changed
 * the model (a retrain, a level gone, a bulk change, a TRUNCATE) and the
 * install is not made: the pass starts again, at most MAX_ATTEMPTS times
 * a model per worker.  A DELETE still refreshes in the foreground when
 * its own step passes erasure_tol: the background refresh only makes
 * that rare; it never lets a model be further from a retrain.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit.h"
#include "erase.h"
#include "refresh_journal.h"
#include "distributed.h"
#include "refresh_worker.h"

bool		unlearn_background_refresh = true;
double		unlearn_refresh_threshold = 0.5;

/* Test hook: advisory locks the worker takes before its install (key) and in its pass (key + 1). */
static int	refresh_pause_lock = 0;

/*
 * Whether this transaction asks for a worker, and whether at its commit
 * none was running (so one is started).
 */
static bool launch_wanted = false;
static bool launch_at_commit = false;
static TimestampTz last_launch = 0;

/* A backend starts a worker at most this often (ms): one is starting up. */
#define LAUNCH_MIN_MS	1000

/*
 * Passes in a row a worker makes for one model that install nothing (or
 * leave it asking) before it leaves it to a later worker.
 */
#define MAX_ATTEMPTS	3

/*
 * The keys of the advisory lock one worker per database holds: those of
 * pg_advisory_lock(1970170981, 1919316840) ('unle', 'rfsh'), so that a
 * test can stand for a running worker by holding it.
 */
#define WORKER_LOCK_KEY1 0x756e6c65
#define WORKER_LOCK_KEY2 0x72667368

PGDLLEXPORT void unlearn_refresh_worker_main(Datum arg);

/* Asks the postmaster for a worker for this database. */
static void
launch_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "unlearn");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "unlearn_refresh_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "unlearn refresh worker for database %u",
			 MyDatabaseId);
	snprintf(worker.bgw_type, BGW_MAXLEN, "unlearn refresh worker");
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker.bgw_notify_pid = 0;
	if (!RegisterDynamicBackgroundWorker(&worker, NULL))
		ereport(LOG,
				(errmsg("unlearn: could not start a background refresh worker"),
				 errdetail("No background worker slot is free."),
				 errhint("Raise max_worker_processes. Meanwhile a model refreshes in the foreground when its bound reaches its erasure_tol.")));
}

/* The advisory lock this database's worker holds (two int4 keys, as pg_advisory_lock's). */
static void
worker_lock_tag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, WORKER_LOCK_KEY1, WORKER_LOCK_KEY2, 2);
}

/* Whether no worker runs for this database now (its lock is free). */
static bool
no_worker_running(void)
{
	LOCKTAG		tag;

	worker_lock_tag(&tag);
	if (LockAcquireExtended(&tag, ExclusiveLock, true, true, false, NULL) ==
		LOCKACQUIRE_NOT_AVAIL)
		return false;
	LockRelease(&tag, ExclusiveLock, true);
	return true;
}

/*
 * Before commit, whether the worker the transaction asked for must be
 * started (none runs); at commit, starts it.
 */
static void
refresh_worker_xact(XactEvent event, void *arg)
{
	TimestampTz now;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			launch_at_commit = launch_wanted && no_worker_running();
			launch_wanted = false;
			break;
		case XACT_EVENT_COMMIT:
			if (launch_at_commit)
			{
				now = GetCurrentTimestamp();
				if (TimestampDifferenceExceeds(last_launch, now, LAUNCH_MIN_MS))
				{
					last_launch = now;
					launch_worker();
				}
			}
			launch_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			launch_wanted = launch_at_commit = false;
			break;
		default:
			break;
	}
}

/* Defines the settings and the commit hook (see refresh_worker.h). */
void
refresh_worker_init(void)
{
	DefineCustomBoolVariable("unlearn.background_refresh",
							 "Refreshes models in a background worker before a DELETE would have to.",
							 "Off: a logistic model refreshes only in the DELETE whose step passes its erasure_tol, a ridge model re-sums only in the DELETE that makes it due.",
							 &unlearn_background_refresh,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomRealVariable("unlearn.refresh_threshold",
							 "Part of the way to a refresh at which a model's erasures ask for one in the background.",
							 "The way: a logistic model's bound up to its erasure_tol, a ridge model's kept sums up to their re-sum. Lower: refreshes start earlier and run more often.",
							 &unlearn_refresh_threshold,
							 0.5, 0.01, 1.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("unlearn.refresh_pause_lock",
							"Test hook: an advisory lock the refresh worker takes before its install; the next key, in its pass once its snapshot is taken.",
							"0: none.",
							&refresh_pause_lock,
							0, 0, INT_MAX,
							PGC_SUSET, GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
	RegisterXactCallback(refresh_worker_xact, NULL);
}

/*
 * Whether a model's state asks for a refresh at the threshold: a logistic
 * model's bound past unlearn.refresh_threshold of its erasure_tol, a ridge
 * model's kept sums that far on the way to their re-sum (RESUM_RATIO).
 */
static bool
refresh_due_soft(const StoredModel *m, const RemovalState *s)
{
	if (!m->loss->constant_hessian)
		return refresh_due(s, unlearn_refresh_threshold * m->options.erasure_tol);
	return removal_resum_due_at(s, 1.0 + unlearn_refresh_threshold * (RESUM_RATIO - 1.0));
}

/* Whether a background refresh is asked for after a change (see refresh_worker.h). */
bool
refresh_worker_wanted(const StoredModel *m, const RemovalState *s, bool refreshed)
{
	if (!unlearn_background_refresh || distributed_model(m->model_id))
		return false;			/* off, or a distributed model's rows are on its shards */
	if (m->refresh_requested && !refreshed)
		return true;
	return refresh_due_soft(m, s);
}

/* Whether a worker runs for this database now (see refresh_worker.h). */
bool
refresh_worker_running(void)
{
	return !no_worker_running();
}

/* Asks for a worker at commit (see refresh_worker.h). */
void
refresh_worker_launch_at_commit(void)
{
	launch_wanted = true;
}

/* Copies a pass's arrays into cxt, where it outlives its transaction. */
static void
keep_pass(BackgroundPass *p, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	Size		n = (Size) p->d * p->nclasses;	/* parameters */
	double	   *theta = palloc(sizeof(double) * n);
	double	   *gradient = palloc(sizeof(double) * n);
	double	   *hessian = palloc(sizeof(double) * n * n);

	memcpy(theta, p->theta, sizeof(double) * n);
	memcpy(gradient, p->gradient, sizeof(double) * n);
	memcpy(hessian, p->hessian, sizeof(double) * n * n);
	p->theta = theta;
	p->gradient = gradient;
	p->hessian = hessian;
	MemoryContextSwitchTo(old);
}

/*
 * Waits, in the current transaction, for the test hook's advisory lock
 * (its key plus offset: 0 before the install, 1 in the pass, after its
 * snapshot is taken), if one is set; the lock goes with the transaction.
 */
static void
pause_for_tests(int offset)
{
	if (refresh_pause_lock == 0)
		return;
	SPI_connect();
	if (SPI_execute(psprintf("SELECT pg_catalog.pg_advisory_xact_lock(%lld)",
							 (long long) refresh_pause_lock + offset),
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not take the refresh pause lock");
	SPI_finish();
}

/* What came of a pass. */
typedef enum PassOutcome
{
	PASS_MADE,
	PASS_NOT_ASKED,				/* the model is gone, or no longer asks for one */
	PASS_UNUSABLE				/* no row to read, or a column gone: the foreground's case */
} PassOutcome;

/*
 * The pass of a model's refresh, in the current (REPEATABLE READ)
 * transaction, into p in cxt.
 */
static PassOutcome
pass_from_snapshot(const char *name, BackgroundPass *p, MemoryContext cxt)
{
	StoredModel *m;
	Relation	rel;
	Encoder    *enc;
	bool		ok;

	if (!catalog_model_exists(name))
		return PASS_NOT_ASKED;
	m = catalog_load_model(name, false);
	if (!m->refresh_requested || strcmp(m->state, "ready") != 0)
		return PASS_NOT_ASKED;
	pause_for_tests(1);			/* the snapshot is taken: what commits now is journaled */
	rel = table_open(m->source, AccessShareLock);
	enc = encoder_create(m, RelationGetDescr(rel));
	ok = enc != NULL && enc->usable &&
		refresh_background_pass(m, enc, rel, GetActiveSnapshot(), p);
	table_close(rel, AccessShareLock);
	if (!ok)
		return PASS_UNUSABLE;
	keep_pass(p, cxt);
	return PASS_MADE;
}

/* Withdraws a model's request (its pass failed): its journal goes too. */
static void
withdraw_request(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};

	SPI_connect();
	if (SPI_execute_with_args("WITH m AS (UPDATE unlearn.model SET refresh_requested = false"
							  " WHERE name = $1 AND refresh_requested RETURNING model_id)"
							  " DELETE FROM unlearn.refresh_journal j USING m"
							  " WHERE j.model_id = m.model_id",
							  1, types, values, NULL, false, 0) < 0)
		elog(ERROR, "could not withdraw the refresh request of model \"%s\"", name);
	SPI_finish();
}

/* Withdraws a model's request in a transaction of its own. */
static void
withdraw_request_alone(const char *name)
{
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	withdraw_request(name);
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* What came of a refresh. */
typedef enum RefreshOutcome
{
	REFRESH_SETTLED,			/* installed, or not needed any more */
	REFRESH_ASKED_AGAIN,		/* installed, and its bound still asks for one */
	REFRESH_AGAIN				/* a change the journal does not hold: a new pass */
} RefreshOutcome;

/*
 * The install of a pass, in the current transaction, under the model's
 * lock.
 */
static RefreshOutcome
install_pass(const char *name, const BackgroundPass *p)
{
	ErasureModel em;
	StoredModel before;
	StoredModel *m;
	JournalEntry *entries;
	const char *why = NULL;
	bool		moot = false;
	int64		version;
	int			n,
				i;

	if (!erasure_state_lock(name, &em))
		return REFRESH_SETTLED;	/* dropped */
	m = em.m;
	if (m->model_id != p->model_id || !m->refresh_requested || strcmp(m->state, "ready") != 0)
	{
		/* Retrained, refreshed in the foreground, emptied, or made anew. */
		erasure_state_release(&em);
		return REFRESH_SETTLED;
	}
	entries = journal_load(m->model_id, p->version, p->d, &n);
	for (i = 0; i < n; i++)
		if (entries[i].version != p->version + 1 + i)
			break;
	if (i < n || p->version + n != m->version)
		why = "a change since its pass was not journaled";
	before = *m;
	before.theta = palloc(sizeof(double) * removal_params(&em.s));
	memcpy(before.theta, m->theta, sizeof(double) * removal_params(&em.s));
	if (why == NULL && refresh_background_fold(&em, p, entries, n, &why, &moot))
	{
		bool		ridge = m->loss->constant_hessian;

		m->refresh_requested = refresh_due_soft(m, &em.s);
		version = erasure_state_save(&em, 0, "ready", false);
		journal_clear(m->model_id);
		audit_log_change("refresh", &before, m->source, version, em.rows_now,
						 ridge ? "exact" : "refresh",
						 em.s.theta, removal_params(&em.s), em.s.step_norm, em.s.error_bound,
						 psprintf("A background %s: a pass over the rows of version " INT64_FORMAT
								  ", with the %d changes since folded in.",
								  ridge ? "re-sum" : "refresh", p->version, n),
						 NULL, 0);
		elog(DEBUG1, "background refresh of model \"%s\" installed at version " INT64_FORMAT
			 " (pass at " INT64_FORMAT ", %d changes folded in): step %g, bound %g",
			 name, version, p->version, n, em.s.step_norm, em.s.error_bound);
		return m->refresh_requested ? REFRESH_ASKED_AGAIN : REFRESH_SETTLED;
	}
	/* em's state may be changed: it is not given back, and is read afresh. */
	elog(DEBUG1, "background refresh of model \"%s\" not installed: %s", name, why);
	if (moot)
	{
		withdraw_request(name);
		return REFRESH_SETTLED;
	}
	return REFRESH_AGAIN;
}


/* One refresh of a model: its pass, then its install. */
static RefreshOutcome
refresh_one(const char *name, MemoryContext cxt)
{
	BackgroundPass pass;
	PassOutcome have;
	RefreshOutcome done;
	TimestampTz started = GetCurrentTimestamp();
	TimestampTz passed;

	pgstat_report_activity(STATE_RUNNING, psprintf("unlearn: refresh pass of model \"%s\"", name));
	StartTransactionCommand();
	XactIsoLevel = XACT_REPEATABLE_READ;
	PushActiveSnapshot(GetTransactionSnapshot());
	have = pass_from_snapshot(name, &pass, cxt);
	PopActiveSnapshot();
	CommitTransactionCommand();
	if (have == PASS_UNUSABLE)
		withdraw_request_alone(name);
	if (have != PASS_MADE)
		return REFRESH_SETTLED;
	passed = GetCurrentTimestamp();
	pgstat_report_activity(STATE_RUNNING, psprintf("unlearn: refresh install of model \"%s\"", name));
	StartTransactionCommand();
	XactIsoLevel = XACT_READ_COMMITTED;
	PushActiveSnapshot(GetTransactionSnapshot());
	pause_for_tests(0);
	done = install_pass(name, &pass);
	PopActiveSnapshot();
	CommitTransactionCommand();
	elog(DEBUG1, "background refresh of model \"%s\": pass over " INT64_FORMAT " rows %ld ms, install %ld ms",
		 name, pass.rows, (long) ((passed - started) / 1000),
		 (long) ((GetCurrentTimestamp() - passed) / 1000));
	return done;
}

/*
 * A model's refresh with its errors caught: a pass that fails (a row
 * changed behind lineage's back, a cancel) withdraws the request, and the
 * model refreshes in the foreground, where the same failure is reported.
 */
static RefreshOutcome
refresh_guarded(const char *name, MemoryContext cxt)
{
	volatile RefreshOutcome done = REFRESH_SETTLED;

	PG_TRY();
	{
		done = refresh_one(name, cxt);
	}
	PG_CATCH();
	{
		ErrorData  *error;

		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(cxt);
		error = CopyErrorData();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		RESUME_INTERRUPTS();
		ereport(LOG,
				(errcode(error->sqlerrcode),
				 errmsg("unlearn: background refresh of model \"%s\" failed: %s",
						name, error->message),
				 errdetail("Its erasures go on; it refreshes in the foreground when its bound reaches its erasure_tol.")));
		withdraw_request_alone(name);
	}
	PG_END_TRY();
	return done;
}

/* The names of the models of this database that ask for a refresh. */
static List *
requested_models(MemoryContext cxt)
{
	List	   *names = NIL;
	uint64		i;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	if (SPI_execute("SELECT name FROM unlearn.model WHERE refresh_requested AND state = 'ready'"
					" ORDER BY updated_at, name", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the models asking for a refresh");
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		names = lappend(names, pstrdup(name));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return names;
}

/* Passes made for a model by this worker. */
typedef struct Attempts
{
	char	   *name;
	int			passes;
} Attempts;

/* The attempts record of a model in list (added if new, in cxt). */
static Attempts *
attempts_of(List **list, const char *name, MemoryContext cxt)
{
	ListCell   *lc;
	Attempts   *a;
	MemoryContext old;

	foreach(lc, *list)
	{
		a = lfirst(lc);
		if (strcmp(a->name, name) == 0)
			return a;
	}
	old = MemoryContextSwitchTo(cxt);
	a = palloc0(sizeof(Attempts));
	a->name = pstrdup(name);
	*list = lappend(*list, a);
	MemoryContextSwitchTo(old);
	return a;
}

/* Takes (or gives back) this database's worker lock, held for the session. */
static bool
worker_lock(bool take)
{
	LOCKTAG		tag;

	worker_lock_tag(&tag);
	if (!take)
		return LockRelease(&tag, ExclusiveLock, true);
	return LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
}

/* The next model to refresh: asking for it, with passes left; NULL if none. */
static Attempts *
next_model(List **attempts, MemoryContext keep, MemoryContext cxt)
{
	ListCell   *lc;

	MemoryContextReset(cxt);
	foreach(lc, requested_models(cxt))
	{
		Attempts   *a = attempts_of(attempts, lfirst(lc), keep);

		if (a->passes < MAX_ATTEMPTS)
			return a;
	}
	return NULL;
}

/*
 * The worker's entry point: refreshes the models of its database that ask
 * for it, until none does (or each had MAX_ATTEMPTS passes), then exits.
 */
void
unlearn_refresh_worker_main(Datum arg)
{
	MemoryContext keep;
	MemoryContext pass_cxt;
	List	   *attempts = NIL;
	bool		usable;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
	pgstat_report_appname("unlearn refresh worker");
	/*
	 * It runs as the bootstrap superuser: a search_path the database's
	 * owner set (ALTER DATABASE ... SET) must not resolve its statements'
	 * operators and functions, as for the SECURITY DEFINER triggers.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	StartTransactionCommand();
	usable = unlearn_background_refresh &&
		OidIsValid(get_extension_oid("unlearn", true)) && worker_lock(true);
	CommitTransactionCommand();
	if (!usable)
		proc_exit(0);

	keep = AllocSetContextCreate(TopMemoryContext, "unlearn refresh worker",
								 ALLOCSET_DEFAULT_SIZES);
	pass_cxt = AllocSetContextCreate(TopMemoryContext, "unlearn refresh pass",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		Attempts   *next;

		CHECK_FOR_INTERRUPTS();
		/* A reload (SIGHUP) that turns the background refresh off ends the worker. */
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (!unlearn_background_refresh)
				break;
		}
		next = next_model(&attempts, keep, pass_cxt);
		if (next == NULL)
		{
			/*
			 * Done: the lock goes first, then one more look, so a request
			 * made while its worker found this one running is not missed.
			 */
			bool		again = false;

			StartTransactionCommand();
			worker_lock(false);
			CommitTransactionCommand();
			next = next_model(&attempts, keep, pass_cxt);
			if (next != NULL)
			{
				StartTransactionCommand();
				again = worker_lock(true);
				CommitTransactionCommand();
			}
			if (!again)
				break;
		}
		next->passes++;
		/* A settled model asked for again later is served again. */
		if (refresh_guarded(next->name, pass_cxt) == REFRESH_SETTLED)
			next->passes = 0;
	}
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}
