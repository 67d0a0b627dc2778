-- test/bench/wide.sql: the d = 200 table (psql variable :rows) and its plain
-- twin wide_plain.  As bench: features f1..f200 uniform in [-1,1], label
-- P(y=1) = σ(2 f1 − 1.5 f2 + f3), seeded; the 200 columns are written by
-- SQL (\gexec) rather than by hand.
\set ON_ERROR_STOP on

SELECT format('CREATE TABLE wide (id bigint NOT NULL, %s, y int NOT NULL)',
              string_agg(format('f%s float8', i), ', ' ORDER BY i))
  FROM generate_series(1, 200) i \gexec

SELECT setseed(0.24);
-- OFFSET 0: each feature drawn once, and y sees the stored f1, f2, f3.
SELECT format('INSERT INTO wide SELECT id, %s,
                   (random() < 1 / (1 + exp(-(2 * f1 - 1.5 * f2 + f3))))::int
                 FROM (SELECT g AS id, %s FROM generate_series(1, %s) g OFFSET 0) s',
              string_agg(format('f%s', i), ', ' ORDER BY i),
              string_agg(format('2 * random() - 1 AS f%s', i), ', ' ORDER BY i), :rows)
  FROM generate_series(1, 200) i \gexec
ALTER TABLE wide ADD PRIMARY KEY (id);

CREATE TABLE wide_plain AS SELECT * FROM wide;
ALTER TABLE wide_plain ADD PRIMARY KEY (id);
VACUUM ANALYZE wide;
VACUUM ANALYZE wide_plain;
CHECKPOINT;
