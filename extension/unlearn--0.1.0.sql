/* unlearn--0.1.0.sql: install script for the unlearn extension */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION unlearn" to load this file. \quit

COMMENT ON SCHEMA unlearn IS 'unlearn: in-database models that forget erased rows';

-- Version of the loaded shared library; equals the extension version.
CREATE FUNCTION unlearn.version()
RETURNS text
AS 'MODULE_PATHNAME', 'unlearn_version'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The components the library was built and linked with (for bug reports).
CREATE FUNCTION unlearn.build_info(OUT component text, OUT version text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'unlearn_build_info'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

REVOKE ALL ON FUNCTION unlearn.version() FROM PUBLIC;
REVOKE ALL ON FUNCTION unlearn.build_info() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION unlearn.version() TO PUBLIC;
GRANT EXECUTE ON FUNCTION unlearn.build_info() TO PUBLIC;
