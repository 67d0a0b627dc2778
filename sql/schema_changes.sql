--
-- Schema changes never strand a model: renames are followed, drops and
-- type changes of what a model reads are refused or cascade (logged),
-- partitions dropped or detached take their rows out of the models first,
-- and a source cannot silently become unlogged.  After each change the
-- model still erases, and equals a fresh fit where it can be updated in
-- place.
--
CREATE EXTENSION unlearn;
\set ECHO none
\i test/train_helpers.sql
\i test/erase_helpers.sql
\i test/try.sql
\set ECHO all

CREATE FUNCTION adult(age float8) RETURNS boolean LANGUAGE sql IMMUTABLE
AS $$ SELECT age >= 30 $$;

CREATE TABLE clients (id int PRIMARY KEY, age float8, income float8, plan text, spend float8,
                      note text);
INSERT INTO clients
SELECT g, 18 + 60 * u(g, 1), 4 * u(g, 2), (ARRAY['a', 'b', 'c'])[1 + g % 3],
       1 + 0.02 * (18 + 60 * u(g, 1)) + 2 * u(g, 2) + (g % 3) + u(g, 3), 'n'
  FROM generate_series(1, 200) g;
SELECT name FROM unlearn.create_model('spend', 'clients', 'spend', ARRAY['age', 'income', 'plan'],
                                      'linear', '{"standardize": false, "where": "public.adult(age)"}');

------------------------------------------------------------------------------
-- Renames are followed: a column the model reads, the filter's column,
-- the table, its schema, a function the filter calls.
------------------------------------------------------------------------------
ALTER TABLE clients RENAME COLUMN income TO salary;
ALTER TABLE clients RENAME COLUMN age TO years;
ALTER TABLE clients RENAME COLUMN spend TO outlay;
ALTER TABLE clients RENAME COLUMN id TO client_id;
SELECT target, features, options->>'where' AS filter
  FROM unlearn.models WHERE name = 'spend';
SELECT key_column FROM unlearn.model WHERE name = 'spend';
SELECT term FROM unlearn.weights('spend') ORDER BY term;
ALTER FUNCTION adult(float8) RENAME TO grown_up;
ALTER TABLE clients RENAME TO patrons;
CREATE SCHEMA crm;
ALTER TABLE patrons SET SCHEMA crm;
ALTER SCHEMA crm RENAME TO sales_crm;
SELECT options->>'where' AS filter FROM unlearn.model WHERE name = 'spend';
SELECT relation, name FROM unlearn.sources ORDER BY source_id;
SELECT event, method, detail FROM unlearn.erasure_log
 WHERE model_name = 'spend' AND event = 'schema_change' ORDER BY seq;
-- It still erases, stays exact, and retrains under the new names.
SELECT min(client_id) AS gone FROM sales_crm.patrons WHERE years >= 30 \gset
DELETE FROM sales_crm.patrons WHERE client_id IN (:gone, :gone + 100);
UPDATE sales_crm.patrons SET years = 20
 WHERE client_id = (SELECT max(client_id) FROM sales_crm.patrons WHERE years >= 30);  -- leaves the filter
SELECT unlearn_test.weight_difference('spend', reference('spend')) < 1e-9 AS fresh;
SELECT name, version, rows FROM unlearn.retrain('spend');
SELECT event, model_name, rows FROM unlearn.subject_log('sales_crm.patrons', :gone);

------------------------------------------------------------------------------
-- DROP COLUMN of a column a model reads: refused, or with CASCADE the
-- model goes too (logged); a column no model reads drops freely.
------------------------------------------------------------------------------
SELECT try($$ALTER TABLE sales_crm.patrons DROP COLUMN salary$$);
SELECT try($$ALTER TABLE sales_crm.patrons DROP COLUMN years$$);  -- the filter's
ALTER TABLE sales_crm.patrons DROP COLUMN note;
SELECT name FROM unlearn.create_model('spend2', 'sales_crm.patrons', 'outlay', ARRAY['salary'],
                                      'linear', '{"standardize": false}');
