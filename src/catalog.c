/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Model state in the extension's tables (unlearn.model and
 *	  unlearn.model_term): written and read through SPI with parameters.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "arrayutil.h"
#include "catalog.h"
#include "distributed.h"
#include "classes.h"
#include "spi_cache.h"
#include "tablerow.h"
#include "lineage.h"
#include "pending.h"
#include "refresh_journal.h"
#include "removal.h"

/*
 * Runs one parameterized statement; raises an error unless it succeeds.
 * Plain reads run read-only: no new snapshot, no command counter bump
 * (prediction reads models from STABLE, PARALLEL SAFE functions).
 */
static void
spi_run(const char *sql, int nargs, Oid *types, Datum *values,
		const char *nulls, int expected, bool read_only)
{
	int			rc = spi_execute_cached(sql, nargs, types, values, nulls,
										read_only, 0);

	if (rc != expected)
		elog(ERROR, "SPI_execute_with_args failed (%d): %s", rc, sql);
}

/* Raises the error for a model that does not exist. */
void
catalog_missing_model(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("model \"%s\" does not exist", name)));
}

/* Whether a model of that name exists. */
bool
catalog_model_exists(const char *name)
{
	return OidIsValid(catalog_model_source(name));
}

/* The source table of a model, read as stored (nothing checked); 0 if none. */
Oid
catalog_model_source(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	Oid			source = InvalidOid;
	bool		isnull;

	SPI_connect();
	spi_run("SELECT source FROM unlearn.model WHERE name = $1",
			1, types, values, NULL, SPI_OK_SELECT, true);
	if (SPI_processed > 0)
		source = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												1, &isnull));
	SPI_finish();
	return source;
}

/* The name and source of model_id, read as stored; NULL (and 0) if none. */
char *
catalog_model_by_id(int32 model_id, Oid *source)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(model_id)};
	char	   *name = NULL;
	bool		isnull;

	*source = InvalidOid;
	SPI_connect();
	spi_run("SELECT name, source FROM unlearn.model WHERE model_id = $1",
			1, types, values, NULL, SPI_OK_SELECT, true);
	if (SPI_processed > 0)
	{
		char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		name = MemoryContextStrdup(CurTransactionContext, s);
		*source = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												 2, &isnull));
	}
	SPI_finish();
	return name;
}

/* A text[] of n strings, NULL pointers becoming NULL elements. */
static ArrayType *
text_array(char *const *strings, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int			i;

	for (i = 0; i < n; i++)
	{
		nulls[i] = strings[i] == NULL;
		elems[i] = nulls[i] ? (Datum) 0 : CStringGetTextDatum(strings[i]);
	}
	return construct_md_array(elems, nulls, 1, dims, lbs, TEXTOID, -1, false,
							  TYPALIGN_INT);
}

