-- demo/setup.sql: the extension and the demo's data, from the repository's
-- root (psql -f demo/setup.sql, or \i demo/setup.sql in psql).  The data is
-- the Wisconsin Diagnostic Breast Cancer set (test/data/README.md): 569
-- patients, 30 measurements each, and the diagnosis (benign: 1, malignant: 0).
CREATE EXTENSION IF NOT EXISTS unlearn;

\set wdbc_table public.patients
\ir ../test/data/wdbc_table.sql
\copy public.patients FROM 'test/data/wdbc.csv' WITH (FORMAT csv, HEADER true)
