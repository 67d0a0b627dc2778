--
-- A model's "where" filter is checked again on every UPDATE of a row it
-- trained on, whatever columns the UPDATE sets: a row its filter no
-- longer passes leaves the model (logged with its digest), as a retrain
-- would leave it out.  verify_model fails a model whose lineage holds
-- rows its filter excludes.  Filters must be immutable.
--
CREATE EXTENSION unlearn;
\set ECHO none
\i test/train_helpers.sql
\i test/erase_helpers.sql
\i test/try.sql
\set ECHO all


-- consent is not a feature: only the filter reads it.
CREATE TABLE subjects (id int PRIMARY KEY, consent boolean NOT NULL, note text,
                       a float8, b float8, y float8, label int);
INSERT INTO subjects
SELECT g, g % 5 <> 0, 'n' || g, 4 * u(g, 1) - 2, 4 * u(g, 2) - 2,
       1 + 2 * (4 * u(g, 1) - 2) - (4 * u(g, 2) - 2) + u(g, 3),
       (u(g, 4) < 1 / (1 + exp(-(1.5 * (4 * u(g, 1) - 2) - (4 * u(g, 2) - 2)))))::int
  FROM generate_series(1, 300) g;
SELECT name, rows FROM unlearn.create_model('consented', 'subjects', 'y', ARRAY['a', 'b'], 'linear',
                                            '{"standardize": false, "where": "consent"}');
SELECT name, rows FROM unlearn.create_model('consented_logit', 'subjects', 'label', ARRAY['a', 'b'],
                                            'logistic', '{"standardize": false, "where": "consent"}');

-- Consent withdrawn: the UPDATE sets only the filter's column, and the
-- row leaves both models, with its digest in the log.
UPDATE subjects SET consent = false WHERE id = 3;
SELECT model_name, event, rows, method, cardinality(key_digests) AS digests,
       unlearn.subject_digest('subjects', 3) = ANY (key_digests) AS digest_of_3
  FROM unlearn.erasure_log WHERE event = 'rectification' ORDER BY seq;
SELECT count(*) AS models_holding_3 FROM unlearn.lineage_of('subjects', 3);
SELECT name, rows FROM unlearn.models WHERE name LIKE 'consented%' ORDER BY name;
SELECT unlearn_test.weight_difference('consented', reference('consented')) < 1e-9 AS ridge_fresh,
       unlearn_test.weight_difference('consented_logit', reference('consented_logit')) < 1e-4 AS logit_fresh;
SELECT verdict, rows, rows_mismatched FROM unlearn.verify_model('consented');

-- Several rows in one statement, some leaving, some only changing values.
UPDATE subjects SET consent = (id % 2 = 0), a = a + 0.5 WHERE id BETWEEN 11 AND 18;
SELECT model_name, rows, method FROM unlearn.erasure_log
 WHERE event = 'rectification' AND model_name = 'consented' ORDER BY seq DESC LIMIT 1;
SELECT unlearn_test.weight_difference('consented', reference('consented')) < 1e-9 AS ridge_fresh,
       unlearn_test.weight_difference('consented_logit', reference('consented_logit')) < 1e-4 AS logit_fresh;

-- Consent given by a row that never trained the model: it does not join
-- (a retrain takes it in), and nothing is logged.
SELECT max(seq) AS last_seq FROM unlearn.erasure_log \gset
UPDATE subjects SET consent = true WHERE id = 5;
SELECT count(*) AS new_entries FROM unlearn.erasure_log WHERE seq > :last_seq;
SELECT count(*) AS models_holding_5 FROM unlearn.lineage_of('subjects', 5);
-- An UPDATE of a column neither the filter nor the model reads changes
-- nothing either (the filter is run, and passes).
UPDATE subjects SET note = 'changed' WHERE id = 7;
SELECT count(*) AS new_entries FROM unlearn.erasure_log WHERE seq > :last_seq;

-- verify_model finds a lineage that no longer matches the filter: here a
-- superuser rewrites the stored filter behind the model's back.
BEGIN;
UPDATE unlearn.model SET options = jsonb_set(options, '{where}', '"(id > 100)"')
 WHERE name = 'consented';
SELECT verdict, reason, rows_mismatched FROM unlearn.verify_model('consented');
ROLLBACK;

-- A partitioned source whose partition stores columns in another order:
-- the filter, written for the parent, still reads the partition's rows.
CREATE TABLE clinic_visits (id int PRIMARY KEY, consent boolean NOT NULL, a float8, y float8)
    PARTITION BY RANGE (id);
CREATE TABLE clinic_visits_1 PARTITION OF clinic_visits FOR VALUES FROM (0) TO (100);
CREATE TABLE clinic_visits_2 (y float8, a float8, consent boolean NOT NULL, id int NOT NULL);
ALTER TABLE clinic_visits ATTACH PARTITION clinic_visits_2 FOR VALUES FROM (100) TO (200);
INSERT INTO clinic_visits SELECT g, true, u(g, 5), 2 * u(g, 5) + u(g, 6) FROM generate_series(1, 199) g;
SELECT name, rows FROM unlearn.create_model('clinic_model', 'clinic_visits', 'y', ARRAY['a'], 'linear',
                                            '{"standardize": false, "where": "consent"}');
UPDATE clinic_visits_2 SET consent = false WHERE id IN (150, 151);
UPDATE clinic_visits SET consent = false WHERE id = 10;
SELECT rows FROM unlearn.models WHERE name = 'clinic_model';
SELECT unlearn_test.weight_difference('clinic_model', reference('clinic_model')) < 1e-9 AS fresh;

-- Filters must be immutable: whether a row passes may depend on nothing
-- but the row.
SELECT try($$SELECT unlearn.create_model('m', 'subjects', 'y', ARRAY['a'], 'linear',
                                         '{"where": "id < extract(day from now())"}')$$);

SELECT count(unlearn.drop_model(name)) FROM unlearn.model;
DROP EXTENSION unlearn;
DROP FUNCTION try(text);
DROP SCHEMA unlearn_test CASCADE;