/* An int8[] of n values, negative values becoming NULL elements. */
static ArrayType *
count_array(const int64 *counts, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int			i;

	for (i = 0; i < n; i++)
	{
		nulls[i] = counts[i] < 0;
		elems[i] = Int64GetDatum(counts[i]);
	}
	return construct_md_array(elems, nulls, 1, dims, lbs, INT8OID, 8,
							  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/* Writes a multinomial model's K classes, in position order, with their rows. */
static void
write_classes(int32 model_id, int K, char *const *labels, const int64 *rows)
{
	Oid			types[3] = {INT4OID, TEXTARRAYOID, INT8ARRAYOID};
	Datum		values[3];

	values[0] = Int32GetDatum(model_id);
	values[1] = PointerGetDatum(text_array(labels, K));
	values[2] = PointerGetDatum(count_array(rows, K));
	spi_run("DELETE FROM unlearn.model_class WHERE model_id = $1",
			1, types, values, NULL, SPI_OK_DELETE, false);
	spi_run("INSERT INTO unlearn.model_class (model_id, position, label, rows)"
			" SELECT $1, u.o::integer, u.l, u.r"
			"   FROM unnest($2, $3) WITH ORDINALITY AS u(l, r, o)",
			3, types, values, NULL, SPI_OK_INSERT, false);
}

/* Inserts the terms of a model (inside an SPI connection). */
static void
insert_terms(int32 model_id, const TrainedModel *m)
{
	int			n = m->fit->nterms;
	char	  **columns = palloc(sizeof(char *) * n);
	char	  **levels = palloc(sizeof(char *) * n);
	double	   *centers = palloc(sizeof(double) * n);
	double	   *scales = palloc(sizeof(double) * n);
	int64	   *rows = palloc(sizeof(int64) * n);
	Oid			types[6] = {INT4OID, TEXTARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID,
	FLOAT8ARRAYOID, INT8ARRAYOID};
	Datum		values[6];
	int			i;

	for (i = 0; i < n; i++)
	{
		columns[i] = m->terms[i].column;
		levels[i] = m->terms[i].level;
		centers[i] = m->terms[i].center;
		scales[i] = m->terms[i].scale;
		rows[i] = m->terms[i].level_rows;
	}
	values[0] = Int32GetDatum(model_id);
	values[1] = PointerGetDatum(text_array(columns, n));
	values[2] = PointerGetDatum(text_array(levels, n));
	values[3] = PointerGetDatum(float8_array_build(centers, 0, n));
	values[4] = PointerGetDatum(float8_array_build(scales, 0, n));
	values[5] = PointerGetDatum(count_array(rows, n));
	spi_run("INSERT INTO unlearn.model_term"
			" (model_id, position, column_name, level, center, scale, level_rows)"
			" SELECT $1, u.o::integer, u.c, u.l, u.ce, u.sc, u.r"
			"   FROM unnest($2, $3, $4, $5, $6) WITH ORDINALITY AS u(c, l, ce, sc, r, o)",
			6, types, values, NULL, SPI_OK_INSERT, false);
	if (m->classes)
		write_classes(model_id, m->classes->n, m->classes->labels, m->classes->rows);
}

/* Number of fit parameters fit_values fills. */
#define NFIT 27

/*
 * The fit of a trained model as statement parameters, in the order the
 * INSERT and UPDATE below both use: n_params, theta, hessian, rows_trained,
 * rows_skipped, objective, gradient_norm, rcond, iterations, xty, gram,
 * theta_ref, max_row_norm, gradient_scale, ref_gradient, error_bound,
 * sum_terms, sum_norm2, rows_norm2, sum_rnorm, rows_rnorm, sum_znorm,
 * positives, separable, feature_sums, rows_held_out, max_logit.
 */
static void
fit_values(const TrainedModel *m, Oid *types, Datum *values)
{
	static const Oid fit_types[NFIT] = {INT4OID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
		INT8OID, INT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, INT4OID,
		FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8OID, FLOAT8OID,
		FLOAT8ARRAYOID, FLOAT8OID, INT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
	FLOAT8OID, FLOAT8OID, INT8OID, BOOLOID, FLOAT8ARRAYOID, INT8OID, FLOAT8OID};
	int			d = m->fit->nterms;
	int			np = m->fit->nparams > 0 ? m->fit->nparams : d;	/* K d for multinomial */
	const SumStats *st = &m->fit->stats;

	memcpy(types, fit_types, sizeof(fit_types));
	values[0] = Int32GetDatum(np);
	values[1] = PointerGetDatum(float8_array_build(m->fit->theta, 0, np));
	values[2] = PointerGetDatum(float8_array_build(m->fit->hessian, np, np));
	values[3] = Int64GetDatum(m->rows_trained);
	values[4] = Int64GetDatum(m->rows_skipped);
	values[5] = Float8GetDatum(m->fit->objective);
	values[6] = Float8GetDatum(m->fit->gradient_norm);
	values[7] = Float8GetDatum(m->fit->jacobi_rcond);	/* what min_rcond is held to */
	values[8] = Int32GetDatum(m->fit->iterations);
	/* X'y serves ridge only, X'X the Newton step's bound: each stores only its own. */
	values[9] = PointerGetDatum(!m->loss->constant_hessian ?
								construct_empty_array(FLOAT8OID) :
								float8_array_build(m->fit->xty, 0, d));
	values[10] = PointerGetDatum(!m->loss->constant_hessian ?
								 float8_array_build(m->fit->gram, d, d) :
								 construct_empty_array(FLOAT8OID));
	values[11] = PointerGetDatum(float8_array_build(m->fit->theta, 0, np));
	values[12] = Float8GetDatum(m->fit->max_row_norm);
	values[13] = Float8GetDatum(m->fit->gradient_scale);
	/* The gradient at theta_ref anchors the Newton step's bound (removal.c). */
	values[14] = PointerGetDatum(!m->loss->constant_hessian ?
								 float8_array_build(m->fit->gradient, 0, np) :
								 construct_empty_array(FLOAT8OID));
	/* The bound (rounding included) and what the rounding of the sums depends on. */
	values[15] = Float8GetDatum(m->fit->error_bound);
	values[16] = Int64GetDatum(st->terms);
	values[17] = Float8GetDatum(st->norm2);
	values[18] = Float8GetDatum(st->rows_norm2);
	values[19] = Float8GetDatum(st->rnorm);
	values[20] = Float8GetDatum(st->rows_rnorm);
	values[21] = Float8GetDatum(st->znorm);
	values[22] = Int64GetDatum(st->positives);
	values[23] = BoolGetDatum(m->fit->separable);
	/* The rows' sums the preprocessing follows after erasures (preprocessing.c). */
	values[24] = PointerGetDatum(m->feature_sums ?
								 float8_array_build(m->feature_sums, 0, 2 * d) :
								 construct_empty_array(FLOAT8OID));
	values[25] = Int64GetDatum(m->rows_held_out);
	values[26] = Float8GetDatum(st->max_logit);
}

/* Inserts a new model and its terms; returns its model_id. */
int32
catalog_insert_model(const TrainedModel *m)
{
	Oid			types[11 + NFIT] = {TEXTOID, TEXTOID, REGCLASSOID, TEXTOID, REGTYPEOID,
	TEXTOID, TEXTARRAYOID, JSONBOID};
	Datum		values[11 + NFIT];
	bool		isnull;
	int32		model_id;

	values[0] = CStringGetTextDatum(m->name);
	values[1] = CStringGetTextDatum(m->loss->name);
	values[2] = ObjectIdGetDatum(m->source);
	values[3] = CStringGetTextDatum(m->key_column);
	values[4] = ObjectIdGetDatum(m->key_type);
	values[5] = CStringGetTextDatum(m->target_column);
	values[6] = PointerGetDatum(m->feature_columns);
	values[7] = JsonbPGetDatum(m->options);
	fit_values(m, &types[8], &values[8]);
	types[8 + NFIT] = REGROLEOID;
	values[8 + NFIT] = ObjectIdGetDatum(m->owner);
	types[9 + NFIT] = INT4OID;
	values[9 + NFIT] = Int32GetDatum(m->source_id);
	types[10 + NFIT] = JSONBOID;
	values[10 + NFIT] = JsonbPGetDatum(m->skipped_features);

	SPI_connect();
	spi_run("INSERT INTO unlearn.model (name, model_type, source, key_column,"
			" key_type, target_column, feature_columns, options, n_params, theta,"
			" hessian, rows_trained, rows_skipped, objective, gradient_norm,"
			" rcond, iterations, xty, gram, theta_ref, max_row_norm,"
			" gradient_scale, ref_gradient, error_bound, sum_terms, sum_norm2,"
			" rows_norm2, sum_rnorm, rows_rnorm, sum_znorm, positives, separable,"
			" feature_sums, rows_held_out, max_logit, owner, source_id, skipped_features)"
			" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
			" $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26,"
			" $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38)"
			" ON CONFLICT (name) DO NOTHING RETURNING model_id",
			11 + NFIT, types, values, NULL, SPI_OK_INSERT_RETURNING, false);
	/* A concurrent creator of the same name committed first. */
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" already exists", m->name)));
	model_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	insert_terms(model_id, m);
	SPI_finish();
	return model_id;
}

