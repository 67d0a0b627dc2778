-- The unlearn demo: a model trained inside PostgreSQL forgets a patient
-- when her row is deleted, and an auditor can check that it did.
-- Run from the repository's root (demo/run does): each step prints one
-- line saying what it shows, then its SQL and the result.
\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
\set ECHO none
\i demo/setup.sql
\set ECHO queries

\echo
\echo '== 1. Train: logistic regression on 569 patients, one SQL call; lineage records every row it used'
SELECT name, type, rows_trained, parameters, iterations, gradient_norm < 1e-8 AS converged
  FROM unlearn.create_model('diagnosis', 'patients', 'benign',
       ARRAY['mean_radius', 'mean_texture', 'mean_smoothness',
             'mean_concave_points', 'worst_area', 'worst_concavity'],
       'logistic', '{"l2": 1.0, "erasure_tol": 0.01}');

\echo
\echo '== 2. Predict: whole rows in, probability and class out'
SELECT id, benign AS actual,
       round(unlearn.predict_proba('diagnosis', p)::numeric, 4) AS p_benign,
       unlearn.predict('diagnosis', p) AS predicted
  FROM patients p WHERE id IN (1, 20, 21, 22, 23) ORDER BY id;

\echo
\echo '== 3. Evaluate: on the rows the model was trained on'
SELECT metric, round(value::numeric, 4) AS value FROM unlearn.evaluate('diagnosis');

\echo
\echo '== 4. A second model, ridge regression on the benign patients only (a row filter): erasure from it is exact'
SELECT name, type, rows_trained
  FROM unlearn.create_model('area', 'patients', 'mean_area',
       ARRAY['mean_radius', 'mean_texture'], 'linear', '{"where": "benign = 1"}');

\echo
\echo '== 5. Patient 20 asks: which models hold my data?'
SELECT * FROM unlearn.lineage_of('patients', 20);

\echo
\echo '== 6. Patient 20 is erased with a plain DELETE: ridge exactly, logistic by one Newton step with a certified bound'
BEGIN;
SET LOCAL unlearn.request_reference = 'DSR-2026-0020';
DELETE FROM patients WHERE id = 20;
COMMIT;
SELECT model_name, event, rows, method, round(step_norm::numeric, 6) AS step,
       to_char(error_bound, '9.99EEEE') AS gradient_bound
  FROM unlearn.erasure_log WHERE request_reference = 'DSR-2026-0020' ORDER BY seq;

\echo
\echo '== 7. A bulk erasure: 40 patients in one statement, one log entry per model'
DELETE FROM patients WHERE id BETWEEN 300 AND 339;
SELECT model_name, event, rows, method, cardinality(key_digests) AS key_digests
  FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 2;
\echo '... and the preprocessing follows: the columns are scaled by the remaining patients'' mean and spread'
SELECT p.column_name, p.rows, round(p.mean::numeric, 4) AS model_mean,
       round((SELECT avg(mean_radius) FROM patients)::numeric, 4) AS table_mean
  FROM unlearn.preprocessing('diagnosis') p WHERE p.column_name = 'mean_radius';

\echo
\echo '== 8. A correction (UPDATE) is rectified: the old values leave, the new ones enter'
UPDATE patients SET mean_radius = mean_radius + 0.5 WHERE id = 1;
SELECT model_name, event, rows, method FROM unlearn.erasure_log ORDER BY seq DESC LIMIT 1;

\echo
\echo '== 9. The auditor: no model holds patient 20 ...'
SELECT count(*) AS models_holding_patient_20 FROM unlearn.lineage_of('patients', 20);
\echo '... the log, searched by the key''s keyed digest (it stores no key), says when and why ...'
SELECT seq, event, model_name, method, request_reference
  FROM unlearn.subject_log('patients', 20);
\echo '... the log''s hash chain is intact ...'
SELECT ok, entries, first_bad_seq FROM unlearn.verify_log();
\echo '... and each model equals a fresh fit on the rows it still holds: exactly, or within the bound it claims'
SELECT name AS model, v.verdict, v.rows,
       to_char(v.parameter_distance, '9.99EEEE') AS distance_to_fresh_fit,
       to_char(v.distance_bound, '9.99EEEE') AS bound
  FROM unlearn.models, unlearn.verify_model(name) v ORDER BY name;

\echo
\echo '== 10. TRUNCATE takes every row: the models stop predicting until retrained, and the log keeps every key''s digest'
TRUNCATE patients;
SELECT name, rows, state FROM unlearn.models ORDER BY name;
SELECT model_name, event, method, cardinality(key_digests) AS key_digests
  FROM unlearn.erasure_log WHERE event = 'truncate' ORDER BY seq;
SELECT ok, entries FROM unlearn.verify_log();
