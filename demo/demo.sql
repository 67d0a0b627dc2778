-- The unlearn demo.  It grows with each capability of the extension.
\pset footer off

-- Install the extension: everything lives in schema unlearn.
CREATE EXTENSION unlearn;

-- What this build is linked with: LAPACKE over OpenBLAS.
SELECT * FROM unlearn.build_info();
SELECT unlearn.version();
