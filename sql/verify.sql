--
-- verify_model: the auditor's independent check.  It fits each model
-- afresh on its current rows with the model's own preprocessing, leaves
-- the model as it is, and reports the distance, the gradient residual and
-- the bound the model claims.
--
CREATE EXTENSION unlearn;
\set ECHO none
\i test/train_helpers.sql
\set ECHO all

\set ECHO none
\i test/try.sql
\set ECHO all

CREATE FUNCTION verify_u(g int, k int) RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT ((g::bigint * 2654435761 + k * 40503) % 1000003) / 1000003.0 $$;
CREATE TABLE verify_pts (id int PRIMARY KEY, a float8, b float8, c text, y float8, label int);
INSERT INTO verify_pts
SELECT g, 4 * verify_u(g, 1) - 2, 4 * verify_u(g, 2) - 2, (ARRAY['p', 'q', 'r'])[1 + g % 3],
       1 + 2 * (4 * verify_u(g, 1) - 2) - (4 * verify_u(g, 2) - 2) + (g % 3) + verify_u(g, 3),
       (verify_u(g, 4) < 1 / (1 + exp(-(1.5 * (4 * verify_u(g, 1) - 2) - (4 * verify_u(g, 2) - 2)))))::int
  FROM generate_series(1, 400) g;
UPDATE verify_pts SET c = 's' WHERE id IN (7, 8);

-- Standardized inputs: a plain retrain would rescale, verify_model keeps
-- the live model's centering, scaling and levels.
SELECT name FROM unlearn.create_model('ridge', 'verify_pts', 'y', ARRAY['a', 'b', 'c'], 'linear');
SELECT name FROM unlearn.create_model('logit', 'verify_pts', 'label', ARRAY['a', 'b', 'c'], 'logistic');

-- Freshly trained: nothing to find.
SELECT verdict, reason, version, rows, rows_mismatched,
       parameter_distance < 1e-12 AS same_parameters,
       max_prediction_difference < 1e-12 AS same_predictions,
       relative_gradient < 1e-9 AS at_optimum
  FROM unlearn.verify_model('ridge');
SELECT verdict, reason, rows, parameter_distance <= distance_bound AS within_bound,
       gradient_norm <= error_bound + 1e-9 AS gradient_within_bound
  FROM unlearn.verify_model('logit');

-- Erasures one by one, in bulk, a rectification, and a level leaving.
DELETE FROM verify_pts WHERE id = 5;
DELETE FROM verify_pts WHERE id BETWEEN 100 AND 160;
UPDATE verify_pts SET a = a + 0.5, y = y - 1 WHERE id = 11;
DELETE FROM verify_pts WHERE id IN (7, 8);

-- Ridge erasure is exact: the live model is the fresh fit, to rounding.
SELECT verdict, reason, rows, rows_mismatched,
       parameter_distance <= 1e-9 AS exact,
       max_parameter_difference <= 1e-9 AS exact_termwise,
       max_prediction_difference <= 1e-9 AS same_predictions,
       relative_gradient < 1e-9 AS at_optimum, distance_bound
  FROM unlearn.verify_model('ridge');
-- Logistic: within the bound the model claims.
SELECT verdict, reason, rows, parameter_distance <= distance_bound AS within_bound,
       gradient_norm <= error_bound + 1e-9 AS gradient_within_bound
  FROM unlearn.verify_model('logit');

-- On more rows erasure takes Newton steps, and the model carries a
-- nonzero bound; the live parameters are within it, and the gradient
-- verify_model measures is the one SQL recomputes independently.
CREATE TABLE verify_big (id int PRIMARY KEY, a float8, b float8, label int);
INSERT INTO verify_big SELECT g, 4 * verify_u(g, 5) - 2, 4 * verify_u(g, 6) - 2,
       (verify_u(g, 7) < 1 / (1 + exp(-(1.5 * (4 * verify_u(g, 5) - 2) - (4 * verify_u(g, 6) - 2)))))::int
  FROM generate_series(1, 20000) g;
SELECT name FROM unlearn.create_model('big', 'verify_big', 'label', NULL, 'logistic',
                                      '{"standardize": false, "erasure_tol": 1e-5}');
DELETE FROM verify_big WHERE id = 77;
SELECT method FROM unlearn.erasure_log WHERE model_name = 'big' ORDER BY seq;
SELECT verdict, reason, rows, error_bound > 0 AS bound_tracked,
       parameter_distance <= distance_bound AS within_bound,
       parameter_distance > 0 AS not_trivially_equal,
       parameter_distance < 1e-4 AS close,
       gradient_norm <= error_bound AS gradient_within_bound,
       relative_gradient > 1e-9 AS not_at_optimum,
       abs(gradient_norm - unlearn_test.gradient_norm('big'))
           <= 1e-6 * unlearn_test.gradient_norm('big') AS gradient_agrees_with_sql
  FROM unlearn.verify_model('big');
