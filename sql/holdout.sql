--
-- Held-out evaluation: the option holdout keeps a deterministic, key-hashed
-- share of the rows out of training (not in lineage, counted in
-- rows_held_out), and evaluate scores the held-out rows by default.  On
-- the real dataset (WDBC).  A DELETE of a held-out row changes only the
-- held-out metrics; an UPDATE that moves a training row to a held-out key
-- takes it out of the model, as a retrain would.
--
CREATE EXTENSION unlearn;
\set ECHO none
\i test/try.sql
\set ECHO all
\set wdbc_table ho
\i test/data/wdbc_table.sql
\copy ho FROM 'test/data/wdbc.csv' WITH (FORMAT csv, HEADER true)

-- Bad input: each with its error.
SELECT try($$SELECT unlearn.create_model('h', 'ho', 'benign', ARRAY['mean_radius'], 'logistic', '{"holdout": 1}')$$);
SELECT try($$SELECT unlearn.create_model('h', 'ho', 'benign', ARRAY['mean_radius'], 'logistic', '{"holdout": -0.1}')$$);
SELECT try($$SELECT unlearn.create_model('h', 'ho', 'benign', ARRAY['mean_radius'], 'logistic', '{"holdout": 1.5}')$$);
SELECT try($$SELECT unlearn.create_model('h', 'ho', 'benign', ARRAY['mean_radius'], 'logistic', '{"holdout": "a fifth"}')$$);
SELECT try($$SELECT unlearn.create_model('h', 'ho', 'benign', ARRAY['mean_radius'], 'logistic', '{"holdout": 0.999999999}')$$);

-- A fifth held out, logistic and ridge on the same columns.
SELECT name FROM unlearn.create_model('hl', 'ho', 'benign',
    ARRAY['mean_radius', 'mean_texture', 'mean_smoothness', 'mean_symmetry'],
    'logistic', '{"holdout": 0.2}');
SELECT name FROM unlearn.create_model('hr', 'ho', 'benign',
    ARRAY['mean_radius', 'mean_texture', 'mean_smoothness', 'mean_symmetry'],
    'linear', '{"holdout": 0.2}');
SELECT name, rows, rows_held_out, rows + rows_held_out AS total, options->'holdout' AS holdout
  FROM unlearn.models ORDER BY name;
-- The same rows for both models (the split is by key alone), none of them in lineage.
SELECT (SELECT array_agg(key ORDER BY key) FROM unlearn.lineage('hl'))
     = (SELECT array_agg(key ORDER BY key) FROM unlearn.lineage('hr')) AS same_split;
CREATE TABLE ho_train AS SELECT * FROM ho WHERE id::text IN (SELECT key FROM unlearn.lineage('hl'));
CREATE TABLE ho_held AS SELECT * FROM ho WHERE id::text NOT IN (SELECT key FROM unlearn.lineage('hl'));
ALTER TABLE ho_train ADD PRIMARY KEY (id);
SELECT count(*) AS held, sum(benign) AS benign FROM ho_held;
-- Trained on exactly the lineage rows: a model on a copy of them is the same.
SELECT name FROM unlearn.create_model('hl_ref', 'ho_train', 'benign',
    ARRAY['mean_radius', 'mean_texture', 'mean_smoothness', 'mean_symmetry'], 'logistic');
SELECT max(abs(a.raw_weight - b.raw_weight)) / max(abs(b.raw_weight)) < 1e-10 AS trained_on_lineage
  FROM unlearn.weights('hl') a JOIN unlearn.weights('hl_ref') b USING (term);

-- evaluate: the held-out rows by default, the same as scoring a copy of them.
SELECT metric, round(value::numeric, 10) AS value FROM unlearn.evaluate('hl');
SELECT count(*) AS metrics_that_differ
  FROM unlearn.evaluate('hl') a FULL JOIN unlearn.evaluate('hl', 'ho_held') b USING (metric)
 WHERE a.value IS DISTINCT FROM b.value;
-- The metrics recomputed in SQL from the predictions.
WITH s AS (SELECT benign AS t, (unlearn.predict_proba('hl', h) >= 0.5)::int AS q FROM ho_held h),
     c AS (SELECT count(*) FILTER (WHERE t = 1 AND q = 1)::float8 AS tp,
                  count(*) FILTER (WHERE t = 0 AND q = 1)::float8 AS fp,
                  count(*) FILTER (WHERE t = 1 AND q = 0)::float8 AS fn,
                  count(*) FILTER (WHERE t = 0 AND q = 0)::float8 AS tn FROM s),
     e AS (SELECT metric, value FROM unlearn.evaluate('hl'))
