-- test/measure/numerics.sql: the measurements of test/measure/numerics.sh
-- (run from the staged sources: test/data is read from the current
-- directory).  :datasets lists the datasets to measure.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION unlearn;
CREATE EXTENSION plpython3u;
CREATE SCHEMA m;
\set wdbc_path `pwd`/test/data/wdbc.csv

-- Loads a dataset as m.<name>(id, x1 .. xd, target float8, label int):
-- wdbc (test/data; label and target: benign), diabetes (target: disease
-- progression; label: above its median), digits (target: the digit;
-- label: odd), from Debian python3-sklearn's files; columns constant
-- over all rows are left out.
CREATE FUNCTION m.load(name text, wdbc_path text) RETURNS int LANGUAGE plpython3u AS $$
import csv
import numpy as np
base = "/usr/lib/python3/dist-packages/sklearn/datasets/data/"
if name == "wdbc":
    with open(wdbc_path) as f:
        rows = list(csv.reader(f))[1:]
    X = np.array([[float(v) for v in r[1:-1]] for r in rows])
    y = np.array([float(r[-1]) for r in rows])
    label = y
elif name == "diabetes":
    X = np.loadtxt(base + "diabetes_data_raw.csv.gz")
    y = np.loadtxt(base + "diabetes_target.csv.gz")
    label = (y > np.median(y)).astype(float)
elif name == "digits":
    D = np.loadtxt(base + "digits.csv.gz", delimiter=",")
    X, y = D[:, :-1], D[:, -1]
    label = (y % 2).astype(float)
else:
    plpy.error("unknown dataset %s" % name)
X = X[:, X.min(axis=0) != X.max(axis=0)]
d = X.shape[1]
plpy.execute("CREATE TABLE m.%s (id int PRIMARY KEY, %s, target float8, label int)"
             % (name, ", ".join("x%d float8" % (j + 1) for j in range(d))))
plan = plpy.prepare("INSERT INTO m.%s VALUES ($1, %s, $%d, $%d)"
                    % (name, ", ".join("$%d" % (j + 2) for j in range(d)), d + 2, d + 3),
                    ["int"] + ["float8"] * (d + 1) + ["int"])
for i in range(len(y)):
    plpy.execute(plan, [i + 1] + [float(v) for v in X[i]] + [float(y[i]), int(label[i])])
return len(y)
$$;

-- The rows of a model's source as the model encodes them (its terms'
-- centering and scaling), with their targets, the ridge penalty of each
-- term and the parameters: numpy arrays in GD["encoded"].
CREATE FUNCTION m.encode(model text) RETURNS int LANGUAGE plpython3u AS $$
import json
import numpy as np
mrow = plpy.execute("SELECT model_id, source::regclass::text AS src, target_column, options, theta"
                    " FROM unlearn.model WHERE name = %s" % plpy.quote_literal(model))[0]
l2 = float(json.loads(mrow["options"]).get("l2", 1.0))
terms = plpy.execute("SELECT column_name, center, scale FROM unlearn.model_term"
                     " WHERE model_id = %d ORDER BY position" % mrow["model_id"])
cols = [t["column_name"] for t in terms if t["column_name"] is not None]
rows = plpy.execute("SELECT %s, %s AS unlearn_y FROM %s ORDER BY id" % (
    ", ".join(plpy.quote_ident(c) for c in cols), plpy.quote_ident(mrow["target_column"]), mrow["src"]))
X = np.empty((len(rows), len(terms)))
for j, t in enumerate(terms):
    if t["column_name"] is None:
        X[:, j] = 1.0
    else:
        X[:, j] = (np.array([float(r[t["column_name"]]) for r in rows]) - t["center"]) * (1.0 / t["scale"])
y = np.array([float(r["unlearn_y"]) for r in rows])
pen = np.array([0.0 if t["column_name"] is None else l2 for t in terms])
GD["encoded"] = (X, y, pen, np.array(mrow["theta"]))
return len(rows)
$$;