ALTER TABLE sales_crm.patrons DROP COLUMN plan CASCADE;
SELECT name FROM unlearn.models WHERE name LIKE 'spend%' ORDER BY name;
SELECT event, method, detail FROM unlearn.erasure_log
 WHERE model_name = 'spend' ORDER BY seq DESC LIMIT 1;

------------------------------------------------------------------------------
-- ALTER COLUMN TYPE: of the key, refused (lineage identifies rows by it);
-- of a feature, the model must be retrained; its erasures stay on the
-- record meanwhile, with no internal error.
------------------------------------------------------------------------------
SELECT try($$ALTER TABLE sales_crm.patrons ALTER COLUMN client_id TYPE bigint$$);
ALTER TABLE sales_crm.patrons ALTER COLUMN salary TYPE text;
SELECT name, state FROM unlearn.models WHERE name = 'spend2';
DELETE FROM sales_crm.patrons WHERE client_id = 50;
SELECT event, rows, method, cardinality(key_digests) AS digests FROM unlearn.erasure_log
 WHERE model_name = 'spend2' ORDER BY seq DESC LIMIT 2;
SELECT count(*) AS holding_50 FROM unlearn.lineage_of('sales_crm.patrons', 50);
-- A retrain reads the column as it now is (text: one-hot levels).
SELECT name, state, parameters FROM unlearn.retrain('spend2');
ALTER TABLE sales_crm.patrons ALTER COLUMN salary TYPE float8 USING salary::float8;
SELECT name, state FROM unlearn.retrain('spend2');

------------------------------------------------------------------------------
-- A source, or a partition holding a model's rows, cannot become
-- unlogged (crash recovery would empty it without a trigger).
------------------------------------------------------------------------------
SELECT try($$ALTER TABLE sales_crm.patrons SET UNLOGGED$$);

------------------------------------------------------------------------------
-- DROP TABLE of a source: refused, or with CASCADE its models go (logged);
-- its log entries stay findable by its source_id.
------------------------------------------------------------------------------
SELECT try($$DROP TABLE sales_crm.patrons$$);
SELECT source_id AS customers_id FROM unlearn.sources WHERE relation = 'sales_crm.patrons'::regclass \gset
DROP TABLE sales_crm.patrons CASCADE;
SELECT count(*) AS models_left FROM unlearn.models WHERE name LIKE 'spend%';
SELECT model_name, event, method, detail FROM unlearn.erasure_log
 WHERE event = 'drop' AND model_name LIKE 'spend%' ORDER BY seq;
SELECT relation, name, dropped_at IS NOT NULL AS dropped FROM unlearn.sources
 WHERE source_id = :customers_id;
SELECT count(*) AS entries_of_gone FROM unlearn.erasure_log
 WHERE unlearn.source_subject_digest(:customers_id, :'gone', key_id) = ANY (key_digests);

------------------------------------------------------------------------------
-- Partitions leaving a partitioned source: DETACH and DROP first erase
-- their rows from its models, exactly; attaching an unlogged table is
-- refused.
------------------------------------------------------------------------------
CREATE TABLE orders (id int PRIMARY KEY, x float8, y float8) PARTITION BY RANGE (id);
CREATE TABLE orders_1 PARTITION OF orders FOR VALUES FROM (1) TO (101);
CREATE TABLE orders_2 PARTITION OF orders FOR VALUES FROM (101) TO (201);
CREATE TABLE orders_3 PARTITION OF orders FOR VALUES FROM (201) TO (301);
CREATE TABLE orders_4 PARTITION OF orders FOR VALUES FROM (301) TO (401);
INSERT INTO orders SELECT g, 4 * u(g, 4) - 2, 3 * (4 * u(g, 4) - 2) + u(g, 5) FROM generate_series(1, 400) g;
SELECT name FROM unlearn.create_model('orders_model', 'orders', 'y', ARRAY['x'], 'linear',
                                      '{"standardize": false}');
