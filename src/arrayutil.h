/*-------------------------------------------------------------------------
 *
 * arrayutil.h
 *	  Conversion between float8[] SQL arrays and C double buffers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_ARRAYUTIL_H
#define UNLEARN_ARRAYUTIL_H

#include "nodes/pg_list.h"
#include "utils/array.h"

/*
 * Returns a palloc'd copy of the elements of a float8[] of 1 or 2
 * dimensions, in storage (row-major) order.  Sets *nrows and *ncols (a
 * 1-D array is one row).  NULL elements and other shapes raise errors
 * naming "what".
 */
extern double *float8_array_values(ArrayType *array, const char *what,
								   int *nrows, int *ncols);

/* Builds a float8[] from values: 1-D when nrows is 0, else nrows x ncols. */
extern ArrayType *float8_array_build(const double *values, int nrows, int ncols);

/* A bytea holding len bytes. */
extern bytea *bytes_to_bytea(const uint8 *bytes, size_t len);

/* A 1-D array of an OID-like type (oid, regclass) holding a list of OIDs. */
extern ArrayType *oid_list_array(List *oids, Oid elemtype);

#endif							/* UNLEARN_ARRAYUTIL_H */
