--
-- A DELETE of more rows than work_mem holds erases in chunks: each chunk in
-- its own memory with its own log entry, a refresh or re-sum done once
-- after the last; the models end as a fresh fit on the rows they hold.
--
CREATE EXTENSION unlearn;
SET work_mem = '64kB';          -- a few hundred rows a chunk

CREATE TABLE ch (id int PRIMARY KEY, a float8, b float8, cat text, y float8, label int);
INSERT INTO ch
SELECT g, (g % 17) * 0.5, ((g * 7) % 23) * 0.25, (ARRAY['x', 'y', 'z'])[1 + g % 3],
       (g % 17) * 0.5 + ((g * 7) % 23) * 0.1 + (g % 3) + (g % 5) * 0.01,
       CASE WHEN (g % 17) * 0.5 + ((g * 7) % 23) * 0.25 + (g % 7) * 0.7 > 8 THEN 1 ELSE 0 END
  FROM generate_series(1, 6000) g;
SELECT name, rows_trained FROM unlearn.create_model('ch_ridge', 'ch', 'y', ARRAY['a', 'b', 'cat']);
SELECT name, rows_trained FROM unlearn.create_model('ch_logit', 'ch', 'label', ARRAY['a', 'b', 'cat'],
                                                     'logistic');

-- 4000 rows in one statement.
DELETE FROM ch WHERE id <= 4000;
SELECT model_name, count(*) > 1 AS chunked, sum(rows) AS rows,
       count(DISTINCT transaction_id) AS transactions,
       sum(cardinality(key_digests)) AS digests
  FROM unlearn.erasure_log WHERE event = 'erasure' GROUP BY model_name ORDER BY model_name;
-- Every part but the last is a Newton step (logistic) or exact (ridge);
-- a refresh that fell due is the last part's.
SELECT model_name, method, count(*) AS parts
  FROM unlearn.erasure_log WHERE event = 'erasure' GROUP BY model_name, method
 ORDER BY model_name, method;
SELECT model_name, method AS last_method
  FROM (SELECT DISTINCT ON (model_name) model_name, method FROM unlearn.erasure_log
         WHERE event = 'erasure' ORDER BY model_name, seq DESC) last ORDER BY model_name;
SELECT name, rows, state FROM unlearn.models ORDER BY name;
SELECT 'ch_ridge' AS model, verdict, parameter_distance < 1e-9 AS exact
  FROM unlearn.verify_model('ch_ridge');
SELECT 'ch_logit' AS model, verdict, parameter_distance <= distance_bound AS within_bound
  FROM unlearn.verify_model('ch_logit');

-- The last chunks hold no row of the models (inserted after training):
-- the refresh the earlier chunks left falls to a part that takes no row.
INSERT INTO ch
SELECT g, (g % 13) * 0.5, ((g * 3) % 11) * 0.25, (ARRAY['x', 'y', 'z'])[1 + g % 3], g % 9, g % 2
  FROM generate_series(10001, 12000) g;
SELECT max(seq) AS before_seq FROM unlearn.erasure_log \gset
DELETE FROM ch WHERE id <= 5000 OR id > 10000;
SELECT model_name, rows, method
  FROM unlearn.erasure_log WHERE seq > :before_seq AND model_name = 'ch_logit' ORDER BY seq DESC LIMIT 1;
SELECT sum(rows) AS logit_rows FROM unlearn.erasure_log WHERE seq > :before_seq AND model_name = 'ch_logit';
SELECT name, rows, state FROM unlearn.models ORDER BY name;
SELECT 'ch_logit' AS model, verdict, parameter_distance <= distance_bound AS within_bound
  FROM unlearn.verify_model('ch_logit');
SELECT 'ch_ridge' AS model, verdict, parameter_distance < 1e-9 AS exact
  FROM unlearn.verify_model('ch_ridge');
SELECT ok FROM unlearn.verify_log();

-- Rolled back, every chunk goes with it.
SELECT max(seq) AS before_seq FROM unlearn.erasure_log \gset
BEGIN;
DELETE FROM ch;
ROLLBACK;
SELECT count(*) AS entries_after_rollback FROM unlearn.erasure_log WHERE seq > :before_seq;
SELECT name, rows, state FROM unlearn.models ORDER BY name;