/* Replaces the fit of an existing model (retrain); bumps its version. */
void
catalog_replace_fit(int32 model_id, const TrainedModel *m)
{
	Oid			types[4 + NFIT] = {INT4OID, TEXTOID, REGTYPEOID, TEXTARRAYOID};
	Datum		values[4 + NFIT];
	Oid			idtype[1] = {INT4OID};
	Datum		idvalue[1] = {Int32GetDatum(model_id)};

	values[0] = Int32GetDatum(model_id);
	values[1] = CStringGetTextDatum(m->key_column);
	values[2] = ObjectIdGetDatum(m->key_type);
	values[3] = PointerGetDatum(m->feature_columns);
	fit_values(m, &types[4], &values[4]);

	SPI_connect();
	spi_run("UPDATE unlearn.model SET key_column = $2, key_type = $3,"
			" feature_columns = $4, n_params = $5, theta = $6, hessian = $7,"
			" rows_trained = $8, rows_skipped = $9, rows_erased = 0,"
			" objective = $10, gradient_norm = $11, rcond = $12,"
			" iterations = $13, xty = $14, gram = $15, theta_ref = $16,"
			" max_row_norm = $17, gradient_scale = $18, ref_gradient = $19,"
			" error_bound = $20, sum_terms = $21, sum_norm2 = $22, rows_norm2 = $23,"
			" sum_rnorm = $24, rows_rnorm = $25, sum_znorm = $26, positives = $27,"
			" separable = $28, feature_sums = $29, rows_held_out = $30, max_logit = $31,"
			" refresh_requested = false,"
			" version = version + 1, state = 'ready', updated_at = now()"
			" WHERE model_id = $1",
			4 + NFIT, types, values, NULL, SPI_OK_UPDATE, false);
	pending_clear(model_id);	/* the new fit's matrices are stored whole */
	journal_clear(model_id);	/* a running refresh finds the request gone */
	spi_run("DELETE FROM unlearn.model_term WHERE model_id = $1",
			1, idtype, idvalue, NULL, SPI_OK_DELETE, false);
	insert_terms(model_id, m);
	SPI_finish();
}

/* Deletes a model, its terms and its lineage; returns its source (or 0). */
Oid
catalog_delete_model(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	Oid			idtype[1] = {INT4OID};
	Datum		idvalue[1];
	bool		isnull;
	Oid			source;

	SPI_connect();
	spi_run("DELETE FROM unlearn.model WHERE name = $1 RETURNING model_id, source",
			1, types, values, NULL, SPI_OK_DELETE_RETURNING, false);
	if (SPI_processed == 0)
	{
		SPI_finish();
		return InvalidOid;
	}
	idvalue[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	source = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											2, &isnull));
	spi_run("DELETE FROM unlearn.model_term WHERE model_id = $1",
			1, idtype, idvalue, NULL, SPI_OK_DELETE, false);
	spi_run("DELETE FROM unlearn.model_class WHERE model_id = $1",
			1, idtype, idvalue, NULL, SPI_OK_DELETE, false);
	lineage_delete(DatumGetInt32(idvalue[0]));
	distributed_drop(DatumGetInt32(idvalue[0]), source);
	pending_clear(DatumGetInt32(idvalue[0]));
	journal_clear(DatumGetInt32(idvalue[0]));
	SPI_finish();
	return source;
}

