/*-------------------------------------------------------------------------
 *
 * digest.c
 *	  Keyed digests of data subjects' keys, and the digest keys.
 *
 * The log never holds a key: an erased row's key is stored as
 * HMAC-SHA256(secret, "<source_id>:<canonical key text>"), the secret
 * being 32 random bytes in unlearn.secret (made with the first model,
 * rotated by rotate_secret).  source_id is the table's identity in
 * unlearn.source_table, so a digest names a row of one table: the same
 * key in another table has an unrelated digest, and both survive renames
 * and dump/restore.  Writes to unlearn.secret are made as the table's
 * owner: nobody is granted anything on it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/*
 * OpenSSL's SHA-256 context API (deprecated in OpenSSL 3 in favour of EVP,
 * kept through 3.x): a context is a plain struct that a copy duplicates,
 * which is what lets a digest key's padded blocks (and a table's prefix)
 * be hashed once and each erased key cost two compressions (see
 * KeyedHash).  Through EVP every copy allocates a provider context;
 * measured per key, 0.07 us against 0.4 us (EVP_MD_CTX_copy_ex) and 2 us
 * (pg_hmac).
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "arrayutil.h"
#include "digest.h"
#include "scratch.h"
#include "spi_cache.h"
#include "tablerow.h"

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
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(tablerow_relid("secret")));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for unlearn.secret");
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Makes a new digest key, current from now on (the previous one is
 * retired); returns its key_id, or 0 if a concurrent transaction made
 * that key_id first (it waited for that one's commit).
 */
