-- test/bench/multinomial.sql: the multinomial benchmark's tables (psql
-- -v rows=N): bench_mn, N rows of 64 features and a label of 10 classes,
-- and bench_mn_plain, the same rows without a model, for the erasure
-- ratios.  Features are sums of three uniforms (about normal); the label
-- is the argmax over the classes of 2 f_(k+1) plus Gumbel noise, so the
-- classes overlap (no separation: a finite optimum) and every class has
-- about a tenth of the rows.  setseed makes it the same table every run.
-- And the PL/Python + scikit-learn baseline: the rows fetched in batches
-- into numpy and fitted by LogisticRegression (multinomial, lbfgs, C = 1 as
-- unlearn's l2 = 1; scikit-learn's tolerance), as a user would without
-- unlearn.
\set ON_ERROR_STOP on

SELECT setseed(0.25);
SELECT format('CREATE TABLE bench_mn (id int PRIMARY KEY, %s, label int)',
              string_agg(format('f%s float8', j), ', ' ORDER BY j))
  FROM generate_series(1, 64) j \gexec
SELECT format($q$INSERT INTO bench_mn
    SELECT i, %s,
           (SELECT k FROM generate_series(0, 9) k
             ORDER BY 2 * (ARRAY[%s])[k + 1] - ln(-ln(random() * 0.999998 + 0.000001)) DESC LIMIT 1)
      FROM (SELECT i, %s FROM generate_series(1, %s) i) r$q$,
              string_agg(format('f%s', j), ', ' ORDER BY j),
              string_agg(format('f%s', j), ', ' ORDER BY j) FILTER (WHERE j <= 10),
              string_agg(format('random() + random() + random() - 1.5 AS f%s', j), ', ' ORDER BY j),
              :'rows')
  FROM generate_series(1, 64) j \gexec
CREATE TABLE bench_mn_plain AS SELECT * FROM bench_mn;
ALTER TABLE bench_mn_plain ADD PRIMARY KEY (id);
VACUUM ANALYZE bench_mn;
VACUUM ANALYZE bench_mn_plain;

CREATE OR REPLACE FUNCTION bench_sklearn_multinomial(batch int DEFAULT 50000)
RETURNS void
LANGUAGE plpython3u
AS $$
import numpy as np
import warnings
from sklearn.linear_model import LogisticRegression

cols = ["f%d" % i for i in range(1, 65)] + ["label"]
cursor = plpy.cursor("SELECT %s FROM bench_mn" % ", ".join(cols))
parts = []
while True:
    rows = cursor.fetch(batch)
    if not rows:
        break
    parts.append(np.array([[r[c] for c in cols] for r in rows], dtype=np.float64))
data = np.vstack(parts)
X, y = data[:, :-1], data[:, -1].astype(int)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    LogisticRegression(C=1.0, max_iter=1000).fit(X, y)
$$;