/* A text column of the current SPI row, copied into cxt (NULL stays NULL). */
static char *
spi_text(HeapTuple tuple, TupleDesc tupdesc, int col, MemoryContext cxt)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, tupdesc, col, &isnull);
	MemoryContext old;
	char	   *s;

	if (isnull)
		return NULL;
	old = MemoryContextSwitchTo(cxt);
	s = TextDatumGetCString(d);
	MemoryContextSwitchTo(old);
	return s;
}

/* Raises the error for stored model state that cannot be right. */
static void
corrupt_model(const char *name, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("stored state of model \"%s\" is corrupt", name),
			 errdetail("%s", what),
			 errhint("Retrain the model with unlearn.retrain, or drop it.")));
}

/* Loads a model by name into the current memory context. */
StoredModel *
catalog_load_model(const char *name, bool lock_row)
{
	MemoryContext cxt = CurrentMemoryContext;
	StoredModel *m = palloc0(sizeof(StoredModel));
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	Oid			idtype[1] = {INT4OID};
	Datum		idvalue[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *type;
	int			rows,
				cols;
	uint64		i;
	MemoryContext old;

	SPI_connect();
	spi_run(lock_row ?
			"SELECT model_id, model_type, source, key_column, key_type, target_column,"
			" feature_columns, options, version, state, n_params, theta, source_id,"
			" refresh_requested"
			" FROM unlearn.model WHERE name = $1 FOR UPDATE" :
			"SELECT model_id, model_type, source, key_column, key_type, target_column,"
			" feature_columns, options, version, state, n_params, theta, source_id,"
			" refresh_requested"
			" FROM unlearn.model WHERE name = $1",
			1, types, values, NULL, SPI_OK_SELECT, !lock_row);
	if (SPI_processed == 0)
	{
		SPI_finish();
		catalog_missing_model(name);
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	m->model_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	m->name = MemoryContextStrdup(cxt, name);
	type = spi_text(tup, desc, 2, cxt);
	m->loss = loss_by_name(type);
	if (m->loss == NULL)
		corrupt_model(name, psprintf("Unknown model type \"%s\".", type));
	m->source = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
	m->source_id = DatumGetInt32(SPI_getbinval(tup, desc, 13, &isnull));
	m->key_column = spi_text(tup, desc, 4, cxt);
	m->key_type = DatumGetObjectId(SPI_getbinval(tup, desc, 5, &isnull));
	m->target_column = spi_text(tup, desc, 6, cxt);
	old = MemoryContextSwitchTo(cxt);
	m->feature_columns = DatumGetArrayTypePCopy(SPI_getbinval(tup, desc, 7, &isnull));
	m->options_jsonb = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 8, &isnull));
	parse_train_options(m->options_jsonb, &m->options);
	m->theta = float8_array_values(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 12, &isnull)),
								   "theta", &rows, &cols);
	MemoryContextSwitchTo(old);
	m->version = DatumGetInt64(SPI_getbinval(tup, desc, 9, &isnull));
	m->state = spi_text(tup, desc, 10, cxt);
	m->nterms = DatumGetInt32(SPI_getbinval(tup, desc, 11, &isnull));
	m->refresh_requested = DatumGetBool(SPI_getbinval(tup, desc, 14, &isnull));
	if (rows * cols != m->nterms)
		corrupt_model(name, psprintf("It has %d parameters for %d terms.",
									 rows * cols, m->nterms));

	idvalue[0] = Int32GetDatum(m->model_id);
	m->nclasses = 1;
	if (m->loss->multiclass)
	{
		/* Multinomial: K classes, a block of terms each (class-major theta). */
		spi_run("SELECT label, rows FROM unlearn.model_class WHERE model_id = $1 ORDER BY position",
				1, idtype, idvalue, NULL, SPI_OK_SELECT, !lock_row);
		m->nclasses = (int) SPI_processed;
		if (m->nclasses < 2 || m->nterms % m->nclasses != 0)
			corrupt_model(name, psprintf("It has %d parameters for %d classes.",
										 m->nterms, m->nclasses));
		m->class_labels = MemoryContextAlloc(cxt, sizeof(char *) * m->nclasses);
		m->class_rows = MemoryContextAlloc(cxt, sizeof(int64) * m->nclasses);
		for (i = 0; i < (uint64) m->nclasses; i++)
		{
			m->class_labels[i] = spi_text(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, cxt);
			m->class_rows[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 2, &isnull));
		}
		m->nterms /= m->nclasses;
	}
	/* As the row: locked, the terms this very command wrote are the model's. */
	spi_run("SELECT column_name, level, center, scale, level_rows, position"
			" FROM unlearn.model_term WHERE model_id = $1 ORDER BY position",
			1, idtype, idvalue, NULL, SPI_OK_SELECT, !lock_row);
	if (SPI_processed != (uint64) m->nterms)
		corrupt_model(name, psprintf("It has " UINT64_FORMAT " term rows for %d parameters.",
									 SPI_processed, m->nterms));
	m->terms = MemoryContextAllocZero(cxt, sizeof(ModelTerm) * m->nterms);
	desc = SPI_tuptable->tupdesc;
	for (i = 0; i < SPI_processed; i++)
	{
		ModelTerm  *t = &m->terms[i];

		tup = SPI_tuptable->vals[i];
		if (DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull)) != (int32) i + 1)
			corrupt_model(name, "Its term positions are not 1 to n.");
		t->column = spi_text(tup, desc, 1, cxt);
		t->level = spi_text(tup, desc, 2, cxt);
		t->center = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
		t->scale = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
		t->level_rows = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		if (isnull)
			t->level_rows = -1;
		if (!(t->scale > 0) || !isfinite(t->center) || !isfinite(t->scale))
			corrupt_model(name, "A term has an invalid scale or center.");
	}
	for (i = 0; i < (uint64) m->nterms; i++)
		if (!isfinite(m->theta[i]))
			corrupt_model(name, "A parameter is NaN or infinite.");
	SPI_finish();
	return m;
}

