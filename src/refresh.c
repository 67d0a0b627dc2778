/*-------------------------------------------------------------------------
 *
 * refresh.c
 *	  A model's refresh, a pass over its remaining rows: for a logistic
 *	  model, Newton steps from its current parameters, when the bound on
 *	  its distance from a retrain would pass its erasure tolerance; for a
 *	  ridge model, its sums made afresh, when their rounding would grow
 *	  past a fresh sum's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/float.h"
#include "utils/snapmgr.h"

#include "erase.h"
#include "refresh_journal.h"
#include "linalg.h"
#include "spi_cache.h"
#include "subxact.h"
#include "unlearn.h"

/* Newton steps a refresh takes before the line-searched solver takes over. */
#define REFRESH_STEPS	3

/* A refresh leaves at most this part of the tolerance to later erasures. */
#define REFRESH_TARGET	1e-3

/*
 * Whether a logistic model's bound asks for a refresh: past the
 * tolerance, unless what it allows for rounding is past the tolerance too
 * and the rest of it is not bigger than that (a refresh cannot take B
 * below the rounding allowance, nor then halve it).
 */
bool
refresh_due(const RemovalState *s, double erasure_tol)
{
	double		error = erasure_parameter_error(s);
	double		floor_error;

	if (!(error > erasure_tol))
		return false;
	floor_error = s->error_bound > 0 ? error * (s->rounding / s->error_bound) : 0.0;
	return !(floor_error >= erasure_tol) || s->error_bound > 2 * s->rounding;
}

/*
 * Whether a refresh step has brought the bound down far enough: to
 * REFRESH_TARGET of the tolerance, or to what rounding allows for (the
 * rest no bigger than that allowance: more steps cannot take it lower).
 */
static bool
refresh_done(StoredModel *m, RemovalState *s)
{
	return erasure_parameter_error(s) <= REFRESH_TARGET * m->options.erasure_tol ||
		s->error_bound - s->rounding <= s->rounding;
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
refresh_add_block(double *X, double *y, double *offset, int nrows, void *arg)
{
	RefreshPass *pass = (RefreshPass *) arg;

	drop_dead_columns(X, nrows, pass->nterms, pass->dead, pass->kept);
	solver_sums_add(&pass->sums, X, y, offset, nrows);
}

/*
 * One pass over the model's remaining rows (its lineage, read from the
 * source with the stored encoding, under snapshot): the objective's
 * gradient and Hessian at theta, the rows' statistics there (SumStats,
 * M) and, when gram is given, X'X.  Rows changed behind lineage's back
 * are an error: they are not refitted on, as an erasure of them is not
 * applied.  Returns the rows read.
 */
static int64
refresh_pass(StoredModel *m, Encoder *enc, Relation rel, Snapshot snapshot,
			 const LineageEntry *keys, int64 nkeys, int d, const bool *dead,
			 const double *theta, double *gradient, double *hessian, double *gram,
			 SumStats *stats, double *max_row_norm)
{
	LineageRows rows;
	RefreshPass pass;

	pass.nterms = m->nterms;
	pass.kept = d;
	pass.dead = dead;
	solver_stats_init(stats);
	solver_sums_begin(&pass.sums, m->loss, d, m->nclasses, theta, gradient, hessian);
	pass.sums.gram = gram;
	pass.sums.stats = stats;
	if (gram)
		memset(gram, 0, sizeof(double) * d * d);
	encoder_scan_lineage(enc, rel, snapshot, keys, nkeys, refresh_add_block, &pass, &rows);
	*max_row_norm = pass.sums.max_row_norm;
	solver_sums_end(&pass.sums, m->options.l2, m->options.intercept);
	if (rows.mismatched > 0 && rows.mismatched == rows.changed_here + rows.deleted_here)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg(INT64_FORMAT " rows of its lineage that this transaction changed are not rectified yet",
						rows.mismatched)));
	if (rows.mismatched > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg(INT64_FORMAT " rows of its lineage were changed or deleted while erasure was not active",
						rows.mismatched)));
	return rows.n;
}

