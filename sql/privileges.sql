--
-- Privileges: four capabilities -- train, predict, read, audit -- granted
-- by unlearn.grant_* and taken back by unlearn.revoke_*.  Every boundary
-- is tried as the restricted role; each denial shows its SQLSTATE.
--
CREATE EXTENSION unlearn;

\set ECHO none
\i test/try.sql
\set ECHO all

CREATE FUNCTION priv_u(g int, k int) RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT ((g::bigint * 2654435761 + k * 40503) % 1000003) / 1000003.0 $$;
CREATE TABLE people (id int PRIMARY KEY, age float8, income float8, region text,
                     spend float8, bought int);
INSERT INTO people
SELECT g, 20 + 50 * priv_u(g, 1), 1000 + 9000 * priv_u(g, 2), (ARRAY['north', 'south', 'west'])[1 + g % 3],
       10 + 0.5 * (20 + 50 * priv_u(g, 1)) + 0.002 * (1000 + 9000 * priv_u(g, 2)) + (g % 3) + priv_u(g, 3),
       (priv_u(g, 4) < 1 / (1 + exp(-(4 * priv_u(g, 1) - 2 + 3 * priv_u(g, 2) - 1.5))))::int
  FROM generate_series(1, 60) g;
-- Other rows with the same feature columns.
CREATE TABLE visitors (id int PRIMARY KEY, age float8, income float8, region text);
INSERT INTO visitors SELECT g, 30 + g, 2000 + 100 * g, 'west' FROM generate_series(1, 5) g;
-- Something only superusers may read.
CREATE TABLE secrets (note text);
INSERT INTO secrets VALUES ('the launch code');

CREATE ROLE regress_unlearn_trainer;
CREATE ROLE regress_unlearn_colleague;
CREATE ROLE regress_unlearn_predictor;
CREATE ROLE regress_unlearn_reader;
CREATE ROLE regress_unlearn_auditor;
CREATE ROLE regress_unlearn_nobody;

-- Out of the box only version() and build_info() are open to everyone.
SET ROLE regress_unlearn_nobody;
SELECT unlearn.version() IS NOT NULL AS version_for_all;
SELECT try($$SELECT unlearn.create_model('m', 'people', 'spend')$$);
SELECT try($$SELECT unlearn.predict('m', ARRAY[1]::float8[])$$);
SELECT try($$SELECT * FROM unlearn.models$$);
SELECT try($$SELECT * FROM unlearn.erasure_log$$);
-- Nor can anyone hand out capabilities but a superuser or the extension's owner.
SELECT try($$SELECT unlearn.grant_train('regress_unlearn_nobody')$$);
SELECT try($$SELECT unlearn._capability('train', 'regress_unlearn_nobody', true)$$);
RESET ROLE;

-- Granting.
SELECT unlearn.grant_train('regress_unlearn_trainer');
SELECT unlearn.grant_train('regress_unlearn_colleague');
SELECT unlearn.grant_predict('regress_unlearn_predictor');
SELECT unlearn.grant_read('regress_unlearn_reader');
SELECT unlearn.grant_audit('regress_unlearn_auditor');
SELECT try($$SELECT unlearn.grant_read(NULL)$$);
SELECT try($$SELECT unlearn.grant_read('-')$$);
SELECT try($$SELECT unlearn.grant_read('regress_unlearn_no_such_role')$$);

-- Who may do what: the ACLs are the record.
SELECT r.rolname,
       has_function_privilege(r.oid, 'unlearn.create_model(text, regclass, text, text[], text, jsonb)',
                              'EXECUTE') AS train,
       has_function_privilege(r.oid, 'unlearn.predict(text, float8[])', 'EXECUTE') AS predict,
       has_function_privilege(r.oid, 'unlearn.weights(text)', 'EXECUTE') AS read,
       has_function_privilege(r.oid, 'unlearn.verify_model(text)', 'EXECUTE') AS audit,
       has_table_privilege(r.oid, 'unlearn.erasure_log', 'SELECT') AS reads_log,
       has_table_privilege(r.oid, 'unlearn.model', 'SELECT') AS reads_model_table
  FROM pg_roles r WHERE r.rolname LIKE 'regress_unlearn_%' ORDER BY 1;

