/*-------------------------------------------------------------------------
 *
 * erase.h
 *	  Erasure triggers on source tables.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_ERASE_H
#define UNLEARN_ERASE_H

/* Creates the erasure triggers on a source table unless it has them. */
extern void erase_ensure_triggers(Oid relid);

/* Drops the erasure triggers of a source table that has no model left. */
extern void erase_drop_triggers_if_unused(Oid relid);

#endif							/* UNLEARN_ERASE_H */