-- Ridge: the live model's relative error against the exact optimum of
-- its remaining rows (normal equations in integers, solved by fraction-
-- free elimination), and a fresh double-precision solve's: the normal
-- equations summed afresh (numpy, BLAS), Cholesky and two refinement
-- steps, as the model solves its own sums; root mean square, smallest and
-- largest over 8 random orders of the rows (one order's rounding can be
-- luckily small).
CREATE FUNCTION m.ridge_errors(model text, OUT live float8, OUT fresh_rms float8,
                               OUT fresh_min float8, OUT fresh_max float8)
LANGUAGE plpython3u AS $$
import numpy as np
from fractions import Fraction
plpy.execute("SELECT m.encode(%s)" % plpy.quote_literal(model))
X, y, pen, theta = GD["encoded"]
n, d = X.shape
def integers(v):
    """v = a * 2^s with integers a and one exponent s."""
    mant, ex = np.frexp(v)
    a = [int(x) for x in (mant * 2.0 ** 53).astype(np.int64)]
    e = [int(x) - 53 for x in ex]
    s = min([ei for ai, ei in zip(a, e) if ai != 0], default=0)
    return np.array([ai << (ei - s) if ai else 0 for ai, ei in zip(a, e)], dtype=object), s
cols = [integers(X[:, j]) for j in range(d)]
ys, sy = integers(y)
ps, sp = integers(pen)
# exact H and X'y over a common power of two
S = min(min(c[1] for c in cols) * 2, min(c[1] for c in cols) + sy, sp)
A = [[int(np.dot(cols[j][0], cols[k][0])) << (cols[j][1] + cols[k][1] - S) for k in range(d)] for j in range(d)]
for j in range(d):
    A[j][j] += int(ps[j]) << (sp - S)
b = [int(np.dot(cols[j][0], ys)) << (cols[j][1] + sy - S) for j in range(d)]
# Bareiss elimination on [A | b], then back substitution in rationals
M = [A[i] + [b[i]] for i in range(d)]
prev = 1
for k in range(d - 1):
    for i in range(k + 1, d):
        for j in range(k + 1, d + 1):
            M[i][j] = (M[i][j] * M[k][k] - M[i][k] * M[k][j]) // prev
        M[i][k] = 0
    prev = M[k][k]
x = [Fraction(0)] * d
for i in range(d - 1, -1, -1):
    x[i] = (Fraction(M[i][d]) - sum(Fraction(M[i][j]) * x[j] for j in range(i + 1, d))) / M[i][i]
exact = np.array([float(v) for v in x])
def err(t):
    return float(np.linalg.norm(np.asarray(t) - exact) / np.linalg.norm(exact))
rng = np.random.default_rng(7)
fresh = []
for _ in range(8):
    p = rng.permutation(n)
    Xp, yp = X[p], y[p]
    H = Xp.T @ Xp + np.diag(pen)
    v = Xp.T @ yp
    L = np.linalg.cholesky(H)
    solve = lambda r: np.linalg.solve(L.T, np.linalg.solve(L, r))
    t = solve(v)
    for _ in range(2):
        t = t + solve(v - H @ t)
    fresh.append(err(t))
fresh = np.array(fresh)
return err(theta), float(np.sqrt(np.mean(fresh ** 2))), float(fresh.min()), float(fresh.max())
$$;

-- Logistic: |grad L(theta)| of the live parameters on the remaining rows,
-- evaluated in double precision (numpy, BLAS) and in extended precision
-- (numpy longdouble, near the exact value).
CREATE FUNCTION m.logistic_gradients(model text, OUT double_norm float8, OUT extended_norm float8)
LANGUAGE plpython3u AS $$
import numpy as np
plpy.execute("SELECT m.encode(%s)" % plpy.quote_literal(model))
X, y, pen, theta = GD["encoded"]
def gradient(X, y, pen, theta):
    z = X @ theta
    e = np.exp(-np.abs(z))
    p = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return X.T @ (p - y) + pen * theta
g = gradient(X, y, pen, theta)
L = np.longdouble
gl = gradient(X.astype(L), y.astype(L), pen.astype(L), theta.astype(L))
return float(np.linalg.norm(g)), float(np.sqrt(np.sum(gl * gl)))
$$;

CREATE TABLE m.ridge (dataset text, features text, pattern text, rows int, live float8,
                      fresh_rms float8, fresh_min float8, fresh_max float8,
                      distance float8, bound float8, verdict text);