------------------------------------------------------------------------------
-- Train
------------------------------------------------------------------------------

-- Training checks the caller's rights on the source before anything else:
-- SELECT, and a right that allows holding writers off.
SET ROLE regress_unlearn_trainer;
SELECT try($$SELECT unlearn.create_model('spend', 'people', 'spend', ARRAY['age', 'income', 'region'])$$);
RESET ROLE;
GRANT SELECT ON people TO regress_unlearn_trainer;
SET ROLE regress_unlearn_trainer;
SELECT try($$SELECT unlearn.create_model('spend', 'people', 'spend', ARRAY['age', 'income', 'region'])$$);
RESET ROLE;
GRANT DELETE ON people TO regress_unlearn_trainer;
SET ROLE regress_unlearn_trainer;
-- The model belongs to the role that creates it.
SELECT name, owner, version
  FROM unlearn.create_model('spend', 'people', 'spend', ARRAY['age', 'income', 'region']);
SELECT name, owner
  FROM unlearn.create_model('buyer', 'people', 'bought', ARRAY['age', 'income', 'region'],
                            'logistic');
SELECT name, version FROM unlearn.retrain('spend');
-- Training does not include reading parameters, predicting, or the log ...
SELECT try($$SELECT * FROM unlearn.weights('spend')$$);
SELECT try($$SELECT unlearn.predict('spend', ARRAY[40, 5000, 0, 1, 0]::float8[])$$);
SELECT try($$SELECT * FROM unlearn.erasure_log$$);
-- ... nor any right on the extension's tables.
SELECT try($$SELECT theta FROM unlearn.model$$);
SELECT try($$UPDATE unlearn.model SET theta = theta$$);
SELECT try($$DELETE FROM unlearn.lineage$$);
SELECT try($$INSERT INTO unlearn.model_term VALUES (1, 99, 'x', NULL, 0, 1, NULL)$$);
RESET ROLE;

-- A model is its owner's: another trainer may not retrain, drop or give
-- it away ...
GRANT SELECT, DELETE ON people TO regress_unlearn_colleague;
SET ROLE regress_unlearn_colleague;
SELECT try($$SELECT unlearn.retrain('spend')$$);
SELECT try($$SELECT unlearn.drop_model('spend')$$);
SELECT try($$SELECT unlearn.alter_model_owner('spend', 'regress_unlearn_colleague')$$);
SELECT try($$SELECT unlearn.drop_model('no_such_model')$$);
RESET ROLE;
-- ... unless it has the owner's privileges (membership, as for tables).
GRANT regress_unlearn_trainer TO regress_unlearn_colleague;
SET ROLE regress_unlearn_colleague;
SELECT name, version FROM unlearn.retrain('spend');
-- Giving a model away needs the privileges of the new owner too.
SELECT try($$SELECT unlearn.alter_model_owner('spend', 'regress_unlearn_reader')$$);
SELECT unlearn.alter_model_owner('spend', 'regress_unlearn_colleague');
RESET ROLE;
REVOKE regress_unlearn_trainer FROM regress_unlearn_colleague;
SELECT name, owner FROM unlearn.models ORDER BY name;
SET ROLE regress_unlearn_trainer;
SELECT try($$SELECT unlearn.drop_model('spend')$$);
RESET ROLE;
-- Superusers always may.
SELECT try($$SELECT unlearn.alter_model_owner('spend', '-')$$);
SELECT unlearn.alter_model_owner('spend', 'regress_unlearn_trainer');
SELECT name, owner FROM unlearn.models ORDER BY name;
-- A NULL argument is an error, not a silent NULL.
SELECT try($$SELECT unlearn.retrain(NULL)$$);
SELECT try($$SELECT unlearn.drop_model(NULL)$$);
SELECT try($$SELECT unlearn.alter_model_owner(NULL, 'regress_unlearn_trainer')$$);
SELECT try($$SELECT unlearn.alter_model_owner('spend', NULL)$$);