ALTER TABLE orders DETACH PARTITION orders_2;
DROP TABLE orders_3;
ALTER TABLE orders DETACH PARTITION orders_4 CONCURRENTLY;
SELECT event, rows, method, cardinality(key_digests) AS digests FROM unlearn.erasure_log
 WHERE model_name = 'orders_model' AND event <> 'create' ORDER BY seq;
SELECT name, rows FROM unlearn.models WHERE name = 'orders_model';
SELECT unlearn_test.weight_difference('orders_model', reference('orders_model')) < 1e-9 AS fresh;
-- A detached partition is a table of its own: deleting from it erases nothing.
DELETE FROM orders_2 WHERE id = 150;
SELECT count(*) AS erasures FROM unlearn.erasure_log
 WHERE model_name = 'orders_model' AND event = 'erasure';
CREATE UNLOGGED TABLE orders_5 (id int PRIMARY KEY, x float8, y float8);
SELECT try($$ALTER TABLE orders ATTACH PARTITION orders_5 FOR VALUES FROM (401) TO (501)$$);
SELECT try($$CREATE UNLOGGED TABLE orders_6 PARTITION OF orders FOR VALUES FROM (501) TO (601)$$);

------------------------------------------------------------------------------
-- DROP SCHEMA ... CASCADE and DROP OWNED take their tables' models with
-- them, or their partitions' rows out of them.
------------------------------------------------------------------------------
CREATE SCHEMA scratch;
CREATE TABLE scratch.notes (id int PRIMARY KEY, x float8, y float8);
INSERT INTO scratch.notes SELECT g, g % 7, g % 5 + g % 7 FROM generate_series(1, 20) g;
SELECT name FROM unlearn.create_model('notes_model', 'scratch.notes', 'y', ARRAY['x'], 'linear');
CREATE TABLE scratch.orders_9 PARTITION OF orders FOR VALUES FROM (901) TO (1001);
INSERT INTO orders SELECT g, 1, 1 FROM generate_series(901, 910) g;
SELECT name, rows FROM unlearn.retrain('orders_model');
DROP SCHEMA scratch CASCADE;
SELECT name, rows FROM unlearn.models WHERE name IN ('notes_model', 'orders_model') ORDER BY name;
CREATE ROLE regress_schema_owner;
CREATE TABLE owned_rows (id int PRIMARY KEY, x float8, y float8);
INSERT INTO owned_rows SELECT g, g % 7, g % 5 + g % 7 FROM generate_series(1, 20) g;
ALTER TABLE owned_rows OWNER TO regress_schema_owner;
SELECT name FROM unlearn.create_model('owned_model', 'owned_rows', 'y', ARRAY['x'], 'linear');
DROP OWNED BY regress_schema_owner;
SELECT count(*) AS owned_models_left FROM unlearn.models WHERE name = 'owned_model';
DROP ROLE regress_schema_owner;

------------------------------------------------------------------------------
-- A function the filter calls, dropped: the model cannot check its rows any
-- more and is marked at once.
------------------------------------------------------------------------------
CREATE FUNCTION keep(x float8) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT x < 0.5 $$;
CREATE TABLE kept (id int PRIMARY KEY, x float8, y float8);
INSERT INTO kept SELECT g, u(g, 6), u(g, 7) FROM generate_series(1, 50) g;
SELECT name FROM unlearn.create_model('kept_model', 'kept', 'y', ARRAY['x'], 'linear',
                                      '{"where": "public.keep(x)"}');
DROP FUNCTION keep(float8);
SELECT name, state FROM unlearn.models WHERE name = 'kept_model';

