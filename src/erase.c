/*-------------------------------------------------------------------------
 *
 * erase.c
 *	  Erasure: the statement-level triggers on source tables that take
 *	  deleted rows out of every model they trained, in the same
 *	  transaction, and mark models whose table was truncated.
 *
 * One set of triggers per source table, shared by its models, created with
 * the first model and dropped with the last, ENABLE ALWAYS so they fire
 * under logical replication apply too.  A multi-row statement costs one
 * update per model: its rows arrive in the transition table.
 *
 * Models of a table are updated in model_id order, each locked FOR UPDATE
 * first: concurrent erasures on one model serialize (the second sees the
 * first's result under READ COMMITTED, or fails to serialize under
 * REPEATABLE READ), and erasures touching several models take their locks
 * in the same order, so they do not deadlock each other.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "replication/worker_internal.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "audit.h"
#include "catalog.h"
#include "encoder.h"
#include "erase.h"
#include "lineage.h"
#include "linalg.h"
#include "removal.h"
#include "scratch.h"
#include "spi_cache.h"
#include "unlearn.h"
#include "solver.h"
#include "source_models.h"
#include "erasure_state.h"
#include "model_filter.h"

#define DELETE_TRIGGER		"unlearn_erase_delete"
#define UPDATE_TRIGGER		"unlearn_erase_update"
#define TRUNCATE_TRIGGER	"unlearn_erase_truncate"
#define APPLY_DELETE_TRIGGER "unlearn_apply_delete"
#define APPLY_UPDATE_TRIGGER "unlearn_apply_update"

/*
 * Logical replication: the apply worker applies changes row by row and
 * fires only row-level triggers for them (statement-level ones only for
 * TRUNCATE).  So each table also gets row-level triggers, enabled for
 * REPLICA only (ordinary sessions never fire them), that act in an apply
 * worker alone; there the statement-level ones stand down.
 */
#define IN_APPLY_WORKER() (MyLogicalRepWorker != NULL)

/* Runs a utility statement through SPI. */
static void
run_sql(const char *sql)
{
	SPI_connect();
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "could not run: %s", sql);
	SPI_finish();
}

/*
 * The erasure triggers of a source table.  They are recognised by name,
 * function and event together: a trigger of the table's owner that holds
 * one of the names is not taken for unlearn's (it would leave erasure
 * off), and is never dropped with the last model.
 */
typedef struct ErasureTrigger
{
	const char *name;
	const char *function;		/* in schema unlearn, no arguments */
	int16		type;			/* pg_trigger.tgtype: AFTER, level, event */
	char		enabled;		/* pg_trigger.tgenabled */
	const char *definition;		/* CREATE TRIGGER's text after "ON %s" */
} ErasureTrigger;

static const ErasureTrigger erasure_triggers[] = {
	{DELETE_TRIGGER, "_erase_on_delete", TRIGGER_TYPE_DELETE, TRIGGER_FIRES_ALWAYS,
	"REFERENCING OLD TABLE AS unlearn_old_rows FOR EACH STATEMENT"},
	{UPDATE_TRIGGER, "_erase_on_update", TRIGGER_TYPE_UPDATE, TRIGGER_FIRES_ALWAYS,
	"REFERENCING OLD TABLE AS unlearn_old_rows NEW TABLE AS unlearn_new_rows FOR EACH STATEMENT"},
	{APPLY_DELETE_TRIGGER, "_erase_on_apply", TRIGGER_TYPE_ROW | TRIGGER_TYPE_DELETE,
	TRIGGER_FIRES_ON_REPLICA, "FOR EACH ROW"},
	{APPLY_UPDATE_TRIGGER, "_erase_on_apply", TRIGGER_TYPE_ROW | TRIGGER_TYPE_UPDATE,
	TRIGGER_FIRES_ON_REPLICA, "FOR EACH ROW"},
	{TRUNCATE_TRIGGER, "_erase_on_truncate", TRIGGER_TYPE_TRUNCATE, TRIGGER_FIRES_ALWAYS,
	"FOR EACH STATEMENT"},
};

#define NUM_ERASURE_TRIGGERS lengthof(erasure_triggers)

/* The OID of unlearn's trigger function of an erasure trigger. */
static Oid
trigger_function(const ErasureTrigger *et)
{
	return LookupFuncName(list_make2(makeString("unlearn"), makeString((char *) et->function)),
						  0, NULL, false);
}

