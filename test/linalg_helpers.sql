-- Test-only SQL entry points into the linear-algebra core (src/selftest.c).
-- Not part of the extension: the suites declare them in schema unlearn_test.
CREATE SCHEMA unlearn_test;

-- Solve A x = b through the checked Cholesky path.
CREATE FUNCTION unlearn_test.cholesky_solve(a float8[], b float8[])
RETURNS float8[] AS '$libdir/unlearn', 'unlearn_test_cholesky_solve'
LANGUAGE C STRICT;

-- Reciprocal condition estimate of A.
CREATE FUNCTION unlearn_test.cholesky_rcond(a float8[])
RETURNS float8 AS '$libdir/unlearn', 'unlearn_test_cholesky_rcond'
LANGUAGE C STRICT;

-- Factor A, update (sign >= 0) or downdate (sign < 0) by x, return U'U.
CREATE FUNCTION unlearn_test.cholesky_rank1(a float8[], x float8[], sign int)
RETURNS float8[] AS '$libdir/unlearn', 'unlearn_test_cholesky_rank1'
LANGUAGE C STRICT;

-- Weighted Gram matrix of the rows of x (weights may be NULL).
CREATE FUNCTION unlearn_test.gram(x float8[], w float8[])
RETURNS float8[] AS '$libdir/unlearn', 'unlearn_test_gram'
LANGUAGE C;

-- Randomized battery: one row per check.
CREATE FUNCTION unlearn_test.linalg_selftest(seed bigint,
	OUT check_name text, OUT passed bool, OUT measured float8, OUT bound float8)
RETURNS SETOF record AS '$libdir/unlearn', 'unlearn_test_linalg_selftest'
LANGUAGE C STRICT;

-- The elements of an array rounded to 10 decimals, for stable expected output.
CREATE FUNCTION unlearn_test.rounded(a float8[]) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT string_agg(round(v::numeric, 10)::text, ' ' ORDER BY o)
        FROM unnest(a) WITH ORDINALITY AS t(v, o) $$;