------------------------------------------------------------------------------
-- A DROP ... CASCADE of any object takes what depends on it, found as
-- PostgreSQL finds it: a partition using a dropped access method leaves
-- its parent's model first; a column of a dropped type or domain takes
-- the models reading it (the key too).
------------------------------------------------------------------------------
CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler;
CREATE TABLE vault (id int PRIMARY KEY, x float8, y float8) PARTITION BY RANGE (id);
CREATE TABLE vault_1 PARTITION OF vault FOR VALUES FROM (1) TO (101);
CREATE TABLE vault_2 PARTITION OF vault FOR VALUES FROM (101) TO (201) USING heap2;
INSERT INTO vault SELECT g, 4 * u(g, 41) - 2, 1 + (4 * u(g, 41) - 2) + u(g, 42)
  FROM generate_series(1, 200) g;
SELECT name FROM unlearn.create_model('vault_model', 'vault', 'y', ARRAY['x'], 'linear',
                                      '{"standardize": false}');
DROP ACCESS METHOD heap2 CASCADE;
SELECT event, rows, method FROM unlearn.erasure_log
 WHERE model_name = 'vault_model' AND event <> 'create' ORDER BY seq;
SELECT unlearn_test.weight_difference('vault_model', reference('vault_model')) < 1e-9 AS fresh;
CREATE TYPE tier AS ENUM ('a', 'b', 'c');
CREATE DOMAIN member_id AS int;
CREATE TABLE club (id member_id PRIMARY KEY, level tier, x float8, y float8);
INSERT INTO club SELECT g, (ARRAY['a', 'b', 'c'])[1 + g % 3]::tier, 4 * u(g, 43) - 2, (g % 3) + u(g, 44)
  FROM generate_series(1, 60) g;
SELECT name FROM unlearn.create_model('club_level', 'club', 'y', ARRAY['level', 'x'], 'linear',
                                      '{"l2": 0.001}');
SELECT name FROM unlearn.create_model('club_x', 'club', 'y', ARRAY['x'], 'linear');
DROP TYPE tier CASCADE;
SELECT name, state FROM unlearn.models WHERE name LIKE 'club%';
DROP DOMAIN member_id CASCADE;
SELECT count(*) AS club_models FROM unlearn.models WHERE name LIKE 'club%';
SELECT model_name, event, method, detail FROM unlearn.erasure_log
 WHERE model_name LIKE 'club%' AND event = 'drop' ORDER BY seq;
DROP TABLE club;

------------------------------------------------------------------------------
-- DROP EXTENSION with models: refused in one sentence.
------------------------------------------------------------------------------
SELECT try($$DROP EXTENSION unlearn$$);

------------------------------------------------------------------------------
-- DROP EXTENSION in the transaction that erased takes its entries with the
-- log; a CREATE EXTENSION after it begins a new log, and the commit seals
-- only the new log's entries.
------------------------------------------------------------------------------
BEGIN;
DELETE FROM kept WHERE id <= 5;
SELECT count(*) AS entries FROM unlearn.erasure_log WHERE model_name = 'kept_model';
SELECT count(unlearn.drop_model(name)) FROM unlearn.model;
DROP EXTENSION unlearn;
CREATE EXTENSION unlearn;
SELECT name FROM unlearn.create_model('kept_again', 'kept', 'y', ARRAY['x'], 'linear');
DELETE FROM kept WHERE id = 2;
COMMIT;
SELECT seq, event, model_name FROM unlearn.erasure_log ORDER BY seq;
SELECT ok, entries, links FROM unlearn.verify_log();
BEGIN;
DELETE FROM kept WHERE id = 3;
SELECT unlearn.drop_model('kept_again');
DROP EXTENSION unlearn;
COMMIT;

DROP TABLE orders, orders_2, orders_4, orders_5, kept, vault;
DROP SCHEMA sales_crm CASCADE;
DROP FUNCTION grown_up(float8);
DROP FUNCTION try(text);
DROP SCHEMA unlearn_test CASCADE;