-- A table given by OID skips the name look-up, not the schema's USAGE.
CREATE SCHEMA regress_hidden;
CREATE TABLE regress_hidden.h (id int PRIMARY KEY, x float8, y float8);
INSERT INTO regress_hidden.h SELECT g, g, 5 * g + priv_u(g, 1) FROM generate_series(1, 20) g;
GRANT SELECT, DELETE ON regress_hidden.h TO regress_unlearn_trainer;
SELECT 'regress_hidden.h'::regclass::oid AS hidden_oid \gset
SET ROLE regress_unlearn_trainer;
SELECT try($$SELECT count(*) FROM regress_hidden.h$$);
SELECT try(format($$SELECT unlearn.create_model('hidden', %s::oid::regclass, 'y')$$,
                       :hidden_oid));
RESET ROLE;

------------------------------------------------------------------------------
-- Predict
------------------------------------------------------------------------------

SELECT model_id AS spend_id FROM unlearn.model WHERE name = 'spend' \gset
CREATE TABLE superuser_view AS
SELECT id, unlearn.predict('spend', p) AS spend, unlearn.predict_proba('buyer', p) AS buys
  FROM people p;
GRANT SELECT ON visitors, superuser_view TO regress_unlearn_predictor;

-- A model is used only over data its user may read: predicting needs
-- SELECT on the model's source, whatever the input -- rows of the source,
-- rows of another table, a vector, or the planner's column form called
-- by hand.  (A vector probe would otherwise reveal a linear model's
-- parameters in d + 1 calls.)
SET ROLE regress_unlearn_predictor;
SELECT try($$SELECT unlearn.predict('spend', p) FROM people p$$);
SELECT try($$SELECT unlearn.predict_proba('buyer', v) FROM visitors v$$);
SELECT try($$SELECT unlearn.predict('spend', ARRAY[40, 5000, 0, 1, 0]::float8[])$$);
SELECT try(format($$SELECT unlearn._predict_columns('spend', %s, 0, '(0,1)'::tid,
                                                    40::float8, 5000::float8, 'west'::text)$$,
                  :spend_id));
SELECT try($$SELECT * FROM unlearn.evaluate('spend')$$);
SELECT try($$SELECT * FROM unlearn.evaluate('spend', 'visitors')$$);
-- Nothing else tells it what a model was trained on.
SELECT try($$SELECT * FROM unlearn._model_source('spend')$$);
-- A model name that does not exist is told apart, as a table's would be.
SELECT try($$SELECT unlearn.predict('no_such_model', ARRAY[1]::float8[])$$);
-- Predicting never includes parameters, lineage, the log, or training.
SELECT try($$SELECT * FROM unlearn.weights('spend')$$);
SELECT try($$SELECT * FROM unlearn.models$$);
SELECT try($$SELECT theta FROM unlearn.model$$);
SELECT try($$SELECT * FROM unlearn.lineage('spend')$$);
SELECT try($$SELECT * FROM unlearn.lineage_of('people', 7)$$);
SELECT try($$SELECT * FROM unlearn.erasure_log$$);
SELECT try($$SELECT * FROM unlearn.verify_model('spend')$$);
SELECT try($$SELECT unlearn.create_model('v', 'visitors', 'age')$$);
RESET ROLE;

