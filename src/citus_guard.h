/*-------------------------------------------------------------------------
 *
 * citus_guard.h
 *	  Tables Citus manages (distributed, reference, Citus local), as its
 *	  catalog pg_dist_partition says: hash-distributed tables are sources
 *	  (distributed.c), the others are refused.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_CITUS_GUARD_H
#define UNLEARN_CITUS_GUARD_H

#include "postgres.h"

/*
 * What kind of Citus table relid is ("distributed", "reference", "Citus
 * local"), or NULL if Citus does not manage it (or is not installed).
 */
extern const char *citus_table_kind(Oid relid);

/*
 * Citus's partition method ('h' hash, 'n' none, ...) and replication
 * model of relid; false if Citus does not manage it (or is not installed).
 */
extern bool citus_partition(Oid relid, char *method, char *repmodel);

#endif							/* UNLEARN_CITUS_GUARD_H */
