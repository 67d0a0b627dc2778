--
-- A logistic model's erasures ask for a background refresh when its bound
-- passes unlearn.refresh_threshold of its erasure_tol, and, while a worker
-- runs, journal their rows for it until it is done (src/refresh_worker.c).
-- The test cluster runs with unlearn.background_refresh off (a worker
-- reads it and exits), so what this session asks for stays as it is; a
-- prepared transaction holding the worker's advisory lock stands for a
-- running worker (and no other starts).  TAP 008 runs the worker itself.
--
CREATE EXTENSION unlearn;
SET unlearn.background_refresh = on;
SET unlearn.refresh_threshold = 0.01;
BEGIN;
SELECT pg_advisory_xact_lock(1970170981, 1919316840);
PREPARE TRANSACTION 'worker';

-- Uniform in [0, 1), independent across g and k.
CREATE FUNCTION hu(g int, k int) RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT ('x' || substr(md5(g || '-' || k), 1, 8))::bit(32)::bigint / 4294967296.0 $$;
CREATE TABLE bg (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8, c text, y int);
INSERT INTO bg
SELECT g, hu(g, 1), hu(g, 2), hu(g, 3), CASE WHEN g = 7 THEN 'rare' ELSE (ARRAY['a', 'b'])[1 + g % 2] END,
       (hu(g, 9) < 1 / (1 + exp(-(3 * hu(g, 1) - 2 * hu(g, 2) + hu(g, 3) - 1))))::int
  FROM generate_series(1, 20000) g;
SELECT name FROM unlearn.create_model('bg', 'bg', 'y', ARRAY['x1', 'x2', 'x3', 'c'], 'logistic',
                                      '{"erasure_tol": 0.1}');
SELECT refresh_pending FROM unlearn.models;

-- The next row to erase, in an order unrelated to the features.
CREATE FUNCTION erase_next() RETURNS int LANGUAGE sql AS $$
    DELETE FROM bg WHERE id = (SELECT id FROM bg WHERE id <> 7 ORDER BY md5(id::text) LIMIT 1)
    RETURNING id $$;
-- Erases one row a statement until model bg asks (at most 100); how many.
CREATE FUNCTION erase_until_asked() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 100 LOOP
        PERFORM erase_next();
        IF (SELECT refresh_pending FROM unlearn.models WHERE name = 'bg') THEN
            RETURN i;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
