/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The erasure log and its hash chain; keyed digests of erased keys.
 *
 * Every change to a model goes into unlearn.erasure_log as one entry.
 * Entries form a hash chain: each stores the hash of the entry before it
 * (prev_hash) and its own, entry_hash = SHA-256 of its canonical text
 * (which starts with prev_hash; unlearn.log_entry_text in the install
 * script is the same text computed in SQL, and verify_log checks every
 * entry with it, so the writer here and the checker there are two
 * independent implementations of one documented format).
 *
 * One chain needs one writer at a time: a writer takes an ExclusiveLock
 * on unlearn.erasure_log_seq (not on the table, whose autovacuum lock
 * would stall writers) until its transaction ends, then reads the last
 * committed entry with a fresh snapshot, then draws its sequence number.
 * So seq order is chain order; a rolled-back writer leaves a gap in seq
 * and a line in the server log, and nothing in the chain.
 *
 * Erased keys are stored as HMAC-SHA256(secret, canonical key text), the
 * secret being 32 random bytes in unlearn.secret, made on first use.
 * Writes to the extension's tables are made as the table's owner, so the
 * log needs no INSERT privilege for anyone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

/*
 * OpenSSL's SHA-256 context API (deprecated in OpenSSL 3 in favour of EVP,
 * kept through 3.x): a context is a plain struct that a copy duplicates,
 * which is what lets a digest key's padded blocks be hashed once and each
 * erased key cost two compressions (see KeyedHash).  Through EVP every
 * copy allocates a provider context; measured per key, 0.07 us against
 * 0.4 us (EVP_MD_CTX_copy_ex) and 2 us (pg_hmac).
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "audit.h"
#include "linalg.h"
#include "scratch.h"
#include "spi_cache.h"
#include "tablerow.h"

#define AUDIT_SECRET_LEN 32
#define AUDIT_FORMAT "unlearn.erasure_log v1"
#define REQUEST_REFERENCE_MAX 256

/* unlearn.request_reference: recorded with every entry ('' = none). */
static char *audit_request_reference = NULL;

/* Refuses request references longer than REQUEST_REFERENCE_MAX bytes. */
static bool
check_request_reference(char **newval, void **extra, GucSource source)
{
	if (*newval && strlen(*newval) > REQUEST_REFERENCE_MAX)
	{
		GUC_check_errdetail("A request reference is at most %d bytes long.",
							REQUEST_REFERENCE_MAX);
		return false;
	}
	return true;
}

/* Defines unlearn.request_reference. */
void
audit_define_settings(void)
{
	DefineCustomStringVariable("unlearn.request_reference",
							   "Reference of the request a change serves (e.g. a ticket id), recorded in the erasure log.",
							   "Set it (SET LOCAL) before the DELETE that serves an erasure request; empty records none. Never put personal data in it.",
							   &audit_request_reference,
							   "",
							   PGC_USERSET, 0,
							   check_request_reference, NULL, NULL);
}

/* Takes the log's writer lock to the end of the transaction. */
void
audit_lock(void)
{
	LockRelationOid(tablerow_relid("erasure_log_seq"), ExclusiveLock);
}

/* SHA-256 of len bytes. */
static void
sha256(const void *data, size_t len, uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, data, len) < 0 ||
		pg_cryptohash_final(ctx, out, AUDIT_HASH_LEN) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/* SHA-256 of a parameter vector: its float8 values, big-endian, in order. */
void
audit_params_hash(const double *theta, int n, uint8 *out)
{
	uint8	   *bytes = palloc(sizeof(double) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
	{
		uint64		bits;
		int			b;

		memcpy(&bits, &theta[i], sizeof(bits));
		for (b = 0; b < 8; b++)
			bytes[i * 8 + b] = (uint8) (bits >> (56 - 8 * b));
	}
	sha256(bytes, sizeof(double) * n, out);
	pfree(bytes);
}

/* Lowercase hex of len bytes. */
static char *
to_hex(const uint8 *bytes, size_t len)
{
	char	   *hex = palloc(len * 2 + 1);

	hex_encode((const char *) bytes, len, hex);
	hex[len * 2] = '\0';
	return hex;
}

/* A bytea of len bytes. */
static bytea *
to_bytea(const uint8 *bytes, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), bytes, len);
	return b;
}

/*
 * Runs a statement that writes the extension's tables, as their owner
 * (the role that created the extension): the log and the secrets grant
 * nothing to anyone.
 */
