--
-- The HMAC-SHA256 the erasure log stores for each erased key, as the
-- writer computes it, against RFC 4231's vectors and against HMAC built in
-- SQL from sha256(); and the log's stored digests against that.
--
CREATE EXTENSION unlearn;
CREATE SCHEMA unlearn_test;
CREATE FUNCTION unlearn_test.hmac_sha256(key bytea, message bytea) RETURNS bytea
AS '$libdir/unlearn', 'unlearn_test_hmac_sha256' LANGUAGE C STRICT;

-- RFC 2104 HMAC from sha256(): H((K ^ opad) || H((K ^ ipad) || m)).
CREATE FUNCTION sql_hmac(key bytea, message bytea) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    k bytea := CASE WHEN length(key) > 64 THEN sha256(key) ELSE key END;
    ipad bytea;
    opad bytea;
BEGIN
    k := k || decode(repeat('00', 64 - length(k)), 'hex');
    ipad := k;
    opad := k;
    FOR i IN 0 .. 63 LOOP
        ipad := set_byte(ipad, i, get_byte(k, i) # 54);
        opad := set_byte(opad, i, get_byte(k, i) # 92);
    END LOOP;
    RETURN sha256(opad || sha256(ipad || message));
END
$$;

-- RFC 4231 test cases 1, 2, 3 and 6 (a key longer than a block).
SELECT encode(unlearn_test.hmac_sha256(decode(repeat('0b', 20), 'hex'), 'Hi There'), 'hex')
       = 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' AS rfc4231_1;
SELECT encode(unlearn_test.hmac_sha256('Jefe', 'what do ya want for nothing?'), 'hex')
       = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' AS rfc4231_2;
SELECT encode(unlearn_test.hmac_sha256(decode(repeat('aa', 20), 'hex'), decode(repeat('dd', 50), 'hex')), 'hex')
       = '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe' AS rfc4231_3;
SELECT encode(unlearn_test.hmac_sha256(decode(repeat('aa', 131), 'hex'),
                                       'Test Using Larger Than Block-Size Key - Hash Key First'), 'hex')
       = '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54' AS rfc4231_6;

-- Every message length from 0 to 200 bytes (the padding's edges at 55, 56
-- and 64 among them) and keys of 1 to 150 bytes (around the 64-byte
-- block), against the SQL HMAC.
CREATE FUNCTION bytes(seed int, n int) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT substr(string_agg(sha256(int4send(seed) || int4send(g)), ''::bytea), 1, n)
      FROM generate_series(0, n / 32) g
$$;
SELECT count(*) AS cases,
       count(*) FILTER (WHERE unlearn_test.hmac_sha256(bytes(k, k), bytes(-m, m))
                              <> sql_hmac(bytes(k, k), bytes(-m, m))) AS mismatches
  FROM generate_series(0, 200) m, (VALUES (1), (20), (32), (63), (64), (65), (150)) key(k);

-- The digests the log stores are that HMAC, under the database's key, of
-- "<source_id>:<key text>".
CREATE TABLE dg (id int PRIMARY KEY, code text UNIQUE, x float8, y float8);
INSERT INTO dg SELECT g, 'c-' || g, g % 5, g % 7 FROM generate_series(1, 30) g;
SELECT name FROM unlearn.create_model('dg_model', 'dg', 'y', ARRAY['x'], 'linear');
DELETE FROM dg WHERE id IN (3, 17);
SELECT l.key_digests = ARRAY(SELECT d FROM unnest(ARRAY[sql_hmac(s.secret, convert_to(l.source_id || ':3', 'UTF8')),
                                                        sql_hmac(s.secret, convert_to(l.source_id || ':17', 'UTF8'))]) d
                               ORDER BY d) AS log_digests_are_hmac,
       unlearn.subject_digest('dg', 17) = sql_hmac(s.secret, convert_to(l.source_id || ':17', 'UTF8'))
           AS subject_digest_is_hmac
  FROM unlearn.erasure_log l JOIN unlearn.secret s USING (key_id)
 WHERE l.event = 'erasure';

-- A bulk erasure: every digest, sorted bytewise, and the chain still checks.
CREATE TABLE dg_bulk (id int PRIMARY KEY, x float8, y float8);
INSERT INTO dg_bulk SELECT g, g % 11, g % 13 FROM generate_series(1, 1000) g;
SELECT name FROM unlearn.create_model('dg_bulk_model', 'dg_bulk', 'y', ARRAY['x'], 'linear');
DELETE FROM dg_bulk WHERE id % 3 = 0;
SELECT cardinality(l.key_digests) AS digests,
       l.key_digests = ARRAY(SELECT sql_hmac(s.secret, convert_to(l.source_id || ':' || g, 'UTF8'))
                               FROM generate_series(3, 1000, 3) g ORDER BY 1) AS bulk_digests_are_hmac_sorted
  FROM unlearn.erasure_log l JOIN unlearn.secret s USING (key_id)
 WHERE l.event = 'erasure' AND l.model_name = 'dg_bulk_model';
SELECT ok AS chain_ok FROM unlearn.verify_log();

SELECT unlearn.drop_model('dg_bulk_model');
SELECT unlearn.drop_model('dg_model');
DROP EXTENSION unlearn;
DROP SCHEMA unlearn_test CASCADE;
