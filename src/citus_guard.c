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

/* The kind of Citus table relid is, or NULL (see citus_guard.h). */
const char *
citus_table_kind(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	const char *kind = NULL;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return NULL;
	SPI_connect();
	if (SPI_execute_with_args("SELECT partmethod::text, repmodel::text"
							  "  FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_dist_partition");
	if (SPI_processed > 0)
	{
		char	   *method = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *model = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

		if (method && strcmp(method, "n") != 0)
			kind = "distributed";
		else if (model && strcmp(model, "t") == 0)
			kind = "reference";
		else
			kind = "Citus local";
	}
	SPI_finish();
	return kind;
}
