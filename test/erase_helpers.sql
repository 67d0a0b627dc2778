-- Helpers of the suites that compare erased models with fresh fits
-- (included with \i; public schema, replaced if there).

-- Deterministic pseudo-random data: u(g, k) is uniform-ish in [0, 1).
CREATE OR REPLACE FUNCTION u(g int, k int) RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT ((g::bigint * 2654435761 + k * 40503) % 1000003) / 1000003.0 $$;

-- Trains model || '_ref' afresh, with the model's configuration, on its
-- source's current rows; returns its name.
CREATE OR REPLACE FUNCTION reference(model text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM unlearn.drop_model(m.name) FROM unlearn.model m WHERE m.name = model || '_ref';
    PERFORM unlearn.create_model(model || '_ref', m.source, m.target_column, m.feature_columns,
                                 m.model_type, m.options)
       FROM unlearn.model m WHERE m.name = model;
    RETURN model || '_ref';
END
$$;