static int
spi_as_owner(Oid owner, const char *sql, int nargs, Oid *types, Datum *values,
			 const char *nulls)
{
	Oid			save_userid;
	int			save_sec_context;
	int			rc;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	rc = spi_execute_cached(sql, nargs, types, values, nulls, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return rc;
}

/* The owner of the extension's tables. */
static Oid
extension_owner(void)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(tablerow_relid("erasure_log")));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for unlearn.erasure_log");
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Reads one bytea column of the first row of a table in the order of its
 * primary key (backward: the last row), as snapshot sees it, and the
 * row's first column (an integer key); false if no row.  key > 0 reads
 * that key's row instead.
 */
static bool
read_by_key(const char *table, bool last, int64 key, const char *column,
			Snapshot snapshot, int64 *row_key, uint8 *out, size_t len)
{
	Relation	rel = table_open(tablerow_relid(table), AccessShareLock);
	Relation	index = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	AttrNumber	keycol = 1;
	AttrNumber	col = get_attnum(RelationGetRelid(rel), column);
	Oid			keytype = TupleDescAttr(RelationGetDescr(rel), 0)->atttypid;
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	if (key > 0)
		ScanKeyInit(&skey, keycol, BTEqualStrategyNumber,
					keytype == INT8OID ? F_INT8EQ : F_INT4EQ,
					keytype == INT8OID ? Int64GetDatum(key) : Int32GetDatum((int32) key));
	scan = systable_beginscan_ordered(rel, index, snapshot, key > 0 ? 1 : 0, &skey);
	tup = systable_getnext_ordered(scan, last ? BackwardScanDirection : ForwardScanDirection);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		k = heap_getattr(tup, keycol, RelationGetDescr(rel), &isnull);
		bytea	   *b = DatumGetByteaPP(heap_getattr(tup, col, RelationGetDescr(rel), &isnull));

		if (VARSIZE_ANY_EXHDR(b) != len)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("unlearn.%s holds a %s of %zu bytes, not %zu",
							table, column, VARSIZE_ANY_EXHDR(b), len)));
		*row_key = keytype == INT8OID ? DatumGetInt64(k) : DatumGetInt32(k);
		memcpy(out, VARDATA_ANY(b), len);
		found = true;
	}
	systable_endscan_ordered(scan);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Makes a new digest key, current from now on (the previous one is
 * retired); the caller holds the writer lock.  Returns its key_id.
 */
