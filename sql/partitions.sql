--
-- Every path a row can leave a model's data by: partitioned sources (rows
-- taken through the parent or a partition), models on partitions and on
-- inheritance children whichever table a statement names, rows moving
-- between partitions, TRUNCATE of a partition, ON DELETE CASCADE, MERGE, upserts,
-- writable CTEs and rules.  After each, the model equals a fresh fit on
-- the rows its source now holds, and the log has the erasure.
--
CREATE EXTENSION unlearn;
\set ECHO none
\i test/train_helpers.sql
\i test/erase_helpers.sql
\i test/try.sql
\set ECHO all

-- A fresh fit of a model's configuration on its source's current rows.
-- Whether a model equals a fresh fit (to 1e-9 for ridge, 1e-4 for logistic)
-- and holds exactly its source's rows.
CREATE FUNCTION fresh(m text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    ref text := reference(m);
    tol float8 := CASE (SELECT x.model_type FROM unlearn.model x WHERE x.name = m)
                  WHEN 'linear' THEN 1e-9 ELSE 1e-4 END;
    same_rows boolean;
BEGIN
    SELECT (SELECT array_agg(key ORDER BY key) FROM unlearn.lineage(m))
           IS NOT DISTINCT FROM (SELECT array_agg(key ORDER BY key) FROM unlearn.lineage(ref))
      INTO same_rows;
    RETURN same_rows AND unlearn_test.weight_difference(m, ref) < tol;
END
$$;
-- The erasure entries of a model since a seq: event, rows, method, digests.
CREATE FUNCTION changes(model text, since bigint DEFAULT 0)
RETURNS TABLE (event text, rows bigint, method text, digests int) LANGUAGE sql AS $$
    SELECT l.event, l.rows, l.method, cardinality(l.key_digests)
      FROM unlearn.erasure_log l
     WHERE l.model_name = model AND l.seq > since
       AND l.event NOT IN ('create', 'drop', 'verify', 'retrain')
     ORDER BY l.seq
$$;

------------------------------------------------------------------------------
-- A partitioned table is a source: its rows are its partitions' rows.
------------------------------------------------------------------------------
CREATE TABLE sales (id int PRIMARY KEY, a float8, b float8, c text, y float8, label int)
    PARTITION BY RANGE (id);
CREATE TABLE sales_1 PARTITION OF sales FOR VALUES FROM (1) TO (201);
-- A partition with another column order and a dropped column: rows are
-- matched by column name.
CREATE TABLE sales_2 (junk int, label int, y float8, c text, b float8, a float8, id int NOT NULL);
ALTER TABLE sales_2 DROP COLUMN junk;
ALTER TABLE sales ATTACH PARTITION sales_2 FOR VALUES FROM (201) TO (401);
-- A sub-partitioned partition.
CREATE TABLE sales_3 PARTITION OF sales FOR VALUES FROM (401) TO (601) PARTITION BY RANGE (id);
CREATE TABLE sales_3_low PARTITION OF sales_3 FOR VALUES FROM (401) TO (501);
CREATE TABLE sales_3_high PARTITION OF sales_3 FOR VALUES FROM (501) TO (601);
INSERT INTO sales
SELECT g, 4 * u(g, 1) - 2, 4 * u(g, 2) - 2, (ARRAY['p', 'q', 'r'])[1 + g % 3],
       1 + 2 * (4 * u(g, 1) - 2) - (4 * u(g, 2) - 2) + (g % 3) + u(g, 3),
       (u(g, 4) < 1 / (1 + exp(-(1.5 * (4 * u(g, 1) - 2) - (4 * u(g, 2) - 2)))))::int
  FROM generate_series(1, 600) g;

SELECT name, rows FROM unlearn.create_model('sales_ridge', 'sales', 'y', ARRAY['a', 'b', 'c'], 'linear',
                                            '{"standardize": false, "l2": 0.5}');
SELECT name, rows FROM unlearn.create_model('sales_logit', 'sales', 'label', ARRAY['a', 'b'], 'logistic',
                                            '{"standardize": false}');
-- Every table of the tree carries the statement triggers; the tables that
-- store rows also carry the (REPLICA) apply triggers.
SELECT tgrelid::regclass AS tab, string_agg(tgname || ':' || tgenabled::text, ' ' ORDER BY tgname) AS triggers
  FROM pg_trigger WHERE tgname LIKE 'unlearn%' GROUP BY tgrelid ORDER BY 1::text;

-- Through the parent, through a partition, through a sub-partition.
DELETE FROM sales WHERE id IN (3, 250, 455);
DELETE FROM sales_2 WHERE id = 260;
DELETE FROM sales_3_low WHERE id = 457;
DELETE FROM sales_3 WHERE id BETWEEN 500 AND 509;
SELECT * FROM changes('sales_ridge');
SELECT fresh('sales_ridge') AS ridge_fresh, fresh('sales_logit') AS logit_fresh;
SELECT count(*) AS lineage_of_250 FROM unlearn.lineage_of('sales', 250);

-- UPDATE through the parent, and a row that moves between partitions
-- (a DELETE and an INSERT for PostgreSQL): rectified in place.
UPDATE sales SET a = a + 1 WHERE id IN (10, 300);
UPDATE sales SET id = id + 480 WHERE id IN (20, 21);
SELECT * FROM changes('sales_ridge') OFFSET 4;
SELECT fresh('sales_ridge') AS ridge_fresh, fresh('sales_logit') AS logit_fresh;
SELECT (SELECT count(*) FROM unlearn.lineage_of('sales', 20) WHERE model NOT LIKE '%_ref') AS old_key,
       (SELECT count(*) FROM unlearn.lineage_of('sales', 500) WHERE model NOT LIKE '%_ref') AS new_key;

------------------------------------------------------------------------------
-- A model on a partition: erased whichever table the statement names,
-- and only of its own rows (siblings' rows with the same key are not its).
------------------------------------------------------------------------------
CREATE TABLE regions (id int NOT NULL, region text NOT NULL, x float8, y float8)
    PARTITION BY LIST (region);
CREATE TABLE regions_eu PARTITION OF regions (PRIMARY KEY (id)) FOR VALUES IN ('eu');
CREATE TABLE regions_us PARTITION OF regions (PRIMARY KEY (id)) FOR VALUES IN ('us');
-- eu holds ids 1 to 80, us 41 to 120: 41 to 80 are in both.
INSERT INTO regions SELECT g, 'eu', u(g, 5) * 4 - 2, 3 * (u(g, 5) * 4 - 2) + u(g, 6)
  FROM generate_series(1, 80) g;
INSERT INTO regions SELECT g, 'us', u(g, 15) * 4 - 2, 3 * (u(g, 15) * 4 - 2) + u(g, 16)
  FROM generate_series(41, 120) g;
SELECT name, rows FROM unlearn.create_model('eu_model', 'regions_eu', 'y', ARRAY['x'], 'linear',
                                            '{"standardize": false}');
-- id 45 is in both partitions: the parent's DELETE takes both rows, the
-- model loses only its own; a DELETE of a us row only takes nothing.
DELETE FROM regions WHERE id = 45;
DELETE FROM regions WHERE id = 46 AND region = 'us';
DELETE FROM regions_eu WHERE id = 7;
SELECT * FROM changes('eu_model');
SELECT fresh('eu_model') AS eu_fresh;
-- Rows moving out of the partition through the parent leave the model;
-- rows moving in do not join it (as inserted rows do not).
UPDATE regions SET region = 'us' WHERE id = 8 AND region = 'eu';
UPDATE regions SET region = 'eu', id = id + 100 WHERE id = 119 AND region = 'us';
UPDATE regions SET x = x + 1 WHERE id IN (10, 47);
SELECT * FROM changes('eu_model') OFFSET 2;
SELECT count(*) AS eu_rows_in_lineage FROM unlearn.lineage('eu_model');
SELECT count(*) AS eu_rows_in_table, count(*) FILTER (WHERE id = 219) AS moved_in FROM regions_eu;
SELECT count(*) AS moved_in_trained FROM unlearn.lineage_of('regions_eu', 219);
SELECT verdict, rows, rows_mismatched FROM unlearn.verify_model('eu_model');

-- Most rows of a partitioned source's ridge model erased straight from
-- its partitions: the kept sums are made afresh from the source's rows
-- (all its partitions', not only those of the table the DELETE named).
CREATE TABLE shards (id int PRIMARY KEY, x float8, y float8) PARTITION BY RANGE (id);
CREATE TABLE shards_1 PARTITION OF shards FOR VALUES FROM (1) TO (101);
CREATE TABLE shards_2 PARTITION OF shards FOR VALUES FROM (101) TO (201);
CREATE TABLE shards_3 PARTITION OF shards FOR VALUES FROM (201) TO (301);
INSERT INTO shards SELECT g, 4 * u(g, 23) - 2, 1 - 2 * (4 * u(g, 23) - 2) + u(g, 24)
  FROM generate_series(1, 300) g;
SELECT name FROM unlearn.create_model('shards_model', 'shards', 'y', ARRAY['x'], 'linear',
                                      '{"standardize": false}');
DELETE FROM shards_1;
DELETE FROM shards_2 WHERE id < 180;
SELECT * FROM changes('shards_model');
SELECT name, state, rows FROM unlearn.models WHERE name = 'shards_model';
SELECT sum_terms = rows_trained - rows_erased AS summed_afresh FROM unlearn.model
 WHERE name = 'shards_model';
SELECT fresh('shards_model') AS resummed_fresh;

------------------------------------------------------------------------------
-- TRUNCATE: of a partition, the parent's models lose exactly its rows; of
-- a model's whole source, the model must be retrained, and every key
-- that left is in the log; a retrain of the empty table leaves it empty.
------------------------------------------------------------------------------
SELECT max(seq) AS before_truncate FROM unlearn.erasure_log \gset
TRUNCATE sales_3_high;
SELECT * FROM changes('sales_ridge', :before_truncate);
SELECT fresh('sales_ridge') AS ridge_fresh;
TRUNCATE regions_eu;
SELECT name, state, rows FROM unlearn.models WHERE name = 'eu_model';
SELECT * FROM changes('eu_model', :before_truncate);
SELECT try($$SELECT unlearn.predict('eu_model', ARRAY[1]::float8[])$$);
SELECT name, state, rows, version FROM unlearn.retrain('eu_model');
SELECT try($$SELECT unlearn.predict('eu_model', ARRAY[1]::float8[])$$);
INSERT INTO regions SELECT g, 'eu', u(g, 5) * 4 - 2, 3 * (u(g, 5) * 4 - 2) + u(g, 6)
  FROM generate_series(1, 40) g;
SELECT name, state, rows FROM unlearn.retrain('eu_model');
SELECT event, rows, method, detail FROM unlearn.erasure_log
 WHERE model_name = 'eu_model' AND event = 'retrain' ORDER BY seq;
SELECT fresh('eu_model') AS eu_fresh;

------------------------------------------------------------------------------
-- ATTACH: a table with a model becomes a partition; a DELETE through its
-- new parent erases from it.
------------------------------------------------------------------------------
CREATE TABLE regions_asia (id int PRIMARY KEY, region text NOT NULL CHECK (region = 'asia'), x float8, y float8);
INSERT INTO regions_asia SELECT g, 'asia', u(g, 7) * 4 - 2, 2 * (u(g, 7) * 4 - 2) + u(g, 8)
  FROM generate_series(1, 50) g;
SELECT name FROM unlearn.create_model('asia_model', 'regions_asia', 'y', ARRAY['x'], 'linear',
                                      '{"standardize": false}');
ALTER TABLE regions ATTACH PARTITION regions_asia FOR VALUES IN ('asia');
DELETE FROM regions WHERE id IN (1, 2, 3);
SELECT * FROM changes('asia_model');
SELECT fresh('asia_model') AS asia_fresh, fresh('eu_model') AS eu_fresh;

------------------------------------------------------------------------------
-- ON DELETE CASCADE, MERGE, writable CTEs, rules: each erases.
------------------------------------------------------------------------------
CREATE TABLE accounts (id int PRIMARY KEY);
INSERT INTO accounts SELECT g FROM generate_series(1, 20) g;
CREATE TABLE events (id int PRIMARY KEY, account int NOT NULL REFERENCES accounts ON DELETE CASCADE,
                     x float8, y float8);
INSERT INTO events SELECT g, 1 + g % 20, u(g, 9) * 4 - 2, (u(g, 9) * 4 - 2) * 1.5 + u(g, 10)
  FROM generate_series(1, 200) g;
SELECT name FROM unlearn.create_model('events_model', 'events', 'y', ARRAY['x'], 'linear',
                                      '{"standardize": false}');
DELETE FROM accounts WHERE id IN (3, 4);
SELECT event, sum(rows) AS rows FROM changes('events_model') GROUP BY event;
SELECT fresh('events_model') AS cascade_fresh;

-- ON UPDATE CASCADE and ON DELETE SET NULL change a column a model reads:
-- rectified (a row whose feature became NULL under "nulls": "skip" leaves,
-- as a retrain would skip it).
CREATE TABLE tiers (id int PRIMARY KEY);
INSERT INTO tiers SELECT g FROM generate_series(1, 5) g;
CREATE TABLE members (id int PRIMARY KEY,
                      tier int REFERENCES tiers ON UPDATE CASCADE ON DELETE SET NULL,
                      x float8, y float8);
INSERT INTO members SELECT g, 1 + g % 5, u(g, 21) * 4 - 2, (g % 5) + (u(g, 21) * 4 - 2) + u(g, 22)
  FROM generate_series(1, 60) g;
SELECT name FROM unlearn.create_model('members_model', 'members', 'y', ARRAY['tier', 'x'], 'linear',
                                      '{"standardize": false, "nulls": "skip"}');
UPDATE tiers SET id = 10 WHERE id = 2;
DELETE FROM tiers WHERE id = 3;
SELECT * FROM changes('members_model');
SELECT count(*) FILTER (WHERE tier IS NULL) AS tier_set_null,
       count(*) FILTER (WHERE tier = 10) AS tier_cascaded FROM members;
SELECT rows FROM unlearn.models WHERE name = 'members_model';
SELECT fresh('members_model') AS fk_fresh;

-- MERGE: WHEN MATCHED THEN DELETE / UPDATE.
CREATE TABLE corrections (id int, x float8, drop_it boolean);
INSERT INTO corrections VALUES (30, NULL, true), (31, NULL, true), (32, 5, false), (999, 1, false);
SELECT max(seq) AS before_merge FROM unlearn.erasure_log \gset
MERGE INTO events e USING corrections c ON e.id = c.id
  WHEN MATCHED AND c.drop_it THEN DELETE
  WHEN MATCHED THEN UPDATE SET x = c.x;
SELECT * FROM changes('events_model', :before_merge);
SELECT fresh('events_model') AS merge_fresh;

-- A writable CTE.
SELECT max(seq) AS before_cte FROM unlearn.erasure_log \gset
WITH gone AS (DELETE FROM events WHERE id BETWEEN 40 AND 44 RETURNING id)
SELECT count(*) AS deleted FROM gone;
SELECT * FROM changes('events_model', :before_cte);
SELECT fresh('events_model') AS cte_fresh;

-- INSERT ... ON CONFLICT DO UPDATE of training rows: rectified, on a plain
-- source and through a partitioned one.
SELECT max(seq) AS before_upsert FROM unlearn.erasure_log \gset
INSERT INTO events VALUES (60, 1, 5, 5), (61, 2, 6, 6)
    ON CONFLICT (id) DO UPDATE SET x = EXCLUDED.x, y = EXCLUDED.y;
INSERT INTO sales (id, a, b, c, y, label) VALUES (150, 0.5, 0.5, 'p', 3, 1), (350, -1, 1, 'q', 0, 0)
    ON CONFLICT (id) DO UPDATE SET a = EXCLUDED.a, y = EXCLUDED.y;
SELECT * FROM changes('events_model', :before_upsert);
SELECT * FROM changes('sales_ridge', :before_upsert);
SELECT fresh('events_model') AS upsert_fresh, fresh('sales_ridge') AS sales_upsert_fresh,
       fresh('sales_logit') AS sales_logit_upsert_fresh;

-- Rules: a view whose DELETE is rewritten into a DELETE of the source,
-- and another table's DELETE that also deletes from the source.
CREATE VIEW events_view AS SELECT * FROM events;
CREATE RULE events_view_delete AS ON DELETE TO events_view
    DO INSTEAD DELETE FROM events WHERE id = OLD.id;
DELETE FROM events_view WHERE id = 50;
CREATE TABLE purge_requests (id int);
CREATE RULE purge AS ON INSERT TO purge_requests DO ALSO DELETE FROM events WHERE id = NEW.id;
INSERT INTO purge_requests VALUES (51), (52);
SELECT count(*) AS left_in_table FROM events WHERE id IN (50, 51, 52);
SELECT count(*) AS left_in_lineage FROM unlearn.lineage('events_model') WHERE key::int IN (50, 51, 52);
SELECT fresh('events_model') AS rules_fresh;

------------------------------------------------------------------------------
-- Inheritance: a model on a child is erased through the parent; a model
-- on the parent holds only the parent's own rows (as SELECT ... FROM ONLY
-- reads them), even where a child has rows with the same keys.
------------------------------------------------------------------------------
CREATE TABLE people (id int PRIMARY KEY, x float8, y float8);
CREATE TABLE staff (role text) INHERITS (people);
ALTER TABLE staff ADD PRIMARY KEY (id);
INSERT INTO people SELECT g, u(g, 11) * 4 - 2, 2 - (u(g, 11) * 4 - 2) + u(g, 12) FROM generate_series(1, 60) g;
INSERT INTO staff SELECT g, u(g, 13) * 4 - 2, 1 + 3 * (u(g, 13) * 4 - 2) + u(g, 14), 'r'
  FROM generate_series(1, 60) g;
SELECT name, rows FROM unlearn.create_model('staff_model', 'staff', 'y', ARRAY['x'], 'linear',
                                            '{"standardize": false}');
SELECT name, rows FROM unlearn.create_model('people_model', 'people', 'y', ARRAY['x'], 'linear',
                                            '{"standardize": false}');
-- The child collects its rows (row-level triggers); the parent too, as its
-- own rows and its child's arrive in one transition table.
SELECT tgrelid::regclass AS tab, string_agg(tgname, ' ' ORDER BY tgname) AS triggers
  FROM pg_trigger WHERE tgname LIKE 'unlearn%' AND tgrelid IN ('people'::regclass, 'staff'::regclass)
 GROUP BY tgrelid ORDER BY 1::text;
-- id 5 and 6 are in both tables: DELETE through the parent takes four rows,
-- two from each model.
DELETE FROM people WHERE id IN (5, 6);
DELETE FROM ONLY people WHERE id = 7;
DELETE FROM staff WHERE id = 8;
UPDATE people SET x = x + 1 WHERE id IN (9, 10);
SELECT * FROM changes('staff_model');
SELECT * FROM changes('people_model');
SELECT fresh('staff_model') AS staff_fresh, fresh('people_model') AS people_fresh;
-- In a subtransaction rolled back, collected rows go with it.
BEGIN;
SAVEPOINT s;
DELETE FROM people WHERE id = 11;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT count(*) AS staff_11_kept FROM unlearn.lineage('staff_model') WHERE key = '11';
-- A statement run in a subtransaction (a trigger's exception block) takes
-- no rows an outer statement collected: rolled back, it loses none.
CREATE FUNCTION staff_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        DELETE FROM staff WHERE id = -1;
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
    RETURN NULL;
END
$$;
CREATE TRIGGER zz_audit AFTER DELETE ON staff FOR EACH ROW EXECUTE FUNCTION staff_audit();
DELETE FROM people WHERE id = 12;
DELETE FROM staff WHERE id = 13;
DROP TRIGGER zz_audit ON staff;
DROP FUNCTION staff_audit();
SELECT count(*) AS staff_12_13_in_lineage FROM unlearn.lineage('staff_model') WHERE key IN ('12', '13');
SELECT fresh('staff_model') AS staff_fresh;
-- Two levels down: a model on a grandchild, erased through the top, and
-- found by subject_log of the top table.
CREATE TABLE interns () INHERITS (staff);
ALTER TABLE interns ADD PRIMARY KEY (id);
INSERT INTO interns SELECT g, u(g, 45) * 4 - 2, 1 + (u(g, 45) * 4 - 2) + u(g, 46), 'i'
  FROM generate_series(201, 230) g;
SELECT name FROM unlearn.create_model('interns_model', 'interns', 'y', ARRAY['x'], 'linear',
                                      '{"standardize": false}');
DELETE FROM people WHERE id = 205;
SELECT model_name, rows FROM unlearn.subject_log('people', 205);
SELECT fresh('interns_model') AS interns_fresh;
-- TRUNCATE of the parent empties the child too: both are marked.
TRUNCATE people;
SELECT name, state FROM unlearn.models WHERE name IN ('staff_model', 'people_model') ORDER BY 1;

-- A plain source that gains an inheritance child: its triggers are set up
-- again at once (collecting its own rows), and it stays exact.
CREATE TABLE items (id int PRIMARY KEY, x float8, y float8);
INSERT INTO items SELECT g, g % 7, g % 5 + g % 7 + u(g, 17) FROM generate_series(1, 30) g;
SELECT name FROM unlearn.create_model('items_model', 'items', 'y', ARRAY['x'], 'linear',
                                      '{"standardize": false}');
CREATE TABLE items_more () INHERITS (items);
INSERT INTO items_more SELECT g, 1, 1 FROM generate_series(1, 5) g;
SELECT string_agg(tgname, ' ' ORDER BY tgname) AS triggers FROM pg_trigger
 WHERE tgrelid = 'items'::regclass AND tgname LIKE 'unlearn_collect%';
DELETE FROM items WHERE id IN (1, 2);
SELECT name, state, rows FROM unlearn.models WHERE name = 'items_model';
SELECT fresh('items_model') AS items_fresh;
-- A statement's rows a model could not tell from others never go unseen:
-- with unlearn's event triggers switched off by a superuser, a new child
-- leaves the triggers as they were, and the first DELETE marks the model.
CREATE TABLE tools (id int PRIMARY KEY, x float8, y float8);
INSERT INTO tools SELECT g, g % 7, g % 5 + g % 7 FROM generate_series(1, 30) g;
SELECT name FROM unlearn.create_model('tools_model', 'tools', 'y', ARRAY['x'], 'linear');
ALTER EVENT TRIGGER unlearn_ddl_end DISABLE;
CREATE TABLE tools_more () INHERITS (tools);
ALTER EVENT TRIGGER unlearn_ddl_end ENABLE ALWAYS;
INSERT INTO tools_more SELECT g, 1, 1 FROM generate_series(1, 5) g;
DELETE FROM tools WHERE id = 1;
SELECT name, state FROM unlearn.models WHERE name = 'tools_model';

SELECT count(unlearn.drop_model(name)) FROM unlearn.model;
DROP EXTENSION unlearn;
DROP FUNCTION try(text);
DROP SCHEMA unlearn_test CASCADE;
