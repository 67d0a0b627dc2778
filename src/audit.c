/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The erasure log and its chain.
 *
 * Every change to a model goes into unlearn.erasure_log as one entry,
 * written inside the changing transaction with no lock beyond the
 * model's own; entry_hash is the SHA-256 of the entry's canonical text
 * (unlearn.log_entry_text in the install script is the same text in SQL,
 * and verify_log checks every entry with it: two independent
 * implementations of one documented format).
 *
 * At commit, the transaction's entries are sealed into the chain: one row
 * of unlearn.erasure_log_chain names them (their seqs), the link before
 * it, and its own hash over both and over the entries' hashes.  The link
 * is written in the pre-commit callback under a lock that is held from
 * there to the end of the commit: the next committer reads the head only
 * after this one is visible, so positions are gapless, in commit order,
 * and the chain never forks; and no writer ever waits for another's
 * transaction, only for its commit.  An entry rolled back (with its
 * transaction or subtransaction) is never sealed: it leaves a gap in seq
 * and a line in the server log, and nothing in the tables.  A transaction
 * that wrote entries cannot be prepared for two-phase commit (its link
 * would hold the chain's lock until COMMIT PREPARED).
 *
 * Writes to the extension's tables go through the table AM as the
 * extension's C code: the log needs no INSERT privilege for anyone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/inval.h"

#include <math.h>

/* The chain's hash over many entries, fed piece by piece (see entry_hash). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
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
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "arrayutil.h"
#include "audit.h"
#include "digest.h"
#include "linalg.h"
#include "request_reference.h"
#include "scratch.h"
#include "spi_cache.h"
#include "tablerow.h"
#include "unlearn.h"

#define AUDIT_FORMAT "unlearn.erasure_log v2"
#define CHAIN_FORMAT "unlearn.erasure_log_chain v1"
#define LOG_COLUMNS 23
#define CHAIN_COLUMNS 6

/* A lock tag field no SQL-level advisory lock uses (those use 1 and 2). */
#define CHAIN_LOCK_CLASS 0x756e

/* An entry this transaction wrote, to be sealed at its commit. */
typedef struct UnsealedEntry
{
	int64		seq;
	uint8		hash[AUDIT_HASH_LEN];
	SubTransactionId subid;		/* the subtransaction it belongs to now */
	Oid			log;			/* the erasure_log table it is in */
} UnsealedEntry;

/* The server log line of the link this transaction's commit writes, or NULL. */
static char *sealed_line = NULL;

/* Tests only: the next commit that seals entries fails right after (audit_test_fail_commit). */
static bool fail_after_seal = false;

/* This transaction's entries not yet sealed, in TopMemoryContext. */
static UnsealedEntry *unsealed = NULL;
static int	nunsealed = 0;
static int	maxunsealed = 0;

static void audit_xact_callback(XactEvent event, void *arg);
static void audit_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								   SubTransactionId parentSubid, void *arg);

/* Registers the commit-time sealing. */
void
audit_init(void)
{
	RegisterXactCallback(audit_xact_callback, NULL);
	RegisterSubXactCallback(audit_subxact_callback, NULL);
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


/* Remembers an entry of this transaction for sealing at its commit. */
static void
remember_unsealed(int64 seq, const uint8 *hash)
{
	if (nunsealed == maxunsealed)
	{
		maxunsealed = Max(16, maxunsealed * 2);
		unsealed = unsealed ?
			repalloc(unsealed, sizeof(UnsealedEntry) * maxunsealed) :
			MemoryContextAlloc(TopMemoryContext, sizeof(UnsealedEntry) * maxunsealed);
	}
	unsealed[nunsealed].seq = seq;
	memcpy(unsealed[nunsealed].hash, hash, AUDIT_HASH_LEN);
	unsealed[nunsealed].subid = GetCurrentSubTransactionId();
	unsealed[nunsealed].log = tablerow_relid("erasure_log");
	nunsealed++;
}

/*
 * Forgets the entries whose erasure_log table is gone (by OID: a renamed
 * table is still there): DROP EXTENSION in the transaction that wrote
 * them took them (and the chain) away, and a CREATE EXTENSION after it
 * began a new log.
 */
static void
forget_dropped_entries(void)
{
	int			i,
				kept = 0;

	for (i = 0; i < nunsealed; i++)
		if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(unsealed[i].log)))
			unsealed[kept++] = unsealed[i];
	nunsealed = kept;
}

