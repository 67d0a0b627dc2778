--
-- A real dataset: Wisconsin Diagnostic Breast Cancer (test/data/README.md),
-- raw features (standardize: false).  Both fits are checked against an
-- independent solver (numpy, in PL/Python: normal equations for ridge,
-- Newton for logistic) and against the optimality condition in SQL.
--
CREATE EXTENSION unlearn;
CREATE EXTENSION plpython3u;
\set ECHO none
\i test/train_helpers.sql
\set ECHO all

\set wdbc_table wdbc
\i test/data/wdbc_table.sql
\copy wdbc FROM 'test/data/wdbc.csv' WITH (FORMAT csv, HEADER true)
SELECT count(*) AS rows, sum(benign) AS benign FROM wdbc;

-- The same objective solved by numpy: sum of losses + (l2/2)|w|^2, the
-- intercept (first) unpenalized, on the raw columns in table order.
CREATE FUNCTION numpy_fit(kind text, l2 float8) RETURNS float8[]
LANGUAGE plpython3u AS $$
import numpy as np
cols = [r["attname"] for r in plpy.execute(
    "SELECT attname FROM pg_attribute WHERE attrelid = 'wdbc'::regclass"
    " AND attnum > 1 AND NOT attisdropped AND attname <> 'benign' ORDER BY attnum")]
rows = plpy.execute("SELECT %s, benign FROM wdbc ORDER BY id" % ", ".join(cols))
X = np.array([[1.0] + [float(r[c]) for c in cols] for r in rows])
y = np.array([float(r["benign"]) for r in rows])
P = l2 * np.eye(X.shape[1])
P[0, 0] = 0.0
if kind == "linear":
    return list(np.linalg.solve(X.T @ X + P, X.T @ y))
theta = np.zeros(X.shape[1])
for _ in range(100):
    p = 1.0 / (1.0 + np.exp(-(X @ theta)))
    g = X.T @ (p - y) + P @ theta
    H = (X.T * (p * (1.0 - p))) @ X + P
    step = np.linalg.solve(H, g)
    theta = theta - step
    if np.linalg.norm(step) <= 1e-14 * np.linalg.norm(theta):
        break
return list(theta)
$$;

SELECT name, parameters, rows_trained
  FROM unlearn.create_model('wdbc_ridge', 'wdbc', 'benign', NULL, 'linear',
                            '{"l2": 1.0, "standardize": false}');
SELECT unlearn_test.relative_difference('wdbc_ridge', numpy_fit('linear', 1.0)) < 1e-6 AS ridge_matches_numpy;
SELECT unlearn_test.relative_gradient('wdbc_ridge') < 1e-9 AS ridge_at_optimum;

SELECT name, parameters, rows_trained
  FROM unlearn.create_model('wdbc_logistic', 'wdbc', 'benign', NULL, 'logistic',
                            '{"l2": 1.0, "standardize": false}');
SELECT unlearn_test.relative_difference('wdbc_logistic', numpy_fit('logistic', 1.0)) < 1e-6 AS logistic_matches_numpy;
SELECT unlearn_test.relative_gradient('wdbc_logistic') < 1e-9 AS logistic_at_optimum;

-- Standardized (the default): the same model class, better conditioned.
SELECT name FROM unlearn.create_model('wdbc_std', 'wdbc', 'benign', NULL, 'logistic');
SELECT unlearn_test.relative_gradient('wdbc_std') < 1e-9 AS standardized_at_optimum;
SELECT metric, round(value::numeric, 3) AS value FROM unlearn.evaluate('wdbc_std');
SELECT round(unlearn.predict_proba('wdbc_std', w)::numeric, 3) AS p, benign
  FROM wdbc w WHERE id IN (1, 20, 570 - 1) ORDER BY id;

-- Models first: their erasure triggers on user tables hold the extension.
SELECT count(unlearn.drop_model(name)) AS dropped FROM unlearn.model;
DROP EXTENSION unlearn;
DROP SCHEMA unlearn_test CASCADE;
DROP FUNCTION numpy_fit;
DROP TABLE wdbc;
DROP EXTENSION plpython3u;
