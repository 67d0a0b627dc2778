/*-------------------------------------------------------------------------
 *
 * arrayutil.c
 *	  Conversion between float8[] SQL arrays and C double buffers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"

#include "arrayutil.h"

/* Copies a 1-D or 2-D float8[] without NULLs into a palloc'd buffer. */
double *
float8_array_values(ArrayType *array, const char *what, int *nrows, int *ncols)
{
	int			ndim = ARR_NDIM(array);
	int		   *dims = ARR_DIMS(array);
	int			count;
	double	   *values;

	if (ARR_ELEMTYPE(array) != FLOAT8OID)
		elog(ERROR, "%s: expected a float8 array", what);
	if (ndim < 1 || ndim > 2)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a non-empty array of one or two dimensions",
						what)));
	if (ARR_HASNULL(array) && array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain nulls", what)));

	*nrows = (ndim == 1) ? 1 : dims[0];
	*ncols = dims[ndim - 1];
	count = ArrayGetNItems(ndim, dims);
	values = palloc(sizeof(double) * Max(count, 1));
	memcpy(values, ARR_DATA_PTR(array), sizeof(double) * count);
	return values;
}

/* Builds a float8[] from values: 1-D when nrows is 0, else nrows x ncols. */
ArrayType *
float8_array_build(const double *values, int nrows, int ncols)
{
	int			dims[2];
	int			lbs[2] = {1, 1};
	int			ndim;
	int			count;
	Datum	   *elems;
	int			i;

	if (nrows == 0)
	{
		ndim = 1;
		dims[0] = ncols;
		count = ncols;
	}
	else
	{
		ndim = 2;
		dims[0] = nrows;
		dims[1] = ncols;
		count = nrows * ncols;
	}
	elems = palloc(sizeof(Datum) * Max(count, 1));
	for (i = 0; i < count; i++)
		elems[i] = Float8GetDatum(values[i]);
	return construct_md_array(elems, NULL, ndim, dims, lbs,
							  FLOAT8OID, sizeof(double), FLOAT8PASSBYVAL,
							  TYPALIGN_DOUBLE);
}

/* A bytea holding len bytes. */
bytea *
bytes_to_bytea(const uint8 *bytes, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), bytes, len);
	return b;
}

/* A 1-D array of an OID-like type (oid, regclass) holding a list of OIDs. */
ArrayType *
oid_list_array(List *oids, Oid elemtype)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(oids), 1));
	ListCell   *lc;
	int			n = 0;

	foreach(lc, oids)
		elems[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	return construct_array(elems, n, elemtype, sizeof(Oid), true, TYPALIGN_INT);
}