static int32
new_secret(uint8 *secret)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	uint8		old[AUDIT_SECRET_LEN];
	int64		current = 0;
	Oid			types[2] = {INT4OID, BYTEAOID};
	Datum		values[2];
	Oid			owner = extension_owner();

	read_by_key("secret", true, 0, "secret", snapshot, &current, old, AUDIT_SECRET_LEN);
	UnregisterSnapshot(snapshot);
	if (!pg_strong_random(secret, AUDIT_SECRET_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random digest key")));
	values[0] = Int32GetDatum((int32) current + 1);
	values[1] = PointerGetDatum(to_bytea(secret, AUDIT_SECRET_LEN));
	SPI_connect();
	if (current > 0 &&
		spi_as_owner(owner, "UPDATE unlearn.secret SET retired_at = now() WHERE key_id < $1"
					 " AND retired_at IS NULL",
					 1, types, values, NULL) != SPI_OK_UPDATE)
		elog(ERROR, "could not retire the digest key");
	if (spi_as_owner(owner, "INSERT INTO unlearn.secret (key_id, secret, created_at)"
					 " VALUES ($1, $2, now())",
					 2, types, values, NULL) != SPI_OK_INSERT)
		elog(ERROR, "could not store the digest key");
	SPI_finish();
	return (int32) current + 1;
}

/*
 * The digest key key_id (0: the current one) as the snapshot sees it;
 * false if there is none.
 */
static bool
read_secret(int32 key_id, Snapshot snapshot, int32 *found_id, uint8 *secret)
{
	int64		id;

	if (!read_by_key("secret", true, key_id, "secret", snapshot, &id, secret,
					 AUDIT_SECRET_LEN))
		return false;
	*found_id = (int32) id;
	return true;
}

/* Orders two 32-byte digests bytewise (a qsort comparator). */
static int
compare_digests(const void *a, const void *b)
{
	return memcmp(a, b, AUDIT_HASH_LEN);
}

/* Sorts a few 32-byte digests bytewise in place (insertion sort). */
static void
insertion_sort_digests(uint8 *digests, int n)
{
	uint8		d[AUDIT_HASH_LEN];
	int			i,
				j;

	for (i = 1; i < n; i++)
	{
		memcpy(d, digests + (Size) i * AUDIT_HASH_LEN, AUDIT_HASH_LEN);
		for (j = i; j > 0 && memcmp(digests + (Size) (j - 1) * AUDIT_HASH_LEN, d,
									AUDIT_HASH_LEN) > 0; j--)
			memcpy(digests + (Size) j * AUDIT_HASH_LEN,
				   digests + (Size) (j - 1) * AUDIT_HASH_LEN, AUDIT_HASH_LEN);
		memcpy(digests + (Size) j * AUDIT_HASH_LEN, d, AUDIT_HASH_LEN);
	}
}

/* The leading bits of a digest (bits <= 32), as a number: its bucket. */
static inline uint32
digest_bucket(const uint8 *digest, int bits)
{
	uint32		lead = ((uint32) digest[0] << 24) | ((uint32) digest[1] << 16) |
		((uint32) digest[2] << 8) | digest[3];

	return bits == 0 ? 0 : lead >> (32 - bits);
}

/*
 * Sorts n 32-byte digests bytewise in place.  Digests are uniformly
 * distributed, so they are first distributed by their leading bits into
 * about n buckets (in bucket order: that is bytewise order), and each
 * bucket, of about one digest, is then sorted on its own: linear time
 * for the thousands of a bulk erasure.  The order is right for any
 * input; only the time depends on the distribution.
 */
static void
sort_digests(uint8 *digests, int n)
{
	int			bits = 0;
	int			nbuckets;
	int		   *start;
	uint8	   *sorted;
	int			i,
				b;

	if (n < 2)
		return;
	while (bits < 24 && (1 << bits) < n)
		bits++;
	nbuckets = 1 << bits;
	start = scratch_alloc0(sizeof(int) * (nbuckets + 1));
	sorted = scratch_alloc((Size) AUDIT_HASH_LEN * n);

	/* Counting sort by bucket: start[b] is where bucket b begins. */
	for (i = 0; i < n; i++)
		start[digest_bucket(digests + (Size) i * AUDIT_HASH_LEN, bits) + 1]++;
	for (b = 0; b < nbuckets; b++)
		start[b + 1] += start[b];
	for (i = 0; i < n; i++)
	{
		const uint8 *d = digests + (Size) i * AUDIT_HASH_LEN;

		memcpy(sorted + (Size) start[digest_bucket(d, bits)]++ * AUDIT_HASH_LEN, d,
			   AUDIT_HASH_LEN);
	}
	/* Each bucket now ends where the next began: start[b] is its end. */
	for (b = 0, i = 0; b < nbuckets; b++)
	{
		int			count = start[b] - i;

		if (count > 8)
			qsort(sorted + (Size) i * AUDIT_HASH_LEN, count, AUDIT_HASH_LEN,
				  compare_digests);
		else if (count > 1)
			insertion_sort_digests(sorted + (Size) i * AUDIT_HASH_LEN, count);
		i = start[b];
	}
	memcpy(digests, sorted, (Size) AUDIT_HASH_LEN * n);
}

/*
 * HMAC-SHA256 (RFC 2104) under one key: SHA-256 of the outer padded key
 * block and the SHA-256 of the inner padded key block and the message.
 * The two padded blocks are hashed once (keyed_hash_init), so each
 * message costs the compressions of its own bytes and of one inner
 * digest.  Holds key material: callers clear it (keyed_hash_clear).
 */
typedef struct KeyedHash
{
	SHA256_CTX	inner;			/* (K ^ ipad) absorbed */
	SHA256_CTX	outer;			/* (K ^ opad) absorbed */
} KeyedHash;

/* Prepares HMAC-SHA256 under a key of any length (longer than a block: its hash). */
static void
keyed_hash_init(KeyedHash *kh, const uint8 *key, size_t keylen)
{
	uint8		block[SHA256_CBLOCK];
	uint8		pad[SHA256_CBLOCK];
	int			i;

	memset(block, 0, sizeof(block));
	if (keylen > SHA256_CBLOCK)
		SHA256(key, keylen, block);
	else if (keylen > 0)
		memcpy(block, key, keylen);
	for (i = 0; i < SHA256_CBLOCK; i++)
		pad[i] = block[i] ^ 0x36;
	if (!SHA256_Init(&kh->inner) || !SHA256_Update(&kh->inner, pad, sizeof(pad)))
		elog(ERROR, "could not compute HMAC-SHA256");
	for (i = 0; i < SHA256_CBLOCK; i++)
		pad[i] = block[i] ^ 0x5c;
	if (!SHA256_Init(&kh->outer) || !SHA256_Update(&kh->outer, pad, sizeof(pad)))
		elog(ERROR, "could not compute HMAC-SHA256");
	explicit_bzero(block, sizeof(block));
	explicit_bzero(pad, sizeof(pad));
}

/* HMAC-SHA256 of a message under a prepared key, into out (32 bytes). */
static void
keyed_hash(const KeyedHash *kh, const void *message, size_t len, uint8 *out)
{
	SHA256_CTX	c = kh->inner;
	uint8		inner[SHA256_DIGEST_LENGTH];

	if (!SHA256_Update(&c, message, len) || !SHA256_Final(inner, &c))
		elog(ERROR, "could not compute HMAC-SHA256");
	c = kh->outer;
	if (!SHA256_Update(&c, inner, sizeof(inner)) || !SHA256_Final(out, &c))
		elog(ERROR, "could not compute HMAC-SHA256");
	explicit_bzero(&c, sizeof(c));
}

/* Clears a prepared key. */
static void
keyed_hash_clear(KeyedHash *kh)
{
	explicit_bzero(kh, sizeof(*kh));
}

/*
 * HMAC-SHA256 under secret of the canonical text (as UTF-8) of each key
 * marked found, into out (32 bytes each), sorted bytewise so their order
 * tells nothing; returns their number.  Integer keys are their decimal
 * text, formatted here, not kept as strings.
 */
static int
key_digests(const uint8 *secret, const LineageRemoval *keys, int n, uint8 *out)
{
	KeyedHash	kh;
	char		digits[MAXINT8LEN + 1];
	int			i,
				count = 0;

	keyed_hash_init(&kh, secret, AUDIT_SECRET_LEN);
	for (i = 0; i < n; i++)
	{
		uint8	   *digest = out + (Size) count * AUDIT_HASH_LEN;

		if (!keys[i].found)
			continue;
		if (keys[i].key_text == NULL)
			keyed_hash(&kh, digits, pg_lltoa(keys[i].key, digits), digest);
		else
		{
			const char *utf8 = pg_server_to_any(keys[i].key_text, strlen(keys[i].key_text),
												PG_UTF8);

			keyed_hash(&kh, utf8, strlen(utf8), digest);
		}
		count++;
	}
	keyed_hash_clear(&kh);
	sort_digests(out, count);
	return count;
}

/* HMAC-SHA256 of a message under a key of any length, as digests are made. */
void
audit_hmac(const uint8 *key, size_t keylen, const uint8 *message, size_t len, uint8 *out)
{
	KeyedHash	kh;

	keyed_hash_init(&kh, key, keylen);
	keyed_hash(&kh, message, len, out);
	keyed_hash_clear(&kh);
}

/*
 * A bytea[] of n 32-byte digests, built in one piece (a bulk erasure logs
 * thousands).
 */
static ArrayType *
digest_array(const uint8 *digests, int n)
{
	Size		elem = VARHDRSZ + AUDIT_HASH_LEN;	/* a multiple of 4: no padding */
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + elem * n;
	ArrayType  *a;
	char	   *p;
	int			i;

	if (n == 0)
		return construct_empty_array(BYTEAOID);
	if (!AllocSizeIsValid(nbytes))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot log the erasure of %d keys in one statement", n),
				 errdetail("The log entry's key digests would take %zu bytes; the limit is %zu.",
						   nbytes, (Size) MaxAllocSize),
				 errhint("Delete the rows in smaller statements.")));
	a = scratch_alloc(nbytes);	/* every byte is written below */
	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = BYTEAOID;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	p = ARR_DATA_PTR(a);
	for (i = 0; i < n; i++, p += elem)
	{
		SET_VARSIZE(p, elem);
		memcpy(VARDATA(p), digests + (Size) i * AUDIT_HASH_LEN, AUDIT_HASH_LEN);
	}
	return a;
}

