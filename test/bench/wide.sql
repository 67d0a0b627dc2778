-- test/bench/wide.sql: a wide table :name of :rows rows and :cols features,
-- and its plain twin :name_plain (psql variables name, rows, cols: wide with
-- 200 features, wk with 1000).  As bench: features f1..f<cols> uniform in
-- [-1,1], label P(y=1) = σ(2 f1 − 1.5 f2 + f3), seeded; the columns are
-- written by SQL (\gexec) rather than by hand.
\set ON_ERROR_STOP on

-- A section run after another that made the table starts it afresh.
SELECT count(unlearn.drop_model(name)) AS dropped FROM unlearn.models
 WHERE source IN (to_regclass(:'name'), to_regclass(:'name' || '_plain'));
SELECT format('DROP TABLE IF EXISTS %I, %I', :'name', :'name' || '_plain') \gexec

SELECT format('CREATE TABLE %I (id bigint NOT NULL, %s, y int NOT NULL)', :'name',
              string_agg(format('f%s float8', i), ', ' ORDER BY i))
  FROM generate_series(1, :cols) i \gexec

SELECT setseed(0.24);
-- OFFSET 0: each feature drawn once, and y sees the stored f1, f2, f3.
SELECT format('INSERT INTO %I SELECT id, %s,
                   (random() < 1 / (1 + exp(-(2 * f1 - 1.5 * f2 + f3))))::int
                 FROM (SELECT g AS id, %s FROM generate_series(1, %s) g OFFSET 0) s',
              :'name', string_agg(format('f%s', i), ', ' ORDER BY i),
              string_agg(format('2 * random() - 1 AS f%s', i), ', ' ORDER BY i), :rows)
  FROM generate_series(1, :cols) i \gexec
SELECT format('ALTER TABLE %I ADD PRIMARY KEY (id)', :'name') \gexec

SELECT format('CREATE TABLE %I AS SELECT * FROM %I', :'name' || '_plain', :'name') \gexec
SELECT format('ALTER TABLE %I ADD PRIMARY KEY (id)', :'name' || '_plain') \gexec
SELECT format('VACUUM ANALYZE %I', :'name') \gexec
SELECT format('VACUUM ANALYZE %I', :'name' || '_plain') \gexec
CHECKPOINT;