/*
 * Ridge re-sum: H = X'X + l2 I' and X'y made afresh from the remaining
 * rows (their gradient and Hessian at 0 are -X'y and H), so the sums'
 * rounding is a fresh sum's again, and theta solved from them.  False if
 * no row remains.
 */
static bool
resum_ridge(StoredModel *m, Encoder *enc, Relation rel, Snapshot snapshot,
			const LineageEntry *keys, int64 nkeys, RemovalState *s, const bool *dead)
{
	int			d = s->d;
	double	   *zero = palloc0(sizeof(double) * d);
	double	   *gradient = palloc(sizeof(double) * d);
	double	   *hessian = palloc(sizeof(double) * d * d);
	SumStats	stats;
	double		max_row_norm;
	int64		n;
	int			i;

	n = refresh_pass(m, enc, rel, snapshot, keys, nkeys, d, dead, zero, gradient,
					 hessian, NULL, &stats, &max_row_norm);
	if (n == 0)
		return false;
	memcpy(s->hessian, hessian, sizeof(double) * d * d);
	for (i = 0; i < d; i++)
		s->xty[i] = -gradient[i];
	stats.positives = 0;
	s->stats = stats;
	s->max_row_norm = max_row_norm;
	removal_rebase(s);			/* new matrices: stored as they are */
	if (!removal_ridge_solve(s))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the Hessian of model \"%s\" is singular or too ill-conditioned",
						m->name)));
	elog(DEBUG1, "re-summed model \"%s\" on " INT64_FORMAT " rows", m->name, n);
	return true;
}

/*
 * The norm of the objective's gradient at s->theta, from a pass's gradient
 * of l2 I' there: a shifted penalty adds E theta (removal.h).
 */
static double
objective_gradient_norm(const RemovalState *s, const double *gradient)
{
	double	   *g = palloc(sizeof(double) * removal_params(s));
	double		norm;

	removal_shifted_gradient(s, gradient, g);
	norm = linalg_norm2(g, removal_params(s));
	pfree(g);
	return norm;
}

/* What fit_step fits, and its fit. */
typedef struct FitStep
{
	Dataset    *ds;
	StoredModel *model;
	const TrainOptions *opts;
	const double *start;
	FitResult  *fit;
} FitStep;

/* solver_fit as a subxact_try step. */
static void
fit_step(void *arg)
{
	FitStep    *step = arg;

	step->fit = solver_fit(step->ds, step->model->loss, step->opts,
						   step->model->name, step->start);
}

/*
 * Fits rows from start (NULL: where a retrain starts) in a subtransaction
 * of its own; NULL, with the reason in *why, if the fit fails on the
 * data, so the caller can start elsewhere.  Other errors propagate.
 */
static FitResult *
try_fit(Dataset *ds, StoredModel *m, const TrainOptions *opts, const double *start,
		const char **why)
{
	FitStep		step = {ds, m, opts, start, NULL};
	ErrorData  *error;

	if (subxact_try(fit_step, &step, subxact_catches_data_errors, &error))
		return step.fit;
	*why = error->message;
	return NULL;
}

/*
 * Refresh: a pass over the model's remaining rows (its lineage, read from
 * the source with the stored encoding) and Newton steps from theta; the
 * last step's start becomes theta_ref, with the Hessian and gradient
 * there, and B is bounded afresh (removal_reanchor).  X'X is the model's
 * own, kept through every erasure, and is summed again in the same pass
 * only when the terms summed into it outweigh the rows' by RESUM_RATIO
 * (its rounding then grows past a fresh sum's); M and the rows' counts
 * come from the pass: every fingerprint is checked (a row changed behind
 * the model's back fails the refresh), so the rows read are exactly the
 * model's.  A ridge model's refresh is a re-sum (resum_ridge).
 *
 * The first pass sums the gradient and Hessian at theta block by block as
 * it reads, keeping no array of the rows (at d = 200 it would be hundreds
 * of megabytes, mapped afresh each time); after erasures one Newton step
 * from there is enough.  Only if it is not are the rows read again, into
 * an array, for further Newton steps while they shrink the gradient, then
 * the line-searched solver from the best point seen, as a retrain would
 * go to the optimum; and if the solver cannot start there (a Hessian
 * there unusable, far from the optimum), from where a retrain starts.
 * False if no row remains usable.
 */
