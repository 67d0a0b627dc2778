--
-- What a newcomer meets first: features = NULL says what it took and why
-- it left columns out (NOTICE and catalog), the catalog shows each model's
-- options to those who may read it, and every object describes itself in
-- \df+, \dv+ and \dt+ (internal ones as internal).
--
CREATE EXTENSION unlearn;
\set ECHO none
\i test/try.sql
\set ECHO all

-- A table with every kind of column features = NULL must judge: an e-mail
-- address (an identifier: one level per row), a constant, a json document,
-- a date, and the columns that do make features.
CREATE TABLE fd_people (id int PRIMARY KEY, email text, age int, country text,
                     tenant int, doc json, joined date,
                     active boolean, y float8);
INSERT INTO fd_people
SELECT i, 'person' || i || '@example.org', 20 + i % 50,
       (ARRAY['de', 'fr', 'it'])[1 + i % 3], 7, '{}', date '2020-01-01' + i,
       i % 4 = 0,
       0.5 * (20 + i % 50) + 3 * (i % 3) + (i % 4 = 0)::int + (i % 11) * 0.01
  FROM generate_series(1, 200) i;

SELECT name, features, skipped_features
  FROM unlearn.create_model('auto', 'fd_people', 'y', NULL, 'linear', '{"l2": 0.5}');
-- The model is what the same call with the kept columns listed gives.
SELECT name FROM unlearn.create_model('listed', 'fd_people', 'y',
       ARRAY['age', 'country', 'active'], 'linear', '{"l2": 0.5}');
SELECT max(abs(a.weight - l.weight)) < 1e-12 AS same_fit,
       (SELECT count(*) FROM unlearn.lineage('auto')) AS lineage_rows,
       (SELECT bool_and(a2.fingerprint = l2.fingerprint)
          FROM unlearn.lineage('auto') a2 JOIN unlearn.lineage('listed') l2 USING (key))
         AS same_fingerprints
  FROM unlearn.weights('auto') a JOIN unlearn.weights('listed') l USING (term);