/* Orders unsealed entries by seq (a qsort comparator). */
static int
compare_unsealed(const void *a, const void *b)
{
	int64		sa = ((const UnsealedEntry *) a)->seq;
	int64		sb = ((const UnsealedEntry *) b)->seq;

	return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/* Takes the chain's lock, to the end of the transaction (its commit). */
static void
chain_lock(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, tablerow_relid("erasure_log_chain"), 0,
						 CHAIN_LOCK_CLASS);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * Seals this transaction's entries into the chain: one link after the
 * last committed one, under the chain's lock (held to the end of the
 * commit that follows).
 */
static void
seal_entries(void)
{
	uint8		prev[AUDIT_HASH_LEN];
	uint8		hash[AUDIT_HASH_LEN];
	int64		position = 0;
	Snapshot	snapshot;
	StringInfoData text;
	SHA256_CTX	c;
	TimestampTz now;
	FullTransactionId xid = GetTopFullTransactionId();
	Datum	   *seqs = palloc(sizeof(Datum) * nunsealed);
	Datum		values[CHAIN_COLUMNS];
	bool		nulls[CHAIN_COLUMNS] = {0};
	StringInfoData sealed;
	Relation	rel;
	int			i;

	chain_lock();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	if (!tablerow_read_bytea("erasure_log_chain", 0, "link_hash", snapshot, &position, prev,
							 AUDIT_HASH_LEN))
		memset(prev, 0, AUDIT_HASH_LEN);
	UnregisterSnapshot(snapshot);
	position++;
	now = GetCurrentTimestamp();
	qsort(unsealed, nunsealed, sizeof(UnsealedEntry), compare_unsealed);

	/* The canonical text: the head, then each entry's seq and hash. */
	initStringInfo(&text);
	append_field(&text, CHAIN_FORMAT);
	append_field(&text, to_hex(prev, AUDIT_HASH_LEN));
	append_field(&text, int_text(position, true));
	append_field(&text, timestamp_text(now));
	append_field(&text, psprintf(UINT64_FORMAT, U64FromFullTransactionId(xid)));
	append_field(&text, int_text(nunsealed, true));
	initStringInfo(&sealed);
	for (i = 0; i < nunsealed; i++)
	{
		append_field(&text, int_text(unsealed[i].seq, true));
		append_field(&text, to_hex(unsealed[i].hash, AUDIT_HASH_LEN));
		seqs[i] = Int64GetDatum(unsealed[i].seq);
		appendStringInfo(&sealed, "%s" INT64_FORMAT, i > 0 ? ", " : "", unsealed[i].seq);
	}
	if (!SHA256_Init(&c) || !SHA256_Update(&c, text.data, text.len) || !SHA256_Final(hash, &c))
		elog(ERROR, "could not compute SHA-256");

	values[0] = Int64GetDatum(position);
	values[1] = TimestampTzGetDatum(now);
	values[2] = FullTransactionIdGetDatum(xid);
	values[3] = PointerGetDatum(construct_array(seqs, nunsealed, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	values[4] = PointerGetDatum(bytes_to_bytea(prev, AUDIT_HASH_LEN));
	values[5] = PointerGetDatum(bytes_to_bytea(hash, AUDIT_HASH_LEN));
	rel = table_open(tablerow_relid("erasure_log_chain"), RowExclusiveLock);
	if (RelationGetDescr(rel)->natts != CHAIN_COLUMNS)
		elog(ERROR, "table unlearn.erasure_log_chain has %d columns, expected %d",
			 RelationGetDescr(rel)->natts, CHAIN_COLUMNS);
	tablerow_insert(rel, values, nulls);
	table_close(rel, NoLock);
	nunsealed = 0;

	/* Said in the server log once the commit is done: a link that is. */
	sealed_line = MemoryContextStrdup(TopMemoryContext,
									  psprintf("unlearn: erasure_log_chain link " INT64_FORMAT
											   " (hash %s, transaction " UINT64_FORMAT
											   ") seals entries %s",
											   position, to_hex(hash, AUDIT_HASH_LEN),
											   U64FromFullTransactionId(xid), sealed.data));
}

/*
 * Tests only: makes the next commit that seals entries fail after its link
 * is made, as a serialization failure found at commit would.
 */
void
audit_test_fail_commit(void)
{
	fail_after_seal = true;
}

/* Writes the committed link's line to the server log (at COMMIT), or drops it. */
static void
say_sealed(bool committed)
{
	if (sealed_line == NULL)
		return;
	if (committed && unlearn_log_to_server)
		ereport(LOG,
				(errmsg("%s", sealed_line),
				 errhidestmt(true),
				 errhidecontext(true)));
	pfree(sealed_line);
	sealed_line = NULL;
}

/*
 * Transaction callback: seals the entries at commit; refuses to prepare a
 * transaction that wrote some; forgets them at the end.
 */
static void
audit_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (nunsealed > 0)
				forget_dropped_entries();
			if (nunsealed > 0)
				seal_entries();
			if (fail_after_seal && sealed_line != NULL)
			{
				fail_after_seal = false;
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("the commit failed after its link was made (a test)")));
			}
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (nunsealed > 0)
				forget_dropped_entries();
			if (nunsealed > 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that wrote to the erasure log"),
						 errdetail("Its entries are sealed into the log's chain when it commits."),
						 errhint("Commit it without two-phase commit; a logical replication subscription to tables with models must have two_phase = false.")));
			break;
		case XACT_EVENT_COMMIT:
			say_sealed(true);
			nunsealed = 0;
			break;
		default:
			say_sealed(false);
			nunsealed = 0;
			break;
	}
}

