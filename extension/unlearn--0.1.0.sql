/* unlearn--0.1.0.sql: install script for the unlearn extension */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION unlearn" to load this file. \quit

-- Schema unlearn must be trustworthy before anything is created in it:
-- CREATE EXTENSION makes it when it is missing (owned by the installing
-- superuser), but uses one that exists, and objects another role placed
-- there beforehand would be found, by name, by this script and by every
-- caller of the extension's functions.  So an existing schema must belong
-- to a superuser (a dump restored by another superuser brings its own),
-- and no other role may create objects in it.
DO $$
DECLARE
    owner_name name;
    owner_is_superuser boolean;
    open_to name;
BEGIN
    SELECT r.rolname, r.rolsuper INTO owner_name, owner_is_superuser
      FROM pg_catalog.pg_namespace n
      JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
     WHERE n.nspname OPERATOR(pg_catalog.=) 'unlearn';
    IF NOT owner_is_superuser THEN
        RAISE EXCEPTION 'schema "unlearn" belongs to role "%", not to a superuser', owner_name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Objects that role made in the schema would run with the rights of the extension''s users.',
                  HINT = 'Drop or rename the schema and run CREATE EXTENSION again: it creates the schema.';
    END IF;
    SELECT coalesce(r.rolname, 'public') INTO open_to
      FROM pg_catalog.pg_namespace n
     CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) a
      LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
     WHERE n.nspname OPERATOR(pg_catalog.=) 'unlearn'
       AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
       AND NOT coalesce(r.rolsuper, false)
     LIMIT 1;
    IF open_to IS NOT NULL THEN
        RAISE EXCEPTION 'role "%" may create objects in schema "unlearn"', open_to
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Objects that role made in the schema would run with the rights of the extension''s users.',
                  HINT = 'Drop or rename the schema and run CREATE EXTENSION again: it creates the schema.';
    END IF;
END
$$;

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

-- Everyone may look names up in the schema (so version() is callable);
-- every other object is revoked from PUBLIC below and granted by
-- capability (unlearn.grant_train, grant_predict, grant_read, grant_audit).
GRANT USAGE ON SCHEMA unlearn TO PUBLIC;

------------------------------------------------------------------------------
-- Model storage.  All three tables are extension members registered with
-- pg_extension_config_dump, so pg_dump keeps their rows; nobody but the
-- extension's functions (and superusers) may touch them directly.
------------------------------------------------------------------------------

CREATE SEQUENCE unlearn.model_id_seq AS integer;

