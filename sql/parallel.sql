--
-- Parallel training (src/parallel_sums.c): from unlearn.parallel_min_rows
-- rows a fit shares its solver passes with up to
-- max_parallel_maintenance_workers workers.  Each family trained with
-- workers equals the same fit without them (ridge to 1e-9 relative, the
-- others within the solver's tolerance), and the fits with one and with
-- two workers are the same to the bit: the rows are cut into chunks that
-- do not depend on the workers.  retrain and verify_model take the same
-- path.  (A cancel, and a worker's failure, are TAP 009's.)
--
CREATE EXTENSION unlearn;
\set ECHO none
\i test/try.sql
\set ECHO all
SET unlearn.parallel_min_rows = 2000;

-- 20,000 rows: numeric features, a categorical one, a linear target, a
-- binary label, a count, and a label of four classes.
CREATE FUNCTION pu(g int, k int) RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT ('x' || substr(md5(g || '-' || k), 1, 8))::bit(32)::bigint / 4294967296.0 $$;
CREATE TABLE par (id int PRIMARY KEY, a float8, b float8, c float8, kind text,
                  y float8, label int, n int, cls text);
INSERT INTO par
SELECT g, a, b, c, kind,
       2 * a - b + 0.5 * c + (kind = 'p')::int + pu(g, 4),
       (pu(g, 5) < 1 / (1 + exp(-(2 * a - b + c - 1))))::int,
       floor(2 * pu(g, 6) * exp(0.5 + a - 0.5 * b))::int,
       (ARRAY['w', 'x', 'y', 'z'])[1 + floor(4 * pu(g, 7) * (0.5 + 0.5 * a))::int]
  FROM (SELECT g, pu(g, 1) AS a, pu(g, 2) AS b, pu(g, 3) AS c,
               (ARRAY['p', 'q', 'r'])[1 + g % 3] AS kind
          FROM generate_series(1, 20000) g) s;

-- Each family three times: serially, with one worker, with two.
CREATE FUNCTION fit_three(family text, target text, features text[], OUT serial float8[],
                          OUT one float8[], OUT two float8[], OUT same_statistics bool)
LANGUAGE plpgsql AS $$
BEGIN
    SET LOCAL max_parallel_maintenance_workers = 0;
    PERFORM unlearn.create_model('p_serial', 'par', target, features, family);
    SET LOCAL max_parallel_maintenance_workers = 1;
    PERFORM unlearn.create_model('p_one', 'par', target, features, family);
    SET LOCAL max_parallel_maintenance_workers = 2;
    PERFORM unlearn.create_model('p_two', 'par', target, features, family);
    SELECT theta INTO serial FROM unlearn.model WHERE name = 'p_serial';
    SELECT theta INTO one FROM unlearn.model WHERE name = 'p_one';
    SELECT theta INTO two FROM unlearn.model WHERE name = 'p_two';
    same_statistics := statistics_match('p_serial', 'p_two');
    PERFORM unlearn.drop_model(name) FROM unlearn.model WHERE name IN ('p_serial', 'p_one', 'p_two');
END $$;
CREATE FUNCTION max_relative(a float8[], b float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
  SELECT max(abs(x - y)) / greatest(max(abs(y)), 1e-300) FROM unnest(a, b) AS u(x, y)
$$;

-- Whether two models keep the same statistics for erasure (the Hessian,
-- X'X, X'y, the rows' counters and norms), to rounding: the last pass of a fit, shared
-- with the workers too.
CREATE FUNCTION statistics_match(a text, b text) RETURNS bool
LANGUAGE sql AS $$
  SELECT x.sum_terms = y.sum_terms AND x.positives = y.positives
     AND max_relative(x.hessian, y.hessian) < 1e-9
     AND (x.gram IS NULL) = (y.gram IS NULL) AND coalesce(max_relative(x.gram, y.gram), 0) < 1e-9
     AND (x.xty IS NULL) = (y.xty IS NULL) AND coalesce(max_relative(x.xty, y.xty), 0) < 1e-9
     AND max_relative(ARRAY[x.sum_norm2, x.rows_norm2, x.sum_rnorm, x.rows_rnorm, x.sum_znorm,
                            x.max_logit, x.max_row_norm],
                      ARRAY[y.sum_norm2, y.rows_norm2, y.sum_rnorm, y.rows_rnorm, y.sum_znorm,
                            y.max_logit, y.max_row_norm]) < 1e-6
    FROM unlearn.model x, unlearn.model y WHERE x.name = a AND y.name = b
$$;

SELECT f.family, max_relative(r.one, r.serial) < f.tolerance AS equals_serial,
       r.one = r.two AS same_to_the_bit, r.same_statistics
  FROM (VALUES ('linear', 'y', 1e-9), ('logistic', 'label', 1e-6),
               ('poisson', 'n', 1e-6), ('multinomial', 'cls', 1e-6)) AS f(family, target, tolerance),
       LATERAL fit_three(f.family, f.target, '{a, b, c, kind}') r
 ORDER BY 1;

-- The workers ran: two of them for the last fit (unlearn._last_fit_workers).
SET max_parallel_maintenance_workers = 2;
SELECT name FROM unlearn.create_model('pl', 'par', 'label', '{a, b, c, kind}', 'logistic');
SELECT unlearn._last_fit_workers() AS workers;

-- Below unlearn.parallel_min_rows, or with no worker allowed, one process:
-- a model of fewer rows is not cut into chunks (the same to the bit as serial).
SET unlearn.parallel_min_rows = 50000;
SELECT name FROM unlearn.create_model('pl_small', 'par', 'label', '{a, b, c, kind}', 'logistic');
SELECT unlearn._last_fit_workers() AS workers;
SET max_parallel_maintenance_workers = 0;
SET unlearn.parallel_min_rows = 2000;
SELECT name FROM unlearn.create_model('pl_serial', 'par', 'label', '{a, b, c, kind}', 'logistic');
SELECT (SELECT theta FROM unlearn.model WHERE name = 'pl_small') =
       (SELECT theta FROM unlearn.model WHERE name = 'pl_serial') AS small_is_serial;

-- retrain and verify_model with workers: the same fit again.
SET max_parallel_maintenance_workers = 2;
DELETE FROM par WHERE id <= 50;
SELECT state, rows FROM unlearn.retrain('pl');
SELECT unlearn._last_fit_workers() AS workers;
SELECT rows, verdict FROM unlearn.verify_model('pl');
SELECT unlearn._last_fit_workers() AS workers;
SELECT unlearn.drop_model(name) FROM unlearn.model WHERE name IN ('pl_small', 'pl_serial');
SELECT name FROM unlearn.create_model('pl_fresh', 'par', 'label', '{a, b, c, kind}', 'logistic');
SELECT (SELECT theta FROM unlearn.model WHERE name = 'pl') =
       (SELECT theta FROM unlearn.model WHERE name = 'pl_fresh') AS retrain_is_fresh_fit;

-- Rows beyond unlearn.train_memory: each pass re-reads the table, now a
-- parallel scan whose share each process sums (the rows a process gets
-- depend on the scan's pace, so the fit agrees with a serial one to
-- rounding, not to the bit): every family, with a filter, a holdout and a
-- categorical column.
-- A fit of source in one process and with two workers (unlearn.train_memory
-- set to memory), the parameters of each, and the workers the second launched.
CREATE FUNCTION fit_two(source regclass, family text, target text, opts jsonb, memory text,
                        OUT serial float8[], OUT two float8[], OUT workers int,
                        OUT same_statistics bool)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('unlearn.train_memory', memory, true);
    SET LOCAL max_parallel_maintenance_workers = 0;
    PERFORM unlearn.create_model('pp_serial', source, target, '{a, b, c, kind}', family, opts);
    SET LOCAL max_parallel_maintenance_workers = 2;
    PERFORM unlearn.create_model('pp_two', source, target, '{a, b, c, kind}', family, opts);
    workers := unlearn._last_fit_workers();
    SELECT theta INTO serial FROM unlearn.model WHERE name = 'pp_serial';
    SELECT theta INTO two FROM unlearn.model WHERE name = 'pp_two';
    same_statistics := statistics_match('pp_serial', 'pp_two');
    PERFORM unlearn.drop_model(name) FROM unlearn.model WHERE name IN ('pp_serial', 'pp_two');
END $$;
SELECT f.family, max_relative(r.two, r.serial) < f.tolerance AS equals_serial, r.workers,
       r.same_statistics
  FROM (VALUES ('linear', 'y', 1e-9, '{"where": "a > 0.1"}'::jsonb),
               ('logistic', 'label', 1e-6, '{"holdout": 0.2}'::jsonb),
               ('poisson', 'n', 1e-6, '{}'::jsonb),
               ('multinomial', 'cls', 1e-6, '{"where": "b < 0.9", "holdout": 0.1}'::jsonb))
         AS f(family, target, tolerance, opts),
       LATERAL fit_two('par', f.family, f.target, f.opts, '1MB') r
 ORDER BY 1;

-- In a transaction that has written (a DELETE's erasure): the same.
BEGIN;
DELETE FROM par WHERE id BETWEEN 51 AND 60;
SELECT rows, verdict FROM unlearn.verify_model('pl');
SELECT unlearn._last_fit_workers() AS workers;
COMMIT;

-- A partitioned source, a holdout and a Poisson exposure: the rows the
-- leader read (from every partition, less the held-out ones) are the
-- rows the workers sum.
CREATE TABLE par_parts (LIKE par) PARTITION BY RANGE (id);
CREATE TABLE par_low PARTITION OF par_parts FOR VALUES FROM (MINVALUE) TO (10000);
CREATE TABLE par_high PARTITION OF par_parts FOR VALUES FROM (10000) TO (MAXVALUE);
ALTER TABLE par_parts ADD PRIMARY KEY (id);
INSERT INTO par_parts SELECT * FROM par;
ALTER TABLE par_parts ADD COLUMN span float8;
UPDATE par_parts SET span = 0.5 + pu(id, 8);
SELECT f.family, f.opts, max_relative(r.two, r.serial) < 1e-6 AS equals_serial, r.workers,
       r.same_statistics
  FROM (VALUES ('poisson', 'n', '{"exposure": "span", "holdout": 0.2}'::jsonb),
               ('multinomial', 'cls', '{"holdout": 0.2}'::jsonb)) AS f(family, target, opts),
       LATERAL fit_two('par_parts', f.family, f.target, f.opts, '512MB') r
 ORDER BY 1;
DROP TABLE par_parts;
DROP FUNCTION fit_two;

SELECT count(unlearn.drop_model(name)) FROM unlearn.model;
DROP EXTENSION unlearn;
DROP FUNCTION try, pu, fit_three, statistics_match, max_relative;
DROP TABLE par;