/* Appends one field of an entry's canonical text: "len:value," or "-,". */
static void
append_field(StringInfo buf, const char *value)
{
	char	   *utf8;

	if (value == NULL)
	{
		appendStringInfoString(buf, "-,");
		return;
	}
	utf8 = pg_server_to_any(value, strlen(value), PG_UTF8);
	appendStringInfo(buf, "%zu:%s,", strlen(utf8), utf8);
}

/* The decimal text of an int64, or NULL when absent. */
static char *
int_text(int64 v, bool present)
{
	return present ? psprintf(INT64_FORMAT, v) : NULL;
}

/* A float8 as the hex of its big-endian IEEE 754 bits (float8send). */
static char *
float_text(double v)
{
	uint64		bits;

	if (!isfinite(v))
		return NULL;
	memcpy(&bits, &v, sizeof(bits));
	return psprintf("%016llx", (unsigned long long) bits);
}

/* A timestamp in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ. */
static char *
timestamp_text(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "timestamp out of range");
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year, tm.tm_mon,
					tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

/* The schema-qualified name of a relation, NULL if there is none. */
static char *
source_text(Oid relid)
{
	char	   *name;

	if (!OidIsValid(relid))
		return NULL;
	name = get_rel_name(relid);
	if (name == NULL)
		return psprintf("%u", relid);	/* dropped: its OID */
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), name);
}

