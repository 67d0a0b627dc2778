-- test/bench/data.sql: the synthetic benchmark table (psql variable :rows).
-- n rows, d = 20 float8 features uniform in [-1,1], and a label y in {0,1}
-- drawn from a logistic model on three of them: P(y=1) = σ(2 f1 − 1.5 f2 + f3).
-- Seeded, so every run builds the same table.
\set ON_ERROR_STOP on

CREATE TABLE bench (
    id bigint NOT NULL,
    f1 float8, f2 float8, f3 float8, f4 float8, f5 float8,
    f6 float8, f7 float8, f8 float8, f9 float8, f10 float8,
    f11 float8, f12 float8, f13 float8, f14 float8, f15 float8,
    f16 float8, f17 float8, f18 float8, f19 float8, f20 float8,
    y int NOT NULL);

SELECT setseed(0.42);
-- OFFSET 0 keeps the subquery as is, so each feature is drawn exactly once
-- and y sees the same f1, f2, f3 that are stored.
INSERT INTO bench
SELECT id, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10,
       f11, f12, f13, f14, f15, f16, f17, f18, f19, f20,
       (random() < 1 / (1 + exp(-(2 * f1 - 1.5 * f2 + f3))))::int
  FROM (SELECT g AS id,
               2 * random() - 1 AS f1,  2 * random() - 1 AS f2,
               2 * random() - 1 AS f3,  2 * random() - 1 AS f4,
               2 * random() - 1 AS f5,  2 * random() - 1 AS f6,
               2 * random() - 1 AS f7,  2 * random() - 1 AS f8,
               2 * random() - 1 AS f9,  2 * random() - 1 AS f10,
               2 * random() - 1 AS f11, 2 * random() - 1 AS f12,
               2 * random() - 1 AS f13, 2 * random() - 1 AS f14,
               2 * random() - 1 AS f15, 2 * random() - 1 AS f16,
               2 * random() - 1 AS f17, 2 * random() - 1 AS f18,
               2 * random() - 1 AS f19, 2 * random() - 1 AS f20
          FROM generate_series(1, :rows) AS g
        OFFSET 0) AS s;
-- The key after the load: one index build instead of a million inserts.
ALTER TABLE bench ADD PRIMARY KEY (id);

VACUUM ANALYZE bench;
CHECKPOINT;
-- Warm-up: read every page once so that all timings start from a warm cache.
SELECT sum(f1+f2+f3+f4+f5+f6+f7+f8+f9+f10+f11+f12+f13+f14+f15+f16+f17+f18+f19+f20+y)
  FROM bench;
