--
-- The audit capability, tried as the roles that hold it and as those that
-- do not: the log, its chain, the subject look-up and the digest keys.
--
CREATE EXTENSION unlearn;

\set ECHO none
\i test/try.sql
\set ECHO all

CREATE TABLE ar_patients (id int PRIMARY KEY, x float8, y float8);
INSERT INTO ar_patients SELECT g, g % 7, 2 * (g % 7) + (g % 3) FROM generate_series(1, 40) g;
SELECT name FROM unlearn.create_model('ar_model', 'ar_patients', 'y', ARRAY['x'], 'linear');
SET unlearn.request_reference = 'DSR-7';
DELETE FROM ar_patients WHERE id = 7;
RESET unlearn.request_reference;

CREATE ROLE regress_unlearn_ar_auditor;
CREATE ROLE regress_unlearn_ar_app;
SELECT unlearn.grant_audit('regress_unlearn_ar_auditor');
SELECT unlearn.grant_predict('regress_unlearn_ar_app');
GRANT SELECT ON ar_patients TO regress_unlearn_ar_app;

-- The auditor: the chain verifies, patient 7's entry is found by its key,
-- the digest keys are listed; the secrets themselves are not readable, and
-- the log cannot be changed or keys rotated.
SET ROLE regress_unlearn_ar_auditor;
SELECT ok, entries FROM unlearn.verify_log();
SELECT event, model_name, rows, request_reference FROM unlearn.subject_log('ar_patients', 7);
SELECT count(*) AS entries_for_8 FROM unlearn.subject_log('ar_patients', 8);
SELECT length(unlearn.subject_digest('ar_patients', 7)) AS digest_bytes;
SELECT count(*) AS digest_keys FROM unlearn.digest_keys;
SELECT try('SELECT * FROM unlearn.secret');
SELECT try('SELECT unlearn.rotate_secret()');
SELECT try('UPDATE unlearn.erasure_log SET rows = 0');
SELECT try('DELETE FROM unlearn.erasure_log');
SELECT try('SELECT * FROM unlearn.weights(''ar_model'')');
RESET ROLE;

-- The application may predict, but not read the log or look subjects up.
SET ROLE regress_unlearn_ar_app;
SELECT unlearn.predict('ar_model', ARRAY[3]::float8[]) IS NOT NULL AS predicts;
SELECT try('SELECT * FROM unlearn.erasure_log');
SELECT try('SELECT * FROM unlearn.verify_log()');
SELECT try('SELECT * FROM unlearn.subject_log(''ar_patients'', 7)');
SELECT try('SELECT unlearn.subject_digest(''ar_patients'', 7)');
SELECT try('SELECT * FROM unlearn.digest_keys');
RESET ROLE;

-- Taken back, the capability is gone.
SELECT unlearn.revoke_audit('regress_unlearn_ar_auditor');
SET ROLE regress_unlearn_ar_auditor;
SELECT try('SELECT * FROM unlearn.verify_log()');
SELECT try('SELECT * FROM unlearn.erasure_log');
RESET ROLE;

SELECT unlearn.revoke_predict('regress_unlearn_ar_app');
SELECT unlearn.drop_model('ar_model');
DROP TABLE ar_patients;
DROP ROLE regress_unlearn_ar_auditor;
DROP ROLE regress_unlearn_ar_app;
DROP FUNCTION try(text);
DROP EXTENSION unlearn;