/* The unlearn.models row of a model, as the calling function's result. */
Datum
catalog_models_row(FunctionCallInfo fcinfo, const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	TupleDesc	result_desc;
	Datum	   *row;
	bool	   *nulls;
	HeapTuple	result;
	MemoryContext caller = CurrentMemoryContext;

	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "function returning unlearn.models called in a wrong context");
	result_desc = BlessTupleDesc(result_desc);

	SPI_connect();
	/* Not read-only: the row was written by this very command. */
	if (SPI_execute_with_args("SELECT * FROM unlearn.models WHERE name = $1",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1 ||
		SPI_tuptable->tupdesc->natts != result_desc->natts)
		elog(ERROR, "could not read back model \"%s\"", name);
	row = MemoryContextAlloc(caller, sizeof(Datum) * result_desc->natts);
	nulls = MemoryContextAlloc(caller, sizeof(bool) * result_desc->natts);
	heap_deform_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, row, nulls);
	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		result = heap_form_tuple(result_desc, row, nulls);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return HeapTupleGetDatum(result);
}

/*
 * A float8[] column of the current SPI row, copied, checked to have n
 * values; NULL for an empty array when empty_ok.
 */
static double *
spi_vector(HeapTuple tup, TupleDesc desc, int col, int n, MemoryContext cxt,
		   const char *what, bool empty_ok)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);
	int			rows,
				cols;
	double	   *v;
	MemoryContext old;

	if (isnull)
		elog(ERROR, "model state %s is NULL", what);
	if (empty_ok && ARR_NDIM(DatumGetArrayTypeP(d)) == 0)
		return NULL;
	old = MemoryContextSwitchTo(cxt);
	v = float8_array_values(DatumGetArrayTypeP(d), what, &rows, &cols);
	MemoryContextSwitchTo(old);
	if (rows * cols != n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored state of a model is corrupt"),
				 errdetail("Its %s has %d values, not %d.", what, rows * cols, n)));
	return v;
}

/* Loads what erasure changes in a model whose row the caller locked. */
void
catalog_load_removal(int32 model_id, int d, int nclasses, RemovalState *s,
					 double *gradient_scale, int64 *rows_now)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(model_id)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	SPI_connect();
	spi_run("SELECT theta, hessian, xty, gram, theta_ref, max_row_norm, error_bound,"
			" gradient_scale, rows_trained - rows_erased, ref_gradient, sum_terms,"
			" sum_norm2, rows_norm2, sum_rnorm, rows_rnorm, sum_znorm, positives,"
			" separable, feature_sums, max_logit"
			" FROM unlearn.model WHERE model_id = $1",
			1, types, values, NULL, SPI_OK_SELECT, false);
	if (SPI_processed != 1)
		elog(ERROR, "model %d vanished", model_id);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	memset(s, 0, sizeof(RemovalState));
	s->d = d;
	s->nclasses = Max(nclasses, 1);
	/* Multinomial: K blocks of the d terms' parameters; X'X and sums stay d. */
	s->theta = spi_vector(tup, desc, 1, d * nclasses, cxt, "theta", false);
	s->hessian = spi_vector(tup, desc, 2, d * nclasses * d * nclasses, cxt, "hessian", false);
	s->xty = spi_vector(tup, desc, 3, d, cxt, "xty", true);
	s->gram = spi_vector(tup, desc, 4, d * d, cxt, "gram", true);
	s->theta_ref = spi_vector(tup, desc, 5, d * nclasses, cxt, "theta_ref", false);
	s->max_row_norm = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &isnull));
	s->error_bound = DatumGetFloat8(SPI_getbinval(tup, desc, 7, &isnull));
	*gradient_scale = DatumGetFloat8(SPI_getbinval(tup, desc, 8, &isnull));
	*rows_now = DatumGetInt64(SPI_getbinval(tup, desc, 9, &isnull));
	s->ref_gradient = spi_vector(tup, desc, 10, d * nclasses, cxt, "ref_gradient", true);
	s->stats.terms = DatumGetInt64(SPI_getbinval(tup, desc, 11, &isnull));
	s->stats.norm2 = DatumGetFloat8(SPI_getbinval(tup, desc, 12, &isnull));
	s->stats.rows_norm2 = DatumGetFloat8(SPI_getbinval(tup, desc, 13, &isnull));
	s->stats.rnorm = DatumGetFloat8(SPI_getbinval(tup, desc, 14, &isnull));
	s->stats.rows_rnorm = DatumGetFloat8(SPI_getbinval(tup, desc, 15, &isnull));
	s->stats.znorm = DatumGetFloat8(SPI_getbinval(tup, desc, 16, &isnull));
	s->stats.positives = DatumGetInt64(SPI_getbinval(tup, desc, 17, &isnull));
	s->separable = DatumGetBool(SPI_getbinval(tup, desc, 18, &isnull));
	s->feature_sums = spi_vector(tup, desc, 19, 2 * d, cxt, "feature_sums", true);
	s->stats.max_logit = DatumGetFloat8(SPI_getbinval(tup, desc, 20, &isnull));
	/* Ridge keeps X'y; logistic X'X and the gradient at theta_ref. */
	if ((s->xty == NULL) == (s->gram == NULL) ||
		(s->gram == NULL) != (s->ref_gradient == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored state of a model is corrupt"),
				 errdetail("Its X'y, X'X and gradient at the reference point do not fit one model type.")));
	SPI_finish();
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		s->pending = pending_load(model_id, d, &s->npending);
		s->nstored = s->npending;
		MemoryContextSwitchTo(old);
	}
}

