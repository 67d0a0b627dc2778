/*-------------------------------------------------------------------------
 *
 * request_reference.h
 *	  The setting unlearn.request_reference: the reference of the request
 *	  a change serves, recorded in every erasure log entry, and never
 *	  silently dropped.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_REQUEST_REFERENCE_H
#define UNLEARN_REQUEST_REFERENCE_H

/*
 * Defines unlearn.request_reference and notes what the session set before
 * the library was loaded and PostgreSQL then rejected.  _PG_init calls it
 * after defining the other settings and before reserving the prefix.
 */
extern void request_reference_define(void);

/*
 * The reference to record with a log entry (NULL for none).  Raises 22023
 * while a value the session set before the library was loaded was lost: a
 * misspelt unlearn.* setting, or a reference its check refused.
 */
extern const char *request_reference_get(void);

#endif							/* UNLEARN_REQUEST_REFERENCE_H */
