/*-------------------------------------------------------------------------
 *
 * citus_guard.c
 *	  Tables Citus manages (see citus_guard.h), found in its catalog
 *	  pg_dist_partition when the citus extension is installed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "citus_guard.h"

/*
 * Citus's partition method and replication model of relid (pg_dist_partition),
 * false when Citus does not manage it or is not installed (see citus_guard.h).
 */
bool
citus_partition(Oid relid, char *method, char *repmodel)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	bool		found;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	SPI_connect();
	if (SPI_execute_with_args("SELECT partmethod::text, repmodel::text"
							  "  FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_dist_partition");
	found = SPI_processed > 0;
	if (found)
	{
		char	   *m = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *r = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

		*method = m ? m[0] : '\0';
		*repmodel = r ? r[0] : '\0';
	}
	SPI_finish();
	return found;
}

/* The kind of Citus table relid is, or NULL (see citus_guard.h). */
const char *
citus_table_kind(Oid relid)
{
	char		method;
	char		repmodel;

	if (!citus_partition(relid, &method, &repmodel))
		return NULL;
	if (method != 'n')
		return "distributed";
	return repmodel == 't' ? "reference" : "Citus local";
}
