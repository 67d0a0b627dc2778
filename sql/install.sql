--
-- CREATE EXTENSION in a fresh database creates only objects in schema
-- unlearn; DROP EXTENSION removes every one of them.
--
SELECT count(*) AS unlearn_schemas FROM pg_namespace WHERE nspname = 'unlearn';
CREATE EXTENSION unlearn;

-- The shared library and the SQL script agree on the version.
SELECT unlearn.version() = extversion AS versions_match
  FROM pg_extension WHERE extname = 'unlearn';

-- Linked components: OpenBLAS under LAPACKE, and PostgreSQL 15.
SELECT component,
       CASE component
         WHEN 'blas' THEN version LIKE 'OpenBLAS %'
         WHEN 'lapack' THEN version ~ '^3\.[0-9]+\.[0-9]+$'
         WHEN 'postgresql' THEN version LIKE '15.%'
         ELSE version = unlearn.version()
       END AS as_expected
  FROM unlearn.build_info() ORDER BY component;

-- Every member of the extension, with its schema.
SELECT pg_describe_object(classid, objid, objsubid) AS member,
       (pg_identify_object(classid, objid, objsubid)).schema AS schema
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'unlearn')
 ORDER BY 1;

-- Nothing the extension owns lives outside schema unlearn (but its event
-- triggers, which belong to no schema), and those fire always.
SELECT count(*) AS members_outside_unlearn
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND classid <> 'pg_event_trigger'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'unlearn')
   AND coalesce((pg_identify_object(classid, objid, objsubid)).schema, '') <> 'unlearn';
SELECT evtname, evtevent, evtenabled, evtfoid::regproc FROM pg_event_trigger ORDER BY evtname;

-- Every function in schema unlearn belongs to the extension.
SELECT count(*) AS stray_functions
  FROM pg_proc p
 WHERE p.pronamespace = 'unlearn'::regnamespace
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                      AND d.deptype = 'e');

-- Model state is registered for pg_dump, and closed to PUBLIC.
SELECT unnest(extconfig)::regclass AS dumped_with_data
  FROM pg_extension WHERE extname = 'unlearn' ORDER BY 1;
SELECT c.relname, has_table_privilege('public', c.oid, 'SELECT') AS public_can_read
  FROM pg_class c
 WHERE c.relnamespace = 'unlearn'::regnamespace AND c.relkind IN ('r', 'v', 'S')
 ORDER BY 1;

-- Settings are defined once the library is loaded; the prefix is reserved.
SHOW unlearn.min_rcond;
SHOW unlearn.train_memory;
SET unlearn.min_rcond = 2;
SET unlearn.train_memory = 0;
SET unlearn.no_such_setting = 1;

-- Installing twice is refused.
CREATE EXTENSION unlearn;

DROP EXTENSION unlearn;

-- Nothing is left behind.
SELECT count(*) AS functions_left
  FROM pg_proc WHERE proname IN ('version', 'build_info')
   AND pronamespace::regnamespace::text = 'unlearn';
SELECT count(*) AS extension_left FROM pg_extension WHERE extname = 'unlearn';
-- CREATE EXTENSION made schema unlearn (control file: schema = unlearn).
-- PostgreSQL never makes that schema a member of the extension it holds,
-- so it outlives DROP EXTENSION, empty: no relation, function or type.
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'unlearn'::regnamespace)
     + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'unlearn'::regnamespace)
     + (SELECT count(*) FROM pg_type WHERE typnamespace = 'unlearn'::regnamespace)
       AS objects_left_in_schema;
-- Being empty, it drops without CASCADE.
DROP SCHEMA unlearn;

-- A schema unlearn that exists beforehand must be a superuser's that no
-- other role may create objects in: objects a role placed there would be
-- found by name by the install script and by every caller of the
-- extension's functions.
\set ECHO none
\i test/try.sql
\set ECHO all
CREATE ROLE regress_unlearn_squatter;
CREATE SCHEMA unlearn AUTHORIZATION regress_unlearn_squatter;
SET ROLE regress_unlearn_squatter;
CREATE FUNCTION unlearn.predict(model text, input int[]) RETURNS float8
LANGUAGE sql AS $$ SELECT 0::float8 $$;
RESET ROLE;
SELECT try('CREATE EXTENSION unlearn');
DROP SCHEMA unlearn CASCADE;
CREATE SCHEMA unlearn;
GRANT CREATE ON SCHEMA unlearn TO regress_unlearn_squatter;
SELECT try('CREATE EXTENSION unlearn');
-- A superuser's own schema is used (a restored dump creates it first).
REVOKE CREATE ON SCHEMA unlearn FROM regress_unlearn_squatter;
SELECT try('CREATE EXTENSION unlearn');
SELECT extname FROM pg_extension WHERE extname = 'unlearn';
DROP EXTENSION unlearn;
DROP SCHEMA unlearn;
DROP ROLE regress_unlearn_squatter;
DROP FUNCTION try(text);
