/*-------------------------------------------------------------------------
 *
 * refresh.c
 *	  A logistic model's refresh: a pass over its remaining rows and
 *	  Newton steps from its current parameters, when the bound on its
 *	  distance from a retrain would pass its erasure tolerance.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/float.h"
#include "utils/snapmgr.h"

#include "erase.h"
#include "linalg.h"
#include "spi_cache.h"
#include "unlearn.h"

/* Newton steps a refresh takes before the line-searched solver takes over. */
#define REFRESH_STEPS	3

/* A refresh leaves at most this part of the tolerance to later erasures. */
#define REFRESH_TARGET	1e-3

/*
 * One Newton step of a refresh from the gradient and Hessian at theta,
 * anchored there (removal_reanchor); counts it in *step.  True when the
 * bound is down to REFRESH_TARGET of the tolerance.  A gradient that is
 * not finite ends the steps (*step = REFRESH_STEPS): the solver takes over.
 */
static bool
refresh_step(StoredModel *m, RemovalState *s, const double *gradient,
			 const double *hessian, int *step)
{
	(*step)++;
	if (!isfinite(linalg_norm2(gradient, s->d)))
	{
		*step = REFRESH_STEPS;	/* no step from here: the solver's turn */
		return false;
	}
	if (!removal_reanchor(s, gradient, hessian))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the Hessian of model \"%s\" is singular or too ill-conditioned",
						m->name)));
	return erasure_parameter_error(s) <= REFRESH_TARGET * m->options.erasure_tol;
}

/*
 * Drops the dead terms' columns from rows x nterms row-major rows, in
 * place: the kept rows are packed to kept columns each.
 */
static void
drop_dead_columns(double *X, int64 rows, int nterms, const bool *dead, int kept)
{
	int64		r;

	if (kept == nterms)
		return;
	for (r = 0; r < rows; r++)
	{
		const double *from = &X[(Size) r * nterms];
		double	   *to = &X[(Size) r * kept];
		int			t,
					o = 0;

		for (t = 0; t < nterms; t++)
			if (!dead[t])
				to[o++] = from[t];
	}
}

/* What a refresh's first pass sums its rows into. */
typedef struct RefreshPass
{
	int			nterms;			/* as encoded */
	int			kept;			/* without the dead terms */
	const bool *dead;
	SolverSums	sums;
} RefreshPass;

/* Adds a block of rows to a refresh's sums (an encoder_scan_lineage callback). */
static void
refresh_add_block(double *X, double *y, int nrows, void *arg)
{
	RefreshPass *pass = (RefreshPass *) arg;

	drop_dead_columns(X, nrows, pass->nterms, pass->dead, pass->kept);
	solver_sums_add(&pass->sums, X, y, nrows);
}

/*
 * Refresh: a pass over the model's remaining rows (its lineage, read from
 * the source with the stored encoding) and Newton steps from theta; the
 * last step's start becomes theta_ref, with the Hessian and gradient
 * there, and B is bounded afresh (removal_reanchor).  X'X and M are the
 * model's own, kept exact through every erasure (M an upper bound): the
 * rows read are exactly the rows they sum over, as every fingerprint is
 * checked (a row changed behind the model's back fails the refresh), and
 * computing X'X again would cost another d x d product over all rows.
 *
 * The first pass sums the gradient and Hessian at theta block by block as
 * it reads, keeping no array of the rows (at d = 200 it would be hundreds
 * of megabytes, mapped afresh each time); after erasures one Newton step
 * from there is enough.  Only if it is not are the rows read again, into
 * an array, for further steps or the line-searched solver.
 * False if no row remains usable.
 */
