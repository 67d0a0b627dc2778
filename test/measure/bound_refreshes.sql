-- test/measure/bound_refreshes.sql: how often logistic and Poisson models
-- refresh over single-row erasures (each a Newton step unless its bound
-- passes erasure_tol), on the WDBC data (standardized and raw), a 20,000-row
-- synthetic logistic set and the 3,000-row synthetic Poisson set's
-- generator.  Run from the repository root against a database with
-- unlearn and plpython3u:  psql -f test/measure/bound_refreshes.sql
\set ON_ERROR_STOP on
\set QUIET on
DROP TABLE IF EXISTS m_wdbc, m_big, m_pois CASCADE;
\set wdbc_table m_wdbc
\i test/data/wdbc_table.sql
\copy m_wdbc FROM 'test/data/wdbc.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE m_big AS
SELECT g AS id, 4 * u5 - 2 AS a, 4 * u6 - 2 AS b,
       (u7 < 1 / (1 + exp(-(1.5 * (4 * u5 - 2) - (4 * u6 - 2)))))::int AS label
  FROM (SELECT g, ((g::bigint * 2654435761 + 5 * 40503) % 1000003) / 1000003.0 AS u5,
               ((g::bigint * 2654435761 + 6 * 40503) % 1000003) / 1000003.0 AS u6,
               ((g::bigint * 2654435761 + 7 * 40503) % 1000003) / 1000003.0 AS u7
          FROM generate_series(1, 20000) g) s;
ALTER TABLE m_big ADD PRIMARY KEY (id);
CREATE TABLE m_pois (id integer PRIMARY KEY, x1 float8, x2 float8, x3 float8, x4 float8, n integer);
DO $$
import numpy as np
r = np.random.RandomState(20261202)
X = r.standard_normal((3000, 4))
y = r.poisson(np.exp(0.8 + X @ np.array([0.5, -0.4, 0.3, 0.1])))
plan = plpy.prepare("INSERT INTO m_pois VALUES ($1, $2, $3, $4, $5, $6)",
                    ["int", "float8", "float8", "float8", "float8", "int"])
for i in range(3000):
    plpy.execute(plan, [i + 1] + [float(v) for v in X[i]] + [int(y[i])])
$$ LANGUAGE plpython3u;
SELECT unlearn.create_model('m_ws', 'm_wdbc', 'benign', NULL, 'logistic') IS NOT NULL AS ws,
       unlearn.create_model('m_wr', 'm_wdbc', 'benign', NULL, 'logistic', '{"standardize": false}') IS NOT NULL AS wr,
       unlearn.create_model('m_bg', 'm_big', 'label', NULL, 'logistic', '{"standardize": false, "erasure_tol": 1e-5}') IS NOT NULL AS bg,
       unlearn.create_model('m_ps', 'm_pois', 'n', NULL, 'poisson') IS NOT NULL AS ps;
DO $$
BEGIN
    FOR i IN 1 .. 200 LOOP
        IF i <= 100 THEN DELETE FROM m_wdbc WHERE id = (i * 7919) % 569 + 1; END IF;
        DELETE FROM m_big WHERE id = (i * 7919) % 20000 + 1;
        DELETE FROM m_pois WHERE id = (i * 7919) % 3000 + 1;
    END LOOP;
END $$;
\set QUIET off
SELECT model_name, count(*) FILTER (WHERE method = 'newton') AS newton,
       count(*) FILTER (WHERE method = 'refresh') AS refresh
  FROM unlearn.erasure_log
 WHERE event = 'erasure' AND model_id IN (SELECT model_id FROM unlearn.model WHERE name LIKE 'm\_%')
 GROUP BY model_name ORDER BY model_name;
SELECT name, (SELECT verdict FROM unlearn.verify_model(name)) FROM unlearn.models WHERE name LIKE 'm\_%' ORDER BY name;
SELECT unlearn.drop_model(name) FROM unlearn.models WHERE name LIKE 'm\_%';
DROP TABLE m_wdbc, m_big, m_pois;
