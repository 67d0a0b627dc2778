-- test/bench/sklearn.sql: the logistic fit done the way a user would without
-- unlearn: fetch the rows into PL/Python (plpy.cursor, in batches, into
-- numpy arrays) and fit scikit-learn.  C = 1.0 is unlearn's default penalty
-- (l2/2)|w|^2 with l2 = 1 on a sum of losses, intercept fitted, not penalized;
-- the solver (lbfgs) and its tolerance are scikit-learn's defaults, and
-- max_iter is ample for it to converge.
-- The fitted [intercept, w1..w20] are kept in bench_sklearn, as a user would
-- keep a model, so the report can compare them with unlearn's.
\set ON_ERROR_STOP on

CREATE EXTENSION plpython3u;

CREATE TABLE IF NOT EXISTS bench_sklearn (coef float8[]);

CREATE OR REPLACE FUNCTION bench_sklearn_logistic(batch int DEFAULT 50000)
RETURNS void
LANGUAGE plpython3u
AS $$
import numpy as np
from sklearn.linear_model import LogisticRegression

cols = ["f%d" % i for i in range(1, 21)] + ["y"]
cursor = plpy.cursor("SELECT %s FROM bench" % ", ".join(cols))
parts = []
while True:
    rows = cursor.fetch(batch)
    if not rows:
        break
    parts.append(np.array([[r[c] for c in cols] for r in rows], dtype=np.float64))
data = np.vstack(parts)
X, y = data[:, :-1], data[:, -1]

model = LogisticRegression(C=1.0, fit_intercept=True, max_iter=1000).fit(X, y)
coef = [float(model.intercept_[0])] + [float(w) for w in model.coef_[0]]
plpy.execute("DELETE FROM bench_sklearn")
plan = plpy.prepare("INSERT INTO bench_sklearn VALUES ($1)", ["float8[]"])
plpy.execute(plan, [coef])
$$;

-- Loads numpy and scikit-learn into this session, untimed: the timed fit
-- then measures the work, not the one-off imports.
CREATE OR REPLACE FUNCTION bench_sklearn_warmup()
RETURNS void
LANGUAGE plpython3u
AS $$
import numpy
import sklearn.linear_model
$$;
