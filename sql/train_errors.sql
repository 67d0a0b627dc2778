--
-- Every bad input to training and prediction gives its own error, with its
-- SQLSTATE, and leaves nothing behind.
--
CREATE EXTENSION unlearn;
CREATE EXTENSION postgres_fdw;

CREATE TABLE t (id int PRIMARY KEY, x float8, z int, c text, flag boolean,
                born date, y float8, label int);
INSERT INTO t SELECT g, g * 0.1, g % 7, (ARRAY['a', 'b'])[1 + g % 2], g % 3 = 0,
                     date '2020-01-01' + g, g * 0.2 + (g % 5), g % 2
  FROM generate_series(1, 40) g;

\set ECHO none
\i test/try.sql
\set ECHO all

-- Arguments.
SELECT try($$SELECT unlearn.create_model(NULL, 't', 'y')$$);
SELECT try($$SELECT unlearn.create_model('m', NULL, 'y')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', NULL)$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, NULL)$$);
SELECT try($$SELECT unlearn.create_model('', 't', 'y')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'gamma')$$);

-- Options.
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '[1, 2]')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"lambda": 1}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"l2": "1"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"l2": -1}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"intercept": 1}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"standardize": "yes"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"max_iter": 0}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"max_iter": 2.5}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"tol": 0}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"tol": 1}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"nulls": "ignore"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": ""}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": 1}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"key": ""}')$$);

-- The "where" filter must be one boolean expression over the source.
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "x +"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "x + 1"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "nosuch > 1"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "x > random()"}')$$);
-- A stable function too: a row could stop passing with nothing updated.
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "now() > ''2020-01-01''"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "current_user = ''x''"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "x IN (SELECT 1)"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "sum(x) > 1"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "true; DROP TABLE t"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "true UNION SELECT 1 FROM pg_authid"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "true ORDER BY 1"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "true GROUP BY id"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "true LIMIT 1"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', NULL, 'linear', '{"where": "true FOR UPDATE"}')$$);

-- Columns.
SELECT try($$SELECT unlearn.create_model('m', 't', 'nosuch')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x', 'nosuch'])$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x', 'x'])$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['id'])$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['y'])$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'id')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['born'])$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'c')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY[]::text[])$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x', NULL])$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY[['x'], ['z']])$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['ctid'])$$);
CREATE TABLE only_key (id int PRIMARY KEY, y float8, d date);
SELECT try($$SELECT unlearn.create_model('m', 'only_key', 'y')$$);

-- Sources that cannot be tracked.
CREATE VIEW v AS SELECT * FROM t;
SELECT try($$SELECT unlearn.create_model('m', 'v', 'y')$$);
CREATE MATERIALIZED VIEW mv AS SELECT * FROM t;
SELECT try($$SELECT unlearn.create_model('m', 'mv', 'y')$$);
CREATE TEMPORARY TABLE tmp (id int PRIMARY KEY, x float8, y float8);
SELECT try($$SELECT unlearn.create_model('m', 'tmp', 'y')$$);
CREATE UNLOGGED TABLE unl (id int PRIMARY KEY, x float8, y float8);
SELECT try($$SELECT unlearn.create_model('m', 'unl', 'y')$$);
-- A partitioned table is a source (sql/partitions.sql); one with no rows
-- has nothing to train on, and one with a foreign or unlogged partition
-- cannot hold a model's rows.
CREATE TABLE parted (id int PRIMARY KEY, x float8, y float8) PARTITION BY RANGE (id);
SELECT try($$SELECT unlearn.create_model('m', 'parted', 'y')$$);
CREATE UNLOGGED TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
INSERT INTO parted SELECT g, g, 2 * g FROM generate_series(1, 10) g;
SELECT try($$SELECT unlearn.create_model('m', 'parted', 'y')$$);
SELECT try($$SELECT unlearn.create_model('m', 'pg_class', 'relpages', ARRAY['reltuples'], 'linear', '{"key": "oid"}')$$);
CREATE SEQUENCE seq;
SELECT try($$SELECT unlearn.create_model('m', 'seq', 'last_value')$$);
CREATE SERVER loopback FOREIGN DATA WRAPPER postgres_fdw;
CREATE FOREIGN TABLE ft (id int, x float8, y float8) SERVER loopback;
SELECT try($$SELECT unlearn.create_model('m', 'ft', 'y')$$);

-- The caller's rights on the source.  Row-level security in force for the
-- caller: the model would learn rows the caller cannot see.  Reading is not
-- enough either: holding writers off needs what LOCK ... IN SHARE MODE
-- needs.
CREATE TABLE secret (id int PRIMARY KEY, x float8, y float8);
INSERT INTO secret SELECT g, g, g % 4 FROM generate_series(1, 10) g;
ALTER TABLE secret ENABLE ROW LEVEL SECURITY;
CREATE ROLE regress_unlearn_reader;
GRANT SELECT ON t, secret TO regress_unlearn_reader;
GRANT USAGE ON SCHEMA unlearn TO regress_unlearn_reader;
GRANT EXECUTE ON FUNCTION unlearn.create_model(text, regclass, text, text[], text, jsonb)
    TO regress_unlearn_reader;