GRANT SELECT ON people TO regress_unlearn_predictor;
SET ROLE regress_unlearn_predictor;
-- Now every form works, and gives what a superuser gets.
EXPLAIN (VERBOSE, COSTS OFF) SELECT unlearn.predict('spend', p) FROM people p;
SELECT count(*) AS rows,
       max(abs(unlearn.predict('spend', p) - s.spend)) = 0 AS same_values,
       max(abs(unlearn.predict_proba('buyer', p) - s.buys)) = 0 AS same_probabilities
  FROM people p JOIN superuser_view s USING (id);
SELECT count(*) AS visitors_scored FROM visitors v
 WHERE unlearn.predict_proba('buyer', v) BETWEEN 0 AND 1;
SELECT unlearn.predict('spend', ARRAY[40, 5000, 0, 1, 0]::float8[]) IS NOT NULL AS vector_predicts;
SELECT metric FROM unlearn.evaluate('spend') ORDER BY metric;
-- The column form written by hand: values of the wrong kind, and a mode
-- or model id that is not the planner's, are errors.
SELECT try(format($$SELECT unlearn._predict_columns('spend', %s, 0, '(0,1)'::tid,
                                                    'abc'::text, 5000::float8, 'west'::text)$$,
                  :spend_id));
SELECT try(format($$SELECT unlearn._predict_columns('spend', %s, 0, '(0,1)'::tid,
                                                    40::float8, 5000::float8, point(1, 2))$$,
                  :spend_id));
SELECT try(format($$SELECT unlearn._predict_columns('spend', %s, 7, '(0,1)'::tid,
                                                    40::float8, 5000::float8, 'west'::text)$$,
                  :spend_id));
SELECT try(format($$SELECT unlearn._predict_columns('spend', %s, NULL, '(0,1)'::tid,
                                                    40::float8, 5000::float8, 'west'::text)$$,
                  :spend_id));
SELECT unlearn._predict_columns('spend', :spend_id, 0, '(0,1)'::tid,
                                40::float8, 5000::float8, 'west'::text) IS NOT NULL AS by_hand;
RESET ROLE;

-- Using a model needs USAGE on its source's schema too.
SELECT name FROM unlearn.create_model('hidden', 'regress_hidden.h', 'y');
GRANT SELECT ON regress_hidden.h TO regress_unlearn_predictor;
SET ROLE regress_unlearn_predictor;
SELECT try($$SELECT unlearn.predict('hidden', ARRAY[3]::float8[])$$);
SELECT try($$SELECT * FROM unlearn.evaluate('hidden')$$);
RESET ROLE;

-- Nor may a role use a model of a table that row-level security hides
-- rows of from it (as it may not train one): the model learnt from them,
-- and d + 1 probes would read it off.
CREATE TABLE tenant_rows (id int PRIMARY KEY, tenant name, x float8, y float8);
INSERT INTO tenant_rows
SELECT g, CASE WHEN g <= 20 THEN 'regress_unlearn_predictor' ELSE 'other' END, g,
       CASE WHEN g <= 20 THEN 2 * g ELSE 100 - 3 * g END
  FROM generate_series(1, 40) g;
ALTER TABLE tenant_rows ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON tenant_rows USING (tenant = current_user);
GRANT SELECT ON tenant_rows TO regress_unlearn_predictor;
SELECT name, rows_trained FROM unlearn.create_model('tenants', 'tenant_rows', 'y', ARRAY['x']);
SET ROLE regress_unlearn_predictor;
SELECT count(*) AS rows_visible FROM tenant_rows;
SELECT try($$SELECT unlearn.predict('tenants', ARRAY[1]::float8[])$$);
SELECT try($$SELECT unlearn.predict('tenants', t) FROM tenant_rows t$$);
SELECT try($$SELECT * FROM unlearn.evaluate('tenants')$$);
RESET ROLE;