static bool
refresh_model(StoredModel *m, Encoder *enc, Relation rel, RemovalState *s,
			  const bool *dead)
{
	int			d = s->d;			/* without the dead terms */
	int			p = removal_params(s);	/* parameters: K d for multinomial */
	int64		nkeys;
	LineageEntry *keys = lineage_load(m->model_id, &nkeys);
	LineageRows rows;
	Snapshot	snapshot;
	Dataset    *ds = NULL;
	FitResult  *fit;
	SumStats	stats;
	double	   *start;
	double	   *best;
	double	   *gradient = palloc(sizeof(double) * p);
	double	   *hessian = palloc(sizeof(double) * p * p);
	double	   *gram = NULL;
	double		best_gradient;
	double		max_row_norm;
	bool		usable,
				done;
	int64		n;
	int			step,
				i;

	/*
	 * The rows as the statement left them: the statement's own snapshot
	 * would show an UPDATE's old row versions.  Uncommitted changes of
	 * other sessions stay invisible (and their erasures wait for our lock
	 * on the model).
	 */
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	if (m->loss->constant_hessian)
	{
		bool		ok = resum_ridge(m, enc, rel, snapshot, keys, nkeys, s, dead);

		UnregisterSnapshot(snapshot);
		return ok;
	}
	start = palloc(sizeof(double) * p);
	memcpy(start, s->theta, sizeof(double) * p);

	/* The first pass: gradient and Hessian at theta, then a Newton step. */
	if (s->stats.norm2 > RESUM_RATIO * Max(s->stats.rows_norm2, 0.0))
		gram = palloc(sizeof(double) * d * d);
	n = refresh_pass(m, enc, rel, snapshot, keys, nkeys, d, dead, s->theta, gradient,
					 hessian, gram, &stats, &max_row_norm);
	if (n == 0)
	{
		UnregisterSnapshot(snapshot);
		return false;
	}
	s->max_row_norm = max_row_norm;
	if (m->loss->binary_labels && (stats.positives == 0 || stats.positives == n))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("all remaining rows of model \"%s\" have the same label", m->name)));
	if (m->loss->target == LOSS_TARGET_COUNT && stats.positives == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("every remaining count of model \"%s\" is 0", m->name)));
	if (gram)
		memcpy(s->gram, gram, sizeof(double) * d * d);
	best = palloc(sizeof(double) * p);
	memcpy(best, s->theta, sizeof(double) * p);
	best_gradient = objective_gradient_norm(s, gradient);
	step = 1;
	usable = isfinite(best_gradient) &&
		removal_reanchor(s, gradient, hessian, &stats, gram != NULL);
	done = usable && refresh_done(m, s);

	/*
	 * Rarely (far from the optimum: a large bulk erasure, or a
	 * rectification of many labels), more: the rows again, in an array.
	 */
	if (!done)
	{
		encoder_read_lineage(enc, rel, snapshot, keys, nkeys, &rows);
		drop_dead_columns(rows.X, rows.n, m->nterms, dead, d);
		ds = dataset_from_rows(d, rows.X, rows.y, rows.offset, rows.n);
		ds->npositive = rows.npositive;
		ds->nclasses = m->nclasses;
		while (usable && !done && step < REFRESH_STEPS)
		{
			SolverSums	sums;
			DataBlock  *blk;
			double		gnorm;

			CHECK_FOR_INTERRUPTS();
			memset(&stats, 0, sizeof(stats));
			solver_sums_begin(&sums, m->loss, d, m->nclasses, s->theta, gradient, hessian);
			sums.stats = &stats;
			dataset_begin_pass(ds);
			while ((blk = dataset_next_block(ds)) != NULL)
				solver_sums_add(&sums, blk->X, blk->y, blk->offset, blk->nrows);
			solver_sums_end(&sums, m->options.l2, m->options.intercept);
			gnorm = objective_gradient_norm(s, gradient);
			if (!(gnorm < best_gradient))
				break;			/* not converging from here: the solver's turn */
			memcpy(best, s->theta, sizeof(double) * p);
			best_gradient = gnorm;
			step++;
			usable = removal_reanchor(s, gradient, hessian, &stats, false);
			done = usable && refresh_done(m, s);
		}
	}
	UnregisterSnapshot(snapshot);
	if (!done)
	{
		const char *why = NULL;

		/*
		 * The objective's penalty, shifted where the rows' spread moved
		 * (preprocessing.c): the solver fits it with weights 1 + E / l2,
		 * and the state keeps the Hessian and gradient of l2 I' (removal.h).
		 */
		TrainOptions opts = m->options;
		bool		shifted = removal_penalty_shifted(s) && m->options.l2 > 0;

		if (shifted)
		{
			double	   *weights = palloc(sizeof(double) * d);

			for (i = 0; i < d; i++)
				weights[i] = 1.0 + s->penalty_shift[i] / m->options.l2;
			opts.penalty_weights = weights;
		}
		/* A refresh reports progress only if it runs long. */
		unlearn_progress_start();
		fit = try_fit(ds, m, &opts, best, &why);
		if (fit == NULL)
			fit = solver_fit(ds, m->loss, &opts, m->name, NULL);
		if (shifted)
			for (i = 0; i < p; i++)
			{
				fit->hessian[(Size) i * p + i] -= s->penalty_shift[i % d];
				fit->gradient[i] -= s->penalty_shift[i % d] * fit->theta[i];
			}
		memcpy(s->theta, fit->theta, sizeof(double) * p);
		memcpy(s->theta_ref, fit->theta, sizeof(double) * p);
		memcpy(s->hessian, fit->hessian, sizeof(double) * p * p);
		memcpy(s->gram, fit->gram, sizeof(double) * d * d);
		memcpy(s->ref_gradient, fit->gradient, sizeof(double) * p);
		removal_rebase(s);		/* new matrices: stored as they are */
		s->max_row_norm = fit->max_row_norm;
		s->stats = fit->stats;
		s->error_bound = fit->error_bound;
		s->rounding = fit->error_bound - fit->gradient_norm;
		if (why)
			elog(DEBUG1, "refresh of model \"%s\" restarted where a retrain starts: %s",
				 m->name, why);
		/* The model's row records it; the erasing session is not told. */
		if (fit->separable && !s->separable)
			ereport(LOG_SERVER_ONLY,
					(errmsg("the classes of model \"%s\" became linearly separable", m->name),
					 errdetail("A refresh after erasures found that without a penalty its weights grow without bound."),
					 errhidestmt(true)));
		s->separable = s->separable || fit->separable;

	}
	for (i = 0; i < p; i++)
		start[i] = s->theta[i] - start[i];
	s->step_norm = linalg_norm2(start, p);
	elog(DEBUG1, "refreshed model \"%s\" on " INT64_FORMAT " rows: %s, step %g, bound %g",
		 m->name, n, done ? psprintf("%d Newton step(s)", step) : "the line-searched solver",
		 s->step_norm, s->error_bound);
	return true;
}