-- One row per model: what it was trained on, how, and its fitted state.
CREATE TABLE unlearn.model (
    model_id        integer PRIMARY KEY DEFAULT nextval('unlearn.model_id_seq'),
    name            text NOT NULL UNIQUE CHECK (name <> ''),
    model_type      text NOT NULL CHECK (model_type IN ('linear', 'logistic', 'poisson', 'multinomial')),
    source          regclass NOT NULL,
    source_id       integer NOT NULL,      -- unlearn.source_table: the log's name for it
    key_column      text NOT NULL,
    key_type        regtype NOT NULL,
    target_column   text NOT NULL,
    feature_columns text[] NOT NULL,
    skipped_features jsonb NOT NULL DEFAULT '{}',  -- features = NULL: {column: why it was left out}
    options         jsonb NOT NULL,
    n_params        integer NOT NULL CHECK (n_params > 0),
    theta           float8[] NOT NULL,     -- parameters, in term order
    hessian         float8[] NOT NULL,     -- Hessian of the objective at theta
    rows_trained    bigint NOT NULL,       -- rows of the last full fit
    rows_skipped    bigint NOT NULL,       -- left out for NULLs at that fit
    rows_held_out   bigint NOT NULL DEFAULT 0,  -- kept out by the option holdout at that fit
    rows_erased     bigint NOT NULL DEFAULT 0,  -- removed since
    objective       float8 NOT NULL,
    gradient_norm   float8 NOT NULL,
    rcond           float8 NOT NULL,       -- of the Jacobi-scaled Hessian (unlearn.min_rcond's test)
    iterations      integer NOT NULL,
    -- erasure state: sufficient statistics of the current rows
    xty             float8[] NOT NULL,     -- X'y (ridge: theta = hessian^-1 xty; logistic, poisson: empty)
    gram            float8[] NOT NULL,     -- X'X (logistic, poisson: bound, refresh; ridge: empty)
    theta_ref       float8[] NOT NULL,     -- logistic, poisson: where hessian was evaluated
    ref_gradient    float8[] NOT NULL,     -- logistic, poisson: grad L of the current rows at theta_ref
    max_row_norm    float8 NOT NULL,       -- max |x_i| over the training rows
    gradient_scale  float8 NOT NULL,       -- max(1, |grad L(theta_0)|): tolerance unit
    error_bound     float8 NOT NULL DEFAULT 0,  -- bound on |grad L(theta)| now
    separable       boolean NOT NULL DEFAULT false,  -- logistic, l2 = 0: a fit found the classes separable
    -- what the rounding of the kept sums depends on (src/removal.c): over
    -- the row terms summed since the sums were made from scratch, and over
    -- the current rows; a term's residual is y (ridge) or mu(x'theta_ref) - y
    sum_terms       bigint NOT NULL DEFAULT 0,  -- summation steps
    sum_norm2       float8 NOT NULL DEFAULT 0,  -- sum of |x|^2 over the terms
    rows_norm2      float8 NOT NULL DEFAULT 0,  -- sum of |x|^2 over the current rows
    sum_rnorm       float8 NOT NULL DEFAULT 0,  -- sum of |residual| |x| over the terms
    rows_rnorm      float8 NOT NULL DEFAULT 0,  -- the same over the current rows
    sum_znorm       float8 NOT NULL DEFAULT 0,  -- logistic, poisson: sum of |x| (|x|'|theta_ref|) over the terms
    positives       bigint NOT NULL DEFAULT 0,  -- logistic: current rows labelled 1; poisson: counts above 0
    -- logistic, poisson: at least the largest logit x'theta_ref of a current
    -- row (rounding included); the Poisson bound's curvature is e^max_logit
    max_logit       float8 NOT NULL DEFAULT -1.7976931348623157e308,
    -- standardize: the sums over the current rows of each term's value as
    -- stored (x - center) / scale, then of its square: n_params of each
    -- (0 for the intercept and levels); empty without standardize.  The
    -- remaining rows' mean and spread, which are the model's preprocessing
    -- after erasures (src/preprocessing.c, unlearn.preprocessing)
    feature_sums    float8[] NOT NULL DEFAULT '{}',
    version         bigint NOT NULL DEFAULT 1,
    state           text NOT NULL DEFAULT 'ready'
                    CHECK (state IN ('ready', 'needs_retrain', 'empty')),
    -- a background refresh is asked for (src/refresh_worker.c): a logistic
    -- model's bound passed unlearn.refresh_threshold of its erasure_tol;
    -- until one is done, erasures journal their rows for it
    -- (unlearn.refresh_journal)
    refresh_requested boolean NOT NULL DEFAULT false,
    owner           regrole NOT NULL,      -- the role that created it
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- The models of a table, found by the erasure triggers on every statement.
CREATE INDEX model_source_idx ON unlearn.model (source);

-- Parameters and Hessians are incompressible floats: store them as they are.
ALTER TABLE unlearn.model ALTER COLUMN theta SET STORAGE EXTERNAL;
ALTER TABLE unlearn.model ALTER COLUMN hessian SET STORAGE EXTERNAL;
ALTER TABLE unlearn.model ALTER COLUMN gram SET STORAGE EXTERNAL;

-- One row per parameter: what it multiplies and how the input is scaled.
-- center and scale are the frame theta and the erasure state are stored
-- in: the training rows' mean and spread at training, moved to the
-- remaining rows' whenever the kept matrices are stored again (see
-- unlearn.preprocessing for the model's preprocessing now).
CREATE TABLE unlearn.model_term (
    model_id     integer NOT NULL,
    position     integer NOT NULL,     -- 1-based index into theta
    column_name  text,                 -- NULL for the intercept
    level        text,                 -- categorical level, else NULL
    center       float8 NOT NULL,      -- the input enters as (x - center) / scale
    scale        float8 NOT NULL,
    level_rows   bigint,               -- training rows with this level
    PRIMARY KEY (model_id, position)
);

-- The classes of a multinomial model, in the target type's order: parameter
-- block position of theta is this class's (theta is class-major: block k
-- holds the model_term terms of class k).
CREATE TABLE unlearn.model_class (
    model_id     integer NOT NULL,
    position     integer NOT NULL,     -- 1-based: the class's block of theta
    label        text NOT NULL,        -- the class as the target type's output writes it
    rows         bigint NOT NULL,      -- current training rows of this class
    PRIMARY KEY (model_id, position)
);

-- Lineage: which source rows trained each model, in chunks of sorted keys.
-- A chunk holds the keys k with (previous chunk's upper_key) < k <= upper_key;
-- integer keys are stored as they are, other keys as a 64-bit hash with
-- their text alongside.  Each key has a fingerprint of the values it gave.
CREATE TABLE unlearn.lineage (
    model_id     integer NOT NULL,
    upper_key    bigint NOT NULL,
    keys         bigint[] NOT NULL,
    fingerprints bigint[] NOT NULL,
    key_texts    text[],
    PRIMARY KEY (model_id, upper_key)
);

-- Rows erased (sign +1) or added (-1) since a model's hessian and gram
-- were stored, in order: the sign, then the row's terms.  An erasure adds
-- its rows here instead of rewriting the d x d matrices; every so many
-- (removal.c) the matrices are stored again and these rows go.
CREATE TABLE unlearn.model_pending (
    model_id     integer NOT NULL,
    seq          integer NOT NULL,
    terms        float8[] NOT NULL,
    PRIMARY KEY (model_id, seq)
);
ALTER TABLE unlearn.model_pending ALTER COLUMN terms SET STORAGE EXTERNAL;

-- The rows each erasure took out of (or put into) a model while a
-- background refresh was asked for: the refresh folds those of versions
-- after its pass's snapshot into what the pass summed before it installs
-- its result.  One entry per version; a missing one (a retrain, a level
-- dropped, a bulk change) makes the refresh start again.  Transient: not
-- dumped.
CREATE TABLE unlearn.refresh_journal (
    model_id     integer NOT NULL,
    version      bigint NOT NULL,      -- the model's version after the change
    rows         integer NOT NULL,     -- rows in terms
    terms        float8[] NOT NULL,    -- per row: sign (+1 out, -1 in), label, terms
    PRIMARY KEY (model_id, version)
);
ALTER TABLE unlearn.refresh_journal ALTER COLUMN terms SET STORAGE EXTERNAL;

-- The tables models have been trained on, each with an identity that
-- survives renames (relation is a regclass: an OID while the database
-- lives, a name in a dump) and dump/restore (source_id is dumped as it is).
-- Log entries and key digests name a table by source_id.  A dropped
-- table's row stays, with relation NULL, for its log entries.
CREATE SEQUENCE unlearn.source_id_seq AS integer;
CREATE TABLE unlearn.source_table (
    source_id   integer PRIMARY KEY DEFAULT nextval('unlearn.source_id_seq'),
    relation    regclass UNIQUE,       -- NULL once the table is dropped
    name        text NOT NULL,         -- schema-qualified, as last seen
    key_type    regtype NOT NULL,      -- of its models' key: how a key given as text is read
    registered_at timestamptz NOT NULL DEFAULT now(),
    dropped_at  timestamptz
);

-- The erasure log: one entry per model and statement that changed it
-- through its source, and per model created, retrained, dropped or
-- verified.  Who, when, which transaction, what happened and how; the
-- SHA-256 of the parameters before and after; keyed digests
-- (HMAC-SHA256) of the erased rows' keys, never a key or a row's values.
-- entry_hash is the SHA-256 of the entry's canonical text (see
-- unlearn.log_entry_text).  Entries are written inside the changing
-- transaction, and at its commit one link of unlearn.erasure_log_chain
-- seals them into the chain (src/audit.c).  Append-only: no privilege but
-- SELECT is ever granted, and triggers refuse UPDATE, DELETE and TRUNCATE.
CREATE SEQUENCE unlearn.erasure_log_seq AS bigint;
CREATE TABLE unlearn.erasure_log (
    seq             bigint PRIMARY KEY,
    logged_at       timestamptz NOT NULL,
    session_user_name name NOT NULL,
    current_user_name name NOT NULL,   -- the role that made the change
    transaction_id  xid8 NOT NULL,
    event           text NOT NULL
                    CHECK (event IN ('erasure', 'rectification', 'truncate', 'detach',
                                     'schema_change', 'refresh', 'retrain', 'create', 'drop',
                                     'verify')),
    model_id        integer NOT NULL,
    model_name      text NOT NULL,
    source_id       integer,           -- unlearn.source_table
    source          text,              -- schema-qualified name at the time
    version_before  bigint,            -- NULL for create
    version_after   bigint,            -- NULL for drop
    rows            bigint NOT NULL,   -- rows taken out, changed, or trained on
    method          text
                    CHECK (method IN ('exact', 'newton', 'refresh', 'needs_retrain', 'empty',
                                      'train', 'retrain', 'verified', 'failed', 'cascade',
                                      'renamed')),
    step_norm       float8,            -- |theta_after - theta_before|
    error_bound     float8,            -- bound on the gradient residual after
    params_hash_before bytea CHECK (length(params_hash_before) = 32),
    params_hash_after  bytea CHECK (length(params_hash_after) = 32),
    request_reference text,            -- the setting unlearn.request_reference
    detail          text,              -- why, when the model could not be updated in place
    key_id          integer,           -- the digest key (unlearn.secret) used
    key_digests     bytea[],           -- HMAC-SHA256 of each erased row's key
    entry_hash      bytea NOT NULL CHECK (length(entry_hash) = 32),
    CHECK ((key_id IS NULL) = (key_digests IS NULL))
);
-- Digests are random bytes: compression would only cost time.
ALTER TABLE unlearn.erasure_log ALTER COLUMN key_digests SET STORAGE EXTERNAL;

-- The chain over the log: one link per committed transaction that wrote
-- entries, in commit order.  A link names the entries it seals (by seq)
-- and the link before it; link_hash is the SHA-256 of its canonical text,
-- which holds the sealed entries' hashes (see unlearn.log_link_text).
-- Written at commit, under a lock held only from there to the end of the
-- commit: writers never wait for each other's transactions.
CREATE TABLE unlearn.erasure_log_chain (
    position        bigint PRIMARY KEY CHECK (position > 0),
    sealed_at       timestamptz NOT NULL,
    transaction_id  xid8 NOT NULL,
    entries         bigint[] NOT NULL, -- seqs of the entries sealed, ascending
    prev_hash       bytea NOT NULL CHECK (length(prev_hash) = 32),
    link_hash       bytea NOT NULL CHECK (length(link_hash) = 32)
);

-- Refuses UPDATE, DELETE and TRUNCATE of the erasure log and its chain.
CREATE FUNCTION unlearn._log_append_only()
RETURNS trigger
AS 'MODULE_PATHNAME', 'unlearn_log_append_only'
LANGUAGE C;
REVOKE ALL ON FUNCTION unlearn._log_append_only() FROM PUBLIC;

CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON unlearn.erasure_log
    FOR EACH ROW EXECUTE FUNCTION unlearn._log_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON unlearn.erasure_log
    FOR EACH STATEMENT EXECUTE FUNCTION unlearn._log_append_only();
ALTER TABLE unlearn.erasure_log ENABLE ALWAYS TRIGGER append_only;
ALTER TABLE unlearn.erasure_log ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON unlearn.erasure_log_chain
    FOR EACH ROW EXECUTE FUNCTION unlearn._log_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON unlearn.erasure_log_chain
    FOR EACH STATEMENT EXECUTE FUNCTION unlearn._log_append_only();
ALTER TABLE unlearn.erasure_log_chain ENABLE ALWAYS TRIGGER append_only;
ALTER TABLE unlearn.erasure_log_chain ENABLE ALWAYS TRIGGER append_only_truncate;

-- The keys of the digests in the log: 32 random bytes each, made with the
-- first model (not by this script: a restored dump brings its own rows,
-- which an install-time row would collide with) and by rotate_secret.
-- The highest key_id is current; older keys stay to check older entries.
CREATE TABLE unlearn.secret (
    key_id      integer PRIMARY KEY CHECK (key_id > 0),
    secret      bytea NOT NULL CHECK (length(secret) = 32),
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz
);

SELECT pg_catalog.pg_extension_config_dump('unlearn.secret', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.source_table', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.source_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.erasure_log', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.erasure_log_seq', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.erasure_log_chain', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.model', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.model_term', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.model_class', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.lineage', '');
SELECT pg_catalog.pg_extension_config_dump('unlearn.model_pending', '');

REVOKE ALL ON unlearn.model, unlearn.model_term, unlearn.model_class, unlearn.lineage,
    unlearn.model_pending, unlearn.refresh_journal, unlearn.model_id_seq, unlearn.source_table, unlearn.source_id_seq,
    unlearn.erasure_log, unlearn.erasure_log_seq, unlearn.erasure_log_chain,
    unlearn.secret FROM PUBLIC;

------------------------------------------------------------------------------
-- Erasure: triggers on every table whose DELETE, UPDATE or TRUNCATE can
-- take rows from a model's source (src/triggers.c).  SECURITY DEFINER so
-- that whoever may DELETE from the table erases from the models without
-- rights on the extension's tables; search_path pinned.
------------------------------------------------------------------------------

-- BEFORE DELETE or UPDATE, FOR EACH STATEMENT: locks the models the
-- statement may change before it locks any of their rows (no deadlock
-- with a model's writer that waits for one of those rows).
CREATE FUNCTION unlearn._erase_lock_models()
RETURNS trigger
AS 'MODULE_PATHNAME', 'unlearn_erase_lock_models'
LANGUAGE C SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

-- AFTER DELETE ... REFERENCING OLD TABLE, FOR EACH STATEMENT.
CREATE FUNCTION unlearn._erase_on_delete()
RETURNS trigger
AS 'MODULE_PATHNAME', 'unlearn_erase_on_delete'
LANGUAGE C SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

-- AFTER UPDATE ... REFERENCING OLD TABLE NEW TABLE, FOR EACH STATEMENT.
CREATE FUNCTION unlearn._erase_on_update()
RETURNS trigger
AS 'MODULE_PATHNAME', 'unlearn_erase_on_update'
LANGUAGE C SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

-- AFTER DELETE or UPDATE, FOR EACH ROW, enabled for REPLICA: the path for
-- changes applied by a logical replication worker (which fires row-level
-- triggers only).
CREATE FUNCTION unlearn._erase_on_apply()
RETURNS trigger
AS 'MODULE_PATHNAME', 'unlearn_erase_on_apply'
LANGUAGE C SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

-- BEFORE TRUNCATE, FOR EACH STATEMENT, on every table a TRUNCATE empties
-- (it still sees the rows).
CREATE FUNCTION unlearn._erase_on_truncate()
RETURNS trigger
AS 'MODULE_PATHNAME', 'unlearn_erase_on_truncate'
LANGUAGE C SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

-- AFTER DELETE or UPDATE, FOR EACH ROW, enabled ALWAYS, on a source with
-- inheritance relatives: keeps each row it loses for the statement-level
-- trigger of the table the statement named (src/collected.c).
CREATE FUNCTION unlearn._erase_collect()
RETURNS trigger
AS 'MODULE_PATHNAME', 'unlearn_erase_collect'
LANGUAGE C SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION unlearn._erase_lock_models(), unlearn._erase_on_delete(),
    unlearn._erase_on_update(), unlearn._erase_on_apply(), unlearn._erase_on_truncate(),
    unlearn._erase_collect()
    FROM PUBLIC;

-- The catalog of models.
CREATE VIEW unlearn.models AS
SELECT m.name,
       m.model_type AS type,
       m.source,
       m.target_column AS target,
       m.feature_columns AS features,
       m.skipped_features,
       m.options,
       m.n_params AS parameters,
       m.rows_trained,
       m.rows_erased,
       m.rows_trained - m.rows_erased AS rows,
       m.rows_skipped,
       m.rows_held_out,
       m.version,
       m.state,
       m.iterations,
       m.gradient_norm,
       m.error_bound,
       m.separable,
       m.refresh_requested AS refresh_pending,
       m.owner,
       m.created_at AS created,
       m.updated_at AS updated
  FROM unlearn.model m;
REVOKE ALL ON unlearn.models FROM PUBLIC;

------------------------------------------------------------------------------
-- Training
------------------------------------------------------------------------------

-- Trains a model on a table ("CREATE MODEL"); returns its catalog row.
CREATE FUNCTION unlearn.create_model(
    name text,
    source regclass,
    target text,
    features text[] DEFAULT NULL,
    model_type text DEFAULT 'linear',
    options jsonb DEFAULT '{}')
RETURNS unlearn.models
AS 'MODULE_PATHNAME', 'unlearn_create_model'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Fits a model afresh on the current rows of its source, same options.
CREATE FUNCTION unlearn.retrain(model text)
RETURNS unlearn.models
AS 'MODULE_PATHNAME', 'unlearn_retrain'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Drops a model with its terms and lineage.
CREATE FUNCTION unlearn.drop_model(model text)
RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_drop_model'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Gives a model to another role (the caller must be able to act as both).
CREATE FUNCTION unlearn.alter_model_owner(model text, new_owner regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_alter_model_owner'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

------------------------------------------------------------------------------
-- Prediction: the model is read once per statement.
------------------------------------------------------------------------------

-- Planner support of the predict capability's functions: a caller without
-- the capability is refused naming the model, and predict(model, t) over
-- an ordinary table becomes a call of _predict_columns with just the
-- model's columns (no row tuple built).
CREATE FUNCTION unlearn._predict_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'unlearn_predict_support'
LANGUAGE C STRICT;

-- The rewritten form: model, model_id and mode as planned, the row's ctid
-- (NULL for an outer join's missing row), then the model's columns.
CREATE FUNCTION unlearn._predict_columns(model text, model_id int4, mode int4,
                                         VARIADIC columns "any")
RETURNS float8
AS 'MODULE_PATHNAME', 'unlearn_predict_columns'
LANGUAGE C STABLE PARALLEL SAFE
SUPPORT unlearn._predict_support;

-- The shipped form, for a Citus table whose rows its workers read (they
-- have no model): the model's folded coefficients travel in the call as
-- constants (spec, column names), then the mode, the row's ctid and the
-- model's columns.  It reads no catalog and holds nothing but what its
-- caller gives it, so it is open to PUBLIC: the capability is checked on
-- the coordinator, where the planner writes the call.
CREATE FUNCTION unlearn._predict_shipped(model text, spec float8[], columns text[],
                                         mode int4, VARIADIC row_columns "any")
RETURNS float8
AS 'MODULE_PATHNAME', 'unlearn_predict_shipped'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Prediction for a row with the model's feature columns (by name).
CREATE FUNCTION unlearn.predict(model text, input record)
RETURNS float8
AS 'MODULE_PATHNAME', 'unlearn_predict_row'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SUPPORT unlearn._predict_support;

-- Prediction for a vector with one value per non-intercept term.
CREATE FUNCTION unlearn.predict(model text, input float8[])
RETURNS float8
AS 'MODULE_PATHNAME', 'unlearn_predict_vector'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SUPPORT unlearn._predict_support;

-- Multinomial models: the most probable class of a row, as text (cast it to
-- the target's type: unlearn.predict_class(m, t)::species).
CREATE FUNCTION unlearn.predict_class(model text, input record)
RETURNS text
AS 'MODULE_PATHNAME', 'unlearn_predict_class_row'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- Multinomial models: each class's probability for a row, in the classes'
-- order (unlearn.classes).
CREATE FUNCTION unlearn.predict_probabilities(model text, input record,
    OUT class text, OUT probability float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'unlearn_predict_probabilities_row'
LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 10;

-- Probability of label 1 (logistic models) for a row.
CREATE FUNCTION unlearn.predict_proba(model text, input record)
RETURNS float8
AS 'MODULE_PATHNAME', 'unlearn_predict_proba_row'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SUPPORT unlearn._predict_support;

-- Probability of label 1 (logistic models) for a vector.
CREATE FUNCTION unlearn.predict_proba(model text, input float8[])
RETURNS float8
AS 'MODULE_PATHNAME', 'unlearn_predict_proba_vector'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SUPPORT unlearn._predict_support;

------------------------------------------------------------------------------
-- Inspection
------------------------------------------------------------------------------

-- The preprocessing of a model's numeric and boolean columns now: with
-- standardize, the mean and population standard deviation of its current
-- rows (erasures move them, src/preprocessing.c), and the center and scale
-- a retrain on those rows would give; without, center 0 and scale 1 (and
-- no mean kept).  Computed from unlearn.model.feature_sums and the frame
-- in unlearn.model_term.  SECURITY DEFINER, like weights.
CREATE FUNCTION unlearn.preprocessing(model text,
    OUT column_name text, OUT rows bigint, OUT mean float8, OUT stddev float8,
    OUT center float8, OUT scale float8)
RETURNS SETOF record
LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- an unknown model is an error: _term_moments raises it
    RETURN QUERY
    SELECT s.column_name, s.n, s.mean, s.sd,
           CASE WHEN s.standardized AND s.centered THEN s.mean ELSE 0 END,
           CASE WHEN s.standardized THEN s.sd ELSE 1 END
      FROM unlearn._term_moments($1) s
     WHERE s.column_name IS NOT NULL AND s.level IS NULL
     ORDER BY s.term_position;
END
$fn$;

-- Per term of a model: its frame (unlearn.model_term), and with
-- standardize its current rows' mean and spread in raw units and in the
-- frame's (mean_z, sd_z: the map from the frame to the current rows'
-- preprocessing), and w its parameter (of class position class_position
-- for multinomial, whose theta is K blocks of the terms).  For weights and
-- preprocessing; an unknown model is 42704, not an empty answer.
CREATE FUNCTION unlearn._term_moments(model text, class_position integer DEFAULT 1,
    OUT term_position integer, OUT column_name text, OUT level text,
    OUT frame_center float8, OUT frame_scale float8, OUT w float8,
    OUT standardized boolean, OUT centered boolean, OUT n bigint,
    OUT mean_z float8, OUT sd_z float8, OUT mean float8, OUT sd float8)
RETURNS SETOF record
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
BEGIN
    IF NOT EXISTS (SELECT FROM unlearn.model mm WHERE mm.name = $1) THEN
        RAISE EXCEPTION 'model "%" does not exist', $1 USING ERRCODE = 'undefined_object';
    END IF;
    RETURN QUERY
    SELECT t.position, t.column_name, t.level, t.center, t.scale,
           m.theta[(class_position - 1) * m.n_terms + t.position],
           z.standardized, z.centered, m.n, z.mean_z, z.sd_z,
           CASE WHEN z.standardized THEN t.center + t.scale * z.mean_z END,
           CASE WHEN z.standardized THEN t.scale * z.sd_z END
      FROM (SELECT mm.model_id, mm.theta, mm.feature_sums,
                   -- the terms: n_params over the classes (multinomial), or n_params
                   mm.n_params / greatest((SELECT count(*) FROM unlearn.model_class c
                                            WHERE c.model_id = mm.model_id), 1)::integer AS n_terms,
                   mm.rows_trained - mm.rows_erased AS n,
                   EXISTS (SELECT FROM unlearn.model_term i
                            WHERE i.model_id = mm.model_id AND i.column_name IS NULL) AS intercept
              FROM unlearn.model mm WHERE mm.name = $1) m
      JOIN unlearn.model_term t ON t.model_id = m.model_id
      CROSS JOIN LATERAL (
          SELECT cardinality(m.feature_sums) = 2 * m.n_terms AND m.n > 0
                 AND t.column_name IS NOT NULL AND t.level IS NULL AS standardized,
                 m.intercept AS centered,
                 m.feature_sums[t.position] / m.n AS mean_z,
                 sqrt(greatest(m.feature_sums[m.n_terms + t.position] / m.n
                               - (m.feature_sums[t.position] / m.n) ^ 2, 0)) AS sd_z) z;
END
$fn$;
REVOKE ALL ON FUNCTION unlearn._term_moments(text, integer) FROM PUBLIC;

-- How many parallel workers the last fit of this session launched (its
-- solver passes shared with them: parallel_sums.c); -1 if it ran in one
-- process, NULL before any fit.  For tests and diagnosis.
CREATE FUNCTION unlearn._last_fit_workers()
RETURNS integer
AS 'MODULE_PATHNAME', 'unlearn_last_fit_workers'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION unlearn._last_fit_workers() FROM PUBLIC;

-- A solver pass over a Citus-distributed source (distributed_sums.c):
-- Citus runs it on every shard and adds the shards' float8[] states up
-- with the combine function, so no row leaves its worker.  The spec is
-- what the coordinator sums at; a malformed one is refused.  Not PUBLIC:
-- training runs the passes as the extension's owner.
CREATE FUNCTION unlearn._pass_add(float8[], float8[], float8[])
RETURNS float8[]
AS 'MODULE_PATHNAME', 'unlearn_pass_add'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION unlearn._pass_combine(float8[], float8[])
RETURNS float8[]
AS 'MODULE_PATHNAME', 'unlearn_pass_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE unlearn._pass_sums(float8[], float8[]) (
    SFUNC = unlearn._pass_add,
    STYPE = float8[],
    COMBINEFUNC = unlearn._pass_combine,
    PARALLEL = SAFE
);
REVOKE ALL ON FUNCTION unlearn._pass_add(float8[], float8[], float8[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION unlearn._pass_combine(float8[], float8[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION unlearn._pass_sums(float8[], float8[]) FROM PUBLIC;

-- The lineage fingerprint of a row of a distributed source: its target
-- and numeric features, and its exposure (NULL: none).
CREATE FUNCTION unlearn._row_fingerprint(float8[], float8)
RETURNS bigint
AS 'MODULE_PATHNAME', 'unlearn_row_fingerprint'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
REVOKE ALL ON FUNCTION unlearn._row_fingerprint(float8[], float8) FROM PUBLIC;

-- The journal trigger of a model of a distributed source (distributed.c):
-- fires on a shard, on its worker, and journals the keys of the rows
-- leaving it in the co-located shard of the model's journal.
CREATE FUNCTION unlearn._journal_shard_rows()
RETURNS trigger
AS 'MODULE_PATHNAME', 'unlearn_journal_shard_rows'
LANGUAGE C;
REVOKE ALL ON FUNCTION unlearn._journal_shard_rows() FROM PUBLIC;

-- What the last distributed fit of this session shipped to the
-- coordinator: its passes, the shards of each, and the bytes of the
-- shards' partial sums (their text, as Citus sends them); NULL before.
CREATE FUNCTION unlearn._last_distributed_fit(OUT passes integer, OUT shards integer,
                                              OUT bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'unlearn_last_distributed_fit'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION unlearn._last_distributed_fit() FROM PUBLIC;

-- Folds a distributed source's journaled rows into its models, called by
-- the extension itself (distributed.c's fold_source: as a function call,
-- so that Citus keeps the fold's writes on the workers in the
-- transaction's two-phase commit).
CREATE FUNCTION unlearn._fold_journal(source oid)
RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_fold_journal'
LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION unlearn._fold_journal(oid) FROM PUBLIC;

-- Before a model of a distributed source is read: folds into it the rows
-- its journal holds (rows that left the source and were not taken out
-- yet: distributed.c), or refuses (55000) in a read-only transaction; use
-- says what the caller was about to do.  The readers that call it are
-- VOLATILE, so that what they read next sees the fold.
CREATE FUNCTION unlearn._check_current(model text, use text)
RETURNS void
AS 'MODULE_PATHNAME', 'unlearn_check_current'
LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION unlearn._check_current(text, text) FROM PUBLIC;

-- The parameters of one class block of a model (position 1 for any but
-- multinomial), a row per term: see weights.
CREATE FUNCTION unlearn._class_weights(model text, class_position integer,
    OUT term text, OUT column_name text, OUT level text,
    OUT weight float8, OUT raw_weight float8)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM unlearn._check_current($1, 'show its weights');
    RETURN QUERY
    WITH t AS (SELECT * FROM unlearn._term_moments($1, $2))
    SELECT CASE WHEN t.column_name IS NULL THEN '(intercept)'
                WHEN t.level IS NULL THEN t.column_name
                ELSE t.column_name || '=' || t.level END,
           t.column_name, t.level,
           -- theta is stored in the frame of unlearn.model_term: this is it
           -- in the current rows' preprocessing (src/preprocessing.c)
           CASE WHEN t.column_name IS NULL
                THEN t.w + coalesce((SELECT sum(u.w * u.mean_z) FROM t u
                                      WHERE u.standardized AND u.centered), 0)
                WHEN t.standardized THEN t.w * t.sd_z
                ELSE t.w END,
           CASE WHEN t.column_name IS NULL
                THEN t.w - coalesce((SELECT sum(u.w * u.frame_center / u.frame_scale)
                                       FROM t u WHERE u.column_name IS NOT NULL), 0)
                ELSE t.w / t.frame_scale END
      FROM t
     ORDER BY t.term_position;
END
$fn$;
REVOKE ALL ON FUNCTION unlearn._class_weights(text, integer) FROM PUBLIC;

-- The parameters of a model: one row per term.  weight is the parameter
-- as fitted on inputs scaled by the model's preprocessing now
-- (unlearn.preprocessing: a retrain's on the current rows); raw_weight is
-- the same model expressed on the source columns' own units.  SECURITY
-- DEFINER: a role granted it reads parameters without rights on the
-- model tables.  An unknown model is an error, not an empty answer; a
-- multinomial model has a block of them per class: unlearn.class_weights.
CREATE FUNCTION unlearn.weights(model text,
    OUT term text, OUT column_name text, OUT level text,
    OUT weight float8, OUT raw_weight float8)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF EXISTS (SELECT FROM unlearn.model m WHERE m.name = $1 AND m.model_type = 'multinomial') THEN
        RAISE EXCEPTION 'model "%" is multinomial: it has weights per class', $1
            USING ERRCODE = 'wrong_object_type',
                  HINT = format('Use unlearn.class_weights(%L).', $1);
    END IF;
    -- an unknown model is an error: _term_moments raises it
    RETURN QUERY SELECT * FROM unlearn._class_weights($1, 1);
END
$fn$;

-- A multinomial model's parameters, a block per class (in unlearn.classes'
-- order) of one row per term, as weights gives them; any other model's
-- are one block, class NULL.  Read capability, like weights.
CREATE FUNCTION unlearn.class_weights(model text,
    OUT class text, OUT term text, OUT column_name text, OUT level text,
    OUT weight float8, OUT raw_weight float8)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT FROM unlearn.model mm WHERE mm.name = $1) THEN
        RAISE EXCEPTION 'model "%" does not exist', $1 USING ERRCODE = 'undefined_object';
    END IF;
    RETURN QUERY
    SELECT c.label, w.term, w.column_name, w.level, w.weight, w.raw_weight
      FROM (SELECT cc.position, cc.label FROM unlearn.model m
              JOIN unlearn.model_class cc USING (model_id) WHERE m.name = $1
            UNION ALL
            SELECT 1, NULL WHERE NOT EXISTS (SELECT FROM unlearn.model m
                                               JOIN unlearn.model_class cc USING (model_id)
                                              WHERE m.name = $1)) c,
           LATERAL unlearn._class_weights($1, c.position)
               WITH ORDINALITY AS w(term, column_name, level, weight, raw_weight, i)
     ORDER BY c.position, w.i;
END
$fn$;

-- A multinomial model's classes in their order (the target type's), with
-- their current training rows; read capability, like weights.
CREATE FUNCTION unlearn.classes(model text,
    OUT ordinal integer, OUT class text, OUT rows bigint)
RETURNS SETOF record
LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT FROM unlearn.model m WHERE m.name = $1) THEN
        RAISE EXCEPTION 'model "%" does not exist', $1 USING ERRCODE = '42704';
    END IF;
    RETURN QUERY
    SELECT c.position, c.label, c.rows
      FROM unlearn.model m JOIN unlearn.model_class c USING (model_id)
     WHERE m.name = $1 ORDER BY c.position;
END
$fn$;

-- Quality of a model on the current rows of its source that pass its
-- "where" filter, or on every row of another relation with the same
-- columns.  Rows whose target or prediction is NULL are left out.
-- With the option holdout, its own rows are the held-out ones (kept out
-- of training by key).  logistic: rows, accuracy, log_loss, auc,
-- precision_k, recall_k, f1_k per class k, their macro averages,
-- confusion_t_p (rows of class t predicted p); linear: rows, rmse, mae, r2;
-- poisson: those of the mean count, and deviance (the mean Poisson
-- deviance) and d2 (the share of the mean count's deviance explained).
-- It reads the rows with the caller's rights, and predicts with them;
-- the filter runs with the rights of the model's owner.  Only the metrics
-- come out: which rows pass the filter does not.
CREATE FUNCTION unlearn.evaluate(model text, relation regclass DEFAULT NULL,
    OUT metric text, OUT value float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'unlearn_evaluate'
LANGUAGE C STABLE
SUPPORT unlearn._predict_support;

-- The keys (as text) and fingerprints of the rows in a model's lineage.
-- An unknown model is an error, not an empty answer.
CREATE FUNCTION unlearn.lineage(model text,
    OUT key text, OUT fingerprint bigint)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    id integer;
BEGIN
    SELECT mm.model_id INTO id FROM unlearn.model mm WHERE mm.name = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', $1 USING ERRCODE = 'undefined_object';
    END IF;
    -- a model of a distributed table: its lineage is on the workers, the
    -- rows its journal holds taken out first (distributed.c)
    IF to_regclass(format('unlearn.distributed_lineage_%s', id)) IS NOT NULL THEN
        PERFORM unlearn._check_current($1, 'list its lineage');
        RETURN QUERY EXECUTE format(
            'SELECT key::text, fingerprint FROM unlearn.distributed_lineage_%s ORDER BY key', id);
        RETURN;
    END IF;
    RETURN QUERY
    SELECT coalesce(e.key_text, e.k::text), e.f
      FROM unlearn.model m
      JOIN unlearn.lineage l ON l.model_id = m.model_id
     CROSS JOIN LATERAL unnest(l.keys, l.fingerprints, l.key_texts)
           WITH ORDINALITY AS e(k, f, key_text, o)
     WHERE m.name = $1
     ORDER BY l.upper_key, e.o;
END
$fn$;

-- The models (and versions) whose lineage holds the row of source with key
-- (anycompatible, as subject_log: a quoted literal is text, read as the
-- key column's type).
CREATE FUNCTION unlearn.lineage_of(source regclass, key anycompatible,
    OUT model text, OUT version bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'unlearn_lineage_of'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

------------------------------------------------------------------------------
-- Auditing
------------------------------------------------------------------------------

-- Fits a model afresh on its current rows with its own preprocessing,
-- leaving it untouched, and reports its distance from that fit, the
-- gradient of its objective on those rows and the bound it claims, and a
-- verdict; the verification is logged (event "verify").
CREATE FUNCTION unlearn.verify_model(model text,
    OUT version bigint, OUT rows bigint, OUT rows_mismatched bigint,
    OUT parameter_distance float8, OUT distance_bound float8,
    OUT max_parameter_difference float8, OUT max_prediction_difference float8,
    OUT gradient_norm float8, OUT relative_gradient float8,
    OUT error_bound float8, OUT verdict text, OUT reason text)
RETURNS record
AS 'MODULE_PATHNAME', 'unlearn_verify_model'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION unlearn.create_model(text, regclass, text, text[], text, jsonb),
    unlearn.retrain(text), unlearn.drop_model(text),
    unlearn.alter_model_owner(text, regrole),
    unlearn.verify_model(text),
    unlearn.predict(text, record), unlearn.predict(text, float8[]),
    unlearn.predict_class(text, record), unlearn.predict_probabilities(text, record),
    unlearn.predict_proba(text, record), unlearn.predict_proba(text, float8[]),
    unlearn._predict_support(internal),
    unlearn._predict_columns(text, int4, int4, "any"),
    unlearn.weights(text), unlearn.preprocessing(text), unlearn.lineage(text),
    unlearn.classes(text), unlearn.class_weights(text),
    unlearn.evaluate(text, regclass),
    unlearn.lineage_of(regclass, anycompatible)
    FROM PUBLIC;

------------------------------------------------------------------------------
-- Capabilities.  Four separate sets of privileges, granted to a role (or a
-- group role) by a superuser or the extension's owner:
--   train    create_model, retrain, drop_model, alter_model_owner
--   predict  predict, predict_proba (and the planner's _predict_columns),
--            evaluate
--   read     the models view, weights, preprocessing, lineage, lineage_of
--   audit    the erasure log, verify_model
-- The sets do not overlap, so revoking one leaves the others whole.  The
-- ACLs of the objects are the only record.
------------------------------------------------------------------------------

-- Grants (grant_it) or revokes one capability's privileges.
CREATE FUNCTION unlearn._capability(capability text, grantee regrole, grant_it boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    functions text;
    tables text;
    verb text := CASE WHEN grant_it THEN 'GRANT' ELSE 'REVOKE' END;
    direction text := CASE WHEN grant_it THEN 'TO' ELSE 'FROM' END;
BEGIN
    IF NOT pg_has_role((SELECT e.extowner FROM pg_extension e WHERE e.extname = 'unlearn'),
                       'USAGE') THEN
        RAISE EXCEPTION 'permission denied to % capability "%"', lower(verb), capability
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only superusers and the owner of extension unlearn manage capabilities.';
    END IF;
    IF grantee IS NULL THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF grantee = 0 THEN
        RAISE EXCEPTION 'capabilities are granted to roles, not to PUBLIC'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    CASE capability
    WHEN 'train' THEN
        functions := 'unlearn.create_model(text, regclass, text, text[], text, jsonb),
                      unlearn.retrain(text), unlearn.drop_model(text),
                      unlearn.alter_model_owner(text, regrole)';
    WHEN 'predict' THEN
        functions := 'unlearn.predict(text, record), unlearn.predict(text, float8[]),
                      unlearn.predict_proba(text, record), unlearn.predict_proba(text, float8[]),
                      unlearn.predict_class(text, record), unlearn.predict_probabilities(text, record),
                      unlearn._predict_columns(text, int4, int4, "any"),
                      unlearn.evaluate(text, regclass)';
    WHEN 'read' THEN
        functions := 'unlearn.weights(text), unlearn.preprocessing(text), unlearn.classes(text),
                      unlearn.class_weights(text), unlearn.lineage(text),
                      unlearn.lineage_of(regclass, anycompatible)';
        tables := 'unlearn.models';
    WHEN 'audit' THEN
        functions := 'unlearn.verify_model(text), unlearn.verify_log(bigint, bytea),
                      unlearn.log_anchor(), unlearn._canonical_fields(text[]),
                      unlearn.log_entry_text(unlearn.erasure_log),
                      unlearn.log_link_text(unlearn.erasure_log_chain),
                      unlearn.subject_digest(regclass, anycompatible),
                      unlearn.subject_digest(regclass, anycompatible, integer),
                      unlearn.source_subject_digest(integer, text, integer),
                      unlearn.subject_log(regclass, anycompatible),
                      unlearn.entry_digests(bigint)';
        tables := 'unlearn.erasure_log, unlearn.erasure_log_chain, unlearn.digest_keys, unlearn.sources';
    END CASE;
    IF functions IS NOT NULL THEN
        EXECUTE format('%s EXECUTE ON FUNCTION %s %s %s', verb, functions, direction, grantee);
    END IF;
    IF tables IS NOT NULL THEN
        EXECUTE format('%s SELECT ON %s %s %s', verb, tables, direction, grantee);
    END IF;
END
$fn$;

-- Lets a role train models, and retrain, drop and give away its own.
CREATE FUNCTION unlearn.grant_train(role regrole) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT unlearn._capability('train', $1, true) $$;

-- Lets a role predict with models (over data it may read) and evaluate them.
CREATE FUNCTION unlearn.grant_predict(role regrole) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT unlearn._capability('predict', $1, true) $$;

-- Lets a role read models' parameters and lineage.
CREATE FUNCTION unlearn.grant_read(role regrole) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT unlearn._capability('read', $1, true) $$;

-- Lets a role read the erasure log and verify models.
CREATE FUNCTION unlearn.grant_audit(role regrole) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT unlearn._capability('audit', $1, true) $$;

-- Takes the train capability back.
CREATE FUNCTION unlearn.revoke_train(role regrole) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT unlearn._capability('train', $1, false) $$;

-- Takes the predict capability back.
CREATE FUNCTION unlearn.revoke_predict(role regrole) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT unlearn._capability('predict', $1, false) $$;

-- Takes the read capability back.
CREATE FUNCTION unlearn.revoke_read(role regrole) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT unlearn._capability('read', $1, false) $$;

-- Takes the audit capability back.
CREATE FUNCTION unlearn.revoke_audit(role regrole) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT unlearn._capability('audit', $1, false) $$;

REVOKE ALL ON FUNCTION unlearn._capability(text, regrole, boolean),
    unlearn.grant_train(regrole), unlearn.grant_predict(regrole),
    unlearn.grant_read(regrole), unlearn.grant_audit(regrole),
    unlearn.revoke_train(regrole), unlearn.revoke_predict(regrole),
    unlearn.revoke_read(regrole), unlearn.revoke_audit(regrole)
    FROM PUBLIC;

------------------------------------------------------------------------------
-- Audit: the canonical texts of log entries and chain links and their
-- check, the digests of data subjects' keys, the digest keys.
------------------------------------------------------------------------------

-- A canonical text of fields: each written as its length in UTF-8 bytes,
-- ':', the text and ',' (NULL as '-,').
CREATE FUNCTION unlearn._canonical_fields(fields text[])
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(string_agg(coalesce(octet_length(convert_to(f.v, 'UTF8')) || ':' || f.v || ',',
                                        '-,'), '' ORDER BY f.i), '')
      FROM unnest($1) WITH ORDINALITY AS f(v, i)
$$;

-- The canonical text of a log entry, whose SHA-256 is its entry_hash: a
-- format tag and its fields in column order (entry_hash left out).
-- Integers are in decimal, logged_at in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ,
-- floats as the hex of their IEEE 754 bits (float8send), hashes as
-- lowercase hex, the key digests as their hex concatenated.  This SQL is
-- the reference the C writer is checked against (see docs/auditing.md).
CREATE FUNCTION unlearn.log_entry_text(entry unlearn.erasure_log)
RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT unlearn._canonical_fields(ARRAY[
               'unlearn.erasure_log v2',
               $1.seq::text,
               to_char($1.logged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               $1.session_user_name::text,
               $1.current_user_name::text,
               $1.transaction_id::text,
               $1.event,
               $1.model_id::text,
               $1.model_name,
               $1.source_id::text,
               $1.source,
               $1.version_before::text,
               $1.version_after::text,
               $1.rows::text,
               $1.method,
               encode(float8send($1.step_norm), 'hex'),
               encode(float8send($1.error_bound), 'hex'),
               encode($1.params_hash_before, 'hex'),
               encode($1.params_hash_after, 'hex'),
               $1.request_reference,
               $1.detail,
               $1.key_id::text,
               CASE WHEN $1.key_digests IS NOT NULL THEN
                   coalesce((SELECT string_agg(encode(d.digest, 'hex'), '' ORDER BY d.o)
                               FROM unnest($1.key_digests) WITH ORDINALITY AS d(digest, o)), '')
               END])
$$;

-- The canonical text of a chain link, whose SHA-256 is its link_hash: a
-- format tag, prev_hash, position, sealed_at, transaction_id, the number
-- of entries sealed, then each entry's seq and entry_hash as the log
-- holds them now (a missing entry: seq and '-').
CREATE FUNCTION unlearn.log_link_text(link unlearn.erasure_log_chain)
RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT unlearn._canonical_fields(ARRAY[
               'unlearn.erasure_log_chain v1',
               encode($1.prev_hash, 'hex'),
               $1.position::text,
               to_char($1.sealed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               $1.transaction_id::text,
               cardinality($1.entries)::text]
           || coalesce((SELECT array_agg(v ORDER BY o, part)
                          FROM unnest($1.entries) WITH ORDINALITY AS e(seq, o)
                          LEFT JOIN unlearn.erasure_log l ON l.seq = e.seq
                         CROSS JOIN LATERAL (VALUES (1, e.seq::text),
                                                    (2, encode(l.entry_hash, 'hex'))) AS f(part, v)),
                       '{}'))
$$;

-- Checks the whole log: every entry matches its hash; the links chain
-- from the first (prev_hash 32 zero bytes) in position order, each
-- matching its hash over the entries it seals; every entry is sealed by
-- exactly one link.  With an anchor (a position and the link_hash it had
-- when it was copied out of the database), that link must still be there
-- with that hash.  Returns ok, or the first problem found and where.
CREATE FUNCTION unlearn.verify_log(anchor_position bigint DEFAULT NULL, anchor_hash bytea DEFAULT NULL,
    OUT ok boolean, OUT entries bigint, OUT links bigint, OUT first_bad_seq bigint,
    OUT first_bad_position bigint, OUT detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    bad record;
    last record;
    anchored bytea;
BEGIN
    IF (anchor_position IS NULL) <> (anchor_hash IS NULL) THEN
        RAISE EXCEPTION 'an anchor needs both a chain position and a hash'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF length(anchor_hash) <> 32 THEN
        RAISE EXCEPTION 'anchor hash must be 32 bytes long, not %', length(anchor_hash)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT count(*) INTO entries FROM unlearn.erasure_log;
    SELECT count(*) INTO links FROM unlearn.erasure_log_chain;
    ok := false;

    -- Entries: their content against their hash.
    SELECT l.seq INTO bad FROM unlearn.erasure_log l
     WHERE l.entry_hash <> sha256(convert_to(unlearn.log_entry_text(l), 'UTF8'))
     ORDER BY l.seq LIMIT 1;
    IF FOUND THEN
        first_bad_seq := bad.seq;
        detail := format('entry %s does not match its hash: its content was changed', bad.seq);
        RETURN;
    END IF;

    -- Links: each follows the one before and matches its hash.
    SELECT c.* INTO bad
      FROM (SELECT k.position,
                   lag(k.position) OVER w AS prev_position,
                   k.prev_hash = coalesce(lag(k.link_hash) OVER w,
                                          '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
                       AS linked,
                   (SELECT min(e.seq) FROM unnest(k.entries) e(seq)
                     WHERE NOT EXISTS (SELECT 1 FROM unlearn.erasure_log l WHERE l.seq = e.seq))
                       AS missing,
                   k.link_hash = sha256(convert_to(unlearn.log_link_text(k), 'UTF8')) AS intact
              FROM unlearn.erasure_log_chain k
            WINDOW w AS (ORDER BY k.position)) c
     WHERE NOT (c.linked AND c.intact AND c.missing IS NULL)
     ORDER BY c.position
     LIMIT 1;
    IF FOUND THEN
        first_bad_position := bad.position;
        first_bad_seq := bad.missing;
        detail := CASE
            WHEN bad.missing IS NOT NULL THEN
                format('link %s seals entry %s, which is missing: the entry was removed',
                       bad.position, bad.missing)
            WHEN NOT bad.linked AND bad.prev_position IS NULL THEN
                format('link %s is the first link but does not start the chain: links before it were removed',
                       bad.position)
            WHEN NOT bad.linked THEN
                format('link %s does not follow link %s: a link between them was removed, or links were changed',
                       bad.position, bad.prev_position)
            ELSE
                format('link %s does not match its hash: it was changed, or an entry it seals was changed and re-hashed',
                       bad.position)
            END;
        RETURN;
    END IF;

    -- Every entry sealed exactly once.
    SELECT l.seq, coalesce(s.sealed, 0) AS sealed
      INTO bad
      FROM unlearn.erasure_log l
      LEFT JOIN (SELECT e.seq, count(*) AS sealed
                   FROM unlearn.erasure_log_chain k, unnest(k.entries) e(seq)
                  GROUP BY e.seq) s ON s.seq = l.seq
     WHERE coalesce(s.sealed, 0) <> 1
     ORDER BY l.seq LIMIT 1;
    IF FOUND THEN
        first_bad_seq := bad.seq;
        detail := CASE WHEN bad.sealed = 0
            THEN format('entry %s is not sealed in the chain: it was added outside the transaction that wrote it',
                        bad.seq)
            ELSE format('entry %s is sealed by %s links: links were copied', bad.seq, bad.sealed) END;
        RETURN;
    END IF;

    IF anchor_position IS NOT NULL THEN
        SELECT k.link_hash INTO anchored FROM unlearn.erasure_log_chain k
         WHERE k.position = anchor_position;
        IF NOT FOUND OR anchored <> anchor_hash THEN
            first_bad_position := anchor_position;
            detail := CASE WHEN NOT FOUND
                THEN format('link %s, the anchor, is missing', anchor_position)
                ELSE format('link %s does not have the anchor''s hash', anchor_position) END;
            RETURN;
        END IF;
    END IF;
    SELECT k.position, k.link_hash INTO last FROM unlearn.erasure_log_chain k
     ORDER BY k.position DESC LIMIT 1;
    ok := true;
    detail := CASE WHEN entries = 0 THEN 'the log is empty'
        ELSE format('%s entries sealed by %s links, the last is link %s with hash %s',
                    entries, links, last.position, encode(last.link_hash, 'hex')) END;
    RETURN;
END
$fn$;

-- The chain's head, to copy out of the database as an anchor.
CREATE FUNCTION unlearn.log_anchor(OUT "position" bigint, OUT link_hash bytea, OUT sealed_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.position, k.link_hash, k.sealed_at FROM unlearn.erasure_log_chain k
     ORDER BY k.position DESC LIMIT 1
$$;

-- The digest the log holds for a data subject's key in source:
-- HMAC-SHA256 of "<source_id>:<key text>" under the current digest key,
-- or under key_id.  A key given as text is read as the source's key type
-- first.
CREATE FUNCTION unlearn.subject_digest(source regclass, key anycompatible)
RETURNS bytea
AS 'MODULE_PATHNAME', 'unlearn_subject_digest'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION unlearn.subject_digest(source regclass, key anycompatible, key_id integer)
RETURNS bytea
AS 'MODULE_PATHNAME', 'unlearn_subject_digest'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- The same for a source known by its source_id (a table since dropped),
-- the key given in its canonical text.
CREATE FUNCTION unlearn.source_subject_digest(source_id integer, key text, key_id integer)
RETURNS bytea
AS 'MODULE_PATHNAME', 'unlearn_source_subject_digest'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- The log entries that erased or rectified a key of source (or of one of
-- its partitions or inheritance children), under every digest key: "when
-- was this person erased, from which models".  The digests themselves are
-- left out (unlearn.entry_digests lists an entry's).
CREATE FUNCTION unlearn.subject_log(source regclass, key anycompatible,
    OUT seq bigint, OUT logged_at timestamptz, OUT event text, OUT model_name text,
    OUT source text, OUT version_before bigint, OUT version_after bigint, OUT rows bigint,
    OUT method text, OUT request_reference text, OUT detail text,
    OUT session_user_name name, OUT current_user_name name, OUT transaction_id xid8,
    OUT key_id integer, OUT digests integer)
RETURNS SETOF record
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE below(relid) AS (
        SELECT $1::oid
        UNION
        SELECT i.inhrelid FROM pg_inherits i JOIN below b ON i.inhparent = b.relid),
    tables AS MATERIALIZED (
        SELECT s.source_id, s.relation
          FROM unlearn.sources s
         WHERE s.relation IN (SELECT b.relid::regclass FROM below b)),
    d AS MATERIALIZED (
        SELECT k.key_id, t.source_id,
               unlearn.subject_digest(t.relation, $2, k.key_id) AS digest
          FROM tables t
         CROSS JOIN (SELECT DISTINCT e.key_id FROM unlearn.erasure_log e
                      WHERE e.key_id IS NOT NULL) k)
    SELECT l.seq, l.logged_at, l.event, l.model_name, l.source, l.version_before, l.version_after,
           l.rows, l.method, l.request_reference, l.detail, l.session_user_name,
           l.current_user_name, l.transaction_id, l.key_id, cardinality(l.key_digests)
      FROM unlearn.erasure_log l JOIN d ON d.key_id = l.key_id AND d.source_id = l.source_id
     WHERE d.digest = ANY (l.key_digests)
     ORDER BY l.seq
$$;

-- The key digests of one log entry.
CREATE FUNCTION unlearn.entry_digests(seq bigint)
RETURNS SETOF bytea
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d FROM unlearn.erasure_log l, unnest(l.key_digests) d WHERE l.seq = $1
$$;

-- A new digest key, current from now on; the older ones are kept (retired)
-- so that older entries stay checkable.  Returns its key_id.
CREATE FUNCTION unlearn.rotate_secret()
RETURNS integer
AS 'MODULE_PATHNAME', 'unlearn_rotate_secret'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

-- The digest keys, without the secrets.
CREATE VIEW unlearn.digest_keys AS
SELECT s.key_id, s.created_at, s.retired_at FROM unlearn.secret s;

-- The tables models were trained on, by the source_id the log names them by.
CREATE VIEW unlearn.sources AS
SELECT s.source_id, s.relation, s.name, s.key_type, s.registered_at, s.dropped_at
  FROM unlearn.source_table s;

REVOKE ALL ON unlearn.digest_keys, unlearn.sources FROM PUBLIC;
REVOKE ALL ON FUNCTION unlearn._canonical_fields(text[]),
    unlearn.log_entry_text(unlearn.erasure_log),
    unlearn.log_link_text(unlearn.erasure_log_chain),
    unlearn.verify_log(bigint, bytea), unlearn.log_anchor(),
    unlearn.subject_digest(regclass, anycompatible),
    unlearn.subject_digest(regclass, anycompatible, integer),
    unlearn.source_subject_digest(integer, text, integer),
    unlearn.subject_log(regclass, anycompatible),
    unlearn.entry_digests(bigint),
    unlearn.rotate_secret()
    FROM PUBLIC;

------------------------------------------------------------------------------
-- Descriptions, as \df+, \dv+ and \dt+ show them.  Public objects say what
-- they are for; internal ones (a leading underscore) say only that they are
-- internal, and are not part of the SQL interface.
------------------------------------------------------------------------------

COMMENT ON FUNCTION unlearn.version() IS
    'Version of the loaded unlearn library (equals the extension version)';
COMMENT ON FUNCTION unlearn.build_info() IS
    'Versions of unlearn, PostgreSQL, the BLAS and LAPACK it runs with, for bug reports';
COMMENT ON FUNCTION unlearn.create_model(text, regclass, text, text[], text, jsonb) IS
    'Trains a model (linear/ridge, logistic or poisson) on a table and records its lineage; returns its unlearn.models row';
COMMENT ON FUNCTION unlearn.retrain(text) IS
    'Fits a model afresh on the current rows of its source, with its stored options; rewrites its lineage';
COMMENT ON FUNCTION unlearn.drop_model(text) IS
    'Drops a model with its terms and lineage (logged)';
COMMENT ON FUNCTION unlearn.alter_model_owner(text, regrole) IS
    'Gives a model to another role';
COMMENT ON FUNCTION unlearn.predict(text, record) IS
    'Prediction for a row with the model''s feature columns: the value (linear), the class (logistic) or the mean count (poisson)';
COMMENT ON FUNCTION unlearn.predict(text, float8[]) IS
    'Prediction for a vector with one value per non-intercept term, in unlearn.weights order';
COMMENT ON FUNCTION unlearn.predict_proba(text, record) IS
    'Logistic models: the probability of label 1 for a row';
COMMENT ON FUNCTION unlearn.predict_proba(text, float8[]) IS
    'Logistic models: the probability of label 1 for a vector in unlearn.weights order';
COMMENT ON FUNCTION unlearn.weights(text) IS
    'A model''s parameters, one row per term: as fitted and in the columns'' own units';
COMMENT ON FUNCTION unlearn.class_weights(text) IS
    'A multinomial model''s parameters, a block of terms per class in the classes'' order (weight in the current preprocessing, raw_weight in the columns'' units)';
COMMENT ON FUNCTION unlearn.classes(text) IS
    'A multinomial model''s classes in their order (the target type''s), with their current training rows';
COMMENT ON FUNCTION unlearn.predict_class(text, record) IS
    'Multinomial models: the most probable class of a row, as text';
COMMENT ON FUNCTION unlearn.predict_probabilities(text, record) IS
    'Multinomial models: each class''s probability for a row, in the classes'' order';
COMMENT ON FUNCTION unlearn.preprocessing(text) IS
    'A model''s preprocessing now: each numeric column''s mean and spread over its current rows, and the center and scale they give';
COMMENT ON FUNCTION unlearn.evaluate(text, regclass) IS
    'Metrics of a model on its source''s current rows, or on another relation (accuracy, log-loss, AUC; RMSE, R-squared)';
COMMENT ON FUNCTION unlearn.lineage(text) IS
    'The keys of the rows a model was trained on and still holds, with their fingerprints';
COMMENT ON FUNCTION unlearn.lineage_of(regclass, anycompatible) IS
    'The models that hold a given row of a table (a data subject''s access request)';
COMMENT ON FUNCTION unlearn.verify_model(text) IS
    'Re-fits a model from scratch on the rows it holds and compares: distance, gradient, claimed bound, verdict (logged)';
COMMENT ON FUNCTION unlearn.grant_train(regrole) IS
    'Capability: lets a role train models, and retrain, drop and give away its own';
COMMENT ON FUNCTION unlearn.grant_predict(regrole) IS
    'Capability: lets a role predict with models over data it may read, and evaluate them';
COMMENT ON FUNCTION unlearn.grant_read(regrole) IS
    'Capability: lets a role read the catalog of models, their parameters and lineage';
COMMENT ON FUNCTION unlearn.grant_audit(regrole) IS
    'Capability: lets a role read the erasure log, look up subjects and verify the log and models';
COMMENT ON FUNCTION unlearn.revoke_train(regrole) IS 'Takes the train capability back';
COMMENT ON FUNCTION unlearn.revoke_predict(regrole) IS 'Takes the predict capability back';
COMMENT ON FUNCTION unlearn.revoke_read(regrole) IS 'Takes the read capability back';
COMMENT ON FUNCTION unlearn.revoke_audit(regrole) IS 'Takes the audit capability back';
COMMENT ON FUNCTION unlearn.log_entry_text(unlearn.erasure_log) IS
    'The canonical text of a log entry, whose SHA-256 is its entry hash (for checking the chain outside the database)';
COMMENT ON FUNCTION unlearn.log_link_text(unlearn.erasure_log_chain) IS
    'The canonical text of a chain link, whose SHA-256 is its link hash';
COMMENT ON FUNCTION unlearn.verify_log(bigint, bytea) IS
    'Recomputes the erasure log''s hash chain, optionally against an anchor kept outside the database';
COMMENT ON FUNCTION unlearn.log_anchor() IS
    'The chain''s head (position, hash, time), to copy out of the database as an anchor';
COMMENT ON FUNCTION unlearn.subject_digest(regclass, anycompatible) IS
    'The keyed digest the log records for a row''s key, under the current digest key';
COMMENT ON FUNCTION unlearn.subject_digest(regclass, anycompatible, integer) IS
    'The keyed digest the log records for a row''s key, under a given digest key';
COMMENT ON FUNCTION unlearn.source_subject_digest(integer, text, integer) IS
    'The keyed digest of a key of a source named by its source_id (also for dropped tables)';
COMMENT ON FUNCTION unlearn.subject_log(regclass, anycompatible) IS
    'The log entries whose key digests name a row: when it left or was changed in which model, by whom, for which request';
COMMENT ON FUNCTION unlearn.entry_digests(bigint) IS
    'The key digests one log entry records';
COMMENT ON FUNCTION unlearn.rotate_secret() IS
    'Starts a new digest key (older ones stay, to check older entries); returns its key_id';

COMMENT ON VIEW unlearn.models IS
    'The catalog of models: source, target, features (taken and skipped), options, rows, version, state, accuracy of the fit';
COMMENT ON VIEW unlearn.digest_keys IS
    'The digest keys the log''s key digests were made with, without their secrets';
COMMENT ON VIEW unlearn.sources IS
    'The tables models were trained on, by the source_id the log names them by (dropped ones too)';
COMMENT ON TABLE unlearn.erasure_log IS
    'Append-only, hash-chained log of every training, erasure, rectification, truncation, schema change and verification';
COMMENT ON TABLE unlearn.erasure_log_chain IS
    'The hash chain over the erasure log: one link per committing transaction';
COMMENT ON TABLE unlearn.model IS
    'Internal: models and their fitted state (read unlearn.models)';
COMMENT ON TABLE unlearn.model_term IS
    'Internal: the terms (parameters) of each model (read unlearn.weights)';
COMMENT ON TABLE unlearn.model_class IS
    'Internal: the classes of each multinomial model, with their rows (read unlearn.classes)';
COMMENT ON TABLE unlearn.lineage IS
    'Internal: the rows each model holds (read unlearn.lineage and unlearn.lineage_of)';
COMMENT ON TABLE unlearn.model_pending IS
    'Internal: row updates not yet folded into a model''s stored matrices';
COMMENT ON TABLE unlearn.refresh_journal IS
    'Internal: rows erased while a background refresh of the model ran';
COMMENT ON TABLE unlearn.source_table IS
    'Internal: registry of source tables (read unlearn.sources)';
COMMENT ON TABLE unlearn.secret IS
    'Internal: the digest keys'' secrets; readable by no role';

COMMENT ON FUNCTION unlearn._log_append_only() IS 'Internal to unlearn (log trigger)';
COMMENT ON FUNCTION unlearn._last_fit_workers() IS
    'Internal to unlearn (tests, diagnosis): the parallel workers the last fit of this session launched';
COMMENT ON FUNCTION unlearn._erase_lock_models() IS 'Internal to unlearn (erasure trigger)';
COMMENT ON FUNCTION unlearn._check_current(text, text) IS
    'Internal to unlearn (readers of a model of a distributed source)';
COMMENT ON FUNCTION unlearn._pass_add(float8[], float8[], float8[]) IS
    'Internal to unlearn (a distributed source''s solver pass, on each shard)';
COMMENT ON FUNCTION unlearn._pass_combine(float8[], float8[]) IS
    'Internal to unlearn (a distributed source''s solver pass, combined)';
COMMENT ON AGGREGATE unlearn._pass_sums(float8[], float8[]) IS
    'Internal to unlearn (a distributed source''s solver pass)';
COMMENT ON FUNCTION unlearn._row_fingerprint(float8[], float8) IS
    'Internal to unlearn (a distributed source''s lineage)';
COMMENT ON FUNCTION unlearn._journal_shard_rows() IS
    'Internal to unlearn (a distributed source''s journal trigger, on its shards)';
COMMENT ON FUNCTION unlearn._last_distributed_fit() IS
    'Internal to unlearn (tests, benchmarks): what the last distributed fit of this session shipped';
COMMENT ON FUNCTION unlearn._erase_on_delete() IS 'Internal to unlearn (erasure trigger)';
COMMENT ON FUNCTION unlearn._erase_on_update() IS 'Internal to unlearn (erasure trigger)';
COMMENT ON FUNCTION unlearn._erase_on_apply() IS 'Internal to unlearn (erasure trigger)';
COMMENT ON FUNCTION unlearn._erase_on_truncate() IS 'Internal to unlearn (erasure trigger)';
COMMENT ON FUNCTION unlearn._erase_collect() IS 'Internal to unlearn (erasure trigger)';
COMMENT ON FUNCTION unlearn._predict_support(internal) IS 'Internal to unlearn (planner support)';
COMMENT ON FUNCTION unlearn._fold_journal(oid) IS 'Internal to unlearn (a distributed source''s journal folded)';
COMMENT ON FUNCTION unlearn._predict_columns(text, int4, int4, "any") IS
    'Internal to unlearn: what the planner rewrites predict over a table into';
COMMENT ON FUNCTION unlearn._predict_shipped(text, float8[], text[], int4, "any") IS
    'Internal to unlearn: what the planner rewrites predict over a Citus table into (the model in its arguments)';
COMMENT ON FUNCTION unlearn._capability(text, regrole, boolean) IS 'Internal to unlearn (grant_* and revoke_*)';
COMMENT ON FUNCTION unlearn._canonical_fields(text[]) IS 'Internal to unlearn (log_entry_text, log_link_text)';

------------------------------------------------------------------------------
-- Schema changes never strand a model (src/ddl.c): event triggers, fired
-- always (also under session_replication_role = replica), that refuse,
-- follow or record every change of a source's schema and guard the
-- erasure triggers.  Created last, so that they see nothing of this script.
------------------------------------------------------------------------------

CREATE FUNCTION unlearn._ddl_command_start()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'unlearn_ddl_command_start'
LANGUAGE C;

CREATE FUNCTION unlearn._ddl_command_end()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'unlearn_ddl_command_end'
LANGUAGE C;

CREATE FUNCTION unlearn._sql_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'unlearn_sql_drop'
LANGUAGE C;

REVOKE ALL ON FUNCTION unlearn._ddl_command_start(), unlearn._ddl_command_end(),
    unlearn._sql_drop() FROM PUBLIC;
COMMENT ON FUNCTION unlearn._ddl_command_start() IS 'Internal to unlearn (event trigger)';
COMMENT ON FUNCTION unlearn._ddl_command_end() IS 'Internal to unlearn (event trigger)';
COMMENT ON FUNCTION unlearn._sql_drop() IS 'Internal to unlearn (event trigger)';
COMMENT ON FUNCTION unlearn._term_moments(text, integer) IS 'Internal to unlearn: a model''s terms, their frame and their rows'' moments (weights, preprocessing)';
COMMENT ON FUNCTION unlearn._class_weights(text, integer) IS 'Internal to unlearn: the parameters of one class block of a model (weights, class_weights)';

CREATE EVENT TRIGGER unlearn_ddl_start ON ddl_command_start
    EXECUTE FUNCTION unlearn._ddl_command_start();
CREATE EVENT TRIGGER unlearn_ddl_end ON ddl_command_end
    EXECUTE FUNCTION unlearn._ddl_command_end();
CREATE EVENT TRIGGER unlearn_sql_drop ON sql_drop
    EXECUTE FUNCTION unlearn._sql_drop();
ALTER EVENT TRIGGER unlearn_ddl_start ENABLE ALWAYS;
ALTER EVENT TRIGGER unlearn_ddl_end ENABLE ALWAYS;
ALTER EVENT TRIGGER unlearn_sql_drop ENABLE ALWAYS;