-- Column privileges do as well: SELECT on the target and every feature.
REVOKE SELECT ON people FROM regress_unlearn_predictor;
GRANT SELECT (age, income, region, spend) ON people TO regress_unlearn_predictor;
SET ROLE regress_unlearn_predictor;
SELECT unlearn.predict('spend', ARRAY[40, 5000, 0, 1, 0]::float8[]) IS NOT NULL AS vector_predicts;
SELECT count(*) AS visitors_scored FROM visitors v WHERE unlearn.predict('spend', v) > 0;
-- 'buyer' learned from "bought", which this role may not read.
SELECT try($$SELECT unlearn.predict_proba('buyer', ARRAY[40, 5000, 0, 1, 0]::float8[])$$);
RESET ROLE;
REVOKE SELECT (age, income, region, spend) ON people FROM regress_unlearn_predictor;

------------------------------------------------------------------------------
-- Read
------------------------------------------------------------------------------

SET ROLE regress_unlearn_reader;
SELECT name, type, owner, state FROM unlearn.models ORDER BY name;
SELECT term, weight IS NOT NULL AS has_weight FROM unlearn.weights('spend');
SELECT count(*) AS lineage_rows FROM unlearn.lineage('spend');
SELECT * FROM unlearn.lineage_of('people', 7);
-- Reading parameters is not predicting, training, or auditing.
SELECT try($$SELECT unlearn.predict('spend', ARRAY[40, 5000, 0, 1, 0]::float8[])$$);
SELECT try($$SELECT * FROM unlearn.evaluate('spend')$$);
SELECT try($$SELECT unlearn.retrain('spend')$$);
SELECT try($$SELECT * FROM unlearn.erasure_log$$);
SELECT try($$SELECT hessian FROM unlearn.model$$);
SELECT try($$SELECT * FROM unlearn.verify_model('spend')$$);
RESET ROLE;

------------------------------------------------------------------------------
-- Audit
------------------------------------------------------------------------------

DELETE FROM people WHERE id = 3;
SET ROLE regress_unlearn_auditor;
SELECT event, model_name, method, rows FROM unlearn.erasure_log ORDER BY seq;
SELECT verdict, rows, rows_mismatched FROM unlearn.verify_model('spend');
SELECT event, model_name, method, current_user_name FROM unlearn.erasure_log
 WHERE event = 'verify';
-- The log is read-only for auditors too; parameters and lineage are not theirs.
SELECT try($$DELETE FROM unlearn.erasure_log$$);
SELECT try($$UPDATE unlearn.erasure_log SET rows = 0$$);
SELECT try($$SELECT * FROM unlearn.weights('spend')$$);
SELECT try($$SELECT * FROM unlearn.lineage_of('people', 7)$$);
SELECT try($$SELECT unlearn.predict('spend', ARRAY[40, 5000, 0, 1, 0]::float8[])$$);
RESET ROLE;

-- Capabilities are independent: revoking one leaves the others.
SELECT unlearn.grant_read('regress_unlearn_auditor');
SELECT unlearn.revoke_read('regress_unlearn_auditor');
SET ROLE regress_unlearn_auditor;
SELECT count(*) > 0 AS still_reads_log FROM unlearn.erasure_log;
SELECT try($$SELECT * FROM unlearn.models$$);
RESET ROLE;
SELECT unlearn.revoke_predict('regress_unlearn_predictor');
GRANT SELECT ON people TO regress_unlearn_predictor;
SET ROLE regress_unlearn_predictor;
SELECT try($$SELECT unlearn.predict('spend', ARRAY[40, 5000, 0, 1, 0]::float8[])$$);
RESET ROLE;

------------------------------------------------------------------------------
-- A stored filter runs with its owner's rights, in a security-restricted
-- operation -- never with the rights of whoever retrains or evaluates the
-- model.
------------------------------------------------------------------------------

CREATE SCHEMA regress_trojan AUTHORIZATION regress_unlearn_trainer;
SET ROLE regress_unlearn_trainer;
CREATE FUNCTION regress_trojan.adult(age float8) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN age >= 30; END $$;
SELECT name, rows_trained FROM unlearn.create_model('adults', 'people', 'spend', ARRAY['age'],
                                                    'linear', '{"where": "regress_trojan.adult(age)"}');
