/*-------------------------------------------------------------------------
 *
 * collected.h
 *	  Rows of inheritance tables taken by a statement, collected row by
 *	  row until a statement-level trigger hands them to their models.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_COLLECTED_H
#define UNLEARN_COLLECTED_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "utils/tuplestore.h"

/* Registers the transaction callbacks that keep collected rows honest. */
extern void collected_init(void);

/*
 * Adds a row of table relid that a statement deleted (new NULL) or
 * updated (old and new), in the table's own row type.
 */
extern void collected_add(Oid relid, HeapTuple old, HeapTuple new);

/*
 * Hands over the rows collected for relid (of row type desc) and event
 * (update or not) at the current (sub)transaction level: the old rows
 * and, for an update, the new ones pairwise; false if none.  They are the
 * caller's to free (tuplestore_end).
 */
extern bool collected_take(Oid relid, bool update, TupleDesc desc, Tuplestorestate **olds,
						   Tuplestorestate **news);

#endif							/* UNLEARN_COLLECTED_H */
