-- Test-only helpers for the training suites (schema unlearn_test).
CREATE SCHEMA unlearn_test;

-- Optimality check independent of the trainer: |grad L(theta)| / |grad L(0)|
-- for a stored model, with the gradient of its objective
--   sum_i l(x_i' theta; y_i) + (l2/2) sum_j v_j w_j^2
-- recomputed here in SQL from the source rows, the stored terms (how each
-- input is encoded and scaled) and the stored parameters.  v_j is 1, but
-- for a standardized numeric term the variance (population) of its stored
-- encoding over the current rows: a retrain would scale it by that spread,
-- so that is the objective an erased model's frame carries (its penalty
-- shift, src/preprocessing.c); right after training it is 1.  It is 0 at
-- the optimum, up to rounding.
CREATE FUNCTION unlearn_test.relative_gradient(model_name text, relative boolean DEFAULT true)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    m unlearn.model;
    t record;
    x text;
    z text := '0';
    cols text[] := '{}';
    sums text[] := '{}';
    sums0 text[] := '{}';
    spreads text[] := '{}';
    spread float8[];
    resid text;
    resid0 text;
    num text;
    cond text;
    g float8[];
    g0 float8[];
    l2 float8;
BEGIN
    SELECT * INTO STRICT m FROM unlearn.model WHERE name = model_name;
    l2 := (m.options->>'l2')::float8;
    FOR t IN SELECT * FROM unlearn.model_term WHERE model_id = m.model_id
              ORDER BY position LOOP
        -- booleans have no cast to float8: go through int
        num := CASE WHEN (SELECT atttypid FROM pg_attribute
                           WHERE attrelid = m.source AND attname = t.column_name)
                         = 'boolean'::regtype THEN '::int' ELSE '' END;
        x := CASE
            WHEN t.column_name IS NULL THEN '1::float8'
            WHEN t.level IS NULL THEN
                format('(((%I)%s::float8 - %s::float8) / %s::float8)',
                       t.column_name, num, t.center, t.scale)
            ELSE format('((%I)::text = %L)::int::float8', t.column_name, t.level)
        END;
        z := z || format(' + %s::float8 * %s', m.theta[t.position], x);
        sums := sums || format('sum(unlearn_r * %s)', x);
        sums0 := sums0 || format('sum(unlearn_r0 * %s)', x);
        spreads := spreads || CASE WHEN t.column_name IS NOT NULL AND t.level IS NULL
                                        AND (m.options->>'standardize')::boolean
                                   THEN format('var_pop(%s)', x) ELSE '1::float8' END;
        IF t.column_name IS NOT NULL AND NOT t.column_name = ANY (cols) THEN
            cols := cols || t.column_name;
        END IF;
    END LOOP;
    SELECT string_agg(format('%I IS NOT NULL', c), ' AND ') INTO cond
      FROM unnest(cols || m.target_column) c;
    IF m.options ? 'where' THEN
        cond := cond || ' AND (' || (m.options->>'where') || ')';
    END IF;
    IF m.model_type = 'logistic' THEN
        resid := 'CASE WHEN unlearn_z >= 0 THEN 1 / (1 + exp(-unlearn_z)) ELSE exp(unlearn_z) / (1 + exp(unlearn_z)) END - unlearn_y';
        resid0 := '0.5 - unlearn_y';
    ELSIF m.model_type = 'poisson' THEN
        resid := 'exp(unlearn_z) - unlearn_y';
        resid0 := '1 - unlearn_y';
    ELSE
        resid := 'unlearn_z - unlearn_y';
        resid0 := '0 - unlearn_y';
    END IF;
    num := CASE WHEN (SELECT atttypid FROM pg_attribute
                       WHERE attrelid = m.source AND attname = m.target_column)
                     = 'boolean'::regtype THEN '::int' ELSE '' END;
    EXECUTE format('SELECT ARRAY[%s], ARRAY[%s], ARRAY[%s] FROM (SELECT a.*, %s AS unlearn_r, %s AS unlearn_r0 FROM'
                   ' (SELECT s.*, %s AS unlearn_z, (%I)%s::float8 AS unlearn_y FROM ONLY %s s WHERE %s) a) b',
                   array_to_string(sums, ', '), array_to_string(sums0, ', '),
                   array_to_string(spreads, ', '),
                   resid, resid0, z, m.target_column, num, m.source, cond)
      INTO g, g0, spread;
    FOR i IN 1 .. m.n_params LOOP
        IF (SELECT column_name IS NOT NULL FROM unlearn.model_term
             WHERE model_id = m.model_id AND position = i) THEN
            g[i] := g[i] + l2 * spread[i] * m.theta[i];
        END IF;
    END LOOP;
    RETURN sqrt((SELECT sum(v * v) FROM unnest(g) v))
         / CASE WHEN relative THEN greatest(1, sqrt((SELECT sum(v * v) FROM unnest(g0) v)))
                ELSE 1 END;
