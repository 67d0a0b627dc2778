/*-------------------------------------------------------------------------
 *
 * hmac_sha256.c
 *	  HMAC-SHA256 under one key for many short messages.
 *
 * The erasure log stores an HMAC of every erased key.  PostgreSQL's own
 * HMAC (common/hmac.h, over OpenSSL 3) sets the key up again for every
 * message, and that set-up (an algorithm fetch and two hashed blocks) cost
 * more than a bulk DELETE of the keys' rows.  Here the key is set up once:
 * the states after its inner and outer padded blocks (RFC 2104) are kept,
 * and each message costs two SHA-256 compressions.  SHA-256 is FIPS 180-4;
 * the tests check it against PostgreSQL's sha256() (OpenSSL) and HMAC
 * built from sha256() in SQL, on RFC 4231's vectors and random inputs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "hmac_sha256.h"

static const uint32 round_constants[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

/* Rotates a 32-bit word right by n. */
static inline uint32
rotr(uint32 x, int n)
{
	return (x >> n) | (x << (32 - n));
}

/* Folds one 64-byte block into the state (the SHA-256 compression). */
static void
compress(uint32 *h, const uint8 *block)
{
	uint32		w[64];
	uint32		a, b, c, d, e, f, g, k;
	int			i;

	for (i = 0; i < 16; i++)
		w[i] = ((uint32) block[4 * i] << 24) | ((uint32) block[4 * i + 1] << 16) |
			((uint32) block[4 * i + 2] << 8) | (uint32) block[4 * i + 3];
	for (i = 16; i < 64; i++)
	{
		uint32		s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32		s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	f = h[5];
	g = h[6];
	k = h[7];
	for (i = 0; i < 64; i++)
	{
		uint32		t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
			round_constants[i] + w[i];
		uint32		t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += k;
}

/* Starts a SHA-256 computation. */
static void
sha256_start(Sha256State *s)
{
	static const uint32 initial[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
	};

	memcpy(s->h, initial, sizeof(initial));
	s->length = 0;
	s->used = 0;
}

/* Hashes len more bytes. */
static void
sha256_add(Sha256State *s, const uint8 *data, size_t len)
{
	s->length += len;
	while (len > 0)
	{
		size_t		take = Min(len, (size_t) (SHA256_BLOCK - s->used));

		memcpy(s->block + s->used, data, take);
		s->used += take;
		data += take;
		len -= take;
		if (s->used == SHA256_BLOCK)
		{
			compress(s->h, s->block);
			s->used = 0;
		}
	}
}

/* Pads, and writes the 32-byte digest. */
static void
sha256_finish(Sha256State *s, uint8 *out)
{
	uint64		bits = s->length * 8;
	int			i;

	s->block[s->used++] = 0x80;
	if (s->used > SHA256_BLOCK - 8)
	{
		memset(s->block + s->used, 0, SHA256_BLOCK - s->used);
		compress(s->h, s->block);
		s->used = 0;
	}
	memset(s->block + s->used, 0, SHA256_BLOCK - 8 - s->used);
	for (i = 0; i < 8; i++)
		s->block[SHA256_BLOCK - 1 - i] = (uint8) (bits >> (8 * i));
	compress(s->h, s->block);
	for (i = 0; i < 8; i++)
	{
		out[4 * i] = (uint8) (s->h[i] >> 24);
		out[4 * i + 1] = (uint8) (s->h[i] >> 16);
		out[4 * i + 2] = (uint8) (s->h[i] >> 8);
		out[4 * i + 3] = (uint8) s->h[i];
	}
}

/* Prepares a key (of any length, as RFC 2104 says) for hmac_sha256. */
void
hmac_sha256_key(HmacSha256Key *key, const uint8 *secret, size_t len)
{
	uint8		k[SHA256_BLOCK] = {0};
	uint8		pad[SHA256_BLOCK];
	int			i;

	if (len > SHA256_BLOCK)
	{
		Sha256State s;

		sha256_start(&s);
		sha256_add(&s, secret, len);
		sha256_finish(&s, k);	/* a long key is its digest */
	}
	else
		memcpy(k, secret, len);
	for (i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_start(&key->inner);
	sha256_add(&key->inner, pad, SHA256_BLOCK);
	for (i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_start(&key->outer);
	sha256_add(&key->outer, pad, SHA256_BLOCK);
}

/* HMAC-SHA256 of a message under a prepared key. */
void
hmac_sha256(const HmacSha256Key *key, const uint8 *message, size_t len, uint8 *out)
{
	Sha256State s = key->inner;
	uint8		inner[SHA256_DIGEST];

	sha256_add(&s, message, len);
	sha256_finish(&s, inner);
	s = key->outer;
	sha256_add(&s, inner, SHA256_DIGEST);
	sha256_finish(&s, out);
}