/*
 * The trigger of rel that holds et's name, or NULL; *ours says whether it
 * is unlearn's: et's function, fired AFTER at et's level on et's event.
 */
static Trigger *
has_trigger(Relation rel, const ErasureTrigger *et, bool *ours)
{
	TriggerDesc *td = rel->trigdesc;
	int			i;

	for (i = 0; td && i < td->numtriggers; i++)
	{
		Trigger    *tg = &td->triggers[i];

		if (strcmp(tg->tgname, et->name) == 0)
		{
			*ours = tg->tgfoid == trigger_function(et) && tg->tgtype == et->type;
			return tg;
		}
	}
	*ours = false;
	return NULL;
}

/* The ALTER TABLE ... ENABLE clause for a firing mode. */
static const char *
enable_clause(char enabled)
{
	return enabled == TRIGGER_FIRES_ON_REPLICA ? "ENABLE REPLICA" : "ENABLE ALWAYS";
}

/*
 * Creates the erasure triggers on a source table unless it has them, and
 * re-enables any that were disabled.  Another trigger holding one of
 * their names is an error.
 */
void
erase_ensure_triggers(Oid relid)
{
	Relation	rel = table_open(relid, NoLock);
	char	   *qualified = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													   RelationGetRelationName(rel));
	bool		present[NUM_ERASURE_TRIGGERS];
	bool		enabled[NUM_ERASURE_TRIGGERS];
	int			i;

	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
	{
		const ErasureTrigger *et = &erasure_triggers[i];
		bool		ours;
		Trigger    *tg = has_trigger(rel, et, &ours);

		if (tg != NULL && !ours)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("trigger \"%s\" of relation \"%s\" is not unlearn's erasure trigger",
							et->name, RelationGetRelationName(rel)),
					 errdetail("Models of the table need that name for the trigger that erases rows from them."),
					 errhint("Drop or rename that trigger.")));
		present[i] = tg != NULL;
		enabled[i] = tg != NULL && tg->tgenabled == et->enabled;
	}
	table_close(rel, NoLock);
	source_models_changed(relid);
	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
	{
		const ErasureTrigger *et = &erasure_triggers[i];

		if (!present[i])
			run_sql(psprintf("CREATE TRIGGER %s AFTER %s ON %s %s EXECUTE FUNCTION unlearn.%s()",
							 et->name,
							 TRIGGER_FOR_DELETE(et->type) ? "DELETE" :
							 TRIGGER_FOR_UPDATE(et->type) ? "UPDATE" : "TRUNCATE",
							 qualified, et->definition, et->function));
		if (!enabled[i])
			run_sql(psprintf("ALTER TABLE %s %s TRIGGER %s",
							 qualified, enable_clause(et->enabled), et->name));
	}
}

/*
 * Drops the erasure triggers of a source table that has no model left;
 * only unlearn's: a trigger of the same name but not unlearn's stays.
 */