/*
 * Marks a model whose rows left it without a new fit (needs_retrain,
 * empty): rows_erased += removed, the state, a new version; returns it.
 */
int64
catalog_set_state(int32 model_id, int64 removed, const char *state)
{
	Oid			types[3] = {INT4OID, INT8OID, TEXTOID};
	Datum		values[3];
	int64		version;
	bool		isnull;

	values[0] = Int32GetDatum(model_id);
	values[1] = Int64GetDatum(removed);
	values[2] = CStringGetTextDatum(state);
	SPI_connect();
	spi_run("UPDATE unlearn.model SET rows_erased = rows_erased + $2, state = $3,"
			" refresh_requested = false,"
			" version = version + 1, updated_at = now()"
			" WHERE model_id = $1 RETURNING version",
			3, types, values, NULL, SPI_OK_UPDATE_RETURNING, false);
	version = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										  1, &isnull));
	journal_clear(model_id);
	SPI_finish();
	return version;
}

/* Records a retrain that found no row (see catalog.h). */
int64
catalog_set_empty(int32 model_id, int64 rows_skipped)
{
	Oid			types[2] = {INT4OID, INT8OID};
	Datum		values[2];
	int64		version;
	bool		isnull;

	values[0] = Int32GetDatum(model_id);
	values[1] = Int64GetDatum(rows_skipped);
	SPI_connect();
	spi_run("UPDATE unlearn.model SET rows_trained = 0, rows_skipped = $2, rows_erased = 0,"
			" state = 'empty', refresh_requested = false,"
			" version = version + 1, updated_at = now()"
			" WHERE model_id = $1 RETURNING version",
			2, types, values, NULL, SPI_OK_UPDATE_RETURNING, false);
	version = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										  1, &isnull));
	pending_clear(model_id);
	journal_clear(model_id);
	SPI_finish();
	return version;
}

/* Renames a column in a model's stored configuration. */
void
catalog_rename_column(const char *name, const char *old_name, const char *new_name)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(old_name);
	values[2] = CStringGetTextDatum(new_name);
	SPI_connect();
	spi_run("UPDATE unlearn.model SET"
			" key_column = CASE key_column WHEN $2 THEN $3 ELSE key_column END,"
			" target_column = CASE target_column WHEN $2 THEN $3 ELSE target_column END,"
			" feature_columns = array_replace(feature_columns, $2, $3),"
			" options = CASE WHEN options->>'key' = $2 THEN jsonb_set(options, '{key}', to_jsonb($3))"
			" WHEN options->>'exposure' = $2 THEN jsonb_set(options, '{exposure}', to_jsonb($3))"
			" ELSE options END, updated_at = now()"
			" WHERE name = $1",
			3, types, values, NULL, SPI_OK_UPDATE, false);
	spi_run("UPDATE unlearn.model_term t SET column_name = $3 FROM unlearn.model m"
			" WHERE m.name = $1 AND t.model_id = m.model_id AND t.column_name = $2",
			3, types, values, NULL, SPI_OK_UPDATE, false);
	SPI_finish();
}

/* Replaces the stored text of a model's filter. */
void
catalog_set_filter(const char *name, const char *text)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(text);
	SPI_connect();
	spi_run("UPDATE unlearn.model SET options = jsonb_set(options, '{where}', to_jsonb($2)),"
			" updated_at = now() WHERE name = $1",
			2, types, values, NULL, SPI_OK_UPDATE, false);
	SPI_finish();
}

