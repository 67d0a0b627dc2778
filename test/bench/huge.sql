-- test/bench/huge.sql: the table of the huge-DELETE benchmark (psql
-- variable :rows), d = 20 like bench, and its plain twin with the same
-- rows.  Seeded, so every run builds the same tables.
\set ON_ERROR_STOP on
SELECT setseed(0.17);
CREATE TABLE huge AS
SELECT g::bigint AS id,
       2 * random() - 1 AS f1,  2 * random() - 1 AS f2,  2 * random() - 1 AS f3,
       2 * random() - 1 AS f4,  2 * random() - 1 AS f5,  2 * random() - 1 AS f6,
       2 * random() - 1 AS f7,  2 * random() - 1 AS f8,  2 * random() - 1 AS f9,
       2 * random() - 1 AS f10, 2 * random() - 1 AS f11, 2 * random() - 1 AS f12,
       2 * random() - 1 AS f13, 2 * random() - 1 AS f14, 2 * random() - 1 AS f15,
       2 * random() - 1 AS f16, 2 * random() - 1 AS f17, 2 * random() - 1 AS f18,
       2 * random() - 1 AS f19, 2 * random() - 1 AS f20, random() AS y
  FROM generate_series(1, :rows) g;
ALTER TABLE huge ADD PRIMARY KEY (id);
CREATE TABLE huge_plain AS SELECT * FROM huge;
ALTER TABLE huge_plain ADD PRIMARY KEY (id);
VACUUM ANALYZE huge;
VACUUM ANALYZE huge_plain;
CHECKPOINT;
