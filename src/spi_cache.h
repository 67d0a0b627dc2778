/*-------------------------------------------------------------------------
 *
 * spi_cache.h
 *	  SPI statements prepared once per backend, and reading their results.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_SPI_CACHE_H
#define UNLEARN_SPI_CACHE_H

#include "executor/spi.h"

/*
 * Runs a parameterized statement (inside SPI_connect) through a plan
 * prepared on first use and kept for the backend's life; sql must be a
 * string literal (its address identifies the plan).  Returns the SPI code.
 */
extern int	spi_execute_cached(const char *sql, int nargs, Oid *types,
							   Datum *values, const char *nulls, bool read_only,
							   long count);

/*
 * Appends column col (1-based, an OID) of every row of the last SPI
 * result to *oids, allocated in cxt.
 */
extern void spi_append_oids(List **oids, int col, MemoryContext cxt);

/*
 * Runs a cached DELETE whose one parameter is a model_id (sql a string
 * literal, as for spi_execute_cached), in an SPI connection of its own;
 * an error naming what it deletes if it fails.
 */
extern void spi_delete_model_rows(const char *sql, int32 model_id, const char *what);

#endif							/* UNLEARN_SPI_CACHE_H */