/*
 * SHA-256 of an entry's canonical text: head (every field but the last),
 * then the last field, the digests in hex (NULL: none), encoded and hashed
 * block by block rather than built as one string (a bulk erasure logs
 * thousands of them).
 */
static void
entry_hash(const StringInfo head, const uint8 *digests, int ndigests, uint8 *out)
{
	SHA256_CTX	c;
	char		hex[64 * AUDIT_HASH_LEN * 2];
	char		prefix[MAXINT8LEN + 2];
	int			i;

	if (!SHA256_Init(&c) || !SHA256_Update(&c, head->data, head->len))
		elog(ERROR, "could not compute SHA-256");
	if (digests == NULL)
	{
		if (!SHA256_Update(&c, "-,", 2))
			elog(ERROR, "could not compute SHA-256");
	}
	else
	{
		/* "len:hex," with len the hex text's length in bytes */
		snprintf(prefix, sizeof(prefix), INT64_FORMAT ":", (int64) ndigests * AUDIT_HASH_LEN * 2);
		if (!SHA256_Update(&c, prefix, strlen(prefix)))
			elog(ERROR, "could not compute SHA-256");
		for (i = 0; i < ndigests; i += 64)
		{
			int			n = Min(64, ndigests - i);
			uint64		len = hex_encode((const char *) digests + (Size) i * AUDIT_HASH_LEN,
										 (Size) n * AUDIT_HASH_LEN, hex);

			if (!SHA256_Update(&c, hex, len))
				elog(ERROR, "could not compute SHA-256");
		}
		if (!SHA256_Update(&c, ",", 1))
			elog(ERROR, "could not compute SHA-256");
	}
	if (!SHA256_Final(out, &c))
		elog(ERROR, "could not compute SHA-256");
}

