/*-------------------------------------------------------------------------
 *
 * citus_guard.h
 *	  Tables Citus manages (distributed, reference, Citus local): their rows
 *	  live in shards, where this node's erasure triggers do not see them
 *	  change, so they cannot be model sources yet.
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

#endif							/* UNLEARN_CITUS_GUARD_H */
