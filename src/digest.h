/*-------------------------------------------------------------------------
 *
 * digest.h
 *	  Keyed digests of data subjects' keys, and the digest keys.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_DIGEST_H
#define UNLEARN_DIGEST_H

#include "utils/array.h"
#include "utils/snapshot.h"

#include "lineage.h"

#define DIGEST_LEN 32			/* HMAC-SHA256 */
#define DIGEST_SECRET_LEN 32

/*
 * The source_id of a table a model is trained on: its row of
 * unlearn.source_table, made on first use; its name brought up to date.
 */
extern int32 digest_source_id(Oid relid, Oid key_type);

/* The current digest key, made if there is none yet; returns its key_id. */
extern int32 digest_current_secret(uint8 *secret);

/* The digest key key_id (0: the current one) as snapshot sees it; false if none. */
extern bool digest_read_secret(int32 key_id, Snapshot snapshot, int32 *found_id,
							   uint8 *secret);

/*
 * HMAC-SHA256 under secret of "<source_id>:<key text>" of each key marked
 * found, into out (DIGEST_LEN bytes each), sorted bytewise; returns their
 * number.
 */
extern int	digest_keys(const uint8 *secret, int32 source_id, const LineageRemoval *keys,
						int n, uint8 *out);

/* A bytea[] of n digests, built in one piece (in scratch memory). */
extern ArrayType *digest_array(const uint8 *digests, int n);

/* HMAC-SHA256 of a message under a key of any length, as digests are made. */
extern void digest_hmac(const uint8 *key, size_t keylen, const uint8 *message, size_t len,
						uint8 *out);

#endif							/* UNLEARN_DIGEST_H */