/* Appends an entry to the erasure log (and to the server log). */
void
audit_log(const AuditEntry *e)
{
	uint8		prev[AUDIT_HASH_LEN];
	uint8		hash[AUDIT_HASH_LEN];
	uint8		secret[AUDIT_SECRET_LEN];
	uint8	   *digests = NULL;
	int32		key_id = 0;
	int			ndigests = 0;
	int64		seq;
	int64		last_seq;
	TimestampTz now;
	char	   *session_user_name = GetUserNameFromId(GetSessionUserId(), false);
	/* The role in force outside a SECURITY DEFINER trigger (SET ROLE counts). */
	char	   *current_user_name = GetUserNameFromId(GetOuterUserId(), false);
	FullTransactionId xid = GetTopFullTransactionId();
	const char *reference = audit_request_reference && audit_request_reference[0] ?
	audit_request_reference : NULL;
	char	   *source = source_text(e->source);
	Snapshot	snapshot;
	StringInfoData text;
	Relation	rel;
	Datum		values[22];
	bool		nulls[22];
	Size		mark = scratch_mark();	/* the digests' arrays go at the end */

	/* Lock first; then the chain's head and a sequence number. */
	audit_lock();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	if (!read_by_key("erasure_log", true, 0, "entry_hash", snapshot, &last_seq, prev,
					 AUDIT_HASH_LEN))
		memset(prev, 0, AUDIT_HASH_LEN);
	if (e->keys != NULL && !read_secret(0, snapshot, &key_id, secret))
		key_id = new_secret(secret);
	UnregisterSnapshot(snapshot);
	seq = nextval_internal(tablerow_relid("erasure_log_seq"), false);
	now = GetCurrentTimestamp();

	if (e->keys != NULL)
	{
		digests = scratch_alloc(AUDIT_HASH_LEN * (Size) Max(e->nkeys, 1));
		ndigests = key_digests(secret, e->keys, e->nkeys, digests);
		explicit_bzero(secret, sizeof(secret));
	}

	/* The canonical text, field by field, in column order. */
	initStringInfo(&text);
	append_field(&text, AUDIT_FORMAT);
	append_field(&text, to_hex(prev, AUDIT_HASH_LEN));
	append_field(&text, int_text(seq, true));
	append_field(&text, timestamp_text(now));
	append_field(&text, session_user_name);
	append_field(&text, current_user_name);
	append_field(&text, psprintf(UINT64_FORMAT, U64FromFullTransactionId(xid)));
	append_field(&text, e->event);
	append_field(&text, int_text(e->model_id, true));
	append_field(&text, e->model_name);
	append_field(&text, source);
	append_field(&text, int_text(e->version_before, e->version_before >= 0));
	append_field(&text, int_text(e->version_after, e->version_after >= 0));
	append_field(&text, int_text(e->rows, true));
	append_field(&text, e->method);
	append_field(&text, float_text(e->step_norm));
	append_field(&text, float_text(e->error_bound));
	append_field(&text, e->params_before ? to_hex(e->params_before, AUDIT_HASH_LEN) : NULL);
	append_field(&text, e->params_after ? to_hex(e->params_after, AUDIT_HASH_LEN) : NULL);
	append_field(&text, reference);
	append_field(&text, int_text(key_id, e->keys != NULL));
	entry_hash(&text, e->keys != NULL ? digests : NULL, ndigests, hash);

	memset(nulls, 0, sizeof(nulls));
	values[0] = Int64GetDatum(seq);
	values[1] = TimestampTzGetDatum(now);
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(session_user_name));
	values[3] = DirectFunctionCall1(namein, CStringGetDatum(current_user_name));
	values[4] = FullTransactionIdGetDatum(xid);
	values[5] = CStringGetTextDatum(e->event);
	values[6] = Int32GetDatum(e->model_id);
	values[7] = CStringGetTextDatum(e->model_name);
	values[8] = source ? CStringGetTextDatum(source) : (Datum) 0;
	nulls[8] = source ? false : true;
	values[9] = Int64GetDatum(e->version_before);
	nulls[9] = e->version_before >= 0 ? false : true;
	values[10] = Int64GetDatum(e->version_after);
	nulls[10] = e->version_after >= 0 ? false : true;
	values[11] = Int64GetDatum(e->rows);
	values[12] = e->method ? CStringGetTextDatum(e->method) : (Datum) 0;
	nulls[12] = e->method ? false : true;
	values[13] = Float8GetDatum(e->step_norm);
	nulls[13] = isfinite(e->step_norm) ? false : true;
	values[14] = Float8GetDatum(e->error_bound);
	nulls[14] = isfinite(e->error_bound) ? false : true;
	values[15] = e->params_before ? PointerGetDatum(to_bytea(e->params_before, AUDIT_HASH_LEN)) : (Datum) 0;
	nulls[15] = e->params_before ? false : true;
	values[16] = e->params_after ? PointerGetDatum(to_bytea(e->params_after, AUDIT_HASH_LEN)) : (Datum) 0;
	nulls[16] = e->params_after ? false : true;
	values[17] = reference ? CStringGetTextDatum(reference) : (Datum) 0;
	nulls[17] = reference ? false : true;
	values[18] = Int32GetDatum(key_id);
	nulls[18] = e->keys ? false : true;
	values[19] = (Datum) 0;
	nulls[19] = true;
	if (e->keys != NULL)
	{
		values[19] = PointerGetDatum(digest_array(digests, ndigests));
		nulls[19] = false;
	}
	values[20] = PointerGetDatum(to_bytea(prev, AUDIT_HASH_LEN));
	values[21] = PointerGetDatum(to_bytea(hash, AUDIT_HASH_LEN));

	/*
	 * Straight through the table AM: the values are the writer's own, and
	 * an INSERT statement (its constraint expressions parsed afresh each
	 * time) cost more than the rest of an erasure.
	 */
	rel = table_open(tablerow_relid("erasure_log"), RowExclusiveLock);
	if (RelationGetDescr(rel)->natts != 22)
		elog(ERROR, "table unlearn.erasure_log has %d columns, expected 22",
			 RelationGetDescr(rel)->natts);
	tablerow_insert(rel, values, nulls);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	scratch_release(mark);

	/*
	 * The server log keeps a copy, also of entries later rolled back;
	 * without the statement, which may name a key.
	 */
	ereport(LOG,
			(errmsg("unlearn: erasure_log entry " INT64_FORMAT " (hash %s, transaction "
					UINT64_FORMAT "): %s of " INT64_FORMAT " rows, model \"%s\" version %s -> %s, method %s",
					seq, to_hex(hash, AUDIT_HASH_LEN), U64FromFullTransactionId(xid), e->event,
					e->rows, e->model_name,
					e->version_before >= 0 ? int_text(e->version_before, true) : "none",
					e->version_after >= 0 ? int_text(e->version_after, true) : "none",
					e->method ? e->method : "none"),
			 errhidestmt(true),
			 errhidecontext(true)));
}

