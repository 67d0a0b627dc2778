--
-- Audit trail: the erasure log and the chain that seals its entries at
-- commit, keyed digests of erased keys (never the keys) scoped to their
-- table, subject look-up, key rotation, append-only enforcement, and
-- detection of a log edited behind the triggers' back.
--
CREATE EXTENSION unlearn;
CREATE SCHEMA audit_test;
SET search_path = audit_test, public;

\set ECHO none
\i test/try.sql
\set ECHO all

-- The SHA-256 of a parameter vector as the log defines it: the float8
-- values big-endian (float8send), in order.  Independent of the C writer.
CREATE FUNCTION params_hash(theta float8[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(coalesce(string_agg(float8send(t), ''::bytea ORDER BY o), ''::bytea))
      FROM unnest(theta) WITH ORDINALITY AS u(t, o)
$$;

CREATE TABLE patients (id int PRIMARY KEY, age float8, dose float8, outcome float8);
INSERT INTO patients
SELECT g, 20 + g % 50, (g * 37 % 11) / 2.0, 0.05 * (20 + g % 50) - 0.3 * ((g * 37 % 11) / 2.0) + (g % 3)
  FROM generate_series(1, 200) g;
CREATE TABLE people (email text PRIMARY KEY, x float8, y int);
INSERT INTO people
SELECT 'person' || g || '@example.com', g % 10, (g % 3 = 0)::int FROM generate_series(1, 60) g;
INSERT INTO people VALUES ('alice@example.com', 4, 1), ('bob@example.com', 5, 0);
CREATE TABLE devices (id uuid PRIMARY KEY, x float8, y float8);
INSERT INTO devices SELECT md5(g::text)::uuid, g % 9, g % 4 + 0.1 * g FROM generate_series(1, 40) g;

-- An empty log verifies; no digest key exists before the first model, and
-- a table that never had a model has no digests.
SELECT * FROM unlearn.verify_log();
SELECT * FROM unlearn.log_anchor();
SELECT count(*) AS digest_keys FROM unlearn.digest_keys;
SELECT try($$SELECT unlearn.subject_digest('patients', 42)$$);
SELECT count(*) AS entries FROM unlearn.subject_log('patients', 42);

-- Creating a model is an entry: no keys, the parameters' hash after.  The
-- first model makes the digest key, and each source gets its source_id.
SELECT name FROM unlearn.create_model('dosage', 'patients', 'outcome', ARRAY['age', 'dose'], 'linear');
SELECT name FROM unlearn.create_model('churn', 'people', 'y', ARRAY['x'], 'logistic');
SELECT name FROM unlearn.create_model('wear', 'devices', 'y', ARRAY['x'], 'linear');
SELECT count(*) AS digest_keys FROM unlearn.digest_keys;
SELECT source_id, relation, name, key_type, dropped_at FROM unlearn.sources ORDER BY source_id;
SELECT seq, event, model_name, source_id, source, version_before, version_after, rows, method,
       params_hash_before IS NULL AS no_before, key_id, key_digests
  FROM unlearn.erasure_log ORDER BY seq;
-- Each committed transaction's entries are sealed by one link of the chain.
SELECT position, entries, prev_hash = decode(repeat('00', 32), 'hex') AS starts_chain
  FROM unlearn.erasure_log_chain ORDER BY position;

-- An erasure request: the application names it; one entry, the key as
-- a digest only.
SET unlearn.request_reference = 'DSR-2024-0042';
DELETE FROM patients WHERE id = 42;
RESET unlearn.request_reference;
SELECT seq, event, model_name, version_before, version_after, rows, method,
       request_reference, key_id, cardinality(key_digests) AS digests,
       length(key_digests[1]) AS digest_bytes
  FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1;
-- The auditor, given the key, finds it: as a number, as text, as bigint.
SELECT unlearn.subject_digest('patients', 42) = key_digests[1] AS as_int,
       unlearn.subject_digest('patients', '42') = key_digests[1] AS as_text,
       unlearn.subject_digest('patients', '042'::text) = key_digests[1] AS leading_zero,
       unlearn.subject_digest('patients', 42::bigint) = key_digests[1] AS as_bigint,
       unlearn.subject_digest('patients', 43) = key_digests[1] AS other_key
  FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1;
-- Also in a parallel worker.
SET force_parallel_mode = on;
SELECT unlearn.subject_digest('patients', '42') = key_digests[1] AS in_worker
  FROM unlearn.erasure_log WHERE seq = 4;
RESET force_parallel_mode;
-- The digest is HMAC-SHA256 of "<source_id>:<key>": 32 bytes, not a plain
-- hash; the same key of another table has another digest.
SELECT length(unlearn.subject_digest('patients', 42)) AS bytes,
       unlearn.subject_digest('patients', 42) <> sha256('1:42') AS keyed,
       unlearn.subject_digest('patients', 42) <> unlearn.subject_digest('people', '42') AS scoped;

-- A bulk DELETE: one entry per model, every erased key's digest, sorted
-- (their order says nothing about the keys).
DELETE FROM patients WHERE id BETWEEN 100 AND 119;
SELECT event, rows, cardinality(key_digests) AS digests,
       (SELECT count(*) FROM generate_series(100, 119) k
         WHERE unlearn.subject_digest('patients', k) = ANY (key_digests)) AS found,
       key_digests = (SELECT array_agg(d ORDER BY d) FROM unnest(key_digests) d) AS sorted
  FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1;

-- Text and uuid keys; a uuid given as text in capitals is the same key.
DELETE FROM people WHERE email = 'alice@example.com';
SELECT unlearn.subject_digest('people', 'alice@example.com') = key_digests[1] AS alice
  FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1;
DELETE FROM devices WHERE id = md5('7')::uuid;
SELECT unlearn.subject_digest('devices', upper(md5('7')::uuid::text)) = key_digests[1] AS uuid_text,
       unlearn.subject_digest('devices', md5('7')::uuid) = key_digests[1] AS uuid
  FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1;
-- No key or value of a row appears anywhere in the log.
SELECT count(*) AS entries_naming_alice FROM unlearn.erasure_log l WHERE l::text LIKE '%alice%';
SELECT count(*) AS entries_naming_the_uuid FROM unlearn.erasure_log l
 WHERE l::text LIKE '%' || md5('7') || '%';

-- Rectification is logged with the rectified keys' digests.
UPDATE patients SET dose = dose + 1 WHERE id IN (7, 8);
SELECT event, rows, method, cardinality(key_digests) AS digests
  FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1;

-- "Was patient 42 erased from every model, and when?"  No model holds the
-- row any more, and the log says when each model lost it.
SELECT * FROM unlearn.lineage_of('patients', 42);
SELECT seq, event, model_name, request_reference, logged_at IS NOT NULL AS dated
  FROM unlearn.subject_log('patients', 42);
SELECT seq, event, model_name FROM unlearn.subject_log('patients', 7);
SELECT count(*) AS entries_for_unknown_key FROM unlearn.subject_log('patients', 5000);
-- A row still in the model: lineage says so, the log has nothing.
SELECT * FROM unlearn.lineage_of('patients', 43);
SELECT count(*) AS entries_for_43 FROM unlearn.subject_log('patients', 43);

-- Each entry's parameter hashes: "after" is the hash of the parameters the
-- model then had, and the next entry of the model starts where it ended.
SELECT params_hash_after = params_hash(m.theta) AS current_parameters
  FROM unlearn.erasure_log l JOIN unlearn.model m USING (model_id)
 WHERE l.seq = (SELECT max(seq) FROM unlearn.erasure_log WHERE model_id = m.model_id)
 ORDER BY m.name;
SELECT count(*) AS broken_parameter_links
  FROM (SELECT params_hash_before,
               lag(params_hash_after) OVER (PARTITION BY model_id ORDER BY seq) AS prev_after
          FROM unlearn.erasure_log) x
 WHERE prev_after IS NOT NULL AND params_hash_before <> prev_after;

-- An entry is in the log at once, for the transaction that wrote it; its
-- link comes at commit.  A rolled-back erasure leaves no entry and no
-- link, only a gap in seq; the chain holds.
SELECT max(seq) AS last_seq, (SELECT max(position) FROM unlearn.erasure_log_chain) AS last_link
  FROM unlearn.erasure_log \gset
BEGIN;
DELETE FROM patients WHERE id = 150;
SELECT seq - :last_seq AS own_entry_visible FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1;
SELECT max(position) - :last_link AS links_before_commit FROM unlearn.erasure_log_chain;
ROLLBACK;
DELETE FROM patients WHERE id = 151;
SELECT seq - :last_seq AS seq_step FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1;
SELECT position - :last_link AS link_step, cardinality(entries) AS sealed
  FROM unlearn.erasure_log_chain ORDER BY position DESC LIMIT 1;
SELECT ok, entries, first_bad_seq FROM unlearn.verify_log();
-- So does a rolled-back savepoint: its entry is not sealed, the others of
-- the transaction are, by one link.
BEGIN;
DELETE FROM patients WHERE id = 154;
SAVEPOINT s;
DELETE FROM patients WHERE id = 152;
ROLLBACK TO SAVEPOINT s;
SAVEPOINT t;
DELETE FROM patients WHERE id = 153;
RELEASE SAVEPOINT t;
COMMIT;
SELECT cardinality(entries) AS sealed,
       entries = (SELECT array_agg(seq ORDER BY seq) FROM unlearn.erasure_log
                   WHERE seq > :last_seq + 2) AS seals_the_committed_two
  FROM unlearn.erasure_log_chain ORDER BY position DESC LIMIT 1;
SELECT ok FROM unlearn.verify_log();
-- A transaction that wrote entries cannot be prepared: its link would hold
-- the chain's lock until COMMIT PREPARED.
BEGIN;
DELETE FROM patients WHERE id = 155;
PREPARE TRANSACTION 'unlearn_audit';
SELECT count(*) AS prepared FROM pg_prepared_xacts;

-- Retrain, TRUNCATE and drop are entries too.
SELECT name, version FROM unlearn.retrain('dosage');
CREATE TABLE scratch (id int PRIMARY KEY, x float8, y float8);
INSERT INTO scratch SELECT g, g, 2 * g + g % 3 FROM generate_series(1, 20) g;
SELECT name FROM unlearn.create_model('scratch', 'scratch', 'y', ARRAY['x'], 'linear');
TRUNCATE scratch;
SELECT unlearn.drop_model('scratch');
SELECT event, model_name, source, version_before, version_after, rows, method,
       step_norm IS NOT NULL AS has_step, key_digests IS NULL AS no_keys,
       params_hash_after IS NULL AS no_after
  FROM unlearn.erasure_log WHERE event IN ('retrain', 'truncate', 'drop') ORDER BY seq;

-- The subject look-up is scoped to its table: key 7 of another table with
-- its own erasure is not patient 7, and a table's look-up covers its
-- partitions.
CREATE TABLE cohort (id int PRIMARY KEY, age float8, outcome float8);
INSERT INTO cohort SELECT g, g % 17, g % 5 + 0.1 * g FROM generate_series(1, 30) g;
SELECT name FROM unlearn.create_model('cohort_model', 'cohort', 'outcome', ARRAY['age'], 'linear');
DELETE FROM cohort WHERE id = 7;
SELECT seq, event, model_name, source FROM unlearn.subject_log('patients', 7);
SELECT seq, event, model_name, source FROM unlearn.subject_log('cohort', 7);
-- ... and it survives a rename of the table.
ALTER TABLE cohort RENAME TO cohort_renamed;
SELECT model_name, source FROM unlearn.subject_log('cohort_renamed', 7);
SELECT relation, name FROM unlearn.sources WHERE relation = 'cohort_renamed'::regclass;
-- The digests of an entry, one row each; subject_log shows their count.
SELECT count(*) AS digests_of_bulk_entry FROM unlearn.entry_digests(
    (SELECT seq FROM unlearn.erasure_log WHERE model_name = 'dosage' AND rows = 20));
-- A source known by its source_id (as after a drop) gives the same digest.
SELECT unlearn.source_subject_digest(source_id, '7', 1) = unlearn.subject_digest('cohort_renamed', 7, 1)
       AS by_source_id
  FROM unlearn.sources WHERE relation = 'cohort_renamed'::regclass;

-- Who: the session user and the role that made the change.
CREATE ROLE regress_audit_clerk;
GRANT USAGE ON SCHEMA audit_test TO regress_audit_clerk;
GRANT SELECT, DELETE ON patients TO regress_audit_clerk;
SET ROLE regress_audit_clerk;
DELETE FROM patients WHERE id = 160;
RESET ROLE;
SELECT current_user_name, session_user_name = session_user AS session_user_recorded,
       transaction_id IS NOT NULL AS has_transaction
  FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1;

-- The request reference: at most 256 bytes; names and references with
-- any characters verify (lengths count UTF-8 bytes).
SELECT try($$SET unlearn.request_reference = '$$ || repeat('x', 257) || $$'$$);
SET unlearn.request_reference = 'Zürich ✓, case 7: "α,β"';
SELECT name FROM unlearn.create_model(E'odd, name:\n2', 'patients', 'outcome', ARRAY['age'], 'linear');
DELETE FROM patients WHERE id = 161;
RESET unlearn.request_reference;
SELECT model_name, request_reference FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 2;
SELECT ok, first_bad_seq FROM unlearn.verify_log();

-- Key rotation: a new current key; old entries stay checkable with theirs.
SELECT unlearn.rotate_secret() AS new_key_id;
SELECT key_id, retired_at IS NOT NULL AS retired FROM unlearn.digest_keys ORDER BY key_id;
DELETE FROM patients WHERE id = 170;
SELECT key_id, unlearn.subject_digest('patients', 170) = key_digests[1] AS found_with_current_key
  FROM unlearn.erasure_log WHERE event = 'erasure' ORDER BY seq DESC LIMIT 1;
SELECT unlearn.subject_digest('patients', 42, 1) <> unlearn.subject_digest('patients', 42, 2)
       AS keys_differ;
SELECT seq, key_id FROM unlearn.subject_log('patients', 42)
UNION ALL
SELECT seq, key_id FROM unlearn.subject_log('patients', 170) ORDER BY seq;

-- Bad input to the audit functions.
SELECT try($$SELECT unlearn.subject_digest('patients', 42, 99)$$);
SELECT try($$SELECT unlearn.subject_digest('patients', 42, 0)$$);
SELECT try($$SELECT unlearn.subject_digest('patients', 'forty-two')$$);
SELECT try($$SELECT unlearn.subject_digest('devices', 'not-a-uuid')$$);
SELECT try($$SELECT unlearn.subject_digest(1::oid::regclass, 42)$$);
SELECT unlearn.subject_digest('patients', NULL::int) IS NULL AS null_key,
       unlearn.subject_digest(NULL, 42) IS NULL AS null_source,
       unlearn.subject_digest('patients', 42, NULL) IS NULL AS null_key_id;
SELECT try($$SELECT unlearn.source_subject_digest(1, '42', 0)$$);
SELECT try($$SELECT * FROM unlearn.verify_log(5, NULL)$$);
SELECT try($$SELECT * FROM unlearn.verify_log(NULL, sha256('x'))$$);
SELECT try($$SELECT * FROM unlearn.verify_log(5, '\x00')$$);

-- Append-only: refused for a superuser by the triggers (which fire always,
-- also under replication), on the log and on its chain ...
SELECT tgrelid::regclass, tgname, tgenabled FROM pg_trigger
 WHERE tgrelid IN ('unlearn.erasure_log'::regclass, 'unlearn.erasure_log_chain'::regclass)
   AND NOT tgisinternal ORDER BY 1, 2;
SELECT try($$UPDATE unlearn.erasure_log SET rows = 0 WHERE seq = 2$$);
SELECT try($$DELETE FROM unlearn.erasure_log WHERE seq = 2$$);
SELECT try($$TRUNCATE unlearn.erasure_log$$);
SELECT try($$UPDATE unlearn.erasure_log_chain SET entries = '{}' WHERE position = 2$$);
SELECT try($$DELETE FROM unlearn.erasure_log_chain WHERE position = 2$$);
SELECT try($$TRUNCATE unlearn.erasure_log_chain$$);
SET session_replication_role = replica;
SELECT try($$DELETE FROM unlearn.erasure_log$$);
SELECT try($$DELETE FROM unlearn.erasure_log_chain$$);
RESET session_replication_role;
-- ... and for everyone else by privileges: nobody may write the log or
-- read the digest keys.
GRANT USAGE ON SCHEMA unlearn TO regress_audit_clerk;
SET ROLE regress_audit_clerk;
SELECT try($$INSERT INTO unlearn.erasure_log SELECT * FROM unlearn.erasure_log LIMIT 1$$);
SELECT try($$UPDATE unlearn.erasure_log SET rows = 0$$);
SELECT try($$DELETE FROM unlearn.erasure_log$$);
SELECT try($$TRUNCATE unlearn.erasure_log$$);
SELECT try($$INSERT INTO unlearn.erasure_log_chain SELECT * FROM unlearn.erasure_log_chain LIMIT 1$$);
SELECT try($$SELECT * FROM unlearn.secret$$);
SELECT try($$SELECT unlearn.rotate_secret()$$);
RESET ROLE;
REVOKE USAGE ON SCHEMA unlearn FROM regress_audit_clerk;
SELECT c.relname, has_table_privilege('public', c.oid, 'SELECT') AS public_read,
       has_table_privilege('public', c.oid, 'INSERT') AS public_insert
  FROM pg_class c
 WHERE c.oid IN ('unlearn.erasure_log'::regclass, 'unlearn.erasure_log_chain'::regclass,
                 'unlearn.secret'::regclass, 'unlearn.digest_keys'::regclass,
                 'unlearn.source_table'::regclass, 'unlearn.sources'::regclass)
 ORDER BY 1;
-- The event list has room for the events of schema changes and
-- verify_model's entries; nothing else.
BEGIN;
SELECT try($$INSERT INTO unlearn.erasure_log SELECT seq + 1000, logged_at, session_user_name,
  current_user_name, transaction_id, 'verify', model_id, model_name, source_id, source,
  version_before, version_after, rows, NULL, step_norm, error_bound, params_hash_before,
  params_hash_after, request_reference, detail, key_id, key_digests, entry_hash
  FROM unlearn.erasure_log WHERE seq = 1$$);
SELECT split_part(try($$INSERT INTO unlearn.erasure_log SELECT seq + 2000, logged_at,
  session_user_name, current_user_name, transaction_id, 'bogus', model_id, model_name, source_id,
  source, version_before, version_after, rows, method, step_norm, error_bound, params_hash_before,
  params_hash_after, request_reference, detail, key_id, key_digests, entry_hash
  FROM unlearn.erasure_log WHERE seq = 1$$), E'\n', 1) AS error;
ROLLBACK;

-- The untouched log verifies, and the C writer and the SQL definitions of
-- the canonical texts agree on every entry and every link.
SELECT ok, first_bad_seq, first_bad_position,
       detail LIKE entries || ' entries sealed by ' || links || ' links, the last is link %' AS detail_ok
  FROM unlearn.verify_log();
SELECT count(*) AS entries_not_matching_their_text FROM unlearn.erasure_log l
 WHERE l.entry_hash <> sha256(convert_to(unlearn.log_entry_text(l), 'UTF8'));
SELECT count(*) AS links_not_matching_their_text FROM unlearn.erasure_log_chain k
 WHERE k.link_hash <> sha256(convert_to(unlearn.log_link_text(k), 'UTF8'));
SELECT substr(unlearn.log_entry_text(l), 1, 26) AS text_starts
  FROM unlearn.erasure_log l WHERE seq = 1;
SELECT substr(unlearn.log_link_text(k), 1, 32) AS link_text_starts
  FROM unlearn.erasure_log_chain k WHERE position = 1;

-- Tampering by a superuser who disables the triggers: each is caught, at
-- the right entry or link.  (Each inside a transaction that is rolled back.)
-- An entry changed:
BEGIN;
ALTER TABLE unlearn.erasure_log DISABLE TRIGGER ALL;
UPDATE unlearn.erasure_log SET rows = rows + 1 WHERE seq = 5;
SELECT ok, first_bad_seq, first_bad_position, detail FROM unlearn.verify_log();
ROLLBACK;
-- An entry changed and its hash recomputed: its link no longer matches.
BEGIN;
ALTER TABLE unlearn.erasure_log DISABLE TRIGGER ALL;
UPDATE unlearn.erasure_log SET request_reference = 'nothing to see' WHERE seq = 5;
UPDATE unlearn.erasure_log l SET entry_hash = sha256(convert_to(unlearn.log_entry_text(l), 'UTF8'))
 WHERE seq = 5;
SELECT ok, first_bad_seq, first_bad_position = (SELECT position FROM unlearn.erasure_log_chain
                                                 WHERE 5 = ANY (entries)) AS at_its_link, detail
  FROM unlearn.verify_log();
ROLLBACK;
-- ... and the link re-hashed too: the next link no longer follows.
BEGIN;
ALTER TABLE unlearn.erasure_log DISABLE TRIGGER ALL;
ALTER TABLE unlearn.erasure_log_chain DISABLE TRIGGER ALL;
UPDATE unlearn.erasure_log SET request_reference = 'nothing to see' WHERE seq = 5;
UPDATE unlearn.erasure_log l SET entry_hash = sha256(convert_to(unlearn.log_entry_text(l), 'UTF8'))
 WHERE seq = 5;
UPDATE unlearn.erasure_log_chain k SET link_hash = sha256(convert_to(unlearn.log_link_text(k), 'UTF8'))
 WHERE 5 = ANY (entries);
SELECT ok, first_bad_position - (SELECT position FROM unlearn.erasure_log_chain
                                 WHERE 5 = ANY (entries)) AS after_its_link, detail
  FROM unlearn.verify_log();
ROLLBACK;
-- An entry deleted:
BEGIN;
ALTER TABLE unlearn.erasure_log DISABLE TRIGGER ALL;
DELETE FROM unlearn.erasure_log WHERE seq = 6;
SELECT ok, first_bad_seq, detail FROM unlearn.verify_log();
ROLLBACK;
-- An entry added (by hand, with a correct hash) is sealed by no link:
BEGIN;
ALTER TABLE unlearn.erasure_log DISABLE TRIGGER ALL;
INSERT INTO unlearn.erasure_log SELECT seq + 10000, logged_at, session_user_name,
  current_user_name, transaction_id, event, model_id, model_name, source_id, source,
  version_before, version_after, rows, method, step_norm, error_bound, params_hash_before,
  params_hash_after, request_reference, detail, key_id, key_digests, entry_hash
  FROM unlearn.erasure_log WHERE seq = 6;
UPDATE unlearn.erasure_log l SET entry_hash = sha256(convert_to(unlearn.log_entry_text(l), 'UTF8'))
 WHERE seq = 10006;
SELECT ok, first_bad_seq, detail FROM unlearn.verify_log();
ROLLBACK;
-- Two entries swapped (their seq exchanged):
BEGIN;
ALTER TABLE unlearn.erasure_log DISABLE TRIGGER ALL;
UPDATE unlearn.erasure_log SET seq = -seq WHERE seq IN (7, 8);
UPDATE unlearn.erasure_log SET seq = CASE seq WHEN -7 THEN 8 ELSE 7 END WHERE seq IN (-7, -8);
SELECT ok, first_bad_seq, detail FROM unlearn.verify_log();
ROLLBACK;
-- A link in the middle deleted, with its entries:
BEGIN;
ALTER TABLE unlearn.erasure_log DISABLE TRIGGER ALL;
ALTER TABLE unlearn.erasure_log_chain DISABLE TRIGGER ALL;
DELETE FROM unlearn.erasure_log WHERE seq = ANY ((SELECT entries FROM unlearn.erasure_log_chain
                                                  WHERE position = 4)::bigint[]);
DELETE FROM unlearn.erasure_log_chain WHERE position = 4;
SELECT ok, first_bad_position, detail FROM unlearn.verify_log();
ROLLBACK;
-- The first link deleted, with its entries:
BEGIN;
ALTER TABLE unlearn.erasure_log DISABLE TRIGGER ALL;
ALTER TABLE unlearn.erasure_log_chain DISABLE TRIGGER ALL;
DELETE FROM unlearn.erasure_log WHERE seq = 1;
DELETE FROM unlearn.erasure_log_chain WHERE position = 1;
SELECT ok, first_bad_position, detail FROM unlearn.verify_log();
ROLLBACK;
-- The last link deleted with its entries: the chain alone cannot tell; an
-- anchor (the head copied out earlier) can.
SELECT position AS head_position, link_hash AS head_hash FROM unlearn.log_anchor() \gset
SELECT ok FROM unlearn.verify_log(:head_position, :'head_hash');
BEGIN;
ALTER TABLE unlearn.erasure_log DISABLE TRIGGER ALL;
ALTER TABLE unlearn.erasure_log_chain DISABLE TRIGGER ALL;
DELETE FROM unlearn.erasure_log WHERE seq = ANY ((SELECT entries FROM unlearn.erasure_log_chain
                                                  WHERE position = :head_position)::bigint[]);
DELETE FROM unlearn.erasure_log_chain WHERE position = :head_position;
SELECT ok, first_bad_position FROM unlearn.verify_log();
SELECT ok, first_bad_position = :head_position AS at_anchor,
       detail LIKE '%the anchor, is missing' AS why
  FROM unlearn.verify_log(:head_position, :'head_hash');
ROLLBACK;
-- ... and a rewritten head has another hash.
SELECT ok, first_bad_position = :head_position AS at_anchor,
       detail LIKE '%does not have the anchor''s hash' AS why
  FROM unlearn.verify_log(:head_position, sha256('forged'));
SELECT ok FROM unlearn.verify_log();

-- Every entry also went to the server log (checked in test/t/004_audit.pl).

DROP EXTENSION unlearn CASCADE;
DROP SCHEMA audit_test CASCADE;
DROP ROLE regress_audit_clerk;
