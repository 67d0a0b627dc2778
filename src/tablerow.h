/*-------------------------------------------------------------------------
 *
 * tablerow.h
 *	  Direct row access to the extension's own tables on the erasure path.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_TABLEROW_H
#define UNLEARN_TABLEROW_H

#include "access/htup.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

/* OID of a relation (table or index) of schema unlearn; an error if missing. */
extern Oid	tablerow_relid(const char *name);

/*
 * The snapshot erasure reads its own tables with, registered: the newest
 * (READ COMMITTED: the model row lock has serialized writers already), or
 * the transaction's (REPEATABLE READ and SERIALIZABLE).
 */
extern Snapshot tablerow_snapshot(void);

/* Replaces the row at otid with tup, keeping the table's indexes. */
extern void tablerow_update(Relation rel, ItemPointer otid, HeapTuple tup);

/* Inserts a row of values, keeping the table's indexes. */
extern void tablerow_insert(Relation rel, Datum *values, bool *nulls);

/*
 * Reads a bytea column of exactly len bytes of the row of an extension
 * table with the largest integer primary key (or with key, when key > 0),
 * as snapshot sees it, and that key; false if there is no such row.
 */
extern bool tablerow_read_bytea(const char *table, int64 key, const char *column,
								Snapshot snapshot, int64 *row_key, uint8 *out, size_t len);

#endif							/* UNLEARN_TABLEROW_H */