static bool
refresh_model(StoredModel *m, Encoder *enc, Relation rel, RemovalState *s,
			  const bool *dead)
{
	int			d = s->d;			/* without the dead terms */
	int64		nkeys;
	LineageEntry *keys = lineage_load(m->model_id, &nkeys);
	LineageRows rows;
	RefreshPass pass;
	Snapshot	snapshot;
	Dataset    *ds = NULL;
	FitResult  *fit;
	double	   *start;
	double	   *gradient = palloc(sizeof(double) * d);
	double	   *hessian = palloc(sizeof(double) * d * d);
	bool		done;
	int			step,
				i;

	/*
	 * The rows as the statement left them: the statement's own snapshot
	 * would show an UPDATE's old row versions.  Uncommitted changes of
	 * other sessions stay invisible (and their erasures wait for our lock
	 * on the model).  Rows changed behind lineage's back are not refitted
	 * on, as an erasure of them is not applied: the model is marked.
	 */
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	start = palloc(sizeof(double) * d);
	memcpy(start, s->theta, sizeof(double) * d);

	/* The first pass: gradient and Hessian at theta, then a Newton step. */
	pass.nterms = m->nterms;
	pass.kept = d;
	pass.dead = dead;
	solver_sums_begin(&pass.sums, m->loss, d, s->theta, gradient, hessian);
	encoder_scan_lineage(enc, rel, snapshot, keys, nkeys, refresh_add_block, &pass, &rows);
	solver_sums_end(&pass.sums, m->options.l2, m->options.intercept);
	if (rows.mismatched > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg(INT64_FORMAT " rows of its lineage were changed or deleted while erasure was not active",
						rows.mismatched)));
	if (rows.n == 0)
	{
		UnregisterSnapshot(snapshot);
		return false;
	}
	step = 0;
	done = refresh_step(m, s, gradient, hessian, &step);

	/*
	 * Rarely (far from the optimum: a large bulk erasure), more: the rows
	 * again, in an array, for more Newton steps, each anchored afresh at
	 * the current theta, then the line-searched solver.
	 */
	if (!done)
	{
		encoder_read_lineage(enc, rel, snapshot, keys, nkeys, &rows);
		drop_dead_columns(rows.X, rows.n, m->nterms, dead, d);
		ds = dataset_from_rows(d, rows.X, rows.y, rows.n);
		while (step < REFRESH_STEPS && !done)
		{
			CHECK_FOR_INTERRUPTS();
			solver_evaluate(ds, m->loss, m->options.l2, m->options.intercept, s->theta,
							gradient, hessian);
			done = refresh_step(m, s, gradient, hessian, &step);
		}
	}
	UnregisterSnapshot(snapshot);
	if (!done)
	{
		/* A refresh reports progress only if it runs long. */
		unlearn_progress_start();
		fit = solver_fit(ds, m->loss, &m->options, m->name, start);
		memcpy(s->theta, fit->theta, sizeof(double) * d);
		memcpy(s->theta_ref, fit->theta, sizeof(double) * d);
		memcpy(s->hessian, fit->hessian, sizeof(double) * d * d);
		memcpy(s->gram, fit->gram, sizeof(double) * d * d);
		memcpy(s->ref_gradient, fit->gradient, sizeof(double) * d);
		removal_rebase(s);		/* new matrices: stored as they are */
		s->max_row_norm = fit->max_row_norm;
		s->error_bound = fit->gradient_norm;
		/* The model's row records it; the erasing session is not told. */
		if (fit->separable && !s->separable)
			ereport(LOG_SERVER_ONLY,
					(errmsg("the classes of model \"%s\" became linearly separable", m->name),
					 errdetail("A refresh after erasures found that without a penalty its weights grow without bound."),
					 errhidestmt(true)));
		s->separable = s->separable || fit->separable;
	}
	for (i = 0; i < d; i++)
		start[i] = s->theta[i] - start[i];
	s->step_norm = linalg_norm2(start, d);
	elog(DEBUG1, "refreshed model \"%s\" on " INT64_FORMAT " rows: %s, step %g, bound %g",
		 m->name, rows.n, done ? psprintf("%d Newton step(s)", step) : "the line-searched solver",
		 s->step_norm, s->error_bound);
	return true;
}

/*
 * Runs a refresh in a subtransaction: if the remaining rows cannot be
 * fitted (a data error: singular, not converging), the model is marked
 * for retraining and the DELETE goes on; any other error (a cancel, say)
 * propagates.  *why receives the reason of a failure.
 */
bool
refresh_try(StoredModel *m, Encoder *enc, Relation rel, RemovalState *s,
			const bool *dead, const char **why)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		ok = refresh_model(m, enc, rel, s, dead);
		if (!ok)
			*why = "No usable row remains to refit it on.";
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		*why = psprintf("Refitting it on the remaining rows failed: %s", edata->message);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}