/* What refresh_step refreshes, and whether it did. */
typedef struct RefreshStep
{
	StoredModel *model;
	Encoder    *enc;
	Relation	rel;
	RemovalState *state;
	const bool *dead;
	bool		refreshed;
} RefreshStep;

/* refresh_model as a subxact_try step. */
static void
refresh_step(void *arg)
{
	RefreshStep *step = arg;

	step->refreshed = refresh_model(step->model, step->enc, step->rel, step->state, step->dead);
}

/* A refresh's errors that mark the model (data errors) or wait (55000, see refresh_try). */
static bool
refresh_cannot_fit(int sqlerrcode)
{
	return subxact_catches_data_errors(sqlerrcode) ||
		sqlerrcode == ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
}

/*
 * Runs a refresh in a subtransaction: if the remaining rows cannot be
 * fitted (a data error: singular, not converging, one class), the model is
 * marked for retraining and the DELETE goes on; any other error (a cancel,
 * say) propagates.  *why receives the reason of a failure.  *deferred is
 * set when the only rows that do not match lineage are rows this
 * transaction changed whose rectification is still to come (a MERGE or a
 * writable CTE that also updates them): s is then as it was, and the
 * rectification refreshes.
 */
bool
refresh_try(StoredModel *m, Encoder *enc, Relation rel, RemovalState *s,
			const bool *dead, const char **why, bool *deferred)
{
	RefreshStep step = {m, enc, rel, s, dead, false};
	ErrorData  *error;

	*deferred = false;
	if (subxact_try(refresh_step, &step, refresh_cannot_fit, &error))
	{
		if (!step.refreshed)
			*why = "No usable row remains to refit it on.";
		return step.refreshed;
	}
	*deferred = error->sqlerrcode == ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
	*why = psprintf("Refitting it on the remaining rows failed: %s", error->message);
	return false;
}

