-- test/bench/wide1000.sql: the d = 1000 table (psql variable :rows) and its plain
-- twin wk_plain.  As bench: features f1..f1000 uniform in [-1,1], label
-- P(y=1) = σ(2 f1 − 1.5 f2 + f3), seeded; the 1000 columns are written by
-- SQL (\gexec) rather than by hand.
\set ON_ERROR_STOP on

SELECT format('CREATE TABLE wk (id bigint NOT NULL, %s, y int NOT NULL)',
              string_agg(format('f%s float8', i), ', ' ORDER BY i))
  FROM generate_series(1, 1000) i \gexec

SELECT setseed(0.24);
-- OFFSET 0: each feature drawn once, and y sees the stored f1, f2, f3.
SELECT format('INSERT INTO wk SELECT id, %s,
                   (random() < 1 / (1 + exp(-(2 * f1 - 1.5 * f2 + f3))))::int
                 FROM (SELECT g AS id, %s FROM generate_series(1, %s) g OFFSET 0) s',
              string_agg(format('f%s', i), ', ' ORDER BY i),
              string_agg(format('2 * random() - 1 AS f%s', i), ', ' ORDER BY i), :rows)
  FROM generate_series(1, 1000) i \gexec
ALTER TABLE wk ADD PRIMARY KEY (id);

CREATE TABLE wk_plain AS SELECT * FROM wk;
ALTER TABLE wk_plain ADD PRIMARY KEY (id);
VACUUM ANALYZE wk;
VACUUM ANALYZE wk_plain;
CHECKPOINT;