/* Column number of a column of unlearn.model; an error if it is missing. */
static AttrNumber
model_attnum(Relation rel, const char *column)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), column);

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "table unlearn.model has no column \"%s\"", column);
	return attnum;
}

/*
 * Saves a ready model after rows left it: its new state from s, straight
 * through the table AM (see tablerow.c), at the row version the caller
 * holds locked (ctid).  Returns the new version and the new row's xmin
 * and ctid.
 */
int64
catalog_save_ready(int32 model_id, ItemPointer ctid, const RemovalState *s,
				   int64 removed, bool refresh_requested,
				   TransactionId *xmin, ItemPointer new_ctid)
{
	Relation	rel = table_open(tablerow_relid("model"), RowExclusiveLock);
	TupleDesc	desc = RelationGetDescr(rel);
	int			natts = desc->natts;
	Datum	   *values = palloc0(sizeof(Datum) * natts);
	bool	   *nulls = palloc0(sizeof(bool) * natts);
	bool	   *replace = palloc0(sizeof(bool) * natts);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	HeapTuple	old,
				tup;
	bool		isnull;
	int64		version;
	AttrNumber	a;

	if (!table_tuple_fetch_row_version(rel, ctid, SnapshotAny, slot))
		elog(ERROR, "locked model row (%u,%u) is missing",
			 ItemPointerGetBlockNumber(ctid), ItemPointerGetOffsetNumber(ctid));
	old = ExecFetchSlotHeapTuple(slot, false, NULL);

#define SET_COLUMN(name, datum) \
	(a = model_attnum(rel, name), values[a - 1] = (datum), replace[a - 1] = true)
	SET_COLUMN("theta", PointerGetDatum(float8_array_build(s->theta, 0, removal_params(s))));
	if (s->xty)
		SET_COLUMN("xty", PointerGetDatum(float8_array_build(s->xty, 0, s->d)));
	if (s->rebase)
	{
		/*
		 * The Hessian and X'X as they are now; no row is pending.  theta_ref
		 * moves only with a rebase (a refresh, dropped terms): rewriting it
		 * otherwise cost a TOAST write per erasure at large d.
		 */
		SET_COLUMN("hessian", PointerGetDatum(float8_array_build(s->hessian, removal_params(s),
																 removal_params(s))));
		SET_COLUMN("theta_ref", PointerGetDatum(float8_array_build(s->theta_ref, 0,
																   removal_params(s))));
		if (s->gram)
			SET_COLUMN("gram", PointerGetDatum(float8_array_build(s->gram, s->d, s->d)));
		pending_clear(model_id);
	}
	else
		pending_append(model_id, s->nstored, &s->pending[(Size) s->nstored * (s->d + 1)],
					   s->npending - s->nstored, s->d);
	if (s->ref_gradient)
		SET_COLUMN("ref_gradient", PointerGetDatum(float8_array_build(s->ref_gradient, 0,
																	  removal_params(s))));
	if (s->feature_sums)
		SET_COLUMN("feature_sums", PointerGetDatum(float8_array_build(s->feature_sums, 0, 2 * s->d)));
	SET_COLUMN("error_bound", Float8GetDatum(s->error_bound));
	SET_COLUMN("sum_terms", Int64GetDatum(s->stats.terms));
	SET_COLUMN("sum_norm2", Float8GetDatum(s->stats.norm2));
	SET_COLUMN("rows_norm2", Float8GetDatum(s->stats.rows_norm2));
	SET_COLUMN("sum_rnorm", Float8GetDatum(s->stats.rnorm));
	SET_COLUMN("rows_rnorm", Float8GetDatum(s->stats.rows_rnorm));
	SET_COLUMN("sum_znorm", Float8GetDatum(s->stats.znorm));
	SET_COLUMN("positives", Int64GetDatum(s->stats.positives));
	SET_COLUMN("max_logit", Float8GetDatum(s->stats.max_logit));
	SET_COLUMN("max_row_norm", Float8GetDatum(s->max_row_norm));
	SET_COLUMN("separable", BoolGetDatum(s->separable));
	SET_COLUMN("n_params", Int32GetDatum(removal_params(s)));
	a = model_attnum(rel, "rows_erased");
	SET_COLUMN("rows_erased",
			   Int64GetDatum(DatumGetInt64(heap_getattr(old, a, desc, &isnull)) + removed));
	a = model_attnum(rel, "version");
	version = DatumGetInt64(heap_getattr(old, a, desc, &isnull)) + 1;
	SET_COLUMN("version", Int64GetDatum(version));
	SET_COLUMN("state", CStringGetTextDatum("ready"));
	SET_COLUMN("refresh_requested", BoolGetDatum(refresh_requested));
	SET_COLUMN("updated_at", TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));
#undef SET_COLUMN

	tup = heap_modify_tuple(old, desc, values, nulls, replace);
	tablerow_update(rel, ctid, tup);
	*xmin = HeapTupleHeaderGetXmin(tup->t_data);
	*new_ctid = tup->t_self;
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	return version;
}