/* A background refresh's pass (see erase.h). */
bool
refresh_background_pass(StoredModel *m, Encoder *enc, Relation rel, Snapshot snapshot,
						BackgroundPass *p)
{
	int			d = m->nterms;
	int			np = d * Max(m->nclasses, 1);	/* parameters */
	int64		nkeys;
	LineageEntry *keys = lineage_load_snapshot(m->model_id, &nkeys);
	bool	   *dead = palloc0(sizeof(bool) * d);

	p->model_id = m->model_id;
	p->version = m->version;
	p->d = d;
	p->nclasses = Max(m->nclasses, 1);
	/* Ridge sums at 0: the gradient is -X'y, the Hessian X'X + l2 I'. */
	p->theta = palloc0(sizeof(double) * np);
	if (!m->loss->constant_hessian)
		memcpy(p->theta, m->theta, sizeof(double) * np);
	p->gradient = palloc(sizeof(double) * np);
	p->hessian = palloc(sizeof(double) * np * np);
	p->rows = refresh_pass(m, enc, rel, snapshot, keys, nkeys, d, dead, p->theta,
						   p->gradient, p->hessian, NULL, &p->stats, &p->max_row_norm);
	pfree(keys);
	return p->rows > 0;
}

/*
 * Sums the journaled rows of one sign (+1: taken out, -1: put in) at
 * theta: their loss's gradient and Hessian, no penalty, and statistics;
 * returns how many there were, their largest norm in *max_norm.
 */
static int64
journal_sums(const LossFunctions *loss, const JournalEntry *entries, int n, double sign,
			 int d, int K, const double *theta, double *gradient, double *hessian,
			 SumStats *stats, double *max_norm)
{
	SolverSums	sums;
	double	   *X = palloc(sizeof(double) * DATASET_BLOCK_ROWS * d);
	double	   *y = palloc(sizeof(double) * DATASET_BLOCK_ROWS);
	double	   *offset = palloc(sizeof(double) * DATASET_BLOCK_ROWS);
	int64		count = 0;
	int			fill = 0,
				e,
				r;

	solver_stats_init(stats);
	solver_sums_begin(&sums, loss, d, K, theta, gradient, hessian);
	sums.stats = stats;
	for (e = 0; e < n; e++)
		for (r = 0; r < entries[e].rows; r++)
		{
			const double *row = &entries[e].terms[(Size) r * (d + 2)];

			/* The sign carries the row's exposure t (1 without one): its offset is log t. */
			if ((row[0] > 0 ? 1.0 : -1.0) != sign)
				continue;
			y[fill] = row[1];
			offset[fill] = fabs(row[0]) != 1.0 ? log(fabs(row[0])) : 0.0;
			memcpy(&X[(Size) fill * d], &row[2], sizeof(double) * d);
			count++;
			if (++fill == DATASET_BLOCK_ROWS)
			{
				solver_sums_add(&sums, X, y, offset, fill);
				fill = 0;
			}
		}
	if (fill > 0)
		solver_sums_add(&sums, X, y, offset, fill);
	*max_norm = sums.max_row_norm;
	solver_sums_end(&sums, 0.0, false);
	pfree(X);
	pfree(y);
	pfree(offset);
	return count;
}