END
$$;

-- |grad L(theta)| of a model's objective on its source's current rows,
-- recomputed in SQL: what the erasure bound must not be below.
CREATE FUNCTION unlearn_test.gradient_norm(model_name text)
RETURNS float8 LANGUAGE sql AS $$
    SELECT unlearn_test.relative_gradient(model_name, false)
$$;

-- Whether a model's claimed bound B holds: |grad L(theta)| recomputed in
-- SQL is at most B, up to the rounding verify_model also allows (1e-9 of
-- |grad L| at the start of training: two sums over the same rows in
-- another order differ by that much).
CREATE FUNCTION unlearn_test.bound_holds(model_name text)
RETURNS boolean LANGUAGE sql AS $$
    SELECT unlearn_test.gradient_norm(model_name) <= error_bound + 1e-9 * gradient_scale
      FROM unlearn.model WHERE name = model_name
$$;

-- The linear predictor of a row computed by hand from unlearn.weights'
-- raw (source-unit) weights: intercept + sum of raw_weight * value, with
-- categorical terms as 0/1 indicators.  The row comes as jsonb (pass real
-- columns as float8: jsonb would round them to their shortest text).
CREATE FUNCTION unlearn_test.hand_predictor(model_name text, r jsonb)
RETURNS float8 LANGUAGE sql AS $$
    SELECT sum(CASE
        WHEN w.column_name IS NULL THEN w.raw_weight
        WHEN w.level IS NULL THEN
            w.raw_weight * (CASE jsonb_typeof(r -> w.column_name)
                              WHEN 'boolean' THEN (r ->> w.column_name)::boolean::int::float8
                              ELSE (r ->> w.column_name)::float8 END)
        ELSE w.raw_weight * ((r ->> w.column_name) = w.level)::int
    END)
    FROM unlearn.weights(model_name) w
$$;

-- Largest relative difference between two models' weights, term by term.
CREATE FUNCTION unlearn_test.weight_difference(a text, b text)
RETURNS float8 LANGUAGE sql AS $$
    SELECT max(abs(x.weight - y.weight)) / max(abs(y.weight))
      FROM unlearn.weights(a) x JOIN unlearn.weights(b) y USING (term)
$$;

-- Largest difference between a model's weights and a reference's (the
-- same terms in weights order, e.g. numpy's or scikit-learn's), relative to
-- the reference's largest.
CREATE FUNCTION unlearn_test.relative_difference(model text, reference float8[])
RETURNS float8 LANGUAGE sql AS $$
    SELECT max(abs(w.weight - reference[w.o])) / max(abs(reference[w.o]))
      FROM unlearn.weights(model) WITH ORDINALITY AS w(term, c, l, weight, raw_weight, o)
$$;

-- |theta_a - theta_b| / |theta_c - theta_b|: a model's distance from a
-- reference relative to another model's (e.g. erased vs retrained, over
-- original vs retrained: the share of the erasure's shift left undone).
CREATE FUNCTION unlearn_test.relative_shift(a text, b text, c text)
RETURNS float8 LANGUAGE sql AS $$
    SELECT sqrt(sum((x.weight - y.weight) ^ 2)) / nullif(sqrt(sum((z.weight - y.weight) ^ 2)), 0)
      FROM unlearn.weights(a) x JOIN unlearn.weights(b) y USING (term)
      JOIN unlearn.weights(c) z USING (term)
$$;

-- How many times this backend loaded a model's erasure state from the
-- tables instead of reusing the state its last erasure left (src/erasure_state.c).
CREATE FUNCTION unlearn_test.erasure_state_loads() RETURNS bigint
AS '$libdir/unlearn', 'unlearn_test_erasure_state_loads' LANGUAGE C STRICT;
