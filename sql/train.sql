--
-- Training, inspection, prediction, lineage, retrain and drop on a small
-- table of mixed column types.  Optimality is checked independently of the
-- trainer (unlearn_test.relative_gradient recomputes the gradient in SQL).
--
CREATE EXTENSION unlearn;
\set ECHO none
\i test/train_helpers.sql
\i test/erase_helpers.sql
\set ECHO all

CREATE TYPE plan AS ENUM ('basic', 'plus', 'pro');
CREATE TABLE customers (
    id integer PRIMARY KEY,
    age integer,
    income numeric,
    score real,
    active boolean,
    plan plan,
    region text,
    spend double precision,
    churned boolean
);
INSERT INTO customers
SELECT g,
       18 + (u(g, 1) * 60)::int,
       round((20000 + u(g, 2) * 80000)::numeric, 2),
       (u(g, 3) * 10)::real,
       u(g, 4) < 0.6,
       (ARRAY['basic', 'plus', 'pro'])[1 + (u(g, 5) * 3)::int % 3]::plan,
       (ARRAY['EU', 'US', 'APAC'])[1 + (u(g, 6) * 3)::int % 3],
       0, false
  FROM generate_series(1, 300) g;
UPDATE customers SET
    spend = 100 + 2.5 * age + 0.001 * income - 3 * score + 20 * active::int
            + CASE plan WHEN 'pro' THEN 50 WHEN 'plus' THEN 20 ELSE 0 END
            + 30 * (u(id, 7) - 0.5),
    churned = u(id, 8) < 1 / (1 + exp(-(-1 + 0.04 * (age - 45) - 0.3 * score + 1.5 * active::int)));

-- A row as jsonb for the hand computation, real widened to float8 first.
CREATE FUNCTION row_json(c customers) RETURNS jsonb LANGUAGE sql
AS $$ SELECT to_jsonb(c) || jsonb_build_object('score', c.score::float8) $$;

-- Ridge on numeric, numeric(), real, boolean, enum and text columns.
SELECT name, type, source, target, features, parameters, rows_trained,
       rows_erased, rows, rows_skipped, version, state
  FROM unlearn.create_model('spend', 'customers', 'spend',
                            ARRAY['age', 'income', 'score', 'active', 'plan', 'region'],
                            'linear', '{"l2": 0.5}');
-- The optimum: the gradient recomputed in SQL vanishes.
SELECT unlearn_test.relative_gradient('spend') < 1e-10 AS spend_at_optimum;
-- One term per numeric column, one per categorical level (sorted), plus
-- the intercept; raw weights are close to the generating model.
SELECT term, column_name, level, round(raw_weight::numeric, 2) AS raw_weight
  FROM unlearn.weights('spend');
-- Predictions equal the hand computation from the raw weights.
SELECT max(abs(unlearn.predict('spend', c)
               - unlearn_test.hand_predictor('spend', row_json(c)))) < 1e-9 AS predict_matches_hand
  FROM customers c;
SELECT metric, round(value::numeric, 4) AS value FROM unlearn.evaluate('spend');

-- Logistic regression on the same columns.
SELECT name, type, target, parameters, rows_trained, state
  FROM unlearn.create_model('churn', 'customers', 'churned',
                            ARRAY['age', 'income', 'score', 'active', 'plan', 'region'],
                            'logistic');
SELECT unlearn_test.relative_gradient('churn') < 1e-10 AS churn_at_optimum;
-- predict_proba is the sigmoid of the hand-computed linear predictor;
-- predict is the class, 1 exactly when the probability is at least 0.5.
SELECT max(abs(unlearn.predict_proba('churn', c)
               - 1 / (1 + exp(-unlearn_test.hand_predictor('churn', row_json(c)))))) < 1e-12
         AS proba_matches_hand,
       bool_and(unlearn.predict('churn', c) = (unlearn.predict_proba('churn', c) >= 0.5)::int)
         AS class_matches_proba
  FROM customers c;
-- evaluate's metrics, checked against a direct computation.
SELECT e.metric, round(e.value::numeric, 4) AS value,
       CASE e.metric
         WHEN 'rows' THEN e.value = (SELECT count(*) FROM customers)
         WHEN 'accuracy' THEN e.value = (SELECT avg((unlearn.predict('churn', c) = churned::int)::int)
                                           FROM customers c)
         WHEN 'confusion_0_0' THEN e.value = (SELECT count(*) FROM customers c
                                               WHERE churned::int = 0 AND unlearn.predict('churn', c) = 0)
         WHEN 'confusion_0_1' THEN e.value = (SELECT count(*) FROM customers c
                                               WHERE churned::int = 0 AND unlearn.predict('churn', c) = 1)
         WHEN 'confusion_1_0' THEN e.value = (SELECT count(*) FROM customers c
                                               WHERE churned::int = 1 AND unlearn.predict('churn', c) = 0)
         WHEN 'confusion_1_1' THEN e.value = (SELECT count(*) FROM customers c
                                               WHERE churned::int = 1 AND unlearn.predict('churn', c) = 1)
         WHEN 'recall_1' THEN abs(e.value - (SELECT avg((unlearn.predict('churn', c) = 1)::int)
                                               FROM customers c WHERE churned::int = 1)) < 1e-12
         ELSE e.value BETWEEN 0 AND 1 END AS checks
  FROM unlearn.evaluate('churn') e;