void
erase_drop_triggers_if_unused(Oid relid)
{
	Oid			types[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	bool		used;
	bool		drop[NUM_ERASURE_TRIGGERS];
	char	   *qualified;
	Relation	rel;
	int			i;

	if (get_rel_name(relid) == NULL)
		return;					/* the table itself is gone */
	source_models_changed(relid);
	SPI_connect();
	if (spi_execute_cached("SELECT 1 FROM unlearn.model WHERE source = $1 LIMIT 1",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the models of relation %u", relid);
	used = SPI_processed > 0;
	SPI_finish();
	if (used)
		return;
	/* DROP TRIGGER's lock, taken first rather than upgraded to. */
	rel = table_open(relid, AccessExclusiveLock);
	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
	{
		bool		ours;

		drop[i] = has_trigger(rel, &erasure_triggers[i], &ours) != NULL && ours;
	}
	qualified = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										   RelationGetRelationName(rel));
	table_close(rel, NoLock);
	for (i = 0; i < (int) NUM_ERASURE_TRIGGERS; i++)
		if (drop[i])
			run_sql(psprintf("DROP TRIGGER %s ON %s", erasure_triggers[i].name, qualified));
}

/*
 * Marks a model as needing a retrain, with a log entry for the rows the
 * statement touched (erased of them: taken out of the model's count;
 * keys: those taken out of lineage, or NULL).
 */
static void
needs_retrain(StoredModel *m, Oid relid, int64 erased, int64 rows,
			  const char *event, const char *why, const LineageRemoval *keys, int nkeys)
{
	int64		version = catalog_set_state(m->model_id, erased, "needs_retrain");

	audit_log_change(event, m, relid, version, rows, "needs_retrain", NULL, 0,
					 get_float8_nan(), get_float8_nan(), keys, nkeys);
	ereport(WARNING,
			(errmsg("model \"%s\" must be retrained", m->name),
			 errdetail("%s", why),
			 errhint("Run unlearn.retrain('%s').", m->name)));
}

/* Newton steps a refresh takes before the line-searched solver takes over. */
#define REFRESH_STEPS	3

/* A refresh leaves at most this part of the tolerance to later erasures. */
#define REFRESH_TARGET	1e-3

static double parameter_error(const RemovalState *s);

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
	return parameter_error(s) <= REFRESH_TARGET * m->options.erasure_tol;
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
static bool
try_refresh(StoredModel *m, Encoder *enc, Relation rel, RemovalState *s,
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

/* What the dead terms add to each row's logit x'theta (rows x d, row-major). */
static double *
dropped_logit(const double *X, int rows, int d, const bool *dead, const double *theta)
{
	double	   *dz = palloc0(sizeof(double) * Max(rows, 1));
	int			i,
				t;

	for (i = 0; i < rows; i++)
		for (t = 0; t < d; t++)
			if (dead[t])
				dz[i] += X[(Size) i * d + t] * theta[t];
	return dz;
}

/* Drops the dead columns from a row-major matrix (rows x d) into a copy. */
static double *
drop_columns(const double *A, int rows, int d, const bool *dead, int kept)
{
	double	   *B = palloc(sizeof(double) * Max(rows, 1) * Max(kept, 1));
	int			i,
				t,
				o;

	for (i = 0; i < rows; i++)
		for (t = 0, o = 0; t < d; t++)
			if (!dead[t])
				B[(Size) i * kept + o++] = A[(Size) i * d + t];
	return B;
}

/* Drops the dead rows and columns from a d x d matrix, in place. */
static void
drop_square(double *A, int d, const bool *dead, int kept)
{
	int			i,
				j,
				oi,
				oj;

	for (j = 0, oj = 0; j < d; j++)
	{
		if (dead[j])
			continue;
		for (i = 0, oi = 0; i < d; i++)
			if (!dead[i])
				A[(Size) oj * kept + oi++] = A[(Size) j * d + i];
		oj++;
	}
}

/* Drops the dead entries from a vector of length d, in place. */
static void
drop_entries(double *v, int d, const bool *dead)
{
	int			t,
				o = 0;

	for (t = 0; t < d; t++)
		if (!dead[t])
			v[o++] = v[t];
}

/*
 * The relative parameter error the bound allows: |theta - theta*| <=
 * B / lambda_min(H), with lambda_min estimated as rcond * |H|_1 from the
 * factorization the step just made (LAPACK's estimate), relative to
 * max(1, |theta|).
 */
static double
parameter_error(const RemovalState *s)
{
	double		lambda = s->rcond * s->hessian_norm1;
	double		scale = Max(1.0, linalg_norm2(s->theta, s->d));

	if (!(lambda > 0))
		return get_float8_infinity();
	return s->error_bound / (lambda * scale);
}

/*
 * Applies a statement's change to a model: the rows in change leave or
 * come in, "leaving" of them leave for good (the model's row count goes
 * down by that much), "rows" is what the log entry counts.  Categorical
 * levels left with no row go, with their terms (a one-hot column that is
 * zero in every remaining row: dropping it is what a retrain gives).
 * Ridge is exact; logistic takes a Newton step, or refreshes before its
 * bound passes erasure_tol; what cannot be done marks the model for
 * retraining.  Writes the model, its terms and a log entry.
 */
static void
apply_change(ErasureModel *em, Encoder *enc, Relation rel, RowChange *change,
			 int64 leaving, int64 rows, const char *event,
			 const LineageRemoval *keys, int nkeys)
{
	StoredModel *m = em->m;
	RemovalState *s = &em->s;
	StoredModel before = *m;	/* as loaded: what the log entry starts from */
	Oid			relid = RelationGetRelid(rel);
	int			d = m->nterms;
	int64	   *delta = palloc0(sizeof(int64) * d);
	bool	   *dead = palloc0(sizeof(bool) * d);
	int			ndead = 0;
	int64		version;
	const char *method;
	bool		applied;
	int			i,
				t;

	before.theta = palloc(sizeof(double) * m->nterms);	/* m's own may alias s->theta */
	memcpy(before.theta, m->theta, sizeof(double) * m->nterms);
	if (leaving >= em->rows_now)
	{
		version = erasure_state_save(em, leaving, "empty", false);
		audit_log_change(event, &before, relid, version, rows, "empty", NULL, 0,
						 get_float8_nan(), get_float8_nan(), keys, nkeys);
		return;
	}

	/* Level counts move with the rows; a level left with none goes. */
	for (t = 0; t < d; t++)
	{
		if (m->terms[t].level == NULL)
			continue;
		for (i = 0; i < change->k; i++)
			delta[t] -= (int64) change->X[(Size) i * d + t];
		for (i = 0; i < change->a; i++)
			delta[t] += (int64) change->XA[(Size) i * d + t];
		if (m->terms[t].level_rows >= 0 && m->terms[t].level_rows + delta[t] <= 0)
		{
			dead[t] = true;
			ndead++;
		}
	}
	if (ndead > 0)
	{
		int			kept = d - ndead;

		/* The rows' logits keep what the dropped terms gave them. */
		change->z_dropped = dropped_logit(change->X, change->k, d, dead, s->theta);
		change->z_ref_dropped = dropped_logit(change->X, change->k, d, dead, s->theta_ref);
		change->zA_dropped = dropped_logit(change->XA, change->a, d, dead, s->theta);
		change->zA_ref_dropped = dropped_logit(change->XA, change->a, d, dead, s->theta_ref);
		change->X = drop_columns(change->X, change->k, d, dead, kept);
		change->XA = drop_columns(change->XA, change->a, d, dead, kept);
		drop_entries(s->theta, d, dead);
		drop_entries(s->theta_ref, d, dead);
		if (s->ref_gradient)
			drop_entries(s->ref_gradient, d, dead);
		if (s->xty)
			drop_entries(s->xty, d, dead);
		drop_square(s->hessian, d, dead, kept);
		if (s->gram)
			drop_square(s->gram, d, dead, kept);
		s->d = kept;
		removal_rebase(s);		/* the stored matrices and pending rows had those terms */
	}

	if (m->loss->binary_labels)
	{
		const char *why = NULL;

		applied = removal_logistic(s, change);
		method = "newton";
		/* Past the tolerance, or no usable Hessian: refit on what remains. */
		if (!applied || parameter_error(s) > m->options.erasure_tol)
		{
			method = "refresh";
			if (!try_refresh(m, enc, rel, s, dead, &why))
			{
				needs_retrain(&before, relid, leaving, rows, event, why, keys, nkeys);
				return;
			}
			applied = true;
		}
	}
	else
	{
		applied = removal_ridge(s, change);
		method = "exact";
	}
	if (!applied)
	{
		needs_retrain(&before, relid, leaving, rows, event,
					  "Without those rows its Hessian is singular or too ill-conditioned.",
					  keys, nkeys);
		return;
	}
	/* Kept for the next statement: the terms as they are now written. */
	for (t = 0; t < d && ndead == 0; t++)
		if (m->terms[t].level_rows >= 0)
			m->terms[t].level_rows += delta[t];
	version = erasure_state_save(em, leaving, "ready", ndead == 0);
	catalog_update_terms(m->model_id, d, delta, dead);
	audit_log_change(event, &before, relid, version, rows, method, s->theta, s->d,
					 s->step_norm, s->error_bound, keys, nkeys);
}

/*
 * An array of capacity elements of a size for a statement's rows: scratch
 * memory when it never grows (exact), else palloc'd (repalloc may grow it).
 */
static void *
row_array(Size size, int capacity, bool exact)
{
	if (exact)
		return scratch_alloc(size * capacity);
	return palloc_extended(size * capacity, MCXT_ALLOC_HUGE);
}

/*
 * Takes the deleted rows that trained one model out of it: finds them in
 * lineage (removing them there), checks each row's fingerprint, and
 * applies the removal update.  Rows it never trained on are ignored.
 */
static void
erase_from_model(const char *name, Relation rel, Tuplestorestate *rows)
{
	Oid			relid = RelationGetRelid(rel);
	ErasureModel em;
	StoredModel *m;
	Encoder    *enc;
	TupleTableSlot *slot;
	int64		count = tuplestore_tuple_count(rows);
	int			capacity = (int) Min(Max(count, 1), 1 << 20);
	bool		exact = count <= capacity;	/* arrays never grow: scratch memory */
	int			n = 0;
	LineageRemoval *keys;
	double	   *X;
	double	   *Y;
	int64	   *fps;
	bool	   *ok;
	bool	   *found;
	int			k = 0,
				changed = 0,
				i;
	RowChange	change;

	if (!erasure_state_lock(name, &em))
		return;					/* dropped meanwhile */
	m = em.m;
	if (strcmp(m->state, "ready") != 0)
	{
		erasure_state_release(&em);
		return;					/* nothing left to take out until a retrain */
	}

	/*
	 * What the arrays below and the log entry's digests will take (the
	 * digests, their sort and the logged array: about 100 bytes a key).
	 */
	scratch_reserve((Size) capacity * (sizeof(LineageRemoval) + sizeof(double) * (m->nterms + 1) +
									   sizeof(int64) + 2 * sizeof(bool) + 112));
	keys = row_array(sizeof(LineageRemoval), capacity, exact);
	enc = encoder_create(m, RelationGetDescr(rel));
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	X = row_array(sizeof(double) * m->nterms, capacity, exact);
	Y = row_array(sizeof(double), capacity, exact);
	fps = row_array(sizeof(int64), capacity, exact);
	ok = row_array(sizeof(bool), capacity, exact);

	/* Every deleted row: its key, and what it would give the model. */
	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(slot);
		if (n == capacity)
		{
			capacity *= 2;
			keys = repalloc_huge(keys, sizeof(LineageRemoval) * capacity);
			X = repalloc_huge(X, sizeof(double) * m->nterms * capacity);
			Y = repalloc_huge(Y, sizeof(double) * capacity);
			fps = repalloc_huge(fps, sizeof(int64) * capacity);
			ok = repalloc_huge(ok, sizeof(bool) * capacity);
		}
		if (enc == NULL || slot->tts_isnull[enc->key_attnum - 1])
			ok[n] = false;
		else
			ok[n] = encoder_encode(enc, slot->tts_values, slot->tts_isnull,
								   &X[(Size) n * m->nterms], &Y[n], &fps[n]);
		memset(&keys[n], 0, sizeof(LineageRemoval));
		keys[n].row = n;
		if (enc != NULL && !slot->tts_isnull[enc->key_attnum - 1])
			keys[n].key = encoder_key(enc, slot->tts_values, &keys[n].key_text);
		else
			keys[n].key_text = NULL;
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	if (enc == NULL)
	{
		needs_retrain(m, relid, 0, 0, "erasure",
					  "A column the model uses is gone from its source.", NULL, 0);
		return;
	}

	lineage_remove(m->model_id, keys, n);

	/*
	 * Keep the rows that were in lineage, in place, in X and Y.  The
	 * removals came back sorted by key, not in row order: mark the rows
	 * first, then compact front to back, so no row is overwritten before
	 * it is moved.
	 */
	found = scratch_alloc0(sizeof(bool) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		int			row = keys[i].row;

		if (!keys[i].found)
			continue;
		found[row] = true;
		if (!ok[row] || fps[row] != keys[i].fingerprint)
			changed++;
	}
	for (i = 0; i < n; i++)
	{
		if (!found[i])
			continue;
		if (i != k)
		{
			memmove(&X[(Size) k * m->nterms], &X[(Size) i * m->nterms],
					sizeof(double) * m->nterms);
			Y[k] = Y[i];
		}
		k++;
	}
	if (k == 0)
	{
		erasure_state_release(&em);
		return;					/* none of these rows trained this model */
	}
	if (changed > 0)
	{
		needs_retrain(m, relid, k, k, "erasure",
					  psprintf("%d deleted rows differ from the values the model was trained on; "
							   "they were changed while erasure was not active.", changed),
					  keys, n);
		return;
	}

	memset(&change, 0, sizeof(change));
	change.X = X;
	change.y = Y;
	change.k = k;
	change.XA = NULL;
	change.yA = NULL;
	change.a = 0;
	apply_change(&em, enc, rel, &change, k, k, "erasure", keys, n);
}

static void rectify_model(const char *name, Relation rel, Tuplestorestate *olds,
						  Tuplestorestate *news);

/*
 * Applies a statement's changed rows to every model of the table, in
 * model_id order, in a memory context of their own: erasure of the rows
 * in olds, or, with news (the same rows after an UPDATE), rectification.
 */
static void
change_models(Relation rel, Tuplestorestate *olds, Tuplestorestate *news)
{
	MemoryContext cxt;
	MemoryContext old;
	List	   *names;
	ListCell   *lc;

	if (tuplestore_tuple_count(olds) == 0)
		return;					/* the statement changed no row */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "unlearn erasure",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	names = news ? source_models_touched(RelationGetRelid(rel), RelationGetDescr(rel), olds, news)
		: source_models(RelationGetRelid(rel));

	/* The log's lock before any model's: writers queue in one order. */
	if (names != NIL)
		audit_lock();
	foreach(lc, names)
	{
		Size		mark = scratch_mark();

		if (news)
			rectify_model(lfirst(lc), rel, olds, news);
		else
			erase_from_model(lfirst(lc), rel, olds);
		scratch_release(mark);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

PG_FUNCTION_INFO_V1(unlearn_erase_on_delete);

/* AFTER DELETE FOR EACH STATEMENT: erase the deleted rows from every model. */
Datum
unlearn_erase_on_delete(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_DELETE(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event) || !TRIGGER_FIRED_AFTER(trig->tg_event) ||
		trig->tg_oldtable == NULL)
		elog(ERROR, "unlearn._erase_on_delete must fire AFTER DELETE FOR EACH STATEMENT with an OLD TABLE");
	if (IN_APPLY_WORKER())
		return PointerGetDatum(NULL);	/* the row-level apply trigger does it */

	change_models(trig->tg_relation, trig->tg_oldtable, NULL);
	return PointerGetDatum(NULL);
}

/* Whether any of the columns a model reads is NULL in a row. */
static bool
row_has_null(Encoder *enc, const bool *isnull)
{
	int			j;

	if (isnull[enc->key_attnum - 1] || isnull[enc->target_attnum - 1])
		return true;
	for (j = 0; j < enc->ncols; j++)
		if (isnull[enc->cols[j].attnum - 1])
			return true;
	return false;
}

/* Growable arrays of term vectors and targets. */
typedef struct RowSet
{
	int			d;
	int			n;
	int			cap;
	double	   *X;
	double	   *y;
} RowSet;

/* Appends a row to a RowSet. */
static void
rowset_add(RowSet *rs, const double *x, double y)
{
	if (rs->n == rs->cap)
	{
		rs->cap = Max(16, rs->cap * 2);
		rs->X = rs->X ? repalloc_huge(rs->X, sizeof(double) * rs->d * rs->cap) :
			palloc(sizeof(double) * rs->d * rs->cap);
		rs->y = rs->y ? repalloc_huge(rs->y, sizeof(double) * rs->cap) :
			palloc(sizeof(double) * rs->cap);
	}
	memcpy(&rs->X[(Size) rs->n * rs->d], x, sizeof(double) * rs->d);
	rs->y[rs->n++] = y;
}

/*
 * Rectifies one model for an UPDATE statement: every training row whose
 * key, features or target changed leaves with its old values and comes
 * back with its new ones (a row that now has a NULL and a model that skips
 * NULLs, or one its "where" filter, run as the model's owner, now leaves
 * out: it only leaves), in one update of the model; lineage follows, keys
 * included.  What cannot be done exactly as it stands marks the model for
 * retraining: a row changed while erasure was not active, or a new value
 * the model cannot take (NaN, a label that is not 0/1, a level it never
 * saw, a NULL under nulls = 'error').
 */
static void
rectify_model(const char *name, Relation rel, Tuplestorestate *olds,
			  Tuplestorestate *news)
{
	Oid			relid = RelationGetRelid(rel);
	ErasureModel em;
	StoredModel *m;
	Encoder    *enc;
	TupleTableSlot *old;
	TupleTableSlot *new;
	RowSet		out = {0};
	RowSet		in = {0};
	LineageRemoval *gone = NULL;
	LineageEntry *came = NULL;
	int			ngone = 0,
				ncame = 0,
				cap = 0;
	int64		changed = 0,
				behind = 0,
				unusable = 0,
				left = 0;
	double	   *x;
	RowChange	change;
	ModelFilter *filter = NULL;
	bool		leaves;

	if (!erasure_state_lock(name, &em))
		return;					/* dropped meanwhile */
	m = em.m;
	if (strcmp(m->state, "ready") != 0)
	{
		erasure_state_release(&em);
		return;
	}
	enc = encoder_create(m, RelationGetDescr(rel));
	if (enc == NULL)
	{
		needs_retrain(m, relid, 0, 0, "rectification",
					  "A column the model uses is gone from its source.", NULL, 0);
		return;
	}
	out.d = in.d = m->nterms;
	x = palloc(sizeof(double) * m->nterms);
	old = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	new = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	tuplestore_rescan(olds);
	tuplestore_rescan(news);
	/* The two transition tables hold old and new rows pairwise, in order. */
	while (tuplestore_gettupleslot(olds, true, false, old) &&
		   tuplestore_gettupleslot(news, true, false, new))
	{
		char	   *old_text;
		char	   *new_text = NULL;
		int64		old_key,
					new_key = 0,
					stored,
					old_fp,
					new_fp = 0;
		double		old_y,
					new_y = 0;
		bool		new_ok;

		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(old);
		slot_getallattrs(new);
		if (old->tts_isnull[enc->key_attnum - 1])
			continue;
		old_key = encoder_key(enc, old->tts_values, &old_text);
		if (!lineage_lookup(m->model_id, old_key, old_text, &stored))
			continue;			/* not a training row of this model */
		if (!encoder_encode(enc, old->tts_values, old->tts_isnull, x, &old_y, &old_fp) ||
			old_fp != stored)
		{
			behind++;			/* changed while erasure was not active */
			continue;
		}
		if (!new->tts_isnull[enc->key_attnum - 1])
			new_key = encoder_key(enc, new->tts_values, &new_text);
		new_ok = !new->tts_isnull[enc->key_attnum - 1] &&
			encoder_encode(enc, new->tts_values, new->tts_isnull, &x[0], &new_y, &new_fp);
		if (new_ok && new_key == old_key && new_fp == old_fp &&
			(old_text == NULL || (new_text && strcmp(old_text, new_text) == 0)))
			continue;			/* nothing the model reads changed */

		changed++;
		/* A row its filter now leaves out leaves the model, as at a retrain. */
		leaves = false;
		if (new_ok && m->options.where != NULL)
		{
			if (filter == NULL)
				filter = model_filter_compile(m);
			leaves = !model_filter_passes(filter, new);
		}
		if (!new_ok && !(m->options.nulls == NULLS_SKIP && row_has_null(enc, new->tts_isnull)))
		{
			unusable++;
			continue;
		}
		if (ngone == cap)
		{
			cap = Max(16, cap * 2);
			gone = gone ? repalloc(gone, sizeof(LineageRemoval) * cap) :
				palloc(sizeof(LineageRemoval) * cap);
			came = came ? repalloc(came, sizeof(LineageEntry) * cap) :
				palloc(sizeof(LineageEntry) * cap);
		}
		/* The old values leave ... */
		memset(&gone[ngone], 0, sizeof(LineageRemoval));
		gone[ngone].key = old_key;
		gone[ngone].key_text = old_text;
		ngone++;
		encoder_encode(enc, old->tts_values, old->tts_isnull, x, &old_y, &old_fp);
		rowset_add(&out, x, old_y);
		/* ... and the new ones come in, unless the row is now skipped. */
		if (!new_ok || leaves)
		{
			left++;
			continue;
		}
		encoder_encode(enc, new->tts_values, new->tts_isnull, x, &new_y, &new_fp);
		rowset_add(&in, x, new_y);
		came[ncame].key = new_key;
		came[ncame].key_text = new_text;
		came[ncame].fingerprint = new_fp;
		ncame++;
	}
	ExecDropSingleTupleTableSlot(old);
	ExecDropSingleTupleTableSlot(new);

	if (behind + unusable > 0)
	{
		needs_retrain(m, relid, 0, changed + behind, "rectification",
					  psprintf(INT64_FORMAT " updated rows cannot be applied to the model as they stand "
							   "(changed while erasure was not active, or a value it cannot take).",
							   behind + unusable),
					  NULL, 0);
		return;
	}
	if (changed == 0)
	{
		erasure_state_release(&em);
		return;
	}

	lineage_remove(m->model_id, gone, ngone);
	if (ncame > 0)
	{
		qsort(came, ncame, sizeof(LineageEntry), lineage_compare_entries);
		lineage_insert(m->model_id, came, ncame);
	}
	memset(&change, 0, sizeof(change));
	change.X = out.X;
	change.y = out.y;
	change.k = out.n;
	change.XA = in.X;
	change.yA = in.y;
	change.a = in.n;
	apply_change(&em, enc, rel, &change, left, changed, "rectification", gone, ngone);
}

PG_FUNCTION_INFO_V1(unlearn_erase_on_update);

/*
 * AFTER UPDATE FOR EACH STATEMENT: rectification.  Every model of the
 * table takes its changed training rows' old values out and their new
 * values in; an UPDATE of columns no model reads changes nothing.
 */
Datum
unlearn_erase_on_update(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_UPDATE(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event) || !TRIGGER_FIRED_AFTER(trig->tg_event) ||
		trig->tg_oldtable == NULL || trig->tg_newtable == NULL)
		elog(ERROR, "unlearn._erase_on_update must fire AFTER UPDATE FOR EACH STATEMENT with OLD and NEW TABLEs");
	if (IN_APPLY_WORKER())
		return PointerGetDatum(NULL);	/* the row-level apply trigger does it */
	change_models(trig->tg_relation, trig->tg_oldtable, trig->tg_newtable);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(unlearn_erase_on_apply);

/*
 * AFTER DELETE/UPDATE FOR EACH ROW, enabled for REPLICA: in a logical
 * replication apply worker, erases (or rectifies) the one row the worker
 * just applied, through the same path as the statement triggers.
 * Anywhere else it does nothing (the statement triggers do the work).
 */
Datum
unlearn_erase_on_apply(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	Tuplestorestate *olds;
	Tuplestorestate *news = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trig->tg_event) ||
		!TRIGGER_FIRED_AFTER(trig->tg_event) ||
		!(TRIGGER_FIRED_BY_DELETE(trig->tg_event) || TRIGGER_FIRED_BY_UPDATE(trig->tg_event)))
		elog(ERROR, "unlearn._erase_on_apply must fire AFTER DELETE or UPDATE FOR EACH ROW");
	if (!IN_APPLY_WORKER())
		return PointerGetDatum(NULL);

	olds = tuplestore_begin_heap(false, false, work_mem);
	tuplestore_puttuple(olds, trig->tg_trigtuple);
	if (TRIGGER_FIRED_BY_UPDATE(trig->tg_event))
	{
		news = tuplestore_begin_heap(false, false, work_mem);
		tuplestore_puttuple(news, trig->tg_newtuple);
	}
	change_models(trig->tg_relation, olds, news);
	tuplestore_end(olds);
	if (news)
		tuplestore_end(news);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(unlearn_erase_on_truncate);

/*
 * AFTER TRUNCATE: every model of the table lost its training data.  Its
 * lineage goes (the rows are gone) and it must be retrained to predict.
 */
Datum
unlearn_erase_on_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	Oid			relid;
	ListCell   *lc;
	List	   *names;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_TRUNCATE(trig->tg_event))
		elog(ERROR, "unlearn._erase_on_truncate must fire AFTER TRUNCATE");
	relid = RelationGetRelid(trig->tg_relation);
	names = source_models(relid);
	if (names != NIL)
		audit_lock();
	foreach(lc, names)
	{
		ErasureModel em;
		StoredModel *m;
		int64		rows_now;
		int64		version;

		if (!erasure_state_lock(lfirst(lc), &em))
			continue;			/* dropped meanwhile */
		m = em.m;
		rows_now = em.rows_now;
		lineage_delete(m->model_id);
		version = catalog_set_state(m->model_id, rows_now, "needs_retrain");
		audit_log_change("truncate", m, relid, version, rows_now, "needs_retrain", NULL, 0,
						 get_float8_nan(), get_float8_nan(), NULL, 0);
	}
	return PointerGetDatum(NULL);
}
