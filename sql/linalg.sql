--
-- The linear-algebra core through test-only entry points (declared here,
-- not by the extension): exact small cases, then one broken input of each
-- kind, each giving its error rather than a crash or a hang.
--
CREATE EXTENSION unlearn;
\set ECHO none
\i test/linalg_helpers.sql
\set ECHO all

-- Printed values are rounded to 10 decimals (matrices flattened row by row).
-- [[4,2],[2,3]] x = [2,1] has the solution [0.5, 0].
SELECT unlearn_test.rounded(unlearn_test.cholesky_solve('{{4,2},{2,3}}', '{2,1}')) AS x;
-- diag(4, 1, 1e-3, 2): 1-norm condition 4000.
SELECT round(unlearn_test.cholesky_rcond('{{4,0,0,0},{0,1,0,0},{0,0,1e-3,0},{0,0,0,2}}')::numeric, 12) AS rcond;
-- Rank-1 update of diag(4, 9) by [1, 2] gives [[5,2],[2,13]], and back.
SELECT unlearn_test.rounded(unlearn_test.cholesky_rank1('{{4,0},{0,9}}', '{1,2}', 1)) AS updated;
SELECT unlearn_test.rounded(unlearn_test.cholesky_rank1('{{5,2},{2,13}}', '{1,2}', -1)) AS downdated;
-- Gram matrices, plain and weighted: [[10,14],[14,20]] and [[6.5,10],[10,16]].
SELECT unlearn_test.rounded(unlearn_test.gram('{{1,2},{3,4}}', NULL)) AS gram;
SELECT unlearn_test.rounded(unlearn_test.gram('{{1,2},{3,4}}', '{2,0.5}')) AS weighted_gram;

-- A downdate that would leave an indefinite or singular matrix is refused
-- (NULL here); the caller then refactors.
SELECT unlearn_test.cholesky_rank1('{{4,0},{0,9}}', '{3,0}', -1) IS NULL AS indefinite_refused;
SELECT unlearn_test.cholesky_rank1('{{4,0},{0,9}}', '{2,0}', -1) IS NULL AS singular_refused;

-- Singular and indefinite matrices.
SELECT unlearn_test.cholesky_solve('{{1,1},{1,1}}', '{1,1}');
SELECT unlearn_test.cholesky_solve('{{1,2},{2,1}}', '{1,1}');
SELECT unlearn_test.cholesky_solve('{{0}}', '{1}');
-- Ill-conditioned: the limit applies to the Jacobi-scaled matrix (unit
-- diagonal), so it does not depend on the variables' units.  Nearly
-- collinear (scaled cond about 2e7) is refused at a limit of 1e-6 and
-- accepted at the default; a diagonal matrix however badly scaled
-- (cond = 1e14 as it stands) is perfectly conditioned once scaled.
SET unlearn.min_rcond = 1e-6;
SELECT unlearn_test.cholesky_rcond('{{1,0.9999999},{0.9999999,1}}');
RESET unlearn.min_rcond;
SELECT unlearn_test.cholesky_rcond('{{1,0.9999999},{0.9999999,1}}') < 1e-6 AS accepted_below;
SELECT unlearn_test.cholesky_rcond('{{1,0},{0,1e-14}}') AS rcond;

-- NaN and infinity, rejected before LAPACK sees them.
SELECT unlearn_test.cholesky_solve('{{NaN,0},{0,1}}', '{1,1}');
SELECT unlearn_test.cholesky_solve('{{Infinity,0},{0,1}}', '{1,1}');
SELECT unlearn_test.cholesky_solve('{{1,0},{0,1}}', '{1,-Infinity}');
SELECT unlearn_test.cholesky_rank1('{{4,0},{0,9}}', '{NaN,1}', 1);
SELECT unlearn_test.cholesky_rank1('{{4,0},{0,9}}', '{1,Infinity}', -1);
SELECT unlearn_test.gram('{{1,NaN},{3,4}}', NULL);
SELECT unlearn_test.gram('{{1,2},{3,4}}', '{1,NaN}');

-- Shapes and sizes.
SELECT unlearn_test.cholesky_solve('{{1,0,0},{0,1,0}}', '{1,1}');
SELECT unlearn_test.cholesky_solve('{{1,2},{3,1}}', '{1,1}');
SELECT unlearn_test.cholesky_solve('{{1,0},{0,1}}', '{1,1,1}');
SELECT unlearn_test.cholesky_solve('{{1,0},{0,1}}', '{1,NULL}');
SELECT unlearn_test.cholesky_solve('{}', '{}');
SELECT unlearn_test.gram('{{1,2},{3,4}}', '{1,2,3}');
SELECT unlearn_test.gram(array_fill(1.0::float8, ARRAY[1, 5001]), NULL);
-- A negative Gram weight is a caller bug: an internal error, never a silent result.
SELECT unlearn_test.gram('{{1,2},{3,4}}', '{1,-1}');

-- The backend survived all of the above.
SELECT unlearn_test.rounded(unlearn_test.cholesky_solve('{{2,0},{0,4}}', '{1,1}')) AS x;

DROP EXTENSION unlearn;
DROP SCHEMA unlearn_test CASCADE;