/* Installs a background pass in a model locked now (see erase.h). */
bool
refresh_background_fold(ErasureModel *em, const BackgroundPass *p,
						const JournalEntry *entries, int n, const char **why, bool *moot)
{
	RemovalState *s = &em->s;
	int			d = p->d;
	int			K = p->nclasses;
	int			np = d * K;		/* parameters */
	double	   *g_out = palloc(sizeof(double) * np);
	double	   *h_out = palloc(sizeof(double) * np * np);
	double	   *g_in = palloc(sizeof(double) * np);
	double	   *h_in = palloc(sizeof(double) * np * np);
	double	   *gradient = palloc(sizeof(double) * np);
	double	   *hessian = palloc(sizeof(double) * np * np);
	double	   *before = palloc(sizeof(double) * np);
	SumStats	out,
				in,
				now;
	double		max_out,
				max_in,
				error_before;	/* the model's B */
	int64		nout,
				nin;
	Size		i;

	*moot = false;
	if (s->d != d || Max(s->nclasses, 1) != K)
	{
		*why = s->d != d ? "its terms changed" : "its classes changed";
		return false;
	}
	nout = journal_sums(em->m->loss, entries, n, 1.0, d, K, p->theta, g_out, h_out, &out,
						&max_out);
	nin = journal_sums(em->m->loss, entries, n, -1.0, d, K, p->theta, g_in, h_in, &in, &max_in);
	if (p->rows - nout + nin != em->rows_now)
	{
		*why = "its rows do not match the model's";
		return false;
	}
	for (i = 0; i < (Size) np; i++)
		gradient[i] = p->gradient[i] - g_out[i] + g_in[i];
	for (i = 0; i < (Size) np * np; i++)
		hessian[i] = p->hessian[i] - h_out[i] + h_in[i];
	/* Summation steps and their norms add up; the current rows' net out. */
	now.terms = p->stats.terms + out.terms + in.terms;
	now.norm2 = p->stats.norm2 + out.norm2 + in.norm2;
	now.rows_norm2 = p->stats.rows_norm2 - out.rows_norm2 + in.rows_norm2;
	now.rnorm = p->stats.rnorm + out.rnorm + in.rnorm;
	now.rows_rnorm = p->stats.rows_rnorm - out.rows_rnorm + in.rows_rnorm;
	now.znorm = p->stats.znorm + out.znorm + in.znorm;
	now.positives = p->stats.positives - out.positives + in.positives;
	now.max_logit = Max(p->stats.max_logit, in.max_logit);	/* rows leaving keep it a bound */
	if (em->m->loss->target != LOSS_TARGET_REAL && now.positives != s->stats.positives)
	{
		*why = "its labels do not match the model's";
		return false;
	}
	now.rows_norm2 = Max(now.rows_norm2, 0.0);
	now.rows_rnorm = Max(now.rows_rnorm, 0.0);
	memcpy(before, s->theta, sizeof(double) * np);

	if (em->m->loss->constant_hessian)
	{
		/* Ridge: the sums made afresh, as a re-sum (resum_ridge) makes them. */
		if (!(now.norm2 < s->stats.norm2 || now.rnorm < s->stats.rnorm))
		{
			*why = "its sums are no fresher than the model's";
			*moot = true;
			return false;
		}
		memcpy(s->hessian, hessian, sizeof(double) * d * d);
		for (i = 0; i < (Size) d; i++)
			s->xty[i] = -gradient[i];
		now.positives = 0;
		s->stats = now;
		s->max_row_norm = Max(p->max_row_norm, max_in);
		removal_rebase(s);
		if (!removal_ridge_solve(s))
		{
			/* Not for the worker to settle: the foreground marks the model. */
			*why = "its Hessian is singular or too ill-conditioned";
			*moot = true;
			return false;
		}
	}
	else
	{
		/* B itself is compared: the model's own λ_min would cost a factorization. */
		error_before = s->error_bound;
		memcpy(s->theta, p->theta, sizeof(double) * np);
		s->max_row_norm = Max(p->max_row_norm, max_in);
		if (!removal_reanchor(s, gradient, hessian, &now, false))
		{
			*why = "its Hessian is singular or too ill-conditioned";
			*moot = true;
			return false;
		}
		if (!(s->error_bound < error_before))
		{
			*why = "its bound is no better than the model's";
			*moot = true;
			return false;
		}
	}
	for (i = 0; i < (Size) np; i++)
		before[i] = s->theta[i] - before[i];
	s->step_norm = linalg_norm2(before, np);
	return true;
}
