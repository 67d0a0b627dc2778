-- demo/setup.sql: the extension and the demo's data, from the repository's
-- root (psql -f demo/setup.sql, or \i demo/setup.sql in psql).  The data is
-- the Wisconsin Diagnostic Breast Cancer set (test/data/README.md): 569
-- patients, 30 measurements each, and the diagnosis (benign: 1, malignant: 0).
CREATE EXTENSION IF NOT EXISTS unlearn;

CREATE TABLE public.patients (
    id integer PRIMARY KEY,
    mean_radius float8,
    mean_texture float8,
    mean_perimeter float8,
    mean_area float8,
    mean_smoothness float8,
    mean_compactness float8,
    mean_concavity float8,
    mean_concave_points float8,
    mean_symmetry float8,
    mean_fractal_dimension float8,
    radius_error float8,
    texture_error float8,
    perimeter_error float8,
    area_error float8,
    smoothness_error float8,
    compactness_error float8,
    concavity_error float8,
    concave_points_error float8,
    symmetry_error float8,
    fractal_dimension_error float8,
    worst_radius float8,
    worst_texture float8,
    worst_perimeter float8,
    worst_area float8,
    worst_smoothness float8,
    worst_compactness float8,
    worst_concavity float8,
    worst_concave_points float8,
    worst_symmetry float8,
    worst_fractal_dimension float8,
    benign integer NOT NULL
);
\copy public.patients FROM 'test/data/wdbc.csv' WITH (FORMAT csv, HEADER true)