/*
 * Subtransaction callback: entries of an aborted subtransaction are not
 * sealed (they are gone); a committed one's pass to its parent.
 */
static void
audit_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			i,
				kept = 0;

	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (i = 0; i < nunsealed; i++)
			if (unsealed[i].subid == mySubid)
				unsealed[i].subid = parentSubid;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		for (i = 0; i < nunsealed; i++)
			if (unsealed[i].subid != mySubid)
				unsealed[kept++] = unsealed[i];
		nunsealed = kept;
	}
}

/* Appends an entry to the erasure log (and to the server log). */
void
audit_log(const AuditEntry *e)
{
	uint8		hash[AUDIT_HASH_LEN];
	uint8		secret[DIGEST_SECRET_LEN];
	uint8	   *digests = NULL;
	int32		key_id = 0;
	int			ndigests = 0;
	int64		seq;
	TimestampTz now;
	char	   *session_user_name = GetUserNameFromId(GetSessionUserId(), false);
	/* The role in force outside a SECURITY DEFINER trigger (SET ROLE counts). */
	char	   *current_user_name = GetUserNameFromId(GetOuterUserId(), false);
	FullTransactionId xid = GetTopFullTransactionId();
	const char *reference = request_reference_get();
	char	   *source = source_text(e->source);
	StringInfoData text;
	Relation	rel;
	Datum		values[LOG_COLUMNS];
	bool		nulls[LOG_COLUMNS];
	Size		mark = scratch_mark();	/* the digests' arrays go at the end */

	/*
	 * Plans carrying a model's state (shipped predictions) are made again
	 * after every entry but a verification's, which changes no model.
	 */
	if (strcmp(e->event, "verify") != 0)
		CacheInvalidateRelcacheByRelid(tablerow_relid("model"));
	if (e->keys != NULL)
		key_id = digest_current_secret(secret);
	seq = nextval_internal(tablerow_relid("erasure_log_seq"), false);
	now = GetCurrentTimestamp();
	if (e->keys != NULL)
	{
		digests = scratch_alloc(AUDIT_HASH_LEN * (Size) Max(e->nkeys, 1));
		ndigests = digest_keys(secret, e->source_id, e->keys, e->nkeys, digests);
		explicit_bzero(secret, sizeof(secret));
	}

	/* The canonical text, field by field, in column order. */
	initStringInfo(&text);
	append_field(&text, AUDIT_FORMAT);
	append_field(&text, int_text(seq, true));
	append_field(&text, timestamp_text(now));
	append_field(&text, session_user_name);
	append_field(&text, current_user_name);
	append_field(&text, psprintf(UINT64_FORMAT, U64FromFullTransactionId(xid)));
	append_field(&text, e->event);
	append_field(&text, int_text(e->model_id, true));
	append_field(&text, e->model_name);
	append_field(&text, int_text(e->source_id, e->source_id > 0));
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
	append_field(&text, e->detail);
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
	values[8] = Int32GetDatum(e->source_id);
	nulls[8] = e->source_id > 0 ? false : true;
	values[9] = source ? CStringGetTextDatum(source) : (Datum) 0;
	nulls[9] = source ? false : true;
	values[10] = Int64GetDatum(e->version_before);
	nulls[10] = e->version_before >= 0 ? false : true;
	values[11] = Int64GetDatum(e->version_after);
	nulls[11] = e->version_after >= 0 ? false : true;
	values[12] = Int64GetDatum(e->rows);
	values[13] = e->method ? CStringGetTextDatum(e->method) : (Datum) 0;
	nulls[13] = e->method ? false : true;
	values[14] = Float8GetDatum(e->step_norm);
	nulls[14] = isfinite(e->step_norm) ? false : true;
	values[15] = Float8GetDatum(e->error_bound);
	nulls[15] = isfinite(e->error_bound) ? false : true;
	values[16] = e->params_before ? PointerGetDatum(bytes_to_bytea(e->params_before, AUDIT_HASH_LEN)) : (Datum) 0;
	nulls[16] = e->params_before ? false : true;
	values[17] = e->params_after ? PointerGetDatum(bytes_to_bytea(e->params_after, AUDIT_HASH_LEN)) : (Datum) 0;
	nulls[17] = e->params_after ? false : true;
	values[18] = reference ? CStringGetTextDatum(reference) : (Datum) 0;
	nulls[18] = reference ? false : true;
	values[19] = e->detail ? CStringGetTextDatum(e->detail) : (Datum) 0;
	nulls[19] = e->detail ? false : true;
	values[20] = Int32GetDatum(key_id);
	nulls[20] = e->keys ? false : true;
	values[21] = (Datum) 0;
	nulls[21] = true;
	if (e->keys != NULL)
	{
		values[21] = PointerGetDatum(digest_array(digests, ndigests));
		nulls[21] = false;
	}
	values[22] = PointerGetDatum(bytes_to_bytea(hash, AUDIT_HASH_LEN));

	/*
	 * Straight through the table AM: the values are the writer's own, and
	 * an INSERT statement (its constraint expressions parsed afresh each
	 * time) cost more than the rest of an erasure.
	 */
	rel = table_open(tablerow_relid("erasure_log"), RowExclusiveLock);
	if (RelationGetDescr(rel)->natts != LOG_COLUMNS)
		elog(ERROR, "table unlearn.erasure_log has %d columns, expected %d",
			 RelationGetDescr(rel)->natts, LOG_COLUMNS);
	tablerow_insert(rel, values, nulls);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	scratch_release(mark);
	remember_unsealed(seq, hash);

	/*
	 * The server log keeps a copy, also of entries later rolled back;
	 * without the statement, which may name a key.
	 */
	if (unlearn_log_to_server)
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
				 double step_norm, double error_bound, const char *detail,
				 const LineageRemoval *keys, int nkeys)
{
	AuditEntry	e;
	uint8		before[AUDIT_HASH_LEN];
	uint8		after[AUDIT_HASH_LEN];

	audit_params_hash(m->theta, m->nterms * Max(m->nclasses, 1), before);
	if (theta_after)
		audit_params_hash(theta_after, nafter, after);
	else
		memcpy(after, before, AUDIT_HASH_LEN);

	memset(&e, 0, sizeof(e));
	e.event = event;
	e.model_id = m->model_id;
	e.model_name = m->name;
	e.source = source;
	e.source_id = m->source_id;
	e.version_before = m->version;
	e.version_after = version_after;
	e.rows = rows;
	e.method = method;
	e.step_norm = step_norm;
	e.error_bound = error_bound;
	e.params_before = before;
	e.params_after = after;
	e.detail = detail;
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
						   " rows_trained - rows_erased, error_bound, theta, source_id"
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
		s->source_id = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
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
audit_log_model(const char *event, const char *name, const AuditModelState *before,
				const char *method, const char *detail)
{
	AuditModelState *after = strcmp(event, "drop") == 0 ? NULL : audit_model_state(name);
	const AuditModelState *any = after ? after : before;
	AuditEntry	e;

	Assert(any != NULL);
	memset(&e, 0, sizeof(e));
	e.event = event;
	e.model_id = any->model_id;
	e.detail = detail;
	e.model_name = name;
	e.source = any->source;
	e.source_id = any->source_id;
	e.version_before = before ? before->version : -1;
	e.version_after = after ? after->version : -1;
	e.rows = after ? after->rows_trained : before->rows_now;
	e.method = method ? method : strcmp(event, "create") == 0 ? "train" :
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
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger functions can only be called as triggers")));
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