-- features = NULL: every usable column but the key and the target.
SELECT features FROM unlearn.create_model('all_columns', 'customers', 'spend');
SELECT unlearn_test.relative_gradient('all_columns') < 1e-10 AS all_columns_at_optimum;

-- Raw features, no intercept: the model through the origin.
SELECT parameters FROM unlearn.create_model('raw', 'customers', 'spend',
    ARRAY['age', 'score'], 'linear', '{"standardize": false, "intercept": false, "l2": 0}');
SELECT unlearn_test.relative_gradient('raw') < 1e-10 AS raw_at_optimum;
SELECT term, weight = raw_weight AS unscaled FROM unlearn.weights('raw');

-- Ridge with l2 = 0 on one feature is ordinary least squares: it equals
-- PostgreSQL's own regr_slope/regr_intercept.
SELECT name FROM unlearn.create_model('ols', 'customers', 'spend', ARRAY['age'],
                                      'linear', '{"l2": 0}');
SELECT abs(w.raw_weight - r.slope) / abs(r.slope) < 1e-12 AS slope_matches,
       abs(i.raw_weight - r.icept) / abs(r.icept) < 1e-12 AS intercept_matches
  FROM (SELECT regr_slope(spend, age) AS slope, regr_intercept(spend, age) AS icept
          FROM customers) r,
       unlearn.weights('ols') w, unlearn.weights('ols') i
 WHERE w.term = 'age' AND i.term = '(intercept)';

-- The "where" filter: only matching rows train (and only they are lineage).
SELECT rows_trained, (SELECT count(*) FROM customers WHERE region = 'EU' AND age < 60) AS expected
  FROM unlearn.create_model('eu', 'customers', 'spend', ARRAY['age', 'score'],
                            'linear', '{"where": "region = ''EU'' AND age < 60"}');
SELECT unlearn_test.relative_gradient('eu') < 1e-10 AS eu_at_optimum;
SELECT count(*) = (SELECT count(*) FROM customers WHERE region = 'EU' AND age < 60) AS lineage_is_filtered,
       bool_and(c.region = 'EU') AS only_eu
  FROM unlearn.lineage('eu') l JOIN customers c ON c.id = l.key::int;
SELECT metric, value FROM unlearn.evaluate('eu') WHERE metric = 'rows';

-- Vector input: one value per non-intercept term, raw units.
SELECT abs(unlearn.predict('eu', ARRAY[40, 5]::float8[])
           - unlearn_test.hand_predictor('eu', '{"age": 40, "score": 5}')) < 1e-9 AS vector_matches;
SELECT abs(unlearn.predict('eu', ARRAY[c.age, c.score]::float8[]) - unlearn.predict('eu', c)) < 1e-9
       AS vector_equals_row
  FROM customers c WHERE id = 7;

-- Stored options, with defaults filled in and the filter in canonical form:
-- the analysed expression printed back with every name schema-qualified, so
-- it means the same whatever the search_path of a later retrain or evaluate.
SELECT options FROM unlearn.model WHERE name = 'eu';

-- The filter is always read with standard_conforming_strings on: a
-- backslash in a literal is just a character, whatever the session says.
SET standard_conforming_strings = off;
SELECT rows_trained FROM unlearn.create_model('backslash', 'customers', 'spend', ARRAY['age'],
    'linear', $${"where": "region <> 'EU\\' OR region = 'US'"}$$);
RESET standard_conforming_strings;
SELECT options->>'where' AS canonical_where FROM unlearn.model WHERE name = 'backslash';
SELECT metric, value = (SELECT count(*) FROM customers) AS all_rows
  FROM unlearn.evaluate('backslash') WHERE metric = 'rows';
SELECT unlearn.drop_model('backslash');

-- NULLs: 'skip' leaves the rows out (counted, not in lineage); prediction
-- of a row with a NULL feature is NULL for such a model.
INSERT INTO customers VALUES (1001, NULL, 50000, 5, true, 'pro', 'EU', 300, false),
                             (1002, 40, 50000, 5, true, 'pro', 'EU', NULL, false);