/* Logs a change a statement made to a model (see audit.h). */
void
audit_log_change(const char *event, const StoredModel *m, Oid source,
				 int64 version_after, int64 rows, const char *method,
				 const double *theta_after, int nafter,
				 double step_norm, double error_bound,
				 const LineageRemoval *keys, int nkeys)
{
	AuditEntry	e;
	uint8		before[AUDIT_HASH_LEN];
	uint8		after[AUDIT_HASH_LEN];

	audit_params_hash(m->theta, m->nterms, before);
	if (theta_after)
		audit_params_hash(theta_after, nafter, after);
	else
		memcpy(after, before, AUDIT_HASH_LEN);

	memset(&e, 0, sizeof(e));
	e.event = event;
	e.model_id = m->model_id;
	e.model_name = m->name;
	e.source = source;
	e.version_before = m->version;
	e.version_after = version_after;
	e.rows = rows;
	e.method = method;
	e.step_norm = step_norm;
	e.error_bound = error_bound;
	e.params_before = before;
	e.params_after = after;
	e.keys = keys;
	e.nkeys = nkeys;
	audit_log(&e);
}

/* A model's current row, locked FOR UPDATE; NULL if there is none. */
AuditModelState *
audit_model_state(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	MemoryContext cxt = CurrentMemoryContext;
	AuditModelState *s = NULL;

	SPI_connect();
	if (spi_execute_cached("SELECT model_id, source, version, rows_trained,"
						   " rows_trained - rows_erased, error_bound, theta"
						   " FROM unlearn.model WHERE name = $1 FOR UPDATE",
						   1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read model \"%s\"", name);
	if (SPI_processed > 0)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		ArrayType  *theta;

		s = palloc0(sizeof(AuditModelState));
		s->model_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		s->source = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		s->version = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		s->rows_trained = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		s->rows_now = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		s->error_bound = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &isnull));
		theta = DatumGetArrayTypePCopy(SPI_getbinval(tup, desc, 7, &isnull));
		/* Stored parameters as they are, even if damaged: a drop must go on. */
		s->nparams = ArrayGetNItems(ARR_NDIM(theta), ARR_DIMS(theta));
		s->theta = ARR_HASNULL(theta) ? palloc0(sizeof(double) * Max(s->nparams, 1)) :
			(double *) ARR_DATA_PTR(theta);
		audit_params_hash(s->theta, s->nparams, s->params_hash);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return s;
}

/* Logs a create, retrain or drop of a model (see audit.h). */
void
audit_log_model(const char *event, const char *name, const AuditModelState *before)
{
	AuditModelState *after = strcmp(event, "drop") == 0 ? NULL : audit_model_state(name);
	const AuditModelState *any = after ? after : before;
	AuditEntry	e;

	Assert(any != NULL);
	memset(&e, 0, sizeof(e));
	e.event = event;
	e.model_id = any->model_id;
	e.model_name = name;
	e.source = any->source;
	e.version_before = before ? before->version : -1;
	e.version_after = after ? after->version : -1;
	e.rows = after ? after->rows_trained : before->rows_now;
	e.method = strcmp(event, "create") == 0 ? "train" :
		strcmp(event, "retrain") == 0 ? "retrain" : NULL;
	e.step_norm = get_float8_nan();
	if (before && after && before->nparams == after->nparams)
	{
		double	   *diff = palloc(sizeof(double) * Max(after->nparams, 1));
		int			i;

		for (i = 0; i < after->nparams; i++)
			diff[i] = after->theta[i] - before->theta[i];
		e.step_norm = linalg_norm2(diff, after->nparams);
	}
	e.error_bound = after ? after->error_bound : get_float8_nan();
	e.params_before = before ? before->params_hash : NULL;
	e.params_after = after ? after->params_hash : NULL;
	audit_log(&e);
}

PG_FUNCTION_INFO_V1(unlearn_log_append_only);

/* BEFORE UPDATE/DELETE (row) or TRUNCATE (statement) on the log: refused. */
Datum
unlearn_log_append_only(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	const char *what;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "unlearn._log_append_only must be called as a trigger");
	if (TRIGGER_FIRED_BY_UPDATE(trig->tg_event))
		what = "update";
	else if (TRIGGER_FIRED_BY_DELETE(trig->tg_event))
		what = "delete from";
	else if (TRIGGER_FIRED_BY_TRUNCATE(trig->tg_event))
		what = "truncate";
	else
		what = "change";
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s %s", what,
					quote_qualified_identifier(get_namespace_name(RelationGetNamespace(trig->tg_relation)),
											   RelationGetRelationName(trig->tg_relation))),
			 errdetail("The erasure log is append-only.")));
	PG_RETURN_NULL();
}

/*
 * The key type by which a key given as text is read for a source: that of
 * its models' key (the first model's), else of its one-column primary
 * key; InvalidOid if neither.
 */