CREATE TABLE m.logistic (dataset text, features text, step int, method text, bound float8,
                         double_norm float8, extended_norm float8, verify_norm float8);

-- Ridge on a dataset: l2 = 0.01, raw and standardized features, rows
-- erased one by one and 37 at a time (in one random order) down to 20,
-- measured when half, a tenth and 20 rows remain.
CREATE FUNCTION m.ridge_run(ds text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    std boolean;
    pattern text;
    n int;
    left_ int;
    r record;
    marks int[];
BEGIN
    EXECUTE format('SELECT count(*) FROM m.%I', ds) INTO n;
    marks := ARRAY[n / 2, n / 10, 20];
    FOREACH std IN ARRAY ARRAY[false, true] LOOP
        FOREACH pattern IN ARRAY ARRAY['one by one', 'bulk of 37'] LOOP
            DROP TABLE IF EXISTS m.work;
            EXECUTE format('CREATE TABLE m.work AS SELECT * FROM m.%I', ds);
            ALTER TABLE m.work ADD PRIMARY KEY (id);
            PERFORM setseed(0.5);
            DROP TABLE IF EXISTS m.doomed;
            CREATE TABLE m.doomed AS SELECT id, row_number() OVER (ORDER BY random()) AS o FROM m.work;
            PERFORM unlearn.create_model('r', 'm.work', 'target',
                (SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
                  WHERE attrelid = 'm.work'::regclass AND attname ~ '^x[0-9]+$'),
                'linear', jsonb_build_object('l2', 0.01, 'standardize', std));
            left_ := n;
            FOR i IN 1 .. 3 LOOP
                IF pattern = 'one by one' THEN
                    FOR r IN SELECT id FROM m.doomed WHERE o > n - left_ AND o <= n - marks[i] ORDER BY o LOOP
                        DELETE FROM m.work WHERE id = r.id;
                    END LOOP;
                ELSE
                    WHILE left_ > marks[i] LOOP
                        DELETE FROM m.work WHERE id IN (SELECT id FROM m.doomed
                            WHERE o > n - left_ AND o <= n - greatest(marks[i], left_ - 37));
                        left_ := greatest(marks[i], left_ - 37);
                    END LOOP;
                END IF;
                left_ := marks[i];
                INSERT INTO m.ridge
                SELECT ds, CASE WHEN std THEN 'standardized' ELSE 'raw' END, pattern, left_,
                       e.live, e.fresh_rms, e.fresh_min, e.fresh_max,
                       v.parameter_distance, v.distance_bound, v.verdict
                  FROM m.ridge_errors('r') e, unlearn.verify_model('r') v;
            END LOOP;
            PERFORM unlearn.drop_model('r');
        END LOOP;
    END LOOP;
END
$$;

-- Logistic on a dataset (default l2 = 1 and tolerance), raw and
-- standardized: checked after training, after each of 100 erasures one by
-- one, and after each of 10 bulk erasures of 5 % of the rows.
CREATE FUNCTION m.logistic_check(ds text, std boolean, step int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO m.logistic
    SELECT ds, CASE WHEN std THEN 'standardized' ELSE 'raw' END, step,
           (SELECT method FROM unlearn.erasure_log WHERE model_name = 'l' ORDER BY seq DESC LIMIT 1),
           mo.error_bound, g.double_norm, g.extended_norm, v.gradient_norm
      FROM unlearn.model mo, m.logistic_gradients('l') g, unlearn.verify_model('l') v
     WHERE mo.name = 'l'
$$;
CREATE FUNCTION m.logistic_run(ds text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    std boolean;
    n int;
    r record;
BEGIN
    EXECUTE format('SELECT count(*) FROM m.%I', ds) INTO n;
    FOREACH std IN ARRAY ARRAY[false, true] LOOP
        DROP TABLE IF EXISTS m.work;
        EXECUTE format('CREATE TABLE m.work AS SELECT * FROM m.%I', ds);
        ALTER TABLE m.work ADD PRIMARY KEY (id);
        PERFORM setseed(0.25);
        DROP TABLE IF EXISTS m.doomed;
        CREATE TABLE m.doomed AS SELECT id, row_number() OVER (ORDER BY random()) AS o FROM m.work;
        PERFORM unlearn.create_model('l', 'm.work', 'label',
            (SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
              WHERE attrelid = 'm.work'::regclass AND attname ~ '^x[0-9]+$'),
            'logistic', jsonb_build_object('standardize', std));
        PERFORM m.logistic_check(ds, std, 0);
        FOR r IN SELECT id, o FROM m.doomed WHERE o <= 100 ORDER BY o LOOP
            DELETE FROM m.work WHERE id = r.id;
            PERFORM m.logistic_check(ds, std, r.o::int);
        END LOOP;
        FOR i IN 1 .. 10 LOOP
            DELETE FROM m.work WHERE id IN (SELECT id FROM m.doomed
                WHERE o > 100 + (i - 1) * (n / 20) AND o <= 100 + i * (n / 20));
            PERFORM m.logistic_check(ds, std, 100 + i);
        END LOOP;
        PERFORM unlearn.drop_model('l');
    END LOOP;
END
$$;

SELECT m.load(d, :'wdbc_path') AS rows, d AS dataset
  FROM unnest(string_to_array(:'datasets', ' ')) d;
SELECT m.ridge_run(d) FROM unnest(string_to_array(:'datasets', ' ')) d;
SELECT m.logistic_run(d) FROM unnest(string_to_array(:'datasets', ' ')) d;

\echo
\echo Ridge (l2 = 0.01): relative error of the live model against the exact optimum of its
\echo remaining rows; the own error of a fresh double-precision solve of the same rows (root mean
\echo square over 8 row orders, and its range); their ratio; verify_model: distance, bound, verdict.
SELECT dataset, features, pattern, rows, to_char(live, '9.9EEEE') AS live_error,
       to_char(fresh_rms, '9.9EEEE') AS fresh_error,
       to_char(fresh_min, '9.9EEEE') || ' .. ' || to_char(fresh_max, '9.9EEEE') AS fresh_range,
       round((live / fresh_rms)::numeric, 1) AS ratio,
       to_char(distance, '9.9EEEE') AS verify_distance, to_char(bound, '9.9EEEE') AS verify_bound,
       verdict
  FROM m.ridge ORDER BY dataset, features, pattern, rows DESC;
SELECT count(*) FILTER (WHERE live <= greatest(1e-9, 10 * fresh_rms)) || ' of ' || count(*)
         AS "within max(1e-9, 10 x fresh)",
       count(*) FILTER (WHERE live <= 1e-9) || ' of ' || count(*) AS "within 1e-9",
       round(max(live / fresh_rms)::numeric, 1) AS worst_ratio,
       count(*) FILTER (WHERE verdict = 'ok') || ' of ' || count(*) AS verified
  FROM m.ridge;

\echo
\echo Logistic (l2 = 1, erasure_tol 1e-4): checks after training, 100 erasures one by one and 10 of
\echo 5 % of the rows; "true" is the largest of the gradient norms evaluated in double, in extended
\echo precision and by verify_model; B the bound the model claims.
SELECT dataset, features, count(*) AS checks,
       round(100.0 * count(*) FILTER (WHERE greatest(double_norm, extended_norm, verify_norm) <= bound)
             / count(*), 1) AS "true <= B %",
       to_char(min(bound / greatest(double_norm, extended_norm, verify_norm)), '9.9EEEE') AS "B/true min",
       to_char(percentile_cont(0.5) WITHIN GROUP (ORDER BY bound / greatest(double_norm, extended_norm, verify_norm)), '9.9EEEE') AS "B/true median",
       to_char(max(bound / greatest(double_norm, extended_norm, verify_norm)), '9.9EEEE') AS "B/true max",
       to_char(min(greatest(double_norm, extended_norm, verify_norm)), '9.9EEEE') AS "true min",
       count(*) FILTER (WHERE method = 'refresh') AS refreshes
  FROM m.logistic GROUP BY dataset, features ORDER BY dataset, features;
SELECT count(*) AS checks,
       count(*) FILTER (WHERE greatest(double_norm, extended_norm, verify_norm) <= bound) AS within_bound
  FROM m.logistic;