/* Rewrites the center and scale of a model's numeric terms. */
void
catalog_update_frame(int32 model_id, const ModelTerm *terms, int d)
{
	Datum	   *pos = palloc(sizeof(Datum) * d);
	Datum	   *centers = palloc(sizeof(Datum) * d);
	Datum	   *scales = palloc(sizeof(Datum) * d);
	Oid			types[4] = {INT4OID, INT4ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID};
	Datum		values[4];
	int			n = 0,
				t;

	for (t = 0; t < d; t++)
	{
		if (terms[t].column == NULL || terms[t].level != NULL)
			continue;
		pos[n] = Int32GetDatum(t + 1);
		centers[n] = Float8GetDatum(terms[t].center);
		scales[n++] = Float8GetDatum(terms[t].scale);
	}
	if (n == 0)
		return;
	values[0] = Int32GetDatum(model_id);
	values[1] = PointerGetDatum(construct_array(pos, n, INT4OID, 4, true, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(centers, n, FLOAT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	values[3] = PointerGetDatum(construct_array(scales, n, FLOAT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	SPI_connect();
	spi_run("UPDATE unlearn.model_term t SET center = u.center, scale = u.scale"
			" FROM unnest($2, $3, $4) AS u(position, center, scale)"
			" WHERE t.model_id = $1 AND t.position = u.position",
			4, types, values, NULL, SPI_OK_UPDATE, false);
	SPI_finish();
}

/* Multinomial: the model's classes are these K now (others left with no row). */
void
catalog_replace_classes(int32 model_id, int K, char *const *labels, const int64 *rows)
{
	SPI_connect();
	write_classes(model_id, K, labels, rows);
	SPI_finish();
}

/* Multinomial: adds delta (K, in position order) to the classes' row counts. */
void
catalog_update_class_rows(int32 model_id, int K, const int64 *delta)
{
	Oid			types[2] = {INT4OID, INT8ARRAYOID};
	Datum		values[2];
	Datum	   *elems = palloc(sizeof(Datum) * K);
	int			k;

	for (k = 0; k < K; k++)
		elems[k] = Int64GetDatum(delta[k]);
	values[0] = Int32GetDatum(model_id);
	values[1] = PointerGetDatum(construct_array(elems, K, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	SPI_connect();
	spi_run("UPDATE unlearn.model_class c SET rows = c.rows + u.delta"
			"  FROM unnest($2) WITH ORDINALITY AS u(delta, position)"
			" WHERE c.model_id = $1 AND c.position = u.position AND u.delta <> 0",
			2, types, values, NULL, SPI_OK_UPDATE, false);
	SPI_finish();
}

/* Applies level-count changes to a model's terms and deletes dead ones. */
void
catalog_update_terms(int32 model_id, int d, const int64 *delta, const bool *dead)
{
	Datum	   *pos = palloc(sizeof(Datum) * d);
	Datum	   *del = palloc(sizeof(Datum) * d);
	Datum	   *dpos = palloc(sizeof(Datum) * d);
	int			nchanged = 0,
				ndead = 0,
				t;
	Oid			types[3] = {INT4OID, INT4ARRAYOID, INT8ARRAYOID};
	Datum		values[3];

	for (t = 0; t < d; t++)
	{
		if (dead[t])
			dpos[ndead++] = Int32GetDatum(t + 1);
		else if (delta[t] != 0)
		{
			pos[nchanged] = Int32GetDatum(t + 1);
			del[nchanged++] = Int64GetDatum(delta[t]);
		}
	}
	if (nchanged == 0 && ndead == 0)
		return;
	values[0] = Int32GetDatum(model_id);
	SPI_connect();
	if (nchanged > 0)
	{
		values[1] = PointerGetDatum(construct_array(pos, nchanged, INT4OID, 4, true, TYPALIGN_INT));
		values[2] = PointerGetDatum(construct_array(del, nchanged, INT8OID, 8, FLOAT8PASSBYVAL,
													TYPALIGN_DOUBLE));
		spi_run("UPDATE unlearn.model_term t SET level_rows = t.level_rows + u.delta"
				" FROM unnest($2, $3) AS u(position, delta)"
				" WHERE t.model_id = $1 AND t.position = u.position AND t.level_rows IS NOT NULL",
				3, types, values, NULL, SPI_OK_UPDATE, false);
	}
	if (ndead > 0)
	{
		values[1] = PointerGetDatum(construct_array(dpos, ndead, INT4OID, 4, true, TYPALIGN_INT));
		spi_run("DELETE FROM unlearn.model_term WHERE model_id = $1 AND position = ANY ($2)",
				2, types, values, NULL, SPI_OK_DELETE, false);
		/* Renumber 1..n in two steps, so no two rows ever share a position. */
		spi_run("UPDATE unlearn.model_term t SET position = -n.p"
				" FROM (SELECT position, row_number() OVER (ORDER BY position) AS p"
				"       FROM unlearn.model_term WHERE model_id = $1) n"
				" WHERE t.model_id = $1 AND t.position = n.position",
				1, types, values, NULL, SPI_OK_UPDATE, false);
		spi_run("UPDATE unlearn.model_term SET position = -position WHERE model_id = $1",
				1, types, values, NULL, SPI_OK_UPDATE, false);
	}
	SPI_finish();
}
