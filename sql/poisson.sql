--
-- Poisson regression (model type 'poisson'): counts with the log link, the
-- loss e^z - y z, the intercept unpenalized.  On the real diabetes data
-- (test/data/README.md; its target, disease progression, is an integer
-- from 25 to 346) and on a synthetic Poisson set drawn by numpy (fixed
-- seed): bad input; the fit against the optimality condition in SQL and
-- against scikit-learn's PoissonRegressor with the same penalty scaling;
-- prediction and evaluation (deviance against scikit-learn's); erasure by
-- the Newton step against a retrain after 1, 100 and 1,000 erasures, one
-- by one and in bulk, with the true gradient within the claimed bound at
-- every check; the model refusing what a retrain would refuse.
--
CREATE EXTENSION unlearn;
CREATE EXTENSION plpython3u;
\set ECHO none
\i test/try.sql
\i test/train_helpers.sql
\set ECHO all
\set diabetes_table dia
\i test/data/diabetes_table.sql
\copy dia FROM 'test/data/diabetes.csv' WITH (FORMAT csv, HEADER true)
SELECT count(*) AS rows, min(progression), max(progression) FROM dia;

-- Bad input: each with its error.
CREATE TABLE pbad (id integer PRIMARY KEY, x float8, n float8);
INSERT INTO pbad VALUES (1, 1, 2), (2, 2, -1), (3, 3, 4);
SELECT try($$SELECT unlearn.create_model('pb', 'pbad', 'n', NULL, 'poisson')$$);
UPDATE pbad SET n = 1.5 WHERE id = 2;
SELECT try($$SELECT unlearn.create_model('pb', 'pbad', 'n', NULL, 'poisson')$$);
UPDATE pbad SET n = 'NaN' WHERE id = 2;
SELECT try($$SELECT unlearn.create_model('pb', 'pbad', 'n', NULL, 'poisson')$$);
UPDATE pbad SET n = 'Infinity' WHERE id = 2;
SELECT try($$SELECT unlearn.create_model('pb', 'pbad', 'n', NULL, 'poisson')$$);
UPDATE pbad SET n = 0;
SELECT try($$SELECT unlearn.create_model('pb', 'pbad', 'n', NULL, 'poisson')$$);
SELECT try($$SELECT unlearn.create_model('pb', 'pbad', 'n', NULL, 'poison')$$);
-- Case does not matter, as for the other types.
UPDATE pbad SET n = id;
SELECT name, type FROM unlearn.create_model('pb', 'pbad', 'n', NULL, 'Poisson');
SELECT try($$SELECT unlearn.predict_proba('pb', p) FROM pbad p$$);
-- A row whose count becomes invalid leaves a model that cannot stay
-- ready; so does an erasure that leaves only zero counts.
UPDATE pbad SET n = -3 WHERE id = 3;
SELECT state FROM unlearn.models WHERE name = 'pb';
SELECT try($$SELECT unlearn.retrain('pb')$$);
UPDATE pbad SET n = id;
SELECT state FROM unlearn.retrain('pb');
UPDATE pbad SET n = 0 WHERE id > 1;
DELETE FROM pbad WHERE id = 1;
SELECT state FROM unlearn.models WHERE name = 'pb';
SELECT event, method, detail FROM unlearn.erasure_log WHERE model_name = 'pb' ORDER BY seq DESC LIMIT 1;
SELECT unlearn.drop_model('pb');

-- The fit on the diabetes data, standardized (the default): at the
-- optimum of its objective, as the gradient recomputed in SQL shows.
SELECT name, type, rows, state FROM unlearn.create_model('pd', 'dia', 'progression',
    ARRAY['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'], 'poisson');
SELECT unlearn_test.relative_gradient('pd') < 1e-9 AS at_optimum;

-- scikit-learn's PoissonRegressor minimizes (1/2n) sum deviance +
-- (alpha/2)|w|^2 = (1/n) [sum (e^z - y z) + (n alpha / 2)|w|^2] + const,
-- so alpha = l2 / n gives this model's objective; it is given the model's
-- own standardized columns (unlearn.preprocessing's center and scale).
CREATE FUNCTION sklearn_poisson(model text, source text, target text, l2 float8)
RETURNS float8[] LANGUAGE plpython3u AS $$
import numpy as np
from sklearn.linear_model import PoissonRegressor
pre = plpy.execute("SELECT column_name, center, scale FROM unlearn.preprocessing(%s)"
                   % plpy.quote_literal(model))
cols = [r["column_name"] for r in pre]
rows = plpy.execute("SELECT %s, %s AS y FROM %s ORDER BY id"
                    % (", ".join(plpy.quote_ident(c) for c in cols),
                       plpy.quote_ident(target), plpy.quote_ident(source)))
X = np.array([[(float(r[c]) - p["center"]) / p["scale"] for c, p in zip(cols, pre)]
              for r in rows])
y = np.array([float(r["y"]) for r in rows])
fit = PoissonRegressor(alpha=l2 / len(y), tol=1e-12, max_iter=100000).fit(X, y)
return [float(fit.intercept_)] + [float(c) for c in fit.coef_]
$$;

SELECT unlearn_test.relative_difference('pd', sklearn_poisson('pd', 'dia', 'progression', 1.0)) < 1e-6
       AS matches_sklearn;

-- The prediction is the mean count e^z; evaluate's deviance and d2 are
-- scikit-learn's mean_poisson_deviance and d2_tweedie_score (power 1).
SELECT round(unlearn.predict('pd', d)::numeric, 6) AS mean_count, progression
  FROM dia d WHERE id IN (1, 2, 3) ORDER BY id;
SELECT abs(unlearn.predict('pd', d) -
           exp((SELECT sum(w.weight * CASE WHEN w.column_name IS NULL THEN 1
                   ELSE ((to_jsonb(d)->>w.column_name)::float8 - p.center) / p.scale END)
                  FROM unlearn.weights('pd') w
                  LEFT JOIN unlearn.preprocessing('pd') p USING (column_name)))) < 1e-9
       AS predict_is_exp_of_logit
  FROM dia d WHERE id = 7;
CREATE FUNCTION sklearn_poisson_metrics(model text) RETURNS float8[]
LANGUAGE plpython3u AS $$
import numpy as np
from sklearn.metrics import mean_poisson_deviance, d2_tweedie_score
rows = plpy.execute("SELECT unlearn.predict(%s, d) AS p, progression AS y FROM dia d"
                    % plpy.quote_literal(model))
p = np.array([r["p"] for r in rows]); y = np.array([float(r["y"]) for r in rows])
return [mean_poisson_deviance(y, p), d2_tweedie_score(y, p, power=1)]
$$;
SELECT e.metric, round(e.value::numeric, 6) AS value,
       abs(e.value - CASE e.metric WHEN 'deviance' THEN s[1] ELSE s[2] END) < 1e-9 AS as_sklearn
  FROM unlearn.evaluate('pd') e, sklearn_poisson_metrics('pd') s
 WHERE e.metric IN ('deviance', 'd2');
SELECT metric, round(value::numeric, 4) AS value FROM unlearn.evaluate('pd')
 WHERE metric IN ('rows', 'rmse', 'mae', 'r2');

-- A holdout: the held-out rows are scored by default.
SELECT name, rows, rows_held_out FROM unlearn.create_model('pd_ho', 'dia', 'progression',
    ARRAY['bmi', 'bp', 's5'], 'poisson', '{"holdout": 0.25}');
SELECT metric, round(value::numeric, 4) FROM unlearn.evaluate('pd_ho')
 WHERE metric IN ('rows', 'deviance', 'd2');
SELECT unlearn.drop_model('pd_ho');

-- Erasure against a retrain: the model after the DELETEs and a model
-- trained afresh on the rows that remain (same options), weight by weight
-- in the remaining rows' preprocessing (which both follow); the shift is
-- what the erasure moved the weights.  The criteria: within 1e-4 of the
-- retrain relative to its largest weight, within 1e-2 of the shift, and
-- verify_model's true gradient within the model's bound.
CREATE TABLE before_weights (model text PRIMARY KEY, w float8[]);
CREATE FUNCTION keep_weights(model text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO before_weights
    SELECT model, array_agg(weight ORDER BY o)
      FROM unlearn.weights(model) WITH ORDINALITY AS w(term, c, l, weight, raw_weight, o)
    ON CONFLICT (model) DO UPDATE SET w = excluded.w
$$;
CREATE FUNCTION against_retrain(model text, features text[], options jsonb DEFAULT '{}',
    OUT relative float8, OUT of_shift float8, OUT within_bound boolean)
LANGUAGE plpgsql AS $$
DECLARE
    m unlearn.models;
    fresh float8[];
    now_w float8[];
    was float8[];
BEGIN
    SELECT * INTO STRICT m FROM unlearn.models WHERE name = model;
    PERFORM unlearn.create_model('retrain_check', m.source, m.target, features,
                                 'poisson', options);
    relative := unlearn_test.weight_difference(model, 'retrain_check');
    SELECT array_agg(weight ORDER BY o) INTO fresh
      FROM unlearn.weights('retrain_check') WITH ORDINALITY AS w(term, c, l, weight, raw_weight, o);
    PERFORM unlearn.drop_model('retrain_check');
    SELECT array_agg(weight ORDER BY o) INTO now_w
      FROM unlearn.weights(model) WITH ORDINALITY AS w(term, c, l, weight, raw_weight, o);
    SELECT b.w INTO STRICT was FROM before_weights b WHERE b.model = against_retrain.model;
    SELECT sqrt(sum((now_w[i] - fresh[i]) ^ 2)) / nullif(sqrt(sum((was[i] - fresh[i]) ^ 2)), 0)
      INTO of_shift
      FROM generate_subscripts(fresh, 1) i;
    SELECT v.verdict = 'ok' AND v.gradient_norm <= v.error_bound INTO within_bound
      FROM unlearn.verify_model(model) v;
END
$$;

-- The diabetes model: 1, then 100 erasures one by one, then 100 in bulk.
SELECT keep_weights('pd');
DELETE FROM dia WHERE id = 1;
SELECT relative < 1e-4 AS close, of_shift < 1e-2 AS within_shift, within_bound
  FROM against_retrain('pd', ARRAY['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6']);
SELECT keep_weights('pd');
DO $$ BEGIN FOR i IN 2 .. 101 LOOP DELETE FROM dia WHERE id = i; END LOOP; END $$;
SELECT relative < 1e-4 AS close, of_shift < 1e-2 AS within_shift, within_bound
  FROM against_retrain('pd', ARRAY['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6']);
SELECT keep_weights('pd');
DELETE FROM dia WHERE id BETWEEN 102 AND 201;
SELECT relative < 1e-4 AS close, of_shift < 1e-2 AS within_shift, within_bound
  FROM against_retrain('pd', ARRAY['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6']);
SELECT rows, state, rows_erased FROM unlearn.models WHERE name = 'pd';
SELECT method, count(*) FROM unlearn.erasure_log WHERE model_name = 'pd' AND event = 'erasure'
 GROUP BY method ORDER BY method;
-- An UPDATE of a count is the old row out and the new one in.
SELECT keep_weights('pd');
UPDATE dia SET progression = progression + 50 WHERE id BETWEEN 300 AND 319;
SELECT relative < 1e-4 AS close, of_shift < 1e-2 AS within_shift, within_bound
  FROM against_retrain('pd', ARRAY['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6']);

-- A synthetic Poisson set, 3,000 rows, mean counts from about 0.2 to 20:
-- x1..x4 standard normal, y ~ Poisson(exp(0.8 + 0.5 x1 - 0.4 x2 + 0.3 x3
-- + 0.1 x4)), drawn by numpy's RandomState(20261202).
CREATE TABLE pois (id integer PRIMARY KEY, x1 float8, x2 float8, x3 float8, x4 float8,
                   n integer);
DO $$
import numpy as np
r = np.random.RandomState(20261202)
X = r.standard_normal((3000, 4))
mu = np.exp(0.8 + X @ np.array([0.5, -0.4, 0.3, 0.1]))
y = r.poisson(mu)
plan = plpy.prepare("INSERT INTO pois VALUES ($1, $2, $3, $4, $5, $6)",
                    ["int", "float8", "float8", "float8", "float8", "int"])
for i in range(3000):
    plpy.execute(plan, [i + 1] + [float(v) for v in X[i]] + [int(y[i])])
$$ LANGUAGE plpython3u;
SELECT count(*), round(avg(n), 3) AS mean_count, max(n) FROM pois;
SELECT name FROM unlearn.create_model('ps', 'pois', 'n', ARRAY['x1', 'x2', 'x3', 'x4'], 'poisson');
SELECT unlearn_test.relative_gradient('ps') < 1e-9 AS at_optimum;
SELECT unlearn_test.relative_difference('ps', sklearn_poisson('ps', 'pois', 'n', 1.0)) < 1e-6
       AS matches_sklearn;
-- The true parameters, recovered in raw units (the intercept less the
-- centers' share): within sampling error of (0.8, 0.5, -0.4, 0.3, 0.1).
SELECT term, round(raw_weight::numeric, 1) AS raw_weight FROM unlearn.weights('ps');

-- 1,000 erasures one by one, the bound checked against verify_model's
-- true gradient after every tenth; then 1,000 in one statement.
CREATE TABLE bound_checks (erasures integer, within boolean);
SELECT keep_weights('ps');
DO $$
BEGIN
    FOR i IN 1 .. 1000 LOOP
        DELETE FROM pois WHERE id = i;
        IF i % 10 = 0 OR i = 1 THEN
            INSERT INTO bound_checks
            SELECT i, v.verdict = 'ok' AND v.gradient_norm <= v.error_bound
              FROM unlearn.verify_model('ps') v;
        END IF;
    END LOOP;
END
$$;
SELECT count(*) AS checks, count(*) FILTER (WHERE within) AS within_bound FROM bound_checks;
SELECT relative < 1e-4 AS close, of_shift < 1e-2 AS within_shift, within_bound
  FROM against_retrain('ps', ARRAY['x1', 'x2', 'x3', 'x4']);
SELECT keep_weights('ps');
DELETE FROM pois WHERE id BETWEEN 1001 AND 2000;
SELECT relative < 1e-4 AS close, of_shift < 1e-2 AS within_shift, within_bound
  FROM against_retrain('ps', ARRAY['x1', 'x2', 'x3', 'x4']);
SELECT rows, state FROM unlearn.models WHERE name = 'ps';
SELECT method, count(*) FROM unlearn.erasure_log WHERE model_name = 'ps' AND event = 'erasure'
 GROUP BY method ORDER BY method;

-- Without standardize, on raw columns: the same guarantees.
SELECT name FROM unlearn.create_model('ps_raw', 'pois', 'n', ARRAY['x1', 'x2', 'x3', 'x4'],
    'poisson', '{"standardize": false, "l2": 0.1}');
SELECT keep_weights('ps_raw');
DELETE FROM pois WHERE id BETWEEN 2001 AND 2100;
SELECT relative < 1e-4 AS close, of_shift < 1e-2 AS within_shift, within_bound
  FROM against_retrain('ps_raw', ARRAY['x1', 'x2', 'x3', 'x4'],
                       '{"standardize": false, "l2": 0.1}');

-- An exposure: counts observed over different spans t, the option
-- exposure naming the column.  The logit gains the offset log t: the loss
-- is t e^z - y z, predict gives the rate per unit of exposure e^z, and
-- evaluate scores the expected count, the rate times t.  3,000 rows, y ~
-- Poisson(t exp(0.3 + 0.6 x1 - 0.5 x2)), t uniform in [0.2, 5], numpy's
-- RandomState(7).  The column is named t, as the alias evaluate gives its
-- rows once was (it then read the column, not the row).
CREATE TABLE expo (id integer PRIMARY KEY, x1 float8, x2 float8, t float8, n integer);
DO $$
import numpy as np
r = np.random.RandomState(7)
X = r.standard_normal((3000, 2))
t = r.uniform(0.2, 5.0, 3000)
y = r.poisson(t * np.exp(0.3 + X @ np.array([0.6, -0.5])))
plan = plpy.prepare("INSERT INTO expo VALUES ($1, $2, $3, $4, $5)",
                    ["int", "float8", "float8", "float8", "int"])
for i in range(3000):
    plpy.execute(plan, [i + 1, float(X[i, 0]), float(X[i, 1]), float(t[i]), int(y[i])])
$$ LANGUAGE plpython3u;

-- Bad input.
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'], 'logistic', '{"exposure": "t"}')$$);
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'], 'poisson', '{"exposure": ""}')$$);
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'], 'poisson', '{"exposure": 3}')$$);
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'], 'poisson', '{"exposure": "span"}')$$);
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'], 'poisson', '{"exposure": "n"}')$$);
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'], 'poisson', '{"exposure": "id"}')$$);
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 't'], 'poisson', '{"exposure": "t"}')$$);
ALTER TABLE expo ADD COLUMN label text DEFAULT 'a';
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'], 'poisson', '{"exposure": "label"}')$$);
ALTER TABLE expo DROP COLUMN label;
UPDATE expo SET t = 0 WHERE id = 5;
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'], 'poisson', '{"exposure": "t"}')$$);
UPDATE expo SET t = -1 WHERE id = 5;
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'], 'poisson', '{"exposure": "t"}')$$);
UPDATE expo SET t = 'NaN' WHERE id = 5;
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'], 'poisson', '{"exposure": "t"}')$$);
UPDATE expo SET t = NULL WHERE id = 5;
SELECT try($$SELECT unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'], 'poisson', '{"exposure": "t"}')$$);
-- A NULL exposure is a NULL like any other: skipped under nulls "skip".
SELECT name, rows, rows_skipped FROM unlearn.create_model('pe', 'expo', 'n', ARRAY['x1', 'x2'],
    'poisson', '{"exposure": "t", "nulls": "skip"}');
SELECT unlearn.drop_model('pe');
UPDATE expo SET t = 1.5 WHERE id = 5;

-- The fit: features = NULL leaves the exposure out (the notice lists the
-- columns taken); at the optimum in SQL terms, the gradient sum of
-- (t e^z - y) x plus the penalty; and scikit-learn's, which fits the rate
-- y / t with sample weights t: its objective is (1 / sum t) times this
-- model's at alpha = l2 / sum t.
SELECT name, rows, options->>'exposure' AS exposure
  FROM unlearn.create_model('pe', 'expo', 'n', NULL, 'poisson', '{"exposure": "t"}');
CREATE FUNCTION exposure_gradient(model text) RETURNS float8 LANGUAGE sql AS $$
    WITH p AS (SELECT * FROM unlearn.preprocessing(model)),
         w AS (SELECT * FROM unlearn.weights(model)),
         z AS (SELECT e.t, e.n,
                      (SELECT weight FROM w WHERE column_name IS NULL)
                      + (SELECT w.weight * (e.x1 - p.center) / p.scale FROM w JOIN p USING (column_name)
                          WHERE column_name = 'x1')
                      + (SELECT w.weight * (e.x2 - p.center) / p.scale FROM w JOIN p USING (column_name)
                          WHERE column_name = 'x2') AS z,
                      (e.x1 - (SELECT center FROM p WHERE column_name = 'x1'))
                        / (SELECT scale FROM p WHERE column_name = 'x1') AS z1,
                      (e.x2 - (SELECT center FROM p WHERE column_name = 'x2'))
                        / (SELECT scale FROM p WHERE column_name = 'x2') AS z2
                 FROM expo e),
         g AS (SELECT sum(t * exp(z) - n) AS g0,
                      sum((t * exp(z) - n) * z1) + (SELECT weight FROM w WHERE column_name = 'x1') AS g1,
                      sum((t * exp(z) - n) * z2) + (SELECT weight FROM w WHERE column_name = 'x2') AS g2,
                      sum(abs(n)) AS scale
                 FROM z)
    SELECT sqrt(g0 ^ 2 + g1 ^ 2 + g2 ^ 2) / scale FROM g
$$;
SELECT exposure_gradient('pe') < 1e-12 AS at_optimum;
CREATE FUNCTION sklearn_poisson_exposure(model text) RETURNS float8[]
LANGUAGE plpython3u AS $$
import numpy as np
from sklearn.linear_model import PoissonRegressor
pre = {r["column_name"]: r for r in plpy.execute(
    "SELECT column_name, center, scale FROM unlearn.preprocessing(%s)" % plpy.quote_literal(model))}
rows = plpy.execute("SELECT x1, x2, t, n FROM expo ORDER BY id")
X = np.array([[(r[c] - pre[c]["center"]) / pre[c]["scale"] for c in ("x1", "x2")] for r in rows])
t = np.array([r["t"] for r in rows]); y = np.array([float(r["n"]) for r in rows])
fit = PoissonRegressor(alpha=1.0 / t.sum(), tol=1e-12, max_iter=100000).fit(X, y / t, sample_weight=t)
return [float(fit.intercept_)] + [float(c) for c in fit.coef_]
$$;
SELECT unlearn_test.relative_difference('pe', sklearn_poisson_exposure('pe')) < 1e-6 AS matches_sklearn;
-- The true parameters, in raw units: about (0.3, 0.6, -0.5).
SELECT term, round(raw_weight::numeric, 1) AS raw_weight FROM unlearn.weights('pe');
-- predict is the rate; evaluate's deviance is of the rate times t.
SELECT abs(unlearn.predict('pe', e) - exp(0.3 + 0.6 * e.x1 - 0.5 * e.x2)) < 0.1 AS rate_near_truth
  FROM expo e WHERE id = 1;
CREATE FUNCTION sklearn_exposure_deviance(model text) RETURNS float8 LANGUAGE plpython3u AS $$
from sklearn.metrics import mean_poisson_deviance
rows = plpy.execute("SELECT unlearn.predict(%s, e) * e.t AS mu, n FROM expo e" % plpy.quote_literal(model))
return mean_poisson_deviance([float(r["n"]) for r in rows], [r["mu"] for r in rows])
$$;
SELECT round(e.value::numeric, 6) AS deviance, abs(e.value - sklearn_exposure_deviance('pe')) < 1e-9 AS as_sklearn
  FROM unlearn.evaluate('pe') e WHERE e.metric = 'deviance';
-- Another relation must have the exposure column too.
SELECT try($$SELECT * FROM unlearn.evaluate('pe', 'pois')$$);

-- Erasure with an exposure: one by one, each DELETE in its own
-- transaction so the rows stay pending in the stored model (their signs
-- carry their exposures), then in a new session that loads them; an
-- UPDATE of exposures (old rows out, new in), a bulk DELETE; each against
-- a retrain.
SELECT keep_weights('pe');
DO $$ BEGIN FOR i IN 1 .. 30 LOOP DELETE FROM expo WHERE id = i; COMMIT; END LOOP; END $$;
SELECT count(*) > 0 AS rows_pending FROM unlearn.model_pending p JOIN unlearn.model m USING (model_id)
 WHERE m.name = 'pe';
\c
DELETE FROM expo WHERE id = 31;
SELECT relative < 1e-4 AS close, of_shift < 1e-2 AS within_shift, within_bound
  FROM against_retrain('pe', ARRAY['x1', 'x2'], '{"exposure": "t"}');
SELECT keep_weights('pe');
UPDATE expo SET t = t * 3 WHERE id BETWEEN 100 AND 139;
SELECT relative < 1e-4 AS close, of_shift < 1e-2 AS within_shift, within_bound
  FROM against_retrain('pe', ARRAY['x1', 'x2'], '{"exposure": "t"}');
SELECT keep_weights('pe');
DELETE FROM expo WHERE id BETWEEN 200 AND 1199;
SELECT relative < 1e-4 AS close, of_shift < 1e-2 AS within_shift, within_bound
  FROM against_retrain('pe', ARRAY['x1', 'x2'], '{"exposure": "t"}');
SELECT method, count(*) FROM unlearn.erasure_log WHERE model_name = 'pe'
   AND event IN ('erasure', 'rectification') GROUP BY method ORDER BY method;
-- The exposure column is a column the model reads: a rename is followed,
-- a drop refused; an exposure updated to 0 is a value the model cannot
-- take (a retrain would refuse it).
ALTER TABLE expo RENAME COLUMN t TO span;
SELECT options->>'exposure' AS exposure FROM unlearn.models WHERE name = 'pe';
DELETE FROM expo WHERE id = 1500;
SELECT verdict FROM unlearn.verify_model('pe');
SELECT try($$ALTER TABLE expo DROP COLUMN span$$);
UPDATE expo SET span = 0 WHERE id = 1600;
SELECT state FROM unlearn.models WHERE name = 'pe';

-- Under nulls "skip", a row whose exposure is set to NULL leaves the model,
-- as a retrain would skip it (the same model on the same rows, nulls skip);
-- under "error" (pe, already marked above) a retrain would refuse it.
UPDATE expo SET span = 1 WHERE id = 1600;
SELECT name FROM unlearn.create_model('pe_skip', 'expo', 'n', ARRAY['x1', 'x2'], 'poisson',
    '{"exposure": "span", "nulls": "skip"}');
SELECT keep_weights('pe_skip');
UPDATE expo SET span = NULL WHERE id BETWEEN 1300 AND 1309;
SELECT rows FROM unlearn.models WHERE name = 'pe_skip';
SELECT relative < 1e-4 AS close, of_shift < 1e-2 AS within_shift, within_bound
  FROM against_retrain('pe_skip', ARRAY['x1', 'x2'], '{"exposure": "span", "nulls": "skip"}');
SELECT unlearn.drop_model('pe_skip');

-- Models first: their erasure triggers on user tables hold the extension.
SELECT count(unlearn.drop_model(name)) AS dropped FROM unlearn.model;
DROP EXTENSION unlearn;
DROP SCHEMA unlearn_test CASCADE;
DROP FUNCTION try, sklearn_poisson, sklearn_poisson_metrics, keep_weights, against_retrain, exposure_gradient, sklearn_poisson_exposure,
    sklearn_exposure_deviance;
DROP TABLE dia, pbad, pois, before_weights, bound_checks, expo;
DROP EXTENSION plpython3u;
