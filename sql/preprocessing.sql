--
-- Preprocessing is erased too (src/preprocessing.c): with standardize on,
-- a model's centering and scaling are its remaining rows' mean and
-- standard deviation after every erasure, and the model equals a retrain
-- whose preprocessing comes from the remaining rows -- ridge to rounding,
-- logistic within its bound.  Checked on a real dataset (WDBC) against a
-- fresh model trained on a copy of the remaining rows; the erasures are
-- chosen to move the columns' spread (the largest tumours go), so a model
-- that kept its training-time scaling would be off by far more than the
-- tolerances here.
--
CREATE EXTENSION unlearn;
\set ECHO none
\i test/try.sql
\set ECHO all
\set wdbc_table pp
\i test/data/wdbc_table.sql
\copy pp FROM 'test/data/wdbc.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE pp_all AS SELECT * FROM pp;

-- The largest relative difference between two models' raw weights.
CREATE FUNCTION raw_gap(a text, b text) RETURNS float8 LANGUAGE sql AS $$
    SELECT max(abs(x.raw_weight - y.raw_weight)) / max(abs(y.raw_weight))
      FROM unlearn.weights(a) x JOIN unlearn.weights(b) y USING (term)
$$;
-- The same for the weights on scaled inputs (each model's own scaling).
CREATE FUNCTION scaled_gap(a text, b text) RETURNS float8 LANGUAGE sql AS $$
    SELECT max(abs(x.weight - y.weight)) / max(abs(y.weight))
      FROM unlearn.weights(a) x JOIN unlearn.weights(b) y USING (term)
$$;
-- A fresh model of the same kind on a copy of a table's current rows.
CREATE FUNCTION fresh(model text, source regclass, kind text, options jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM unlearn.drop_model(model) FROM unlearn.models WHERE name = model;
    EXECUTE format('DROP TABLE IF EXISTS %I', model || '_src');
    EXECUTE format('CREATE TABLE %I AS SELECT * FROM %s', model || '_src', source);
    EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (id)', model || '_src');
    PERFORM unlearn.create_model(model, (model || '_src')::regclass, 'benign',
        ARRAY['mean_radius', 'mean_texture', 'mean_smoothness', 'mean_symmetry'], kind, options);
    RETURN model;
END
$$;

-- Ridge with a penalty that matters (l2 = 50 on 569 rows).
SELECT name FROM unlearn.create_model('pp_ridge', 'pp', 'benign',
    ARRAY['mean_radius', 'mean_texture', 'mean_smoothness', 'mean_symmetry'],
    'linear', '{"l2": 50}');
SELECT name FROM unlearn.create_model('pp_logit', 'pp', 'benign',
    ARRAY['mean_radius', 'mean_texture', 'mean_smoothness', 'mean_symmetry'],
    'logistic', '{"l2": 5, "erasure_tol": 1e-6}');

-- The preprocessing at training: the training rows' mean and spread.
SELECT column_name, rows,
       abs(center - (SELECT avg(mean_radius) FROM pp)) < 1e-12 * (SELECT avg(mean_radius) FROM pp) AS center_is_mean,
       abs(scale - (SELECT stddev_pop(mean_radius) FROM pp)) < 1e-12 * (SELECT stddev_pop(mean_radius) FROM pp) AS scale_is_sd
  FROM unlearn.preprocessing('pp_ridge') WHERE column_name = 'mean_radius';

-- The largest tumours leave, one statement: the mean radius falls from
-- 14.1 to about 12.6 and its spread by more than a third.
DELETE FROM pp WHERE mean_radius > 17;
SELECT column_name, rows,
       abs(center - (SELECT avg(mean_radius) FROM pp)) < 1e-12 * (SELECT avg(mean_radius) FROM pp) AS center_is_mean,
       abs(scale - (SELECT stddev_pop(mean_radius) FROM pp)) < 1e-12 * (SELECT stddev_pop(mean_radius) FROM pp) AS scale_is_sd
  FROM unlearn.preprocessing('pp_ridge') WHERE column_name = 'mean_radius';
-- Every column, against SQL's own aggregates over the remaining rows.
SELECT p.column_name,
       abs(p.mean - s.mean) <= 1e-12 * abs(s.mean) AS mean_ok,
       abs(p.stddev - s.sd) <= 1e-11 * s.sd AS sd_ok
  FROM unlearn.preprocessing('pp_logit') p
  JOIN (SELECT 'mean_radius' AS c, avg(mean_radius) AS mean, stddev_pop(mean_radius) AS sd FROM pp
        UNION ALL SELECT 'mean_texture', avg(mean_texture), stddev_pop(mean_texture) FROM pp
        UNION ALL SELECT 'mean_smoothness', avg(mean_smoothness), stddev_pop(mean_smoothness) FROM pp
        UNION ALL SELECT 'mean_symmetry', avg(mean_symmetry), stddev_pop(mean_symmetry) FROM pp) s
    ON s.c = p.column_name
 ORDER BY p.column_name;

-- Ridge: a retrain on the remaining rows, with their preprocessing, to rounding.
SELECT fresh('pp_ridge_fresh', 'pp', 'linear', '{"l2": 50}');
SELECT raw_gap('pp_ridge', 'pp_ridge_fresh') < 1e-11 AS ridge_raw_equal,
       scaled_gap('pp_ridge', 'pp_ridge_fresh') < 1e-11 AS ridge_scaled_equal;
SELECT max(abs(unlearn.predict('pp_ridge', p) - unlearn.predict('pp_ridge_fresh', p))) < 1e-11 AS ridge_predicts_equal
  FROM pp p;
-- Logistic: the same Newton step with the penalty's change, within its
-- bound (refreshed in the foreground here: erasure_tol is tight).
SELECT fresh('pp_logit_fresh', 'pp', 'logistic', '{"l2": 5}');
SELECT raw_gap('pp_logit', 'pp_logit_fresh') < 1e-8 AS logit_raw_close,
       scaled_gap('pp_logit', 'pp_logit_fresh') < 1e-8 AS logit_scaled_close;
SELECT verdict, reason FROM unlearn.verify_model('pp_ridge');
SELECT verdict, reason FROM unlearn.verify_model('pp_logit');

-- Single-row erasures, many of them (each a step with the spread it
-- leaves): after the first few the kept matrices are stored again in the
-- remaining rows' own scaling, so the terms' stored scaling is theirs too.
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT id FROM pp ORDER BY mean_texture DESC LIMIT 60 LOOP
        DELETE FROM pp WHERE id = r.id;
    END LOOP;
END
$$;
SELECT fresh('pp_ridge_fresh', 'pp', 'linear', '{"l2": 50}');
SELECT raw_gap('pp_ridge', 'pp_ridge_fresh') < 1e-11 AS ridge_raw_equal,
       scaled_gap('pp_ridge', 'pp_ridge_fresh') < 1e-11 AS ridge_scaled_equal;
SELECT fresh('pp_logit_fresh', 'pp', 'logistic', '{"l2": 5}');
SELECT raw_gap('pp_logit', 'pp_logit_fresh') < 1e-8 AS logit_raw_close;
-- The stored scaling (the frame the erasure state is kept in) was moved to
-- the remaining rows' at the last store of the matrices (a rebase, every
-- 8 single-row erasures here): unlearn.model_term keeps no training-time
-- mean or spread, only those of a few erasures ago, which the pending
-- rows stand for.
SELECT t.column_name,
       abs(t.center - p.center) < 0.05 * abs(a.mean - p.center) AS stored_center_recent,
       abs(t.scale - p.scale) < 0.05 * abs(a.sd - p.scale) AS stored_scale_recent,
       (SELECT count(*) FROM unlearn.model_pending q WHERE q.model_id = m.model_id) < 8 AS few_pending
  FROM unlearn.model_term t JOIN unlearn.model m USING (model_id)
  JOIN unlearn.preprocessing('pp_ridge') p ON p.column_name = t.column_name
  CROSS JOIN (SELECT avg(mean_radius) AS mean, stddev_pop(mean_radius) AS sd FROM pp_all) a
 WHERE m.name = 'pp_ridge' AND t.column_name = 'mean_radius';

-- A rectification that moves a value far: the spread follows it.
UPDATE pp SET mean_symmetry = mean_symmetry * 3 WHERE id = (SELECT min(id) FROM pp);
SELECT fresh('pp_ridge_fresh', 'pp', 'linear', '{"l2": 50}');
SELECT raw_gap('pp_ridge', 'pp_ridge_fresh') < 1e-11 AS ridge_raw_equal;
SELECT fresh('pp_logit_fresh', 'pp', 'logistic', '{"l2": 5}');
SELECT raw_gap('pp_logit', 'pp_logit_fresh') < 1e-8 AS logit_raw_close;

-- Without an intercept the columns are scaled, not centered: the scale
-- still follows the rows.
SELECT name FROM unlearn.create_model('pp_noint', 'pp', 'benign',
    ARRAY['mean_radius', 'mean_texture'], 'linear', '{"l2": 50, "intercept": false}');
DELETE FROM pp WHERE mean_texture > 22;
SELECT center, abs(scale - (SELECT stddev_pop(mean_texture) FROM pp)) < 1e-11 * scale AS scale_is_sd
  FROM unlearn.preprocessing('pp_noint') WHERE column_name = 'mean_texture';
CREATE TABLE pp_noint_now AS SELECT * FROM pp;
ALTER TABLE pp_noint_now ADD PRIMARY KEY (id);
SELECT name FROM unlearn.create_model('pp_noint_fresh', 'pp_noint_now', 'benign',
    ARRAY['mean_radius', 'mean_texture'], 'linear', '{"l2": 50, "intercept": false}');
SELECT raw_gap('pp_noint', 'pp_noint_fresh') < 1e-11 AS noint_raw_equal;

-- standardize off: nothing moves, the model is the plain ridge fit.
SELECT name FROM unlearn.create_model('pp_raw', 'pp', 'benign',
    ARRAY['mean_radius', 'mean_texture'], 'linear', '{"l2": 50, "standardize": false}');
DELETE FROM pp WHERE mean_radius < 9;
SELECT column_name, center, scale, mean IS NULL AS no_mean FROM unlearn.preprocessing('pp_raw') ORDER BY column_name;

-- A DELETE larger than work_mem, taken in chunks (each its own step and
-- log entry): the sums and the penalty follow each chunk.
CREATE TABLE pq AS SELECT * FROM pp_all;
ALTER TABLE pq ADD PRIMARY KEY (id);
SELECT name FROM unlearn.create_model('pq_ridge', 'pq', 'benign',
    ARRAY['mean_radius', 'mean_texture', 'mean_smoothness', 'mean_symmetry'],
    'linear', '{"l2": 50}');
SELECT name FROM unlearn.create_model('pq_logit', 'pq', 'benign',
    ARRAY['mean_radius', 'mean_texture', 'mean_smoothness', 'mean_symmetry'],
    'logistic', '{"l2": 5, "erasure_tol": 1e-6}');
SET work_mem = '64kB';
DELETE FROM pq WHERE id IN (SELECT id FROM pq ORDER BY mean_radius DESC LIMIT 450);
RESET work_mem;
SELECT model_name, count(*) AS entries, sum(rows) AS rows FROM unlearn.erasure_log
 WHERE model_name IN ('pq_ridge', 'pq_logit') AND event = 'erasure' GROUP BY 1 ORDER BY 1;
SELECT fresh('pp_ridge_fresh', 'pq', 'linear', '{"l2": 50}');
SELECT raw_gap('pq_ridge', 'pp_ridge_fresh') < 1e-11 AS chunked_ridge_equal;
SELECT fresh('pp_logit_fresh', 'pq', 'logistic', '{"l2": 5}');
SELECT raw_gap('pq_logit', 'pp_logit_fresh') < 1e-8 AS chunked_logit_close;

-- A column left constant over the remaining rows: a retrain would refuse
-- it, so the model is marked for one, with the reason, not kept serving.
CREATE TABLE pc (id int PRIMARY KEY, x float8, z float8, y float8);
INSERT INTO pc SELECT g, CASE WHEN g <= 3 THEN g ELSE 0 END, sin(g), cos(g) + g % 3 FROM generate_series(1, 40) g;
SELECT name FROM unlearn.create_model('pc', 'pc', 'y', ARRAY['x', 'z'], 'linear');
DELETE FROM pc WHERE id <= 3;
SELECT state FROM unlearn.models WHERE name = 'pc';
SELECT detail FROM unlearn.erasure_log WHERE model_name = 'pc' ORDER BY seq DESC LIMIT 1;
SELECT try($$SELECT unlearn.predict('pc', p) FROM pc p LIMIT 1$$);
SELECT try($$SELECT unlearn.retrain('pc')$$);

-- Bad input: an unknown model.
SELECT try($$SELECT * FROM unlearn.preprocessing('no_such_model')$$);

SELECT unlearn.drop_model(name) FROM unlearn.models ORDER BY name;
DROP TABLE pp, pp_all, pq, pp_ridge_fresh_src, pp_logit_fresh_src, pp_noint_now, pc;
DROP FUNCTION raw_gap(text, text), scaled_gap(text, text), fresh(text, regclass, text, jsonb), try(text);
DROP EXTENSION unlearn;
