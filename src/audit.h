/*-------------------------------------------------------------------------
 *
 * audit.h
 *	  The erasure log: a hash chain of entries with keyed digests of the
 *	  erased keys, written under a lock; the digest keys.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_AUDIT_H
#define UNLEARN_AUDIT_H

#include "catalog.h"
#include "lineage.h"

#define AUDIT_HASH_LEN 32		/* SHA-256 */

/* What one log entry records, beyond who, when and the chain. */
typedef struct AuditEntry
{
	const char *event;
	int32		model_id;
	const char *model_name;
	Oid			source;			/* InvalidOid: none */
	int64		version_before; /* -1: none */
	int64		version_after;	/* -1: none */
	int64		rows;
	const char *method;			/* NULL: none */
	double		step_norm;		/* not finite: none */
	double		error_bound;	/* not finite: none */
	const uint8 *params_before; /* SHA-256 of the parameters, or NULL */
	const uint8 *params_after;
	const LineageRemoval *keys; /* digests of those found; NULL: none */
	int			nkeys;
} AuditEntry;

/* A model's row as the log needs it (see audit_model_state). */
typedef struct AuditModelState
{
	int32		model_id;
	Oid			source;
	int64		version;
	int64		rows_trained;
	int64		rows_now;
	double		error_bound;
	int			nparams;
	double	   *theta;
	uint8		params_hash[AUDIT_HASH_LEN];
} AuditModelState;

/* Defines unlearn.request_reference. */
extern void audit_define_settings(void);

/*
 * Takes the log's writer lock to the end of the transaction.  Erasure
 * takes it before it locks any model, so that writers queue in one order.
 */
extern void audit_lock(void);

/* Appends an entry to the erasure log (and to the server log). */
extern void audit_log(const AuditEntry *e);

/* HMAC-SHA256 of a message under a key of any length, as digests are made. */
extern void audit_hmac(const uint8 *key, size_t keylen, const uint8 *message, size_t len,
					   uint8 *out);

/* SHA-256 of a parameter vector: its float8 values, big-endian, in order. */
extern void audit_params_hash(const double *theta, int n, uint8 *out);

/*
 * Logs a change a statement made to a model loaded as m: its parameters
 * afterwards (NULL: unchanged), and the rows of keys it took out of
 * lineage (those marked found), as digests; keys NULL for none.
 */
extern void audit_log_change(const char *event, const StoredModel *m, Oid source,
							 int64 version_after, int64 rows, const char *method,
							 const double *theta_after, int nafter,
							 double step_norm, double error_bound,
							 const LineageRemoval *keys, int nkeys);

/* A model's current row, locked FOR UPDATE; NULL if there is none. */
extern AuditModelState *audit_model_state(const char *name);

/*
 * Logs a create, retrain or drop of a model: before is its state before
 * (NULL for create); its state after is read (none for drop).
 */
extern void audit_log_model(const char *event, const char *name,
							const AuditModelState *before);

#endif							/* UNLEARN_AUDIT_H */
