/*-------------------------------------------------------------------------
 *
 * spi_cache.c
 *	  SPI statements prepared once per backend.
 *
 * The erasure triggers and the catalog run the same few statements on
 * every DELETE; planning them every time would cost more than running
 * them.  Plans are kept with SPI_keepplan, so the plan cache revalidates
 * them when the tables they read change (or are dropped and recreated).
 *
 * Every one of these statements selects by the key of an index, on the
 * extension's small tables; but those tables gather dead row versions
 * fast (a model's row is rewritten on every erasure) while their
 * statistics still say "one page", and a plan built on that estimate
 * scans them whole.  So they are planned and run with sequential scans
 * off: their plans reach rows through the indexes whatever the estimates.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "catalog/pg_type.h"
#include "utils/guc.h"

#include "spi_cache.h"

#define MAX_CACHED_PLANS 64

/* A kept plan and the SQL literal it was prepared from. */
typedef struct KeptPlan
{
	const char *sql;
	SPIPlanPtr	plan;
} KeptPlan;

static KeptPlan plans[MAX_CACHED_PLANS];
static int	nplans = 0;

/* Runs a statement through its kept plan, preparing it on first use. */
int
spi_execute_cached(const char *sql, int nargs, Oid *types, Datum *values,
				   const char *nulls, bool read_only, long count)
{
	SPIPlanPtr	plan = NULL;
	int			nestlevel;
	int			rc;
	int			i;

	nestlevel = NewGUCNestLevel();
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	for (i = 0; i < nplans; i++)
	{
		if (plans[i].sql == sql)
		{
			plan = plans[i].plan;
			break;
		}
	}
	if (plan == NULL)
	{
		plan = SPI_prepare(sql, nargs, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed (%s): %s",
				 SPI_result_code_string(SPI_result), sql);
		if (nplans < MAX_CACHED_PLANS)
		{
			if (SPI_keepplan(plan) != 0)
				elog(ERROR, "SPI_keepplan failed");
			plans[nplans].sql = sql;
			plans[nplans].plan = plan;
			nplans++;
		}
	}
	rc = SPI_execute_plan(plan, values, nulls, read_only, count);
	AtEOXact_GUC(true, nestlevel);
	return rc;
}

/* Appends column col (an OID) of every row of the last SPI result to *oids, in cxt. */
void
spi_append_oids(List **oids, int col, MemoryContext cxt)
{
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		value = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
										  col, &isnull);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		if (!isnull)
			*oids = lappend_oid(*oids, DatumGetObjectId(value));
		MemoryContextSwitchTo(old);
	}
}

/* Deletes a model's rows from one of the extension's tables (see spi_cache.h). */
void
spi_delete_model_rows(const char *sql, int32 model_id, const char *what)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(model_id)};

	SPI_connect();
	if (spi_execute_cached(sql, 1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete the %s of model %d", what, model_id);
	SPI_finish();
}