static int32
new_secret(uint8 *secret)
{
	bool		created;
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	uint8		old[DIGEST_SECRET_LEN];
	int64		current = 0;
	Oid			types[2] = {INT4OID, BYTEAOID};
	Datum		values[2];
	Oid			owner = extension_owner();

	tablerow_read_bytea("secret", 0, "secret", snapshot, &current, old, DIGEST_SECRET_LEN);
	UnregisterSnapshot(snapshot);
	if (!pg_strong_random(secret, DIGEST_SECRET_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random digest key")));
	values[0] = Int32GetDatum((int32) current + 1);
	values[1] = PointerGetDatum(bytes_to_bytea(secret, DIGEST_SECRET_LEN));
	SPI_connect();
	if (current > 0 &&
		spi_as_owner(owner, "UPDATE unlearn.secret SET retired_at = now() WHERE key_id < $1"
					 " AND retired_at IS NULL",
					 1, types, values, NULL) != SPI_OK_UPDATE)
		elog(ERROR, "could not retire the digest key");
	if (spi_as_owner(owner, "INSERT INTO unlearn.secret (key_id, secret, created_at)"
					 " VALUES ($1, $2, now()) ON CONFLICT (key_id) DO NOTHING",
					 2, types, values, NULL) != SPI_OK_INSERT)
		elog(ERROR, "could not store the digest key");
	created = SPI_processed == 1;
	SPI_finish();
	return created ? (int32) current + 1 : 0;
}

/*
 * The digest key key_id (0: the current one) as the snapshot sees it;
 * false if there is none.
 */
bool
digest_read_secret(int32 key_id, Snapshot snapshot, int32 *found_id, uint8 *secret)
{
	int64		id;

	if (!tablerow_read_bytea("secret", key_id, "secret", snapshot, &id, secret,
							 DIGEST_SECRET_LEN))
		return false;
	*found_id = (int32) id;
	return true;
}

/* Orders two 32-byte digests bytewise (a qsort comparator). */
static int
compare_digests(const void *a, const void *b)
{
	return memcmp(a, b, DIGEST_LEN);
}

/* Sorts a few 32-byte digests bytewise in place (insertion sort). */
static void
insertion_sort_digests(uint8 *digests, int n)
{
	uint8		d[DIGEST_LEN];
	int			i,
				j;

	for (i = 1; i < n; i++)
	{
		memcpy(d, digests + (Size) i * DIGEST_LEN, DIGEST_LEN);
		for (j = i; j > 0 && memcmp(digests + (Size) (j - 1) * DIGEST_LEN, d,
									DIGEST_LEN) > 0; j--)
			memcpy(digests + (Size) j * DIGEST_LEN,
				   digests + (Size) (j - 1) * DIGEST_LEN, DIGEST_LEN);
		memcpy(digests + (Size) j * DIGEST_LEN, d, DIGEST_LEN);
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
	sorted = scratch_alloc((Size) DIGEST_LEN * n);

	/* Counting sort by bucket: start[b] is where bucket b begins. */
	for (i = 0; i < n; i++)
		start[digest_bucket(digests + (Size) i * DIGEST_LEN, bits) + 1]++;
	for (b = 0; b < nbuckets; b++)
		start[b + 1] += start[b];
	for (i = 0; i < n; i++)
	{
		const uint8 *d = digests + (Size) i * DIGEST_LEN;

		memcpy(sorted + (Size) start[digest_bucket(d, bits)]++ * DIGEST_LEN, d,
			   DIGEST_LEN);
	}
	/* Each bucket now ends where the next began: start[b] is its end. */
	for (b = 0, i = 0; b < nbuckets; b++)
	{
		int			count = start[b] - i;

		if (count > 8)
			qsort(sorted + (Size) i * DIGEST_LEN, count, DIGEST_LEN,
				  compare_digests);
		else if (count > 1)
			insertion_sort_digests(sorted + (Size) i * DIGEST_LEN, count);
		i = start[b];
	}
	memcpy(digests, sorted, (Size) DIGEST_LEN * n);
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

/*
 * Absorbs a prefix every message under the prepared key starts with (a
 * table's "<source_id>:"), so it is hashed once.
 */
static void
keyed_hash_absorb(KeyedHash *kh, const void *prefix, size_t len)
{
	if (!SHA256_Update(&kh->inner, prefix, len))
		elog(ERROR, "could not compute HMAC-SHA256");
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
 * HMAC-SHA256 under secret of "<source_id>:<canonical key text>" (as
 * UTF-8) of each key marked found, into out (32 bytes each), sorted
 * bytewise so their order tells nothing; returns their number.  Integer
 * keys are their decimal text, formatted here, not kept as strings.
 */
int
digest_keys(const uint8 *secret, int32 source_id, const LineageRemoval *keys, int n,
			uint8 *out)
{
	KeyedHash	kh;
	char		digits[MAXINT8LEN + 1];
	char		prefix[MAXINT8LEN + 2];
	int			i,
				count = 0;

	keyed_hash_init(&kh, secret, DIGEST_SECRET_LEN);
	snprintf(prefix, sizeof(prefix), "%d:", (int) source_id);
	keyed_hash_absorb(&kh, prefix, strlen(prefix));
	for (i = 0; i < n; i++)
	{
		uint8	   *digest = out + (Size) count * DIGEST_LEN;

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
digest_hmac(const uint8 *key, size_t keylen, const uint8 *message, size_t len, uint8 *out)
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
ArrayType *
digest_array(const uint8 *digests, int n)
{
	Size		elem = VARHDRSZ + DIGEST_LEN;	/* a multiple of 4: no padding */
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
		memcpy(VARDATA(p), digests + (Size) i * DIGEST_LEN, DIGEST_LEN);
	}
	return a;
}

/*
 * The source_id and key type a table is registered under; false if it
 * was never a model's source.  Read as the extension's owner, without a
 * kept plan (that sets a setting, which a parallel worker may not).
 */
static bool
registered_source(Oid relid, int32 *source_id, Oid *key_type)
{
	Oid			types[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	Oid			save_userid;
	int			save_sec_context;
	bool		found;
	int			rc;

	SPI_connect();
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(extension_owner(), save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	rc = SPI_execute_with_args("SELECT source_id, key_type FROM unlearn.source_table"
							   " WHERE relation = $1",
							   1, types, values, NULL, true, 1);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the source of relation %u", relid);
	found = SPI_processed == 1;
	if (found)
	{
		bool		isnull;

		*source_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 1, &isnull));
		*key_type = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	return found;
}

/* The schema-qualified name of a relation. */
static char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * The source_id of a table a model is trained on: its row of
 * unlearn.source_table, made on first use (key_type: its key's type);
 * the name it records is brought up to date.
 */
int32
digest_source_id(Oid relid, Oid key_type)
{
	Oid			types[3] = {REGCLASSOID, TEXTOID, REGTYPEOID};
	Datum		values[3];
	Oid			owner = extension_owner();
	int32		source_id;
	bool		isnull;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(qualified_name(relid));
	values[2] = ObjectIdGetDatum(key_type);
	SPI_connect();
	if (spi_as_owner(owner, "INSERT INTO unlearn.source_table (relation, name, key_type)"
					 " VALUES ($1, $2, $3) ON CONFLICT (relation) DO UPDATE SET name = EXCLUDED.name"
					 " RETURNING source_id",
					 3, types, values, NULL) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not register relation %u as a source", relid);
	source_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											1, &isnull));
	SPI_finish();
	return source_id;
}

/*
 * The canonical text of a key given in type given for a key column of
 * type key_type: a key given as text is first read as key_type ('042' is
 * 42 for an integer key, upper-case UUIDs become lower-case); integers
 * print in decimal, other types by their output function.
 */
static char *
canonical_key(Datum key, Oid given, Oid key_type)
{
	Oid			type = getBaseType(given);
	char		category;
	bool		preferred;
	Oid			func;
	bool		isvarlena;

	get_type_category_preferred(type, &category, &preferred);
	if (category == TYPCATEGORY_STRING && OidIsValid(key_type) && key_type != type)
	{
		Oid			infunc,
					ioparam;

		getTypeOutputInfo(type, &func, &isvarlena);
		getTypeInputInfo(key_type, &infunc, &ioparam);
		key = OidInputFunctionCall(infunc, OidOutputFunctionCall(func, key), ioparam, -1);
		type = key_type;
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

/*
 * The digest of a key's canonical text in a source under digest key
 * key_id (0: the current one); errors when there is no such key.
 */
static bytea *
subject_digest(int32 source_id, char *key_text, int32 key_id)
{
	uint8		secret[DIGEST_SECRET_LEN];
	uint8		digest[DIGEST_LEN];
	int32		found_id;
	LineageRemoval key = {0};
	bytea	   *result;

	if (!digest_read_secret(key_id, GetActiveSnapshot(), &found_id, secret))
	{
		if (key_id > 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("digest key %d does not exist", key_id)));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no digest key exists yet"),
				 errdetail("The first model makes one; so does unlearn.rotate_secret().")));
	}
	key.key_text = key_text;
	key.found = true;
	digest_keys(secret, source_id, &key, 1, digest);
	explicit_bzero(secret, sizeof(secret));
	result = palloc(VARHDRSZ + DIGEST_LEN);
	SET_VARSIZE(result, VARHDRSZ + DIGEST_LEN);
	memcpy(VARDATA(result), digest, DIGEST_LEN);
	return result;
}

/* Raises the error for a digest key id that cannot be one. */
static void
check_key_id(int32 key_id)
{
	if (key_id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("digest key id must be positive")));
}

PG_FUNCTION_INFO_V1(unlearn_subject_digest);

/*
 * subject_digest(source, key [, key_id]): the digest the log holds for
 * that key of source, under the current digest key or key_id.
 */
Datum
unlearn_subject_digest(PG_FUNCTION_ARGS)
{
	Oid			source = PG_GETARG_OID(0);
	int32		key_id = PG_NARGS() > 2 ? PG_GETARG_INT32(2) : 0;
	int32		source_id;
	Oid			key_type;

	if (PG_NARGS() > 2)
		check_key_id(key_id);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(source)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	if (!registered_source(source, &source_id, &key_type))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("relation \"%s\" has never been the source of a model", get_rel_name(source)),
				 errdetail("The erasure log holds digests only of keys of models' sources.")));
	PG_RETURN_BYTEA_P(subject_digest(source_id,
									 canonical_key(PG_GETARG_DATUM(1),
												   get_fn_expr_argtype(fcinfo->flinfo, 1), key_type),
									 key_id));
}

PG_FUNCTION_INFO_V1(unlearn_source_subject_digest);

/*
 * source_subject_digest(source_id, key, key_id): the same for a source
 * known by its source_id (a table since dropped), the key given in its
 * canonical text.
 */
Datum
unlearn_source_subject_digest(PG_FUNCTION_ARGS)
{
	int32		key_id = PG_GETARG_INT32(2);

	check_key_id(key_id);
	PG_RETURN_BYTEA_P(subject_digest(PG_GETARG_INT32(0), text_to_cstring(PG_GETARG_TEXT_PP(1)),
									 key_id));
}

/*
 * The current digest key, made if there is none yet; returns its key_id.
 * Concurrent first uses wait for each other's commit at the key's insert
 * and then all use the one that committed.
 */
int32
digest_current_secret(uint8 *secret)
{
	int			attempt;

	for (attempt = 0; attempt < 3; attempt++)
	{
		Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
		int32		key_id;
		bool		found = digest_read_secret(0, snapshot, &key_id, secret);

		UnregisterSnapshot(snapshot);
		if (found)
			return key_id;
		if ((key_id = new_secret(secret)) > 0)
			return key_id;
	}
	elog(ERROR, "could not make the first digest key");
}

PG_FUNCTION_INFO_V1(unlearn_rotate_secret);

/*
 * rotate_secret(): a new digest key, current from now on; the previous
 * one is retired but kept, so older entries stay checkable.  A concurrent
 * rotation makes this one wait for its commit and then go one key further.
 */
Datum
unlearn_rotate_secret(PG_FUNCTION_ARGS)
{
	uint8		secret[DIGEST_SECRET_LEN];
	int			attempt;

	for (attempt = 0; attempt < 3; attempt++)
	{
		int32		key_id = new_secret(secret);

		explicit_bzero(secret, sizeof(secret));
		if (key_id > 0)
			PG_RETURN_INT32(key_id);
	}
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not rotate the digest key: concurrent rotations")));
}