SET ROLE regress_unlearn_reader;
SELECT try($$SELECT unlearn.create_model('m', 'secret', 'y')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x'])$$);
RESET ROLE;
REVOKE ALL ON FUNCTION unlearn.create_model(text, regclass, text, text[], text, jsonb)
    FROM regress_unlearn_reader;
REVOKE ALL ON SCHEMA unlearn FROM regress_unlearn_reader;
REVOKE ALL ON t, secret FROM regress_unlearn_reader;
DROP ROLE regress_unlearn_reader;

-- Key types whose text does not identify a value exactly are refused.
CREATE TABLE numkey (k numeric PRIMARY KEY, x float8, y float8);
SELECT try($$SELECT unlearn.create_model('m', 'numkey', 'y')$$);
CREATE TABLE charkey (k char(4) PRIMARY KEY, x float8, y float8);
SELECT try($$SELECT unlearn.create_model('m', 'charkey', 'y')$$);
CREATE TABLE tskey (k timestamptz PRIMARY KEY, x float8, y float8);
SELECT try($$SELECT unlearn.create_model('m', 'tskey', 'y')$$);
CREATE COLLATION regress_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE cikey (k text COLLATE regress_ci PRIMARY KEY, x float8, y float8);
SELECT try($$SELECT unlearn.create_model('m', 'cikey', 'y')$$);

-- Keys.
CREATE TABLE nokey (id int, x float8, y float8);
INSERT INTO nokey SELECT g, g, g FROM generate_series(1, 5) g;
SELECT try($$SELECT unlearn.create_model('m', 'nokey', 'y')$$);
SELECT try($$SELECT unlearn.create_model('m', 'nokey', 'y', NULL, 'linear', '{"key": "id"}')$$);
ALTER TABLE nokey ALTER id SET NOT NULL;
SELECT try($$SELECT unlearn.create_model('m', 'nokey', 'y', NULL, 'linear', '{"key": "id"}')$$);
CREATE UNIQUE INDEX ON nokey (id) WHERE id > 2;
SELECT try($$SELECT unlearn.create_model('m', 'nokey', 'y', NULL, 'linear', '{"key": "id"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 'nokey', 'y', NULL, 'linear', '{"key": "nosuch"}')$$);
CREATE TABLE twokey (a int, b int, x float8, y float8, PRIMARY KEY (a, b));
SELECT try($$SELECT unlearn.create_model('m', 'twokey', 'y')$$);

-- Data.
SELECT try($$SELECT unlearn.create_model('m', 't', 'label', ARRAY['x'], 'logistic', '{"where": "label = 1"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x'], 'logistic')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x'], 'linear', '{"where": "x < 0"}')$$);
UPDATE t SET x = NULL WHERE id = 5;
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x'])$$);
UPDATE t SET x = 'NaN' WHERE id = 5;
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x'])$$);
UPDATE t SET x = '-Infinity' WHERE id = 5;
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x'])$$);
UPDATE t SET x = 0.5, y = 'Infinity' WHERE id = 5;
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x'])$$);
UPDATE t SET y = 1 WHERE id = 5;
CREATE TABLE nums (id int PRIMARY KEY, n numeric, y float8);
INSERT INTO nums VALUES (1, 1, 1), (2, 'NaN', 2), (3, 3, 3);
SELECT try($$SELECT unlearn.create_model('m', 'nums', 'y')$$);
UPDATE nums SET n = 1e400 WHERE id = 2;
SELECT try($$SELECT unlearn.create_model('m', 'nums', 'y')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x', 'c'], 'linear', '{"where": "c = ''a''"}')$$);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x', 'flag'], 'linear', '{"where": "flag"}')$$);
CREATE TABLE many (id int PRIMARY KEY, k text, y float8);
INSERT INTO many SELECT g, 'level ' || g, g FROM generate_series(1, 5001) g;
-- Listed, a column over the parameter limit is an error; chosen
-- (features = NULL), it is left out, and here nothing is left.
SELECT try($$SELECT unlearn.create_model('m', 'many', 'y', ARRAY['k'])$$);
SELECT try($$SELECT unlearn.create_model('m', 'many', 'y')$$);

-- Ill-posed problems.
CREATE TABLE twin (id int PRIMARY KEY, a float8, b float8, y float8);
INSERT INTO twin SELECT g, g, 2 * g, g % 3 FROM generate_series(1, 20) g;
SELECT try($$SELECT unlearn.create_model('m', 'twin', 'y', NULL, 'linear', '{"l2": 0}')$$);
-- Nearly collinear: positive definite, but too ill-conditioned to trust.
CREATE TABLE near (id int PRIMARY KEY, a float8, b float8, y float8);
INSERT INTO near SELECT g, g, g + 1e-5 * ((g * 7) % 3), g % 3 FROM generate_series(1, 20) g;
SELECT try($$SELECT unlearn.create_model('m', 'near', 'y', NULL, 'linear', '{"l2": 0, "standardize": false}')$$);
CREATE TABLE apart (id int PRIMARY KEY, a float8, y int);
INSERT INTO apart SELECT g, g, (g > 10)::int FROM generate_series(1, 20) g;
-- Separable classes without a penalty: a warning, since no optimum exists.
SELECT name FROM unlearn.create_model('separable', 'apart', 'y', NULL, 'logistic', '{"l2": 0}');
SELECT unlearn.drop_model('separable');
SELECT try($$SELECT unlearn.create_model('m', 't', 'label', ARRAY['x', 'z'], 'logistic', '{"max_iter": 1}')$$);

-- Nothing was created by any of the above.
SELECT count(*) AS models FROM unlearn.model;
SELECT count(*) AS terms FROM unlearn.model_term;
SELECT count(*) AS lineage FROM unlearn.lineage;

-- Unknown and duplicate models.
SELECT name FROM unlearn.create_model('m', 't', 'y', ARRAY['x', 'z']);
SELECT try($$SELECT unlearn.create_model('m', 't', 'y', ARRAY['x'])$$);
SELECT try($$SELECT * FROM unlearn.retrain('nosuch')$$);
SELECT try($$SELECT unlearn.drop_model('nosuch')$$);
SELECT try($$SELECT unlearn.predict('nosuch', ARRAY[1]::float8[])$$);
SELECT try($$SELECT * FROM unlearn.evaluate('nosuch')$$);
SELECT try($$SELECT count(*) FROM unlearn.weights('nosuch')$$);

-- Prediction input.
SELECT try($$SELECT unlearn.predict('m', ARRAY[1]::float8[])$$);
SELECT try($$SELECT unlearn.predict('m', ARRAY[1, 2, 3]::float8[])$$);
SELECT try($$SELECT unlearn.predict('m', ARRAY[[1, 2]]::float8[])$$);
SELECT try($$SELECT unlearn.predict('m', ARRAY[1, 'NaN']::float8[])$$);
SELECT try($$SELECT unlearn.predict('m', ARRAY[1, NULL]::float8[])$$);
SELECT try($$SELECT unlearn.predict('m', '{}'::float8[])$$);
SELECT try($$SELECT unlearn.predict_proba('m', ARRAY[1, 2]::float8[])$$);
SELECT try($$SELECT unlearn.predict('m', r) FROM (SELECT 1 AS x) r$$);
SELECT try($$SELECT unlearn.predict('m', r) FROM (SELECT 'a'::text AS x, 1 AS z) r$$);
SELECT try($$SELECT unlearn.predict('m', r) FROM (SELECT NULL::float8 AS x, 1 AS z) r$$);
SELECT try($$SELECT unlearn.predict('m', r) FROM (SELECT 'Infinity'::float8 AS x, 1 AS z) r$$);
SELECT unlearn.predict('m', NULL::float8[]) IS NULL AS strict;
-- Any row with the feature columns by name will do, extra columns ignored.
SELECT round(unlearn.predict('m', r)::numeric, 6) = round(unlearn.predict('m', ARRAY[2.5, 3]::float8[])::numeric, 6)
       AS other_row_type
  FROM (SELECT 'extra' AS e, 3 AS z, 2.5::float8 AS x) r;

-- Stored state that cannot be right is reported, not used.
UPDATE unlearn.model SET theta = theta[1:2] WHERE name = 'm';
SELECT try($$SELECT unlearn.predict('m', ARRAY[1, 2]::float8[])$$);
UPDATE unlearn.model SET theta = ARRAY[1, 'NaN', 3]::float8[] WHERE name = 'm';
SELECT try($$SELECT unlearn.predict('m', ARRAY[1, 2]::float8[])$$);
UPDATE unlearn.model SET theta = ARRAY[1, 2, 3]::float8[] WHERE name = 'm';
UPDATE unlearn.model_term SET scale = 0
 WHERE position = 2 AND model_id = (SELECT model_id FROM unlearn.model WHERE name = 'm');
SELECT try($$SELECT unlearn.predict('m', ARRAY[1, 2]::float8[])$$);
DELETE FROM unlearn.model_term
 WHERE position = 3 AND model_id = (SELECT model_id FROM unlearn.model WHERE name = 'm');
SELECT try($$SELECT unlearn.predict('m', ARRAY[1, 2]::float8[])$$);
SELECT unlearn.drop_model('m');
-- A model that lost its training data (TRUNCATE) refuses to predict.
SELECT name FROM unlearn.create_model('m', 't', 'y', ARRAY['x', 'z']);
UPDATE unlearn.model SET state = 'needs_retrain' WHERE name = 'm';
SELECT try($$SELECT unlearn.predict('m', ARRAY[1, 2]::float8[])$$);
SELECT unlearn.drop_model('m');

-- Models first: their erasure triggers on user tables hold the extension.
SELECT count(unlearn.drop_model(name)) AS dropped FROM unlearn.model;
DROP EXTENSION unlearn;
DROP EXTENSION postgres_fdw CASCADE;
DROP FUNCTION try(text);
