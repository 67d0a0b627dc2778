/*-------------------------------------------------------------------------
 *
 * hmac_sha256.h
 *	  HMAC-SHA256 under one key for many short messages.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_HMAC_SHA256_H
#define UNLEARN_HMAC_SHA256_H

#define SHA256_BLOCK 64
#define SHA256_DIGEST 32

/* A SHA-256 computation in progress. */
typedef struct Sha256State
{
	uint32		h[8];
	uint64		length;			/* bytes hashed so far */
	uint8		block[SHA256_BLOCK];
	int			used;			/* bytes waiting in block */
} Sha256State;

/* A key made ready: the states after its inner and outer padded blocks. */
typedef struct HmacSha256Key
{
	Sha256State inner;
	Sha256State outer;
} HmacSha256Key;

/* Prepares a key (of any length, as RFC 2104 says) for hmac_sha256. */
extern void hmac_sha256_key(HmacSha256Key *key, const uint8 *secret, size_t len);

/* HMAC-SHA256 of a message under a prepared key. */
extern void hmac_sha256(const HmacSha256Key *key, const uint8 *message, size_t len,
						uint8 *out);

#endif							/* UNLEARN_HMAC_SHA256_H */
