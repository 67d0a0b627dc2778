/*-------------------------------------------------------------------------
 *
 * refresh_journal.c
 *	  The rows erasures change in a model while a background refresh is
 *	  asked for (unlearn.refresh_journal).
 *
 * A background refresh sums a model's rows from its own snapshot, without
 * the model's lock; erasures go on meanwhile.  Each of them, while the
 * model's refresh_requested is set, journals the rows it took out or put
 * in, with their labels, at the version it made.  The refresh, under the
 * lock again, folds in the entries after its snapshot's version: every
 * version must have its entry, or something else changed the model and
 * the refresh starts again (see refresh_worker.c).  Appending runs on
 * erasures, so it goes through the table AM (tablerow.c); loading and
 * clearing use SQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/rel.h"

#include "arrayutil.h"
#include "refresh_journal.h"
#include "spi_cache.h"
#include "tablerow.h"

/* Column numbers of unlearn.refresh_journal. */
#define Anum_journal_model_id	1
#define Anum_journal_version	2
#define Anum_journal_rows		3
#define Anum_journal_terms		4
#define Natts_journal			4

/*
 * Copies n rows of d terms with their labels and sign into out, (d + 2)
 * each; the sign scaled by each row's exposure (NULL: 1), as pending rows
 * carry it.
 */
static double *
journal_rows(double *out, double sign, const double *X, const double *y,
			 const double *exposure, int n, int d)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		out[0] = sign * (exposure ? exposure[i] : 1.0);
		out[1] = y[i];
		memcpy(&out[2], &X[(Size) i * d], sizeof(double) * d);
		out += d + 2;
	}
	return out;
}

/* Journals a change of a model that made version (see refresh_journal.h). */
void
journal_append(int32 model_id, int64 version, int d, const double *X, const double *y,
			   const double *exposure, int k, const double *XA, const double *yA,
			   const double *exposureA, int a)
{
	Relation	rel;
	Datum		values[Natts_journal];
	bool		nulls[Natts_journal] = {0};
	double	   *terms = palloc(sizeof(double) * Max(k + a, 1) * (d + 2));
	double	   *end;

	end = journal_rows(terms, 1.0, X, y, exposure, k, d);
	journal_rows(end, -1.0, XA, yA, exposureA, a, d);
	rel = table_open(tablerow_relid("refresh_journal"), RowExclusiveLock);
	if (RelationGetDescr(rel)->natts != Natts_journal)
		elog(ERROR, "table unlearn.refresh_journal has %d columns, expected %d",
			 RelationGetDescr(rel)->natts, Natts_journal);
	values[Anum_journal_model_id - 1] = Int32GetDatum(model_id);
	values[Anum_journal_version - 1] = Int64GetDatum(version);
	values[Anum_journal_rows - 1] = Int32GetDatum(k + a);
	values[Anum_journal_terms - 1] =
		PointerGetDatum(float8_array_build(terms, 0, (k + a) * (d + 2)));
	tablerow_insert(rel, values, nulls);
	table_close(rel, NoLock);
	pfree(terms);
	CommandCounterIncrement();
}

/* A model's journaled changes after version, in order (see refresh_journal.h). */
JournalEntry *
journal_load(int32 model_id, int64 after, int d, int *n)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			types[2] = {INT4OID, INT8OID};
	Datum		values[2] = {Int32GetDatum(model_id), Int64GetDatum(after)};
	JournalEntry *entries = NULL;
	uint64		i;

	*n = 0;
	SPI_connect();
	if (spi_execute_cached("SELECT version, rows, terms FROM unlearn.refresh_journal"
						   " WHERE model_id = $1 AND version > $2 ORDER BY version",
						   2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the refresh journal of model %d", model_id);
	if (SPI_processed > 0)
		entries = MemoryContextAlloc(cxt, sizeof(JournalEntry) * SPI_processed);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		JournalEntry *e = &entries[i];
		ArrayType  *a;
		double	   *v;
		int			nr,
					nc,
					r;

		e->version = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		e->rows = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		a = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 3, &isnull));
		v = float8_array_values(a, "journaled rows", &nr, &nc);
		if (e->rows < 0 || (int64) nr * nc != (int64) e->rows * (d + 2))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("stored state of a model is corrupt"),
					 errdetail("Refresh journal entry " INT64_FORMAT " of model %d is not %d rows of %d terms.",
							   e->version, model_id, e->rows, d)));
		for (r = 0; r < e->rows; r++)
			if (!(isfinite(v[(Size) r * (d + 2)]) && v[(Size) r * (d + 2)] != 0.0))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("stored state of a model is corrupt"),
						 errdetail("Refresh journal entry " INT64_FORMAT " of model %d has a row without a sign.",
								   e->version, model_id)));
		e->terms = MemoryContextAlloc(cxt, sizeof(double) * Max(nr * nc, 1));
		memcpy(e->terms, v, sizeof(double) * nr * nc);
	}
	*n = (int) SPI_processed;
	SPI_finish();
	return entries;
}

/* Deletes a model's journaled changes. */
void
journal_clear(int32 model_id)
{
	spi_delete_model_rows("DELETE FROM unlearn.refresh_journal WHERE model_id = $1",
						  model_id, "refresh journal");
}