SELECT rows_trained, rows_skipped
  FROM unlearn.create_model('skipping', 'customers', 'spend', ARRAY['age', 'score'],
                            'linear', '{"nulls": "skip"}');
SELECT unlearn_test.relative_gradient('skipping') < 1e-10 AS skipping_at_optimum;
SELECT * FROM unlearn.lineage_of('customers', 1001);
SELECT unlearn.predict('skipping', c) IS NULL AS null_prediction FROM customers c WHERE id = 1001;
DELETE FROM customers WHERE id > 1000;

-- Lineage: exactly the training rows, each with a fingerprint.
SELECT count(*) AS lineage_rows, count(DISTINCT key) AS distinct_keys,
       bool_and(key::int BETWEEN 1 AND 300) AS keys_are_ids
  FROM unlearn.lineage('churn');
SELECT * FROM unlearn.lineage_of('customers', 42);
SELECT * FROM unlearn.lineage_of('customers', 42::bigint) WHERE model = 'churn';
SELECT * FROM unlearn.lineage_of('customers', '42'::text) WHERE model = 'churn';
-- A row added after training is in no model's lineage.
INSERT INTO customers SELECT 301, age, income, score, active, plan, region, spend, churned
  FROM customers WHERE id = 1;
SELECT count(*) AS models_with_301 FROM unlearn.lineage_of('customers', 301);
SELECT count(*) AS models_with_999 FROM unlearn.lineage_of('customers', 999);

-- One prediction call site in a plpgsql loop sees a retrain made between
-- its calls (the model is read once per statement, not once per session).
CREATE TABLE loop_rows (id int PRIMARY KEY, x float8, y float8);
INSERT INTO loop_rows SELECT g, g, 3 * g + u(g, 14) FROM generate_series(1, 40) g;
SELECT name FROM unlearn.create_model('loop', 'loop_rows', 'y', ARRAY['x'], 'linear');
CREATE FUNCTION across_retrain() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    seen float8[] := '{}';
BEGIN
    FOR i IN 1 .. 2 LOOP
        seen := seen || unlearn.predict('loop', ARRAY[50]::float8[]);
        IF i = 1 THEN
            UPDATE loop_rows SET y = y + 100 WHERE id <= 20;
            PERFORM unlearn.retrain('loop');
        END IF;
    END LOOP;
    RETURN seen[1] <> seen[2];
END
$$;
SELECT across_retrain();

-- retrain: a fresh fit on the current rows; version and lineage follow.
SELECT name, version, rows_trained FROM unlearn.retrain('churn');
SELECT unlearn_test.relative_gradient('churn') < 1e-10 AS retrained_at_optimum;
SELECT * FROM unlearn.lineage_of('customers', 301) WHERE model = 'churn';

-- A text key: lineage holds the keys' text alongside their hashes.
CREATE TABLE tickets (code text PRIMARY KEY, hours float8, severity int, urgent int);
INSERT INTO tickets SELECT 'T-' || g, u(g, 9) * 10, g % 5, (u(g, 10) < 0.5)::int
  FROM generate_series(1, 150) g;
SELECT rows_trained FROM unlearn.create_model('urgent', 'tickets', 'urgent',
                                              ARRAY['hours', 'severity'], 'logistic');
SELECT count(*) FROM unlearn.lineage('urgent') WHERE key LIKE 'T-%';
SELECT * FROM unlearn.lineage_of('tickets', 'T-17'::text);
SELECT * FROM unlearn.lineage_of('tickets', 'T-999'::text);

-- A uuid key.
CREATE TABLE devices (id uuid PRIMARY KEY, load float8, hot int);
INSERT INTO devices SELECT md5(g::text)::uuid, u(g, 12), (u(g, 13) < 0.5)::int
  FROM generate_series(1, 60) g;
SELECT rows_trained FROM unlearn.create_model('hot', 'devices', 'hot', ARRAY['load'], 'logistic');
SELECT * FROM unlearn.lineage_of('devices', md5('7')::uuid);
-- Another spelling of the same uuid finds it too.
SELECT * FROM unlearn.lineage_of('devices', upper('{' || md5('7')::uuid::text || '}'));

-- The option "key": a unique NOT NULL column of a table without primary key.
CREATE TABLE visits (visit_no bigint NOT NULL UNIQUE, minutes float8, pages int);
INSERT INTO visits SELECT g * 10, u(g, 11) * 60, 1 + g % 7 FROM generate_series(1, 50) g;
SELECT rows_trained FROM unlearn.create_model('visits', 'visits', 'minutes', ARRAY['pages'],
                                              'linear', '{"key": "visit_no"}');
