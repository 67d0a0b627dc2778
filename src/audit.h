/*-------------------------------------------------------------------------
 *
 * audit.h
 *	  The erasure log: entries with keyed digests of the erased keys,
 *	  sealed into a hash chain at commit.
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
	int32		source_id;		/* unlearn.source_table; 0: none */
	int64		version_before; /* -1: none */
	int64		version_after;	/* -1: none */
	int64		rows;
	const char *method;			/* NULL: none */
	double		step_norm;		/* not finite: none */
	double		error_bound;	/* not finite: none */
	const uint8 *params_before; /* SHA-256 of the parameters, or NULL */
	const uint8 *params_after;
	const char *detail;			/* why, or NULL */
	const LineageRemoval *keys; /* digests of those found; NULL: none */
	int			nkeys;
} AuditEntry;

/* A model's row as the log needs it (see audit_model_state). */
typedef struct AuditModelState
{
	int32		model_id;
	Oid			source;
	int32		source_id;
	int64		version;
	int64		rows_trained;
	int64		rows_now;
	double		error_bound;
	int			nparams;
	double	   *theta;
	uint8		params_hash[AUDIT_HASH_LEN];
} AuditModelState;

/* Registers the commit-time sealing (from _PG_init). */
extern void audit_init(void);

/*
 * Appends an entry to the erasure log (and to the server log); it is
 * sealed into the chain when the transaction commits.
 */
extern void audit_log(const AuditEntry *e);

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
							 double step_norm, double error_bound, const char *detail,
							 const LineageRemoval *keys, int nkeys);

/* A model's current row, locked FOR UPDATE; NULL if there is none. */
extern AuditModelState *audit_model_state(const char *name);

/*
 * Logs a create, retrain or drop of a model: before is its state before
 * (NULL for create); its state after is read (none for drop).  method
 * NULL: the event's own (train, retrain, none); detail: why, or NULL.
 */
extern void audit_log_model(const char *event, const char *name,
							const AuditModelState *before, const char *method,
							const char *detail);

/*
 * Tests only: the next commit that seals entries fails right after its
 * link is made (as a serialization failure found at commit would).
 */
extern void audit_test_fail_commit(void);

#endif							/* UNLEARN_AUDIT_H */