-- A level whose last row leaves in an early chunk: its term goes, and the
-- later chunks read the model as it now is (review finding: the DELETE
-- failed with "stored state ... is corrupt").
CREATE TABLE lv (id int PRIMARY KEY, a float8, cat text, y float8, label int);
INSERT INTO lv SELECT g, g % 11, CASE WHEN g <= 20 THEN 'rare' ELSE (ARRAY['p', 'q'])[1 + g % 2] END,
                      g % 11 + (g % 2) * 2 + (g % 7) * 0.1, (g % 11 + g % 3 > 6)::int
  FROM generate_series(1, 3000) g;
SELECT name FROM unlearn.create_model('lv_ridge', 'lv', 'y', ARRAY['a', 'cat']);
SELECT name FROM unlearn.create_model('lv_logit', 'lv', 'label', ARRAY['a', 'cat'], 'logistic');
DELETE FROM lv WHERE id <= 1000;
SELECT name, rows, state, parameters FROM unlearn.models WHERE name LIKE 'lv%' ORDER BY name;
SELECT count(*) AS rare_terms FROM unlearn.weights('lv_ridge') WHERE level = 'rare';
SELECT 'lv_ridge' AS model, verdict, parameter_distance < 1e-9 AS exact
  FROM unlearn.verify_model('lv_ridge');
SELECT 'lv_logit' AS model, verdict, parameter_distance <= distance_bound AS within_bound
  FROM unlearn.verify_model('lv_logit');

-- The same in one MERGE that deletes a level's last rows and updates
-- others: the rectification reads the model the deletions left.
CREATE TABLE mt (id int PRIMARY KEY, a float8, cat text, y float8);
INSERT INTO mt SELECT g, g % 11, CASE WHEN g <= 5 THEN 'rare' ELSE (ARRAY['p', 'q'])[1 + g % 2] END,
                      g % 11 + g % 3
  FROM generate_series(1, 300) g;
SELECT name FROM unlearn.create_model('mt_r', 'mt', 'y', ARRAY['a', 'cat']);
MERGE INTO mt USING (SELECT g AS id FROM generate_series(1, 40) g) s ON mt.id = s.id
  WHEN MATCHED AND mt.cat = 'rare' THEN DELETE
  WHEN MATCHED THEN UPDATE SET a = mt.a + 1;
SELECT name, rows, state, parameters FROM unlearn.models WHERE name = 'mt_r';
SELECT verdict, parameter_distance < 1e-9 AS exact FROM unlearn.verify_model('mt_r');
SELECT unlearn.drop_model('mt_r');
DROP TABLE mt;

-- No usable Hessian in a middle chunk: the model must be retrained, for
-- that reason (review finding: a refit was tried and failed on the rows
-- still to come).
SET unlearn.min_rcond = 0.9;
DELETE FROM lv WHERE id <= 2000;
RESET unlearn.min_rcond;
SELECT name, state FROM unlearn.models WHERE name = 'lv_logit';
SELECT unlearn.drop_model('lv_ridge');
SELECT unlearn.drop_model('lv_logit');
DROP TABLE lv;

-- A TRUNCATE logs every key's digest, in entries of what work_mem holds.
SELECT max(seq) AS before_seq FROM unlearn.erasure_log \gset
SELECT min(id) AS some_key FROM ch WHERE id > 5000 \gset
TRUNCATE ch;
SELECT model_name, count(*) > 1 AS several_entries, sum(rows) AS rows,
       sum(cardinality(key_digests)) AS digests, count(DISTINCT version_after) AS versions
  FROM unlearn.erasure_log WHERE seq > :before_seq AND event = 'truncate'
 GROUP BY model_name ORDER BY model_name;
SELECT name, rows, state FROM unlearn.models ORDER BY name;
SELECT event, model_name, method FROM unlearn.subject_log('ch', :some_key)
 WHERE event = 'truncate' ORDER BY model_name;
SELECT ok FROM unlearn.verify_log();

RESET work_mem;
SELECT unlearn.drop_model('ch_ridge');
SELECT unlearn.drop_model('ch_logit');
DROP TABLE ch;
DROP EXTENSION unlearn;