-- After a refresh the model is at the optimum again.
DELETE FROM verify_big WHERE id BETWEEN 1001 AND 1010;
SELECT method FROM unlearn.erasure_log WHERE model_name = 'big' ORDER BY seq;
SELECT verdict, reason, rows, parameter_distance <= distance_bound AS within_bound,
       relative_gradient < 1e-9 AS at_optimum
  FROM unlearn.verify_model('big');

-- Verifying changes nothing in the model; each verification is logged.
CREATE TABLE verify_before AS SELECT name, version, theta FROM unlearn.model;
SELECT verdict FROM unlearn.verify_model('ridge');
SELECT count(*) AS changed FROM unlearn.model m JOIN verify_before b USING (name)
 WHERE m.version <> b.version OR m.theta <> b.theta;
SELECT event, model_name, method, version_before = version_after AS same_version,
       rows, step_norm IS NOT NULL AS has_distance, error_bound IS NOT NULL AS has_bound
  FROM unlearn.erasure_log WHERE event = 'verify' ORDER BY seq;

-- A parameter changed behind the extension's back (a superuser editing
-- the catalog) is caught.
UPDATE unlearn.model SET theta[2] = theta[2] + 0.01 WHERE name = 'ridge';
SELECT verdict, reason, parameter_distance > 1e-4 AS far, distance_bound
  FROM unlearn.verify_model('ridge');
UPDATE unlearn.model SET theta[2] = theta[2] + 0.01 WHERE name = 'big';
SELECT verdict, reason, parameter_distance > distance_bound AS beyond_bound,
       gradient_norm > 100 * error_bound AS gradient_beyond_bound
  FROM unlearn.verify_model('big');
SELECT model_name, method FROM unlearn.erasure_log WHERE event = 'verify' ORDER BY seq DESC LIMIT 2;

-- So are rows changed or deleted while the erasure triggers were off (a
-- superuser who first switched off unlearn's event triggers, which would
-- otherwise mark the model at once).
SELECT name, version FROM unlearn.retrain('ridge');
ALTER EVENT TRIGGER unlearn_ddl_start DISABLE;
ALTER TABLE verify_pts DISABLE TRIGGER USER;
UPDATE verify_pts SET b = b + 1 WHERE id = 20;
DELETE FROM verify_pts WHERE id = 21;
ALTER TABLE verify_pts ENABLE ALWAYS TRIGGER unlearn_erase_delete;
ALTER TABLE verify_pts ENABLE ALWAYS TRIGGER unlearn_erase_update;
ALTER TABLE verify_pts ENABLE ALWAYS TRIGGER unlearn_erase_truncate;
ALTER TABLE verify_pts ENABLE REPLICA TRIGGER unlearn_apply_delete;
ALTER TABLE verify_pts ENABLE REPLICA TRIGGER unlearn_apply_update;
ALTER EVENT TRIGGER unlearn_ddl_start ENABLE ALWAYS;
SELECT verdict, reason, rows, rows_mismatched FROM unlearn.verify_model('ridge');

-- Bad inputs.
SELECT try($$SELECT unlearn.verify_model('no_such_model')$$);
SELECT try($$SELECT unlearn.verify_model(NULL)$$);
-- A model that must be retrained, or has no rows left, has nothing to verify.
SELECT name FROM unlearn.create_model('filtered', 'verify_pts', 'y', ARRAY['a'], 'linear',
                                      '{"where": "id < 40"}');
UPDATE verify_pts SET a = NULL WHERE id = 30;   -- a value it cannot take
SELECT state FROM unlearn.models WHERE name = 'filtered';
SELECT try($$SELECT unlearn.verify_model('filtered')$$);
SELECT name FROM unlearn.create_model('few', 'verify_pts', 'y', ARRAY['a'], 'linear',
                                      '{"where": "id > 395"}');
DELETE FROM verify_pts WHERE id > 395;
SELECT state FROM unlearn.models WHERE name = 'few';
SELECT try($$SELECT unlearn.verify_model('few')$$);
-- A model's source table cannot go without it: DROP TABLE is refused, and
-- with CASCADE the model goes too (so there is no model left to verify).
CREATE TABLE verify_gone (id int PRIMARY KEY, x float8, y float8);
INSERT INTO verify_gone SELECT g, g, 2 * g + verify_u(g, 1) FROM generate_series(1, 10) g;
SELECT name FROM unlearn.create_model('orphan', 'verify_gone', 'y');
SELECT try($$DROP TABLE verify_gone$$);
DROP TABLE verify_gone CASCADE;
SELECT try($$SELECT unlearn.verify_model('orphan')$$);
-- No verification was logged for any of them.
SELECT count(*) AS logged FROM unlearn.erasure_log
 WHERE event = 'verify' AND model_name IN ('filtered', 'few', 'orphan', 'no_such_model');

SELECT count(unlearn.drop_model(name)) FROM unlearn.models;
DROP EXTENSION unlearn;
DROP SCHEMA unlearn_test CASCADE;
DROP TABLE verify_pts, verify_big, verify_before;
DROP FUNCTION try(text);
DROP FUNCTION verify_u(int, int);