SELECT n BETWEEN 2 AND 49 AS after_a_few FROM (SELECT erase_until_asked() AS n) e;
SELECT refresh_pending, version BETWEEN 3 AND 50 AS after_a_few FROM unlearn.models;
CREATE TABLE bg_erased AS SELECT * FROM bg WHERE id = (SELECT id FROM bg WHERE id <> 7 ORDER BY md5(id::text) LIMIT 1);
-- The erasure that asked journals nothing (a refresh's snapshot sees it).
SELECT count(*) FROM unlearn.refresh_journal;

-- Every later change journals its rows, in order: per row its sign (+1
-- out, -1 in), label and terms (an UPDATE of two rows: each out and in).
SELECT erase_next() IS NOT NULL AS erased;
UPDATE bg SET x1 = x1 / 2 WHERE id IN (SELECT id FROM bg WHERE id <> 7 ORDER BY md5(id::text) DESC LIMIT 2);
SELECT j.version - (SELECT version FROM unlearn.models) AS since_now, j.rows,
       cardinality(j.terms) = j.rows * (m.n_params + 2) AS shaped,
       (SELECT array_agg(j.terms[r * (m.n_params + 2) + 1] ORDER BY r)
          FROM generate_series(0, j.rows - 1) r) AS signs,
       (SELECT bool_and(j.terms[r * (m.n_params + 2) + 3] = 1)
          FROM generate_series(0, j.rows - 1) r) AS intercepts
  FROM unlearn.refresh_journal j JOIN unlearn.model m USING (model_id)
 ORDER BY j.version;
-- The journaled label of the erased row is its label.
SELECT terms[2] = (SELECT y FROM bg_erased) AS label FROM unlearn.refresh_journal WHERE rows = 1;

-- With no worker running, no pass can need an entry: none is written (a
-- worker this erasure starts reads the server's setting, off, and exits).
COMMIT PREPARED 'worker';
SELECT count(*) AS before FROM unlearn.refresh_journal;
SELECT erase_next() IS NOT NULL AS erased;
SELECT count(*) AS after FROM unlearn.refresh_journal;
BEGIN;
SELECT pg_advisory_xact_lock(1970170981, 1919316840);
PREPARE TRANSACTION 'worker';

-- A change that drops a level is not journaled (the refresh's terms would
-- not match: it starts again).
DELETE FROM bg WHERE id = 7;
SELECT count(*) AS entries, max(version) < (SELECT version FROM unlearn.models) AS last_not_journaled
  FROM unlearn.refresh_journal;
SELECT parameters FROM unlearn.models;

-- A refresh in the foreground (the bound past erasure_tol) withdraws the
-- request, and its journal goes with it.
SELECT refresh_pending, state FROM unlearn.models;
SELECT count(*) > 0 AS journaled FROM unlearn.refresh_journal;
DO $$
BEGIN
    FOR i IN 1 .. 400 LOOP
        PERFORM erase_next();
        EXIT WHEN (SELECT method = 'refresh' FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1);
    END LOOP;
END $$;
SELECT method FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1;
SELECT refresh_pending FROM unlearn.models;
SELECT count(*) FROM unlearn.refresh_journal;

-- Turned off, an erasure asks for nothing, and withdraws a standing request.
SELECT erase_until_asked() IS NOT NULL AS asked;
SELECT erase_next() IS NOT NULL AS erased;
SELECT refresh_pending, (SELECT count(*) FROM unlearn.refresh_journal) AS journaled FROM unlearn.models;
SET unlearn.background_refresh = off;
SELECT erase_next() IS NOT NULL AS erased;
SELECT refresh_pending, (SELECT count(*) FROM unlearn.refresh_journal) AS journaled FROM unlearn.models;
SET unlearn.background_refresh = on;

-- A retrain withdraws it too.
SELECT erase_until_asked() IS NOT NULL AS asked;
SELECT erase_next() IS NOT NULL AS erased;
SELECT refresh_pending, (SELECT count(*) FROM unlearn.refresh_journal) AS journaled FROM unlearn.models;
SELECT name FROM unlearn.retrain('bg');
SELECT refresh_pending, (SELECT count(*) FROM unlearn.refresh_journal) AS journaled FROM unlearn.models;

-- A ridge model asks for a re-sum once the row terms summed into its
-- sums are that part of the way (1 + 0.01 * (2 - 1) = 1.01 times the
-- remaining rows' weight here) to the re-sum a DELETE makes.
CREATE TABLE bg_ridge AS SELECT id, x1, x2, x1 + 2 * x2 + x3 AS t FROM bg;
ALTER TABLE bg_ridge ADD PRIMARY KEY (id);
SELECT name FROM unlearn.create_model('bg_ridge', 'bg_ridge', 't', ARRAY['x1', 'x2']);
DELETE FROM bg_ridge WHERE id IN (SELECT id FROM bg_ridge ORDER BY id LIMIT 20);
SELECT name, refresh_pending FROM unlearn.models ORDER BY name;
DELETE FROM bg_ridge WHERE id IN (SELECT id FROM bg_ridge ORDER BY id LIMIT 200);
SELECT name, refresh_pending FROM unlearn.models ORDER BY name;
DELETE FROM bg_ridge WHERE id IN (SELECT id FROM bg_ridge ORDER BY id LIMIT 1);
SELECT m.name, j.rows FROM unlearn.refresh_journal j JOIN unlearn.model m USING (model_id);

-- The settings: a threshold in (0, 1] of erasure_tol, superusers only.
SET unlearn.refresh_threshold = 0;
SET unlearn.refresh_threshold = 1.5;
CREATE ROLE bg_plain;
SET ROLE bg_plain;
SET unlearn.refresh_threshold = 0.5;
SET unlearn.background_refresh = off;
RESET ROLE;
DROP ROLE bg_plain;

COMMIT PREPARED 'worker';
SELECT ok FROM unlearn.verify_log();
SELECT unlearn.drop_model('bg');
SELECT unlearn.drop_model('bg_ridge');
SELECT count(*) FROM unlearn.refresh_journal;
DROP TABLE bg, bg_ridge, bg_erased;
DROP FUNCTION erase_until_asked();
DROP FUNCTION erase_next();
DROP FUNCTION hu(int, int);
DROP EXTENSION unlearn;
