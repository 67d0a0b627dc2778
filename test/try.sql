-- test/try.sql: try(sql) runs a statement and shows its error -- the
-- SQLSTATE (part of the contract), message, detail and hint -- or 'ok' if
-- there was none.  The suites that show errors load it (\i test/try.sql)
-- and drop it at their end; restricted roles may call it too.
CREATE FUNCTION try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
    hint text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || SQLERRM
        || CASE WHEN detail <> '' THEN E'\nDETAIL: ' || detail ELSE '' END
        || CASE WHEN hint <> '' THEN E'\nHINT: ' || hint ELSE '' END;
END
$$;
GRANT EXECUTE ON FUNCTION try(text) TO PUBLIC;
