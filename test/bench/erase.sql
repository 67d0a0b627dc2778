-- test/bench/erase.sql: what the erasure benchmarks add to bench, before any
-- row of it is deleted: its plain twin bench_plain (the same rows, never a
-- model), bench_acc (the same rows again, for the accuracy section) and the
-- accuracy check of an erased model against a fresh fit on the rows left.
\set ON_ERROR_STOP on

CREATE TABLE bench_plain AS SELECT * FROM bench;
ALTER TABLE bench_plain ADD PRIMARY KEY (id);
VACUUM ANALYZE bench_plain;
CREATE TABLE bench_acc AS SELECT * FROM bench;
ALTER TABLE bench_acc ADD PRIMARY KEY (id);
VACUUM ANALYZE bench_acc;

-- Weights of models at the start of a sequence of erasures (w0).
CREATE TABLE bench_w0 (model_name text, term text, weight float8);

-- Keeps the weights a model has now as its w0.
CREATE FUNCTION bench_mark(model text) RETURNS void LANGUAGE sql AS $$
    DELETE FROM bench_w0 WHERE model_name = model;
    INSERT INTO bench_w0 SELECT model, term, weight FROM unlearn.weights(model);
$$;

-- Fits a reference (same source, target, features, type and options) on the
-- rows left, and compares the model with it term by term:
-- rel_err = max|w - w_ref| / max|w_ref|, undone = |w - w_ref| / |w0 - w_ref|.
CREATE FUNCTION bench_accuracy(model text, OUT rel_err float8, OUT undone float8)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM unlearn.create_model(model || '_ref', m.source, m.target_column,
                                 m.feature_columns, m.model_type, m.options)
       FROM unlearn.model m WHERE m.name = model;
    SELECT max(abs(w.weight - r.weight)) / max(abs(r.weight)),
           sqrt(sum((w.weight - r.weight) ^ 2)) / nullif(sqrt(sum((o.weight - r.weight) ^ 2)), 0)
      INTO rel_err, undone
      FROM unlearn.weights(model) w
      JOIN unlearn.weights(model || '_ref') r USING (term)
      JOIN bench_w0 o ON o.model_name = model AND o.term = w.term;
    PERFORM unlearn.drop_model(model || '_ref');
END
$$;

-- The same for a model with standardize on, in the source columns' units
-- (raw_weight): a fresh fit standardizes with the rows left, the erased
-- model keeps the centers and scales it was trained with.
CREATE FUNCTION bench_accuracy_raw(model text, OUT rel_err float8)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM unlearn.create_model(model || '_ref', m.source, m.target_column,
                                 m.feature_columns, m.model_type, m.options)
       FROM unlearn.model m WHERE m.name = model;
    SELECT max(abs(w.raw_weight - r.raw_weight)) / max(abs(r.raw_weight))
      INTO rel_err
      FROM unlearn.weights(model) w
      JOIN unlearn.weights(model || '_ref') r USING (term);
    PERFORM unlearn.drop_model(model || '_ref');
END
$$;

-- Every table then starts its DELETEs as bench does, after a checkpoint: a
-- page's first change writes a full-page image, on the plain twin too.
CHECKPOINT;