SELECT abs((SELECT value FROM e WHERE metric = 'precision_1') - tp / (tp + fp)) < 1e-12 AS precision_1,
       abs((SELECT value FROM e WHERE metric = 'recall_1') - tp / (tp + fn)) < 1e-12 AS recall_1,
       abs((SELECT value FROM e WHERE metric = 'f1_1') - 2 * tp / (2 * tp + fp + fn)) < 1e-12 AS f1_1,
       abs((SELECT value FROM e WHERE metric = 'recall_0') - tn / (tn + fp)) < 1e-12 AS recall_0,
       abs((SELECT value FROM e WHERE metric = 'macro_f1')
           - (2 * tp / (2 * tp + fp + fn) + 2 * tn / (2 * tn + fn + fp)) / 2) < 1e-12 AS macro_f1,
       (SELECT value FROM e WHERE metric = 'confusion_1_0') = fn AS confusion_1_0,
       (SELECT sum(value) FROM e WHERE metric LIKE 'confusion%') = tp + fp + fn + tn AS confusion_total
  FROM c;
SELECT metric, round(value::numeric, 10) AS value FROM unlearn.evaluate('hr');
SELECT abs((SELECT value FROM unlearn.evaluate('hr') WHERE metric = 'mae')
           - (SELECT avg(abs(unlearn.predict('hr', h) - benign)) FROM ho_held h)) < 1e-12 AS mae;
-- On another relation, every row of it: the training copy.
SELECT value AS rows FROM unlearn.evaluate('hl', 'ho_train') WHERE metric = 'rows';

-- A DELETE of held-out rows: no erasure, the model as it was, fewer rows scored.
SELECT max(seq) AS seq0 FROM unlearn.erasure_log \gset
DELETE FROM ho WHERE id IN (SELECT id FROM ho_held ORDER BY id LIMIT 5);
SELECT count(*) AS entries FROM unlearn.erasure_log WHERE seq > :seq0;
SELECT name, version, rows FROM unlearn.models WHERE name IN ('hl', 'hr') ORDER BY name;
SELECT value AS rows FROM unlearn.evaluate('hl') WHERE metric = 'rows';
-- A DELETE of training rows: erased as ever.
DELETE FROM ho WHERE id IN (SELECT id FROM ho_train ORDER BY id LIMIT 5);
SELECT model_name, method, rows FROM unlearn.erasure_log WHERE seq > :seq0 ORDER BY seq;
SELECT value AS rows FROM unlearn.evaluate('hl') WHERE metric = 'rows';

-- An UPDATE that gives a training row a held-out key: it leaves the
-- model (a retrain would hold it out), logged as a rectification.
CREATE TABLE ho_keys AS SELECT g AS id, (g % 7)::float8 AS x, g % 2 AS y FROM generate_series(2000000000, 2000000200) g;
ALTER TABLE ho_keys ADD PRIMARY KEY (id);
SELECT name FROM unlearn.create_model('hk', 'ho_keys', 'y', ARRAY['x'], 'logistic', '{"holdout": 0.2}');
SELECT min(id) AS held_key FROM ho_keys WHERE id::text NOT IN (SELECT key FROM unlearn.lineage('hk')) \gset
SELECT min(id) AS train_key FROM ho_keys WHERE id::text IN (SELECT key FROM unlearn.lineage('hk')) \gset
SELECT max(seq) AS seq1 FROM unlearn.erasure_log \gset
UPDATE ho SET id = :held_key WHERE id = (SELECT min(key::bigint) FROM unlearn.lineage('hl'));
SELECT model_name, event, method, rows FROM unlearn.erasure_log WHERE seq > :seq1 ORDER BY seq;
SELECT count(*) AS in_lineage FROM unlearn.lineage('hl') WHERE key = :'held_key';
-- ... and to a training key, it stays (as a rectification of its values: none changed).
UPDATE ho SET id = :train_key WHERE id = (SELECT min(key::bigint) FROM unlearn.lineage('hl'));
SELECT count(*) AS in_lineage FROM unlearn.lineage('hl') WHERE key = :'train_key';

-- After all that, the model equals a fresh fit on its training rows.
SELECT name, rows, rows_held_out FROM unlearn.models WHERE name IN ('hl', 'hr') ORDER BY name;
SELECT verdict, reason FROM unlearn.verify_model('hl');
SELECT verdict, reason FROM unlearn.verify_model('hr');
-- A retrain holds out the same keys (those left of the first split).
SELECT array_agg(key ORDER BY key) AS before FROM unlearn.lineage('hr') \gset
SELECT rows_held_out FROM unlearn.retrain('hr');
SELECT (SELECT array_agg(key ORDER BY key) FROM unlearn.lineage('hr')) = :'before'::text[] AS same_rows;

SELECT unlearn.drop_model(name) FROM unlearn.models ORDER BY name;
DROP TABLE ho, ho_train, ho_held, ho_keys;
DROP FUNCTION try(text);
DROP EXTENSION unlearn;