-- The owner then turns its function into a trojan that reads what only a
-- superuser may read.
CREATE OR REPLACE FUNCTION regress_trojan.adult(age float8) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RAISE NOTICE 'the filter read "%"', (SELECT note FROM public.secrets LIMIT 1);
    RETURN age >= 30;
END $$;
RESET ROLE;
-- A superuser retraining or evaluating the model does not lend it rights.
SELECT try($$SELECT unlearn.retrain('adults')$$);
SELECT try($$SELECT * FROM unlearn.evaluate('adults')$$);
-- Nor can it leave the restricted operation.
SET ROLE regress_unlearn_trainer;
CREATE OR REPLACE FUNCTION regress_trojan.adult(age float8) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM set_config('role', 'none', true);
    RETURN age >= 30;
END $$;
RESET ROLE;
SELECT try($$SELECT unlearn.retrain('adults')$$);
SET ROLE regress_unlearn_trainer;
CREATE OR REPLACE FUNCTION regress_trojan.adult(age float8) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN age >= 30; END $$;
RESET ROLE;
SELECT name, version, rows_trained FROM unlearn.retrain('adults');
SELECT metric FROM unlearn.evaluate('adults') ORDER BY metric;

-- A filter runs with search_path pinned, whoever runs it: a caller's
-- operator cannot slip into a function the filter calls and run with the
-- owner's rights.  The owner's filter reads a table of its own ...
SET ROLE regress_unlearn_trainer;
CREATE TABLE regress_trojan.vip (id int);
INSERT INTO regress_trojan.vip VALUES (1), (5), (9);
-- (Declared IMMUTABLE, as a filter's functions must be: the owner's word,
-- as for an index expression.)
CREATE FUNCTION regress_trojan.is_vip(i int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RETURN EXISTS (SELECT 1 FROM regress_trojan.vip v WHERE v.id = i); END $$;
SELECT name, rows_trained FROM unlearn.create_model('not_vip', 'people', 'spend', ARRAY['age'],
                                                    'linear', '{"where": "NOT regress_trojan.is_vip(id)"}');
RESET ROLE;
-- ... which a predicting role may not read, and tries to through its own "=".
SELECT unlearn.grant_predict('regress_unlearn_predictor');
CREATE TABLE loot (who name, id int);
GRANT INSERT ON loot TO PUBLIC;
CREATE SCHEMA regress_evil AUTHORIZATION regress_unlearn_predictor;
SET ROLE regress_unlearn_predictor;
SELECT try($$SELECT * FROM regress_trojan.vip$$);
CREATE FUNCTION regress_evil.steal(a int, b int) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN
    INSERT INTO public.loot SELECT current_user, v.id FROM regress_trojan.vip v;
    RETURN a OPERATOR(pg_catalog.=) b;
END $$;
CREATE OPERATOR regress_evil.= (LEFTARG = int, RIGHTARG = int, FUNCTION = regress_evil.steal);
GRANT USAGE ON SCHEMA regress_evil TO PUBLIC;
SET search_path = regress_evil, pg_catalog, public;
SELECT try($$SELECT unlearn._model_filter('not_vip', p) FROM public.people p
                   WHERE p.id OPERATOR(pg_catalog.=) 2$$);
SELECT metric FROM unlearn.evaluate('not_vip') ORDER BY metric;
RESET search_path;
RESET ROLE;
-- Nor through a superuser who retrains the model with that search_path.
SET search_path = regress_evil, pg_catalog, public;
SELECT name, rows_trained FROM unlearn.retrain('not_vip');
RESET search_path;
SELECT count(*) AS stolen FROM loot;

-- Filters cannot read other rows or tables as anyone: no subqueries.
SET ROLE regress_unlearn_trainer;
SELECT try($$SELECT unlearn.create_model('sneaky', 'people', 'spend', ARRAY['age'], 'linear',
                                         '{"where": "EXISTS (SELECT 1 FROM public.secrets)"}')$$);
RESET ROLE;

-- A model whose owner was dropped: its filter has no one to run as, until
-- a superuser gives it a new owner.
CREATE ROLE regress_unlearn_leaver;
SELECT unlearn.grant_train('regress_unlearn_leaver');
GRANT SELECT, DELETE ON people TO regress_unlearn_leaver;
SET ROLE regress_unlearn_leaver;
SELECT name FROM unlearn.create_model('orphan', 'people', 'spend', ARRAY['age'], 'linear',
                                      '{"where": "age < 60"}');
RESET ROLE;
SELECT unlearn.revoke_train('regress_unlearn_leaver');
REVOKE ALL ON people FROM regress_unlearn_leaver;
-- Here, where its models are (and the library is loaded), dropping the
-- role is refused ...
SELECT try($$DROP ROLE regress_unlearn_leaver$$);
-- ... but from a database without them PostgreSQL alone decides: the
-- role goes, and the model is left without an owner.
SELECT current_database() AS db \gset
\c postgres
DROP ROLE regress_unlearn_leaver;
\c :db
-- The next UPDATE of a training row cannot check it against the filter:
-- the model is marked (logged), not left serving a row it may not hold.
UPDATE people SET spend = spend + 1 WHERE id = (SELECT min(id) FROM people WHERE age < 60);
SELECT name, state FROM unlearn.models WHERE name = 'orphan';
SELECT event, method, rows, cardinality(key_digests) AS digests, detail FROM unlearn.erasure_log
 WHERE model_name = 'orphan' ORDER BY seq DESC LIMIT 1;
SELECT try($$SELECT unlearn.retrain('orphan')$$);
SELECT unlearn.alter_model_owner('orphan', 'regress_unlearn_trainer');
SELECT name, owner, version FROM unlearn.retrain('orphan');

------------------------------------------------------------------------------
-- The erasure triggers are recognised by function and event, not by name.
------------------------------------------------------------------------------

-- A table's owner holding one of their names with a trigger of its own
-- does not switch erasure off: training refuses the table.
CREATE TABLE decoy (id int PRIMARY KEY, x float8, y float8);
INSERT INTO decoy SELECT g, g, 3 * g + priv_u(g, 1) FROM generate_series(1, 30) g;
ALTER TABLE decoy OWNER TO regress_unlearn_colleague;
GRANT SELECT, DELETE ON decoy TO regress_unlearn_trainer;
CREATE FUNCTION decoy_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
SET ROLE regress_unlearn_colleague;
CREATE TRIGGER unlearn_erase_delete AFTER DELETE ON decoy
    FOR EACH STATEMENT EXECUTE FUNCTION decoy_noop();
RESET ROLE;
SET ROLE regress_unlearn_trainer;
SELECT try($$SELECT unlearn.create_model('decoyed', 'decoy', 'y')$$);
RESET ROLE;
SELECT count(*) AS decoyed_models FROM unlearn.models WHERE name = 'decoyed';
SET ROLE regress_unlearn_colleague;
DROP TRIGGER unlearn_erase_delete ON decoy;
RESET ROLE;
SET ROLE regress_unlearn_trainer;
SELECT name, rows_trained FROM unlearn.create_model('decoyed', 'decoy', 'y');
RESET ROLE;
-- The table's owner cannot switch erasure off: disabling, dropping,
-- renaming or replacing an erasure trigger is refused ...
SET ROLE regress_unlearn_colleague;
SELECT try($$ALTER TABLE decoy DISABLE TRIGGER unlearn_erase_delete$$);
SELECT try($$ALTER TABLE decoy DISABLE TRIGGER ALL$$);
SELECT try($$ALTER TABLE decoy ENABLE TRIGGER unlearn_erase_delete$$);
SELECT try($$DROP TRIGGER unlearn_erase_truncate ON decoy$$);
SELECT try($$ALTER TRIGGER unlearn_erase_update ON decoy RENAME TO mine$$);
SELECT try($$CREATE OR REPLACE TRIGGER unlearn_erase_delete AFTER DELETE ON decoy
             FOR EACH STATEMENT EXECUTE FUNCTION decoy_noop()$$);
RESET ROLE;
-- ... a superuser may, and the model is marked at once; the next training
-- enables the trigger again.
ALTER TABLE decoy DISABLE TRIGGER unlearn_erase_delete;
SELECT name, state FROM unlearn.models WHERE name = 'decoyed';
SELECT event, method, detail FROM unlearn.erasure_log WHERE model_name = 'decoyed'
 ORDER BY seq DESC LIMIT 1;
SET ROLE regress_unlearn_trainer;
SELECT name, version, state FROM unlearn.retrain('decoyed');
RESET ROLE;
SELECT tgname, tgfoid::regproc, tgenabled FROM pg_trigger
 WHERE tgrelid = 'decoy'::regclass ORDER BY tgname;
-- Dropping the last model drops unlearn's triggers only: the owner's own
-- trigger under one of their names (one this table does not need) stays.
SET ROLE regress_unlearn_colleague;
CREATE TRIGGER unlearn_collect_delete AFTER DELETE ON decoy
    FOR EACH ROW EXECUTE FUNCTION decoy_noop();
RESET ROLE;
SET ROLE regress_unlearn_trainer;
SELECT unlearn.drop_model('decoyed');
RESET ROLE;
SELECT tgname, tgfoid::regproc FROM pg_trigger WHERE tgrelid = 'decoy'::regclass ORDER BY tgname;

-- Install script hygiene: every SECURITY DEFINER function pins search_path,
-- and nothing but version() and build_info() is executable by PUBLIC.
SELECT p.oid::regprocedure AS security_definer, p.proconfig
  FROM pg_proc p WHERE p.pronamespace = 'unlearn'::regnamespace AND p.prosecdef
 ORDER BY p.oid::regprocedure::text;
SELECT p.oid::regprocedure AS executable_by_public
  FROM pg_proc p WHERE p.pronamespace = 'unlearn'::regnamespace
   AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text;
-- _predict_shipped is PUBLIC: it reads no catalog, and computes only from
-- the model its caller gives it (the planner, over a Citus table, after
-- checking the predict capability); a malformed one is refused.
SELECT unlearn._predict_shipped('m', '{7130502, 1, 0, 0, 0.5, 2}'::float8[], '{a}'::text[], 0,
                                '(0,1)'::tid, 3.0) AS shipped;
SELECT unlearn._predict_shipped('m', '{1, 2}'::float8[], '{a}'::text[], 0, '(0,1)'::tid, 3.0);
SELECT unlearn._predict_shipped('m', '{7130502, 1, 0, 0, 0.5, 2}'::float8[], '{a}'::text[], 0,
                                '(0,1)'::tid, 3.0, 4.0);
SELECT unlearn._predict_shipped('m', '{7130502, 1, 0, 0, 0.5, 2}'::float8[], '{a}'::text[], 7,
                                '(0,1)'::tid, 3.0);

-- Clean up.
SELECT count(unlearn.drop_model(name)) FROM unlearn.models;
DROP EXTENSION unlearn;
DROP SCHEMA regress_trojan CASCADE;
DROP SCHEMA regress_evil CASCADE;
DROP SCHEMA regress_hidden CASCADE;
DROP TABLE people, visitors, secrets, superuser_view, tenant_rows, loot, decoy;
DROP FUNCTION decoy_noop();
DROP ROLE regress_unlearn_trainer, regress_unlearn_colleague, regress_unlearn_predictor,
    regress_unlearn_reader, regress_unlearn_auditor, regress_unlearn_nobody;
DROP FUNCTION try(text);
DROP FUNCTION priv_u(int, int);
