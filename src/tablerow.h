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

#endif							/* UNLEARN_TABLEROW_H */
