-- test/data/diabetes_table.sql: the table of the diabetes data
-- (test/data/diabetes.csv, see README.md here), named by the psql variable
-- diabetes_table; the Poisson suites \copy the rows into it.
CREATE TABLE :diabetes_table (
    id integer PRIMARY KEY,
    age float8,
    sex float8,
    bmi float8,
    bp float8,
    s1 float8,
    s2 float8,
    s3 float8,
    s4 float8,
    s5 float8,
    s6 float8,
    progression integer
);
