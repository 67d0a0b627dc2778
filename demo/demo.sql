-- The unlearn demo, on a real dataset: the Wisconsin Diagnostic Breast
-- Cancer data (test/data/README.md).  It grows with each capability.
\pset footer off
\set ON_ERROR_STOP on

CREATE EXTENSION unlearn;
SELECT * FROM unlearn.build_info();

-- 569 patients, 30 measurements each, and the diagnosis (1 = benign).
CREATE TABLE patients (
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
\copy patients FROM '../test/data/wdbc.csv' WITH (FORMAT csv, HEADER true)

-- CREATE MODEL: logistic regression on six measurements, one SQL call.
SELECT name, type, features, parameters, rows_trained, iterations, gradient_norm
  FROM unlearn.create_model('diagnosis', 'patients', 'benign',
       ARRAY['mean_radius', 'mean_texture', 'mean_smoothness',
             'mean_concave_points', 'worst_area', 'worst_concavity'],
       'logistic', '{"l2": 1.0}');

-- Its parameters, as fitted (standardized inputs) and in the columns' units.
SELECT term, round(weight::numeric, 4) AS weight, round(raw_weight::numeric, 6) AS raw_weight
  FROM unlearn.weights('diagnosis');

-- PREDICT: whole rows in, probabilities and classes out.
SELECT id, benign,
       round(unlearn.predict_proba('diagnosis', p)::numeric, 4) AS p_benign,
       unlearn.predict('diagnosis', p) AS predicted
  FROM patients p WHERE id IN (1, 2, 20, 21, 22) ORDER BY id;

-- Or a vector, one value per term in weights order.
SELECT round(unlearn.predict_proba('diagnosis',
       ARRAY[12.0, 18.0, 0.09, 0.03, 500, 0.2]::float8[])::numeric, 4) AS p_benign;

-- How good is it (on the training rows)?
SELECT metric, round(value::numeric, 4) AS value FROM unlearn.evaluate('diagnosis');

-- Ridge regression on a subset chosen by a filter.
SELECT name, type, rows_trained
  FROM unlearn.create_model('area', 'patients', 'mean_area',
       ARRAY['mean_radius', 'mean_texture'], 'linear',
       '{"where": "benign = 1", "standardize": false}');
SELECT metric, round(value::numeric, 4) AS value FROM unlearn.evaluate('area');

-- Lineage: which models contain patient 20?  (Patient 1 is malignant, so
-- the benign-only model never saw it.)
SELECT * FROM unlearn.lineage_of('patients', 20);
SELECT * FROM unlearn.lineage_of('patients', 1);

-- A new patient is not in any model until it is retrained.
INSERT INTO patients SELECT 570, mean_radius, mean_texture, mean_perimeter, mean_area,
       mean_smoothness, mean_compactness, mean_concavity, mean_concave_points,
       mean_symmetry, mean_fractal_dimension, radius_error, texture_error,
       perimeter_error, area_error, smoothness_error, compactness_error,
       concavity_error, concave_points_error, symmetry_error,
       fractal_dimension_error, worst_radius, worst_texture, worst_perimeter,
       worst_area, worst_smoothness, worst_compactness, worst_concavity,
       worst_concave_points, worst_symmetry, worst_fractal_dimension, benign
  FROM patients WHERE id = 20;
SELECT count(*) AS models_with_570 FROM unlearn.lineage_of('patients', 570);
SELECT name, version, rows_trained FROM unlearn.retrain('diagnosis');
SELECT * FROM unlearn.lineage_of('patients', 570);

-- ERASURE: patient 20 asks to be forgotten.  A plain DELETE takes the row
-- out of every model it trained, in the same transaction; the request's
-- reference goes into the log.
SELECT name, version, rows, round(weights.weight::numeric, 6) AS weight_of_worst_area
  FROM unlearn.models, unlearn.weights(name) weights
 WHERE name = 'diagnosis' AND weights.term = 'worst_area';
BEGIN;
SET LOCAL unlearn.request_reference = 'DSR-2024-0020';  -- for this transaction only
DELETE FROM patients WHERE id = 20;
COMMIT;
SELECT * FROM unlearn.lineage_of('patients', 20);
SELECT name, version, rows, rows_erased, error_bound,
       round(weights.weight::numeric, 6) AS weight_of_worst_area
  FROM unlearn.models, unlearn.weights(name) weights
 WHERE name = 'diagnosis' AND weights.term = 'worst_area';
-- The ridge model is updated exactly: it equals one trained afresh on the
-- rows it still holds (same preprocessing: raw features; patient 570 came
-- after it was trained, so it is not among them).
SELECT name FROM unlearn.create_model('area_check', 'patients', 'mean_area',
       ARRAY['mean_radius', 'mean_texture'], 'linear',
       '{"where": "benign = 1 AND id < 570", "standardize": false}');
SELECT max(abs(a.weight - c.weight)) / max(abs(c.weight)) AS relative_difference
  FROM unlearn.weights('area') a JOIN unlearn.weights('area_check') c USING (term);
SELECT unlearn.drop_model('area_check');

-- Rectification: patient 1's corrected measurement replaces the old one in
-- the model that trained on it (the benign-only model never saw patient 1).
UPDATE patients SET mean_radius = mean_radius + 0.5 WHERE id = 1;

-- The erasure log: who, when, which models, how — never the key or values.
SELECT seq, logged_at::time(0) AS at, current_user_name AS by, event, model_name,
       version_before, version_after, rows, method, cardinality(key_digests) AS keys
  FROM unlearn.erasure_log ORDER BY seq;

-- The auditor: was patient 20 erased from every model, and when?  No model
-- holds the row; the log, searched by the key's keyed digest, says when.
SELECT * FROM unlearn.lineage_of('patients', 20);
SELECT seq, logged_at::time(0) AS at, event, model_name, request_reference
  FROM unlearn.subject_log('patients', 20);
-- And the log is as it was written: its hash chain verifies.
SELECT ok, entries, first_bad_seq FROM unlearn.verify_log();
-- And each model, fitted again from scratch on the rows it holds, agrees
-- with the live one: exactly (ridge), or within the bound it claims.
SELECT 'area' AS model, verdict, rows, parameter_distance < 1e-9 AS exact
  FROM unlearn.verify_model('area');
SELECT 'diagnosis' AS model, verdict, rows, parameter_distance <= distance_bound AS within_bound
  FROM unlearn.verify_model('diagnosis');

-- The catalog.
SELECT name, type, source, target, rows, version, state FROM unlearn.models;
