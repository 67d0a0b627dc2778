/*-------------------------------------------------------------------------
 *
 * pending.c
 *	  The rows changed since a model's Hessian was stored (unlearn.model_pending).
 *
 * An erasure appends its rows here (sign +1 for a row taken out, -1 for a
 * row put in, then the row's terms) instead of rewriting the model's d x d
 * Hessian and X'X; every so many erasures the matrices are stored again
 * and the rows deleted (see removal.c).  Appending runs on every erasure,
 * so it goes through the table AM (tablerow.c); loading and clearing are
 * rare and use SQL.
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
#include "pending.h"
#include "spi_cache.h"
#include "tablerow.h"

/* Column numbers of unlearn.model_pending. */
#define Anum_pending_model_id	1
#define Anum_pending_seq		2
#define Anum_pending_terms		3
#define Natts_pending			3

/*
 * A model's pending rows, in order, as n x (d + 1) doubles (the sign,
 * scaled by the row's exposure for a Poisson model with one, so +-1
 * otherwise; then the terms) in the current memory context; NULL when
 * there are none.
 */
double *
pending_load(int32 model_id, int d, int *n)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(model_id)};
	double	   *rows = NULL;
	uint64		i;

	*n = 0;
	SPI_connect();
	if (spi_execute_cached("SELECT seq, terms FROM unlearn.model_pending"
						   " WHERE model_id = $1 ORDER BY seq",
						   1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the pending rows of model %d", model_id);
	if (SPI_processed > 0)
		rows = MemoryContextAlloc(cxt, sizeof(double) * SPI_processed * (d + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int32		seq = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
													  SPI_tuptable->tupdesc, 1, &isnull));
		ArrayType  *a = DatumGetArrayTypeP(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 2, &isnull));
		int			nr,
					nc;
		double	   *v = float8_array_values(a, "pending row", &nr, &nc);

		if (seq != (int32) i || nr * nc != d + 1 || !(isfinite(v[0]) && v[0] != 0.0))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("stored state of a model is corrupt"),
					 errdetail("Pending row %d of model %d is not row %d of %d terms with a sign.",
							   seq, model_id, (int) i, d)));
		memcpy(&rows[i * (d + 1)], v, sizeof(double) * (d + 1));
	}
	*n = (int) SPI_processed;
	SPI_finish();
	return rows;
}

/* Stores n more pending rows of a model, numbered from first on. */
void
pending_append(int32 model_id, int first, const double *rows, int n, int d)
{
	Relation	rel;
	Datum		values[Natts_pending];
	bool		nulls[Natts_pending] = {0};
	int			i;

	if (n == 0)
		return;
	rel = table_open(tablerow_relid("model_pending"), RowExclusiveLock);
	if (RelationGetDescr(rel)->natts != Natts_pending)
		elog(ERROR, "table unlearn.model_pending has %d columns, expected %d",
			 RelationGetDescr(rel)->natts, Natts_pending);
	for (i = 0; i < n; i++)
	{
		values[Anum_pending_model_id - 1] = Int32GetDatum(model_id);
		values[Anum_pending_seq - 1] = Int32GetDatum(first + i);
		values[Anum_pending_terms - 1] =
			PointerGetDatum(float8_array_build(&rows[(Size) i * (d + 1)], 0, d + 1));
		tablerow_insert(rel, values, nulls);
	}
	table_close(rel, NoLock);
	CommandCounterIncrement();
}

/* Deletes a model's pending rows. */
void
pending_clear(int32 model_id)
{
	spi_delete_model_rows("DELETE FROM unlearn.model_pending WHERE model_id = $1",
						  model_id, "pending rows");
}