SELECT * FROM unlearn.lineage_of('visits', 120);
SELECT * FROM unlearn.lineage_of('visits', 125);

-- Rows that do not fit unlearn.train_memory are re-read from the table on
-- every solver pass, under the same snapshot: the same model results.
CREATE TABLE wide AS
SELECT g AS id, u(g, 1) AS a, u(g, 2) AS b, u(g, 3) AS c, u(g, 4) AS d,
       (u(g, 5) < 1 / (1 + exp(-(2 * u(g, 1) - u(g, 2)))))::int AS y
  FROM generate_series(1, 40000) g;
ALTER TABLE wide ADD PRIMARY KEY (id);
SELECT name FROM unlearn.create_model('in_memory', 'wide', 'y', NULL, 'logistic');
SET unlearn.train_memory = '1MB';
SELECT name FROM unlearn.create_model('streamed', 'wide', 'y', NULL, 'logistic');
RESET unlearn.train_memory;
SELECT max(abs(a.weight - b.weight)) < 1e-12 AS streaming_same_model
  FROM unlearn.weights('in_memory') a JOIN unlearn.weights('streamed') b USING (term);
SELECT (SELECT count(*) FROM unlearn.lineage('streamed')) = 40000 AS streamed_lineage_complete;

-- Over a table's rows, predict(model, t) is rewritten at plan time into a
-- call that takes just the model's columns (no row tuple is built); the
-- answers are those of the row form (a subquery's rows are not rewritten).
EXPLAIN (VERBOSE, COSTS OFF) SELECT unlearn.predict_proba('churn', c) FROM customers c;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE unlearn.predict_proba('churn', c) = unlearn.predict_proba('churn', s)
                          AND unlearn.predict('churn', c) = unlearn.predict('churn', s)) AS same
  FROM customers c JOIN (SELECT * FROM customers OFFSET 0) s USING (id);
-- The missing row of an outer join predicts NULL, as with the row form.
SELECT k, unlearn.predict('churn', c) IS NULL AS null_prediction
  FROM (VALUES (1), (-1)) v(k) LEFT JOIN customers c ON c.id = v.k ORDER BY k;
-- A prepared statement whose model was dropped and created again says so.
-- (Statements reading the source itself are planned again instead: creating
-- or dropping a model invalidates its source's cached plans.)
CREATE TABLE customers_copy AS SELECT * FROM customers;
PREPARE p AS SELECT unlearn.predict('eu', c) FROM customers_copy c WHERE id = 1;
EXECUTE p \gset
SELECT name FROM unlearn.create_model('eu2', 'customers', 'spend', ARRAY['age', 'score'], 'linear');
SELECT unlearn.drop_model('eu');
SELECT name FROM unlearn.create_model('eu', 'customers', 'spend', ARRAY['age', 'score'], 'linear',
                                      '{"where": "region = ''EU'' AND age < 60"}');
EXECUTE p;
DEALLOCATE p;
SELECT unlearn.drop_model('eu2');

-- Prediction is parallel safe: run in parallel workers, it gives the same
-- answers, with the model loaded once per worker.
CREATE TEMPORARY TABLE serial AS
SELECT id, unlearn.predict('spend', c) AS p FROM customers c;
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT sum(round(p::numeric, 9)) AS serial_sum FROM serial \gset
EXPLAIN (COSTS OFF)
SELECT sum(round(unlearn.predict('spend', c)::numeric, 9)) FROM customers c;
SELECT sum(round(unlearn.predict('spend', c)::numeric, 9)) = :serial_sum AS same_in_workers
  FROM customers c;
RESET force_parallel_mode;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- The catalog view.
SELECT name, type, source, target, parameters, rows, version, state,
       gradient_norm < 1e-3 AS converged, owner = current_user::regrole AS owned
  FROM unlearn.models ORDER BY name;

-- drop_model takes terms and lineage with it.
SELECT unlearn.drop_model('churn');
SELECT count(*) AS churn_left FROM unlearn.model WHERE name = 'churn';
SELECT count(*) AS orphan_terms FROM unlearn.model_term t
 WHERE NOT EXISTS (SELECT 1 FROM unlearn.model m WHERE m.model_id = t.model_id);
SELECT count(*) AS orphan_lineage FROM unlearn.lineage l
 WHERE NOT EXISTS (SELECT 1 FROM unlearn.model m WHERE m.model_id = l.model_id);

-- Everything created above goes away with the extension.
-- Models first: their erasure triggers on user tables hold the extension.
SELECT count(unlearn.drop_model(name)) AS dropped FROM unlearn.model;
DROP EXTENSION unlearn;
DROP SCHEMA unlearn_test CASCADE;