static Oid
source_key_type(Oid relid)
{
	Oid			types[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	Oid			key_type = InvalidOid;
	Oid			save_userid;
	int			save_sec_context;
	Relation	rel;
	Oid			pk;
	int			rc;

	/*
	 * As the owner, as spi_as_owner does, but without a kept plan: that
	 * sets a setting, which a parallel worker may not.
	 */
	SPI_connect();
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(extension_owner(), save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	rc = SPI_execute_with_args("SELECT key_type FROM unlearn.model WHERE source = $1"
							   " ORDER BY model_id LIMIT 1",
							   1, types, values, NULL, true, 1);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the models of relation %u", relid);
	if (SPI_processed > 0)
	{
		bool		isnull;

		key_type = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	if (OidIsValid(key_type))
		return key_type;

	rel = table_open(relid, AccessShareLock);
	pk = RelationGetPrimaryKeyIndex(rel);
	if (OidIsValid(pk))
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));

		if (HeapTupleIsValid(tup))
		{
			Form_pg_index index = (Form_pg_index) GETSTRUCT(tup);

			if (index->indnatts == 1 && index->indkey.values[0] > 0)
				key_type = getBaseType(TupleDescAttr(RelationGetDescr(rel),
													 index->indkey.values[0] - 1)->atttypid);
			ReleaseSysCache(tup);
		}
	}
	table_close(rel, AccessShareLock);
	return key_type;
}

/*
 * The canonical text of a key given for a source: a key given as text is
 * first read as the source's key type ('042' is 42 for an integer key,
 * upper-case UUIDs become lower-case); integers print in decimal, other
 * types by their output function.
 */
static char *
canonical_key(Oid source, Datum key, Oid given)
{
	Oid			type = getBaseType(given);
	char		category;
	bool		preferred;
	Oid			func;
	bool		isvarlena;

	get_type_category_preferred(type, &category, &preferred);
	if (category == TYPCATEGORY_STRING)
	{
		Oid			key_type = source_key_type(source);

		if (OidIsValid(key_type) && key_type != type)
		{
			Oid			infunc,
						ioparam;

			getTypeOutputInfo(type, &func, &isvarlena);
			getTypeInputInfo(key_type, &infunc, &ioparam);
			key = OidInputFunctionCall(infunc, OidOutputFunctionCall(func, key), ioparam, -1);
			type = key_type;
		}
	}
	switch (type)
	{
		case INT2OID:
			return psprintf(INT64_FORMAT, (int64) DatumGetInt16(key));
		case INT4OID:
			return psprintf(INT64_FORMAT, (int64) DatumGetInt32(key));
		case INT8OID:
			return psprintf(INT64_FORMAT, DatumGetInt64(key));
		default:
			getTypeOutputInfo(type, &func, &isvarlena);
			return OidOutputFunctionCall(func, key);
	}
}

PG_FUNCTION_INFO_V1(unlearn_subject_digest);

/*
 * subject_digest(source, key [, key_id]): the digest the log holds for
 * that key, under the current digest key or key_id.
 */
Datum
unlearn_subject_digest(PG_FUNCTION_ARGS)
{
	Oid			source = PG_GETARG_OID(0);
	int32		key_id = PG_NARGS() > 2 ? PG_GETARG_INT32(2) : 0;
	uint8		secret[AUDIT_SECRET_LEN];
	uint8		digest[AUDIT_HASH_LEN];
	int32		found_id;
	LineageRemoval key = {0};

	if (PG_NARGS() > 2 && key_id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("digest key id must be positive")));
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(source)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	key.key_text = canonical_key(source, PG_GETARG_DATUM(1),
							get_fn_expr_argtype(fcinfo->flinfo, 1));
	if (!read_secret(key_id, GetActiveSnapshot(), &found_id, secret))
	{
		if (key_id > 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("digest key %d does not exist", key_id)));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no digest key exists yet"),
				 errdetail("The first erasure makes one; so does unlearn.rotate_secret().")));
	}
	key.found = true;
	key_digests(secret, &key, 1, digest);
	explicit_bzero(secret, sizeof(secret));
	PG_RETURN_BYTEA_P(to_bytea(digest, AUDIT_HASH_LEN));
}

PG_FUNCTION_INFO_V1(unlearn_rotate_secret);

/*
 * rotate_secret(): a new digest key, current from now on; the previous
 * one is retired but kept, so older entries stay checkable.
 */
Datum
unlearn_rotate_secret(PG_FUNCTION_ARGS)
{
	uint8		secret[AUDIT_SECRET_LEN];

	audit_lock();
	PG_RETURN_INT32(new_secret(secret));
}