-- Erasure works on the chosen columns (fingerprints are the kept columns').
DELETE FROM fd_people WHERE id = 10;
SELECT name, rows, state FROM unlearn.models WHERE name IN ('auto', 'listed') ORDER BY name;
SELECT verdict FROM unlearn.verify_model('auto');
-- A listed model's skipped_features is empty.
SELECT skipped_features FROM unlearn.models WHERE name = 'listed';
SELECT unlearn.drop_model('listed');

-- NULLs in a skipped column do not make rows skipped: the second pass reads
-- the rows again without it.
UPDATE fd_people SET email = NULL WHERE id <= 50;
SELECT name, features, rows, rows_skipped, skipped_features ? 'email' AS email_skipped
  FROM unlearn.create_model('auto_skip', 'fd_people', 'y', NULL, 'linear',
                            '{"l2": 0.5, "nulls": "skip"}');
SELECT unlearn.drop_model('auto_skip');

-- More levels than the chosen limit (1000): left out, not a failure.
CREATE TABLE fd_wide (id int PRIMARY KEY, code text, x float8, y float8);
INSERT INTO fd_wide SELECT g, 'code ' || (g % 1500), g % 13, (g % 13) * 2 + g % 3
  FROM generate_series(1, 4000) g;
SELECT name, features, skipped_features
  FROM unlearn.create_model('wide_auto', 'fd_wide', 'y');
-- A text column with few levels over many rows stays.
CREATE TABLE fd_shop (id int PRIMARY KEY, plan text, x float8, y float8);
INSERT INTO fd_shop SELECT g, (ARRAY['basic', 'pro', 'team'])[1 + g % 3], g % 17, g % 5
  FROM generate_series(1, 300) g;
SELECT name, features, skipped_features FROM unlearn.create_model('shop_auto', 'fd_shop', 'y');

-- A column that becomes constant: the UPDATE marks the model for a retrain
-- at once (its scaling cannot follow a spread of zero, preprocessing.c),
-- and the retrain's error says how to change the stored list.
UPDATE fd_shop SET x = 1;
SELECT try($$SELECT unlearn.retrain('shop_auto')$$);
SELECT name, version, state FROM unlearn.models WHERE name = 'shop_auto';
-- Listed by the caller, the same column is an error with the other hint.
SELECT try($$SELECT unlearn.create_model('m', 'fd_shop', 'y', ARRAY['x'])$$);

-- Nothing usable left: an error that says what was skipped.
CREATE TABLE fd_hollow (id int PRIMARY KEY, c int, d date, y float8);
INSERT INTO fd_hollow SELECT g, 3, date '2021-01-01' + g, g FROM generate_series(1, 30) g;
SELECT try($$SELECT unlearn.create_model('m', 'fd_hollow', 'y')$$);
SELECT count(*) AS models_named_m FROM unlearn.models WHERE name = 'm';

-- The options a model was trained with, in the catalog, for readers only.
SELECT name, options->>'l2' AS l2, options->>'where' AS filter, options->>'nulls' AS nulls,
       options->>'standardize' AS standardize, options->>'erasure_tol' AS erasure_tol
  FROM unlearn.create_model('filtered', 'fd_people', 'active', ARRAY['age'], 'logistic',
       '{"l2": 2, "where": "country = ''de''", "standardize": false, "erasure_tol": 0.001}');
SELECT name, type, options FROM unlearn.models WHERE name = 'wide_auto';
CREATE ROLE fd_reader;
CREATE ROLE fd_stranger;
SELECT unlearn.grant_read('fd_reader');
SET ROLE fd_reader;
SELECT name, options->>'l2' AS l2 FROM unlearn.models WHERE name = 'wide_auto';
RESET ROLE;
SET ROLE fd_stranger;
SELECT try($$SELECT options FROM unlearn.models$$);
RESET ROLE;
SELECT unlearn.revoke_read('fd_reader');
DROP ROLE fd_reader;
DROP ROLE fd_stranger;

-- \df+ unlearn.*: every function has a description; the internal ones have
-- a leading underscore and say they are internal, and only they do.
SELECT p.oid::regprocedure AS function, obj_description(p.oid, 'pg_proc') AS description
  FROM pg_proc p WHERE p.pronamespace = 'unlearn'::regnamespace
 ORDER BY p.proname LIKE '\_%', p.oid::regprocedure::text;
SELECT count(*) AS undescribed
  FROM pg_proc p WHERE p.pronamespace = 'unlearn'::regnamespace
   AND coalesce(obj_description(p.oid, 'pg_proc'), '') = '';
SELECT p.oid::regprocedure AS misfiled
  FROM pg_proc p WHERE p.pronamespace = 'unlearn'::regnamespace
   AND (p.proname LIKE '\_%') <> (obj_description(p.oid, 'pg_proc') LIKE 'Internal to unlearn%');
-- Tables and views too, and the schema.
SELECT c.relname, c.relkind, obj_description(c.oid, 'pg_class') AS description
  FROM pg_class c WHERE c.relnamespace = 'unlearn'::regnamespace AND c.relkind IN ('r', 'v')
 ORDER BY c.relkind DESC, c.relname;
SELECT obj_description('unlearn'::regnamespace, 'pg_namespace') AS schema_description;
-- Settings describe themselves in pg_settings (SHOW ALL, \dconfig+).
SELECT name, short_desc <> '' AS described, extra_desc <> '' AS explained
  FROM pg_settings WHERE name LIKE 'unlearn.%' ORDER BY name;

SELECT unlearn.drop_model(name) FROM unlearn.models ORDER BY name;
DROP FUNCTION try(text);
DROP TABLE fd_people, fd_wide, fd_shop, fd_hollow;
DROP EXTENSION unlearn;
