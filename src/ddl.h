/*-------------------------------------------------------------------------
 *
 * ddl.h
 *	  Schema changes never strand a model (event triggers, DROP ROLE hook).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_DDL_H
#define UNLEARN_DDL_H

/* Installs the utility hook that guards DROP ROLE (from _PG_init). */
extern void ddl_init(void);

#endif							/* UNLEARN_DDL_H */
