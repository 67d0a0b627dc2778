# Models of Citus-distributed tables, on a real coordinator and two
# workers.  Training runs every solver pass on the shards (a pushed-down
# float8[] aggregate) and must equal a local fit of the same rows: ridge
# to 1e-9 relative, logistic and Poisson within the solver's tolerance.
# Lineage lives in a table co-located with the source.  A DELETE or
# UPDATE through the coordinator is journaled on the workers in its own
# (two-phase) transaction and folded into the models at the end of the
# statement, as a local erasure (the same method and result as a local
# twin's); one run on a worker is journaled and the model refuses to
# serve (55000) until retrained; TRUNCATE asks for a retrain.  Also: bad
# inputs, a worker down during training and during a DELETE, a shard
# moved, the key renamed, the table undistributed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use CitusCluster;

CitusCluster::require_citus();
# unlearn preloaded: every session folds at the end of its DELETE.
my ($coord, @workers) = CitusCluster::start(
	conf => "wal_level = logical\nshared_preload_libraries = 'citus, unlearn'\n");

# Runs SQL on the coordinator, expecting an error; returns it.
sub fails
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $coord->psql('postgres', $sql);
	return $ret != 0 ? $err : "succeeded: $out";
}

# Runs SQL on the coordinator; returns its output.
sub q1
{
	return $coord->safe_psql('postgres', $_[0]);
}

# The largest difference of two models' weights, relative to the larger weight.
sub weight_gap
{
	my ($a, $b) = @_;
	return q1(qq{
		SELECT max(abs(l.weight - d.weight) / greatest(abs(l.weight), abs(d.weight), 1e-300))
		  FROM unlearn.weights('$a') l JOIN unlearn.weights('$b') d USING (term)});
}

# A distributed table and a local copy of it.
q1(q{
	CREATE TABLE people (id int PRIMARY KEY, a float8, b float8, c int, flag boolean,
	                     y float8, lab int, cnt int, expo float8, town text);
	SELECT create_distributed_table('people', 'id');
	INSERT INTO people
	SELECT g, g % 7, sin(g), g % 11, g % 3 = 0,
	       2 * (g % 7) - sin(g) + (g % 3) + 0.1 * cos(g * g),
	       (g % 7 + 2 * sin(3 * g) > 3)::int,
	       ((g * 7919) % 5 + (g % 7) / 3)::int, 1 + (g % 4),
	       (ARRAY['x', 'y'])[1 + g % 2]
	  FROM generate_series(1, 3000) g;
	CREATE TABLE people_local AS SELECT * FROM people;
	ALTER TABLE people_local ADD PRIMARY KEY (id);
});

# Training on the shards equals training on the local copy.
my ($passes, $shards, $bytes) = q1(q{
	SELECT count(*) FROM unlearn.create_model('ridge_l', 'people_local', 'y', '{a, b, c, flag}', 'linear');
	SELECT count(*) FROM unlearn.create_model('ridge_d', 'people', 'y', '{a, b, c, flag}', 'linear');
	SELECT passes, shards, bytes FROM unlearn._last_distributed_fit();
}) =~ /(\d+)\|(\d+)\|(\d+)\s*$/;
cmp_ok(weight_gap('ridge_l', 'ridge_d'), '<', 1e-9,
	'ridge on the shards equals the local fit to 1e-9 relative');
is($shards, 4, 'the fit read four shards');
my $table_bytes = q1(q{SELECT citus_table_size('people')});
cmp_ok($bytes, '<', $table_bytes / 20,
	"the shards shipped $bytes bytes of partial sums in $passes passes, against a table of $table_bytes");
q1(q{
	SELECT unlearn.create_model('logit_l', 'people_local', 'lab', '{a, b, flag}', 'logistic',
	                            '{"l2": 0.1, "erasure_tol": 0.01}');
	SELECT unlearn.create_model('logit_d', 'people', 'lab', '{a, b, flag}', 'logistic',
	                            '{"l2": 0.1, "erasure_tol": 0.01}');
	SELECT unlearn.create_model('pois_l', 'people_local', 'cnt', '{a, flag}', 'poisson', '{"exposure": "expo"}');
	SELECT unlearn.create_model('pois_d', 'people', 'cnt', '{a, flag}', 'poisson', '{"exposure": "expo"}');
});
cmp_ok(weight_gap('logit_l', 'logit_d'), '<', 1e-7, 'logistic on the shards equals the local fit');
cmp_ok(weight_gap('pois_l', 'pois_d'), '<', 1e-7, 'Poisson with exposure on the shards equals the local fit');
is(q1(q{SELECT string_agg(rows_trained::text, ',' ORDER BY name) FROM unlearn.models WHERE name LIKE '%_d'}),
	'3000,3000,3000', 'each distributed fit trained on every row');
is(q1(q{SELECT abs(unlearn.predict('logit_d', ARRAY[3, 0.5, 1]::float8[])
                - unlearn.predict('logit_l', ARRAY[3, 0.5, 1]::float8[])) < 1e-9}),
	't', 'the distributed model predicts as the local one');

# Lineage: co-located with the source, every row once, on the workers.
my $rid = q1(q{SELECT model_id FROM unlearn.model WHERE name = 'ridge_d'});
is(q1(qq{SELECT count(DISTINCT colocationid) FROM pg_dist_partition
          WHERE logicalrelid IN ('people'::regclass, 'unlearn.distributed_lineage_$rid'::regclass,
                                 'unlearn.distributed_journal_$rid'::regclass)}),
	'1', 'lineage and journal are co-located with the source');
is(q1(qq{SELECT count(*) || ' ' || count(DISTINCT key) FROM unlearn.distributed_lineage_$rid}),
	'3000 3000', 'lineage holds every training row once');
is(q1(qq{SELECT indexdef FROM pg_indexes WHERE indexname = 'distributed_lineage_${rid}_pkey'}),
	"CREATE UNIQUE INDEX distributed_lineage_${rid}_pkey ON unlearn.distributed_lineage_$rid USING btree (key)",
	'and an index on its key, for erasure');
my $on_workers = 0;
$on_workers += $_->safe_psql('postgres', qq{
	SET citus.show_shards_for_app_name_prefixes = '*';
	SELECT coalesce(sum(n), 0) FROM (
	  SELECT (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %s', c.oid::regclass),
	                 false, true, '')))[1]::text::int AS n
	    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	   WHERE n.nspname = 'unlearn' AND c.relname ~ '^distributed_lineage_${rid}_[0-9]+\$') s})
  for @workers;
is($on_workers, 3000, "the lineage rows are in the workers' shards");
is(q1(q{SELECT string_agg(model, ',' ORDER BY model) FROM unlearn.lineage_of('people', 17)}),
	'logit_d,pois_d,ridge_d', 'lineage_of finds the row in each distributed model');
is(q1(q{SELECT count(*) FROM unlearn.lineage_of('people', 99999)}), '0',
	'and no model for a key never trained on');
is(q1(q{SELECT count(*) || ' ' || min(key) || ' ' || max(key) FROM unlearn.lineage('ridge_d')}), '3000 1 999',
	'unlearn.lineage lists the keys from the workers');

# Bad inputs: each refused whole.
my $models_before = q1('SELECT count(*) FROM unlearn.model');
like(fails(q{SELECT unlearn.create_model('bad', 'people', 'y', '{a}', 'linear', '{"where": "a > 1"}')}),
	qr/ERROR:  the options "where" and "holdout" are not supported for distributed table "people" yet/,
	'the option where is refused');
like(fails(q{SELECT unlearn.create_model('bad', 'people', 'y', '{a}', 'linear', '{"holdout": 0.2}')}),
	qr/not supported for distributed table "people" yet/, 'the option holdout is refused');
like(fails(q{SELECT unlearn.create_model('bad', 'people', 'y', '{a, town}', 'linear')}),
	qr/ERROR:  feature column "town" of distributed table "people" is categorical/,
	'a categorical feature is refused');
like(fails(q{SELECT unlearn.create_model('bad', 'people', 'town', '{a}', 'multinomial')}),
	qr/ERROR:  multinomial models of distributed table "people" are not supported yet/,
	'a multinomial model is refused');
q1(q{CREATE TABLE bad_rows (id int PRIMARY KEY, a float8, y float8);
     SELECT create_distributed_table('bad_rows', 'id');
     INSERT INTO bad_rows SELECT g, g, g % 2 FROM generate_series(1, 100) g;
     UPDATE bad_rows SET y = 2 WHERE id = 40;
     INSERT INTO bad_rows VALUES (101, NULL, 1);});
like(fails(q{SELECT unlearn.create_model('bad', 'bad_rows', 'y', '{a}', 'linear')}),
	qr/ERROR:  a column the model reads is null in the row with key 101 of "bad_rows"/,
	'a NULL under nulls = error is reported with its key');
like(fails(q{SELECT unlearn.create_model('bad', 'bad_rows', 'y', '{a}', 'logistic', '{"nulls": "skip"}')}),
	qr/ERROR:  label 2 in target column "y" is not 0 or 1\nDETAIL:  The row with key 40\./,
	'a label out of range is reported with its key');
q1(q{UPDATE bad_rows SET y = 1, a = 'Infinity' WHERE id = 40});
like(fails(q{SELECT unlearn.create_model('bad', 'bad_rows', 'y', '{a}', 'linear', '{"nulls": "skip"}')}),
	qr/ERROR:  column "a" contains NaN or infinity\nDETAIL:  The row with key 40\./,
	'an infinite feature is reported with its key');
q1(q{CREATE TABLE bad_expo (id int PRIMARY KEY, a float8, cnt int, expo float8);
     SELECT create_distributed_table('bad_expo', 'id');
     INSERT INTO bad_expo SELECT g, g % 7, g % 3, 1 + g % 2 FROM generate_series(1, 100) g;
     UPDATE bad_expo SET expo = 0 WHERE id = 60;});
like(fails(q{SELECT unlearn.create_model('bad', 'bad_expo', 'cnt', '{a}', 'poisson', '{"exposure": "expo"}')}),
	qr/ERROR:  exposure in column "expo" is not a positive number\nDETAIL:  The row with key 60\./,
	'an exposure of 0 is reported with its key');
like(fails(q{SELECT unlearn._pass_sums(ARRAY[1, 2]::float8[], ARRAY[a, y]) FROM bad_rows}),
	qr/malformed pass specification: no header/, 'a malformed pass specification is refused');
is(q1('SELECT count(*) FROM unlearn.model'), $models_before, 'the refusals left no model');

# A DELETE on one shard: journaled on its worker, folded into every model
# on the coordinator at the end of the statement, in its transaction.
q1(q{DELETE FROM people WHERE id = 17; DELETE FROM people_local WHERE id = 17});
is(q1(q{SELECT string_agg(model_name || ' ' || method || ' ' || rows, ', ' ORDER BY model_name)
          FROM unlearn.erasure_log WHERE event = 'erasure'}),
	'logit_d newton 1, logit_l newton 1, pois_d newton 1, pois_l newton 1, ridge_d exact 1, ridge_l exact 1',
	'a DELETE erases the row from each distributed model as from its local twin');
cmp_ok(weight_gap('ridge_l', 'ridge_d'), '<', 1e-9, 'ridge: the erased models agree to 1e-9');
cmp_ok(weight_gap('logit_l', 'logit_d'), '<', 1e-7, 'logistic: the same Newton step');
cmp_ok(weight_gap('pois_l', 'pois_d'), '<', 1e-7, 'Poisson: the same Newton step');
is(q1(q{SELECT count(*) FROM unlearn.lineage_of('people', 17)}), '0', 'no model holds the row');
is(q1(qq{SELECT count(*) FROM unlearn.distributed_journal_$rid}), '0', 'the journal is empty again');
is(q1(q{SELECT count(*) FROM unlearn.subject_log('people', 17) WHERE event = 'erasure'}), '3',
	"the log's entries name the row's digest");
# Across shards, and an UPDATE (rectified as locally: the old row out, the new one in).
q1(q{DELETE FROM people WHERE id BETWEEN 100 AND 140; DELETE FROM people_local WHERE id BETWEEN 100 AND 140;
     UPDATE people SET y = y + 1 WHERE id = 5; UPDATE people_local SET y = y + 1 WHERE id = 5;
     SELECT count(*) FROM unlearn.create_model('ridge_l2', 'people_local', 'y', '{a, b, c, flag}', 'linear');});
is(q1(q{SELECT rows_trained - rows_erased FROM unlearn.models WHERE name = 'ridge_d'}) . ' '
	  . q1(q{SELECT method FROM unlearn.erasure_log WHERE model_name = 'ridge_d' ORDER BY seq DESC LIMIT 1}),
	'2958 exact', 'after a multi-shard DELETE of 41 rows the model holds 2958, the UPDATE rectified exactly');
cmp_ok(weight_gap('ridge_l2', 'ridge_d'), '<', 1e-9,
	'ridge: equal to a fresh local fit of the rows it holds');
cmp_ok(weight_gap('logit_l', 'logit_d'), '<', 1e-7, 'logistic: as its local twin after the same Newton steps');
is(q1(q{SELECT verdict FROM unlearn.verify_model('ridge_l2')}), 'ok', 'whose fit verifies');

# verify_model on the shards: a fresh fit of the rows the lineage holds
# (source joined to lineage on the workers, fingerprints compared), in the
# frame a retrain would use (the erasures moved the columns' means), no
# row shipped; against the local twins' verifications.
for my $pair (['ridge_d', 'ridge_l'], ['logit_d', 'logit_l'], ['pois_d', 'pois_l'])
{
	my ($d, $l) = @$pair;
	my $vd = q1(qq{SELECT verdict || ' ' || rows || ' ' || rows_mismatched FROM unlearn.verify_model('$d')});
	my ($dd, $db, $dp, $dg) = split /\|/, q1(qq{SELECT parameter_distance, distance_bound,
	    max_prediction_difference, relative_gradient FROM unlearn.verify_model('$d')});
	my ($ld, $lb, $lp, $lg) = split /\|/, q1(qq{SELECT parameter_distance, distance_bound,
	    max_prediction_difference, relative_gradient FROM unlearn.verify_model('$l')});
	is($vd, 'ok 2958 0', "verify_model('$d') on the shards: ok, on the 2958 rows it holds");
	cmp_ok(abs($dg - $lg), '<=', 1e-9 + 1e-3 * abs($lg),
		"$d: its gradient on its rows is the local twin's ($dg, $lg)");
	cmp_ok(abs($db - $lb), '<=', 1e-6 * abs($lb),
		"$d: the distance it claims is the local twin's ($db, $lb)");
	cmp_ok($dd, '<=', $db, "$d: its distance to the fresh fit $dd is within it, as locally $ld");
	cmp_ok(abs($dp - $lp), '<=', 1e-12 + 1e-3 * $lp,
		"$d: its predictions differ from the fresh fit's as locally ($dp, $lp)");
}
my $vfit = q1(q{SELECT count(*) FROM unlearn.verify_model('logit_d');
                SELECT passes || ' ' || bytes FROM unlearn._last_distributed_fit()});
like($vfit, qr/^1\n[1-9]\d* [1-9]\d*$/, 'a verification runs its passes on the shards');
my ($vpasses, $vbytes) = $vfit =~ /(\d+) (\d+)$/;
cmp_ok($vbytes, '<', $table_bytes / 20,
	"the verification shipped $vbytes bytes in $vpasses passes, against a table of $table_bytes");
is(q1(q{SELECT method || ' ' || rows FROM unlearn.erasure_log WHERE event = 'verify'
          AND model_name = 'pois_d' ORDER BY seq DESC LIMIT 1}), 'verified 2958',
	'the verification is logged');
# A tampered parameter fails it, as locally.
q1(q{UPDATE unlearn.model SET theta[2] = theta[2] + 0.01 WHERE name = 'ridge_d'});
like(q1(q{SELECT verdict || ': ' || reason FROM unlearn.verify_model('ridge_d')}),
	qr/^failed: its gradient on its rows exceeds the bound it claims$/,
	'a tampered distributed model fails verification');
q1(q{UPDATE unlearn.model SET theta[2] = theta[2] - 0.01 WHERE name = 'ridge_d'});
# A row changed on its worker behind the journal's back (triggers off): seen
# by the fingerprint join, as a local verification sees a changed row.
my ($vport) = q1(q{SELECT nodeport FROM pg_dist_shard_placement
                    WHERE shardid = get_shard_id_for_distribution_column('people', 20)});
my $vshard = q1(q{SELECT get_shard_id_for_distribution_column('people', 20)});
my ($vworker) = grep { $_->port == $vport } @workers;
$vworker->safe_psql('postgres', qq{SET session_replication_role = replica;
	UPDATE people_$vshard SET a = a + 1 WHERE id = 20});
is(q1(q{SELECT verdict || ' ' || rows || ' ' || rows_mismatched || ': ' || reason FROM unlearn.verify_model('ridge_d')}),
	'failed 2957 1: 1 rows of its lineage are missing from its source or have changed',
	'a row changed on a worker without the journal fails verification, counted');
$vworker->safe_psql('postgres', qq{SET session_replication_role = replica;
	UPDATE people_$vshard SET a = a - 1 WHERE id = 20});
is(q1(q{SELECT verdict FROM unlearn.verify_model('ridge_d')}), 'ok', 'restored, it verifies again');

# Atomic with the DELETE: within its transaction the model has forgotten the row; rolled back, it has not.
my $before = q1(q{SELECT version FROM unlearn.models WHERE name = 'ridge_d'});
is(q1(q{BEGIN; DELETE FROM people WHERE id = 18;
        SELECT count(*) FROM unlearn.lineage_of('people', 18); ROLLBACK;}), '0',
	"within the DELETE's transaction the models no longer hold the row");
is(q1(q{SELECT version FROM unlearn.models WHERE name = 'ridge_d'}) . ' '
	  . q1(q{SELECT count(*) FROM unlearn.lineage_of('people', 18)}) . ' '
	  . q1(qq{SELECT count(*) FROM unlearn.distributed_journal_$rid}),
	"$before 3 0", 'rolled back: the model, its lineage and the journal are as they were');
q1(q{INSERT INTO people VALUES (5000, 1, 1, 1, true, 1, 1, 1, 1, 'x'); DELETE FROM people WHERE id = 5000});
is(q1(q{SELECT version FROM unlearn.models WHERE name = 'ridge_d'}), $before,
	'a row inserted after training and deleted changes no model');

# Run on a worker (Citus lets its nodes run distributed DML), a DELETE is
# journaled there but not folded (the models live on the coordinator):
# a read-only transaction refuses to read the models; the next
# read-write use folds the rows in first.
my $seq = q1(q{SELECT max(seq) FROM unlearn.erasure_log});
$workers[0]->safe_psql('postgres', q{DELETE FROM people WHERE id = 19});
like(fails(q{BEGIN READ ONLY; SELECT unlearn.predict('ridge_d', ARRAY[1, 2, 3, 1]::float8[]); COMMIT;}),
	qr/ERROR:  model "ridge_d" cannot predict: 1 of its training rows left distributed table "people"/,
	'a DELETE run on a worker: a read-only transaction refuses to predict');
like(fails(q{BEGIN READ ONLY; SELECT * FROM unlearn.weights('logit_d'); COMMIT;}),
	qr/ERROR:  model "logit_d" cannot show its weights: 1 of its training rows left/,
	'and to show weights');
like(fails(q{BEGIN READ ONLY; SELECT * FROM unlearn.evaluate('pois_d', 'people_local'); COMMIT;}),
	qr/ERROR:  model "pois_d" cannot be evaluated: 1 of its training rows left/,
	'and to evaluate');
my $first = q1(q{SELECT unlearn.predict('ridge_d', ARRAY[1, 2, 3, 1]::float8[])});
is(q1(q{SELECT unlearn.predict('ridge_d', ARRAY[1, 2, 3, 1]::float8[])}), $first,
	'a read-write predict folds the row in first, and predicts with the model it leaves');
q1(q{DELETE FROM people_local WHERE id = 19;
     SELECT count(*) FROM unlearn.create_model('ridge_l3', 'people_local', 'y', '{a, b, c, flag}', 'linear');});
cmp_ok(weight_gap('ridge_l3', 'ridge_d'), '<', 1e-9, 'which equals a fresh local fit without the row');
is(q1(q{SELECT count(*) FROM unlearn.lineage_of('people', 19)}), '0',
	'lineage_of folds the others first: no model holds the row');
is(q1(qq{SELECT string_agg(model_name || ' ' || method || ' ' || rows, ', ' ORDER BY model_name)
          FROM unlearn.erasure_log WHERE seq > $seq AND event = 'erasure' AND model_name LIKE '%\\_d'}),
	'logit_d newton 1, pois_d newton 1, ridge_d exact 1', 'each fold is logged');
$workers[1]->safe_psql('postgres', q{DELETE FROM people WHERE id = 24});
q1(q{DELETE FROM people_local WHERE id = 24});
is(q1(q{SELECT count(*) FROM unlearn.lineage('ridge_d') WHERE key = '24'}) . ' '
	  . q1(q{SELECT count(*) FROM unlearn.erasure_log WHERE model_name = 'ridge_d' AND rows = 1
	           AND seq = (SELECT max(seq) FROM unlearn.erasure_log WHERE model_name = 'ridge_d')}),
	'0 1', 'unlearn.lineage folds a worker\'s DELETE first: the row is not listed, its erasure logged');
$workers[0]->safe_psql('postgres', q{DELETE FROM people WHERE id = 27});
q1(q{DELETE FROM people_local WHERE id = 27});
like(fails(q{BEGIN READ ONLY; SELECT * FROM unlearn.verify_model('logit_d'); COMMIT;}),
	qr/ERROR:  model "logit_d" cannot be verified: 1 of its training rows left/,
	'verify_model in a read-only transaction refuses a model with journaled rows');
is(q1(q{SELECT verdict || ' ' || rows || ' ' || rows_mismatched FROM unlearn.verify_model('logit_d')}),
	'ok 2955 0', 'a read-write verify_model folds a worker\'s DELETE first, then verifies');
# unlearn.distributed_erasure = read: the DELETE only journals; the next read takes the row out.
$before = q1(q{SELECT version FROM unlearn.models WHERE name = 'ridge_d'});
q1(q{SET unlearn.distributed_erasure = 'read';
     DELETE FROM people WHERE id = 23 OR id BETWEEN 2000 AND 2299;
     DELETE FROM people_local WHERE id = 23 OR id BETWEEN 2000 AND 2299});
is(q1(q{SELECT version FROM unlearn.models WHERE name = 'ridge_d'}) . ' '
	  . q1(qq{SELECT count(*) FROM unlearn.distributed_journal_$rid}),
	"$before 301", 'distributed_erasure = read: the DELETE journaled the rows and left the model');
q1(q{SELECT count(*) FROM unlearn.weights('ridge_d')});
is(q1(q{SELECT count(*) FROM unlearn.lineage_of('people', 23)}) . ' '
	  . q1(qq{SELECT count(*) FROM unlearn.distributed_journal_$rid}),
	'0 0', 'the next read took them out');
cmp_ok(weight_gap('ridge_l', 'ridge_d'), '<', 1e-9, 'and the model is its local twin again');

# A DELETE in a writable CTE (Citus runs it as a subplan the statement's
# end does not see) and an upsert's UPDATE (an INSERT statement) are
# journaled, and taken out by the next read.
q1(q{WITH d AS (DELETE FROM people WHERE id = 25 RETURNING id) SELECT count(*) FROM d;
     DELETE FROM people_local WHERE id = 25;});
is(q1(qq{SELECT count(*) FROM unlearn.distributed_journal_$rid}) . ' '
	  . q1(q{SELECT count(*) FROM unlearn.lineage_of('people', 25)}),
	'1 0', 'a DELETE in a writable CTE is journaled, and the next read takes it out');
q1(q{INSERT INTO people (id, a, b, c, flag, y, lab, cnt, expo, town) VALUES (26, 1, 1, 1, true, 99, 1, 1, 1, 'x')
       ON CONFLICT (id) DO UPDATE SET y = EXCLUDED.y;
     UPDATE people_local SET y = 99 WHERE id = 26;});
is(q1(qq{SELECT count(*) FROM unlearn.distributed_journal_$rid WHERE key = 26}), '2',
	"an upsert's UPDATE is journaled (old and new rows)");
cmp_ok(weight_gap('ridge_l', 'ridge_d'), '<', 1e-9,
	'and rectified by the next read: the model is its local twin again');

# A model whose erasures pass its erasure_tol needs a refresh, a refit on
# the shards that is not built: it must be retrained, logged.
q1(q{SELECT count(*) FROM unlearn.create_model('tight_d', 'people', 'lab', '{a, b, flag}', 'logistic',
                                               '{"l2": 0.1, "erasure_tol": 1e-12}');
     DELETE FROM people WHERE id BETWEEN 200 AND 260;});
is(q1(q{SELECT state || ': ' || (SELECT detail FROM unlearn.erasure_log WHERE model_name = 'tight_d'
                                   ORDER BY seq DESC LIMIT 1) FROM unlearn.models WHERE name = 'tight_d'}),
	'needs_retrain: A model of a distributed table is refitted by unlearn.retrain.',
	'a refresh due: the model must be retrained, and the log says why');
q1(q{SELECT unlearn.drop_model('tight_d'); DELETE FROM people_local WHERE id BETWEEN 200 AND 260});

# Retrain: on the shards, equal to a fresh local fit of the current rows.
q1(q{SELECT unlearn.retrain('ridge_d');
     SELECT count(*) FROM unlearn.create_model('ridge_l4', 'people_local', 'y', '{a, b, c, flag}', 'linear');});
cmp_ok(weight_gap('ridge_l4', 'ridge_d'), '<', 1e-9,
	'retrained on the shards, it equals a fresh local fit of the current rows');

# Prediction over the distributed table runs on the workers: the planner
# ships the model's coefficients in the call (_predict_shipped), read once
# per statement on the coordinator, for every query shape Citus plans.
q1(q{SELECT unlearn.retrain('logit_d'); SELECT unlearn.retrain('pois_d')});
like(q1(q{EXPLAIN (VERBOSE, COSTS OFF) SELECT id, unlearn.predict('ridge_d', people) FROM people}),
	qr/Query: SELECT .*unlearn\._predict_shipped\('ridge_d'::text, '\{7130502,/,
	'the workers get the model in the call');
for my $f (q{unlearn.predict('ridge_d', %s)}, q{unlearn.predict_proba('logit_d', %s)},
	q{unlearn.predict('logit_d', %s)}, q{unlearn.predict('pois_d', %s)})
{
	my ($fd, $fl) = (sprintf($f, 'people'), sprintf($f, 'people_local'));
	is(q1(qq{SELECT max(abs(d.p - l.p)) || ' ' || count(*) FROM (SELECT id, $fd AS p FROM people) d
	           JOIN (SELECT id, $fl AS p FROM people_local) l USING (id)}),
		'0 ' . q1(q{SELECT count(*) FROM people_local}),
		"$fd on the workers equals the same model over the local copy, every row");
}
is(q1(q{SELECT unlearn.predict('ridge_d', people) FROM people WHERE id = 3}),
	q1(q{SELECT unlearn.predict('ridge_d', people_local) FROM people_local WHERE id = 3}),
	'a single-shard (router) query predicts as locally');
is(q1(q{SELECT count(*) FROM people WHERE unlearn.predict_proba('logit_d', people) > 0.5}),
	q1(q{SELECT count(*) FROM people_local WHERE unlearn.predict_proba('logit_d', people_local) > 0.5}),
	'a prediction in WHERE, on the workers, as locally');
like(fails(q{SELECT unlearn.predict_proba('ridge_d', people) FROM people}),
	qr/ERROR:  model "ridge_d" is a linear model, not a logistic one/,
	'predict_proba of a linear model over the distributed table: the local error, from the coordinator');
q1(q{SELECT count(*) FROM unlearn.create_model('town_l', 'people_local', 'y', '{a, town}', 'linear')});
like(fails(q{SELECT unlearn.predict('town_l', people) FROM people}),
	qr/ERROR:  model "town_l" cannot predict over a distributed table\nDETAIL:  Its workers read the model from the statement/,
	'a model with a categorical feature is refused over a distributed table (0A000)');
# A shipped prediction reads the model at plan time, folding a worker's
# DELETE first; the statement failing later rolls the fold back whole
# (it once left the journal and lineage rows deleted on the workers, the
# model and log entry rolled back: the erasure lost).
$workers[0]->safe_psql('postgres', q{DELETE FROM people WHERE id = 33});
q1(q{DELETE FROM people_local WHERE id = 33});
my $log_count = q1(q{SELECT count(*) FROM unlearn.erasure_log});
like(fails(q{SELECT unlearn.predict('ridge_d', people), 1 / (id - 3) FROM people WHERE id = 3}),
	qr/ERROR:  division by zero/, 'a shipped prediction whose statement fails after the plan folded');
is(q1(qq{SELECT count(*) FROM unlearn.distributed_journal_$rid}) . ' '
	  . q1(qq{SELECT count(*) FROM unlearn.distributed_lineage_$rid WHERE key = 33}) . ' '
	  . q1(q{SELECT count(*) FROM unlearn.erasure_log}),
	"1 1 $log_count", 'the fold rolled back whole: the journal and lineage rows still there, no log entry');
is(q1(q{SELECT count(*) FROM unlearn.lineage_of('people', 33)}), '0', 'the next read folds the row');
q1(q{SELECT count(*) FROM unlearn.create_model('ridge_l6', 'people_local', 'y', '{a, b, c, flag}', 'linear')});
cmp_ok(weight_gap('ridge_l6', 'ridge_d'), '<', 1e-9, 'and the model equals a fresh fit without it');
# A prepared plan carries the model: an erasure logged since makes it
# again; rows journaled on a worker since refuse it (40001), and it runs
# again with the model they leave.
my $wh = $workers[0]->host;
my $wp = $workers[0]->port;
my ($pret, $pout, $perr) = $coord->psql('postgres', qq{
SET plan_cache_mode = force_generic_plan;
PREPARE r(int) AS SELECT unlearn.predict('ridge_d', people) FROM people WHERE id = \$1;
EXECUTE r(3);
DELETE FROM people WHERE id = 31;
EXECUTE r(3);
\\! psql -X -q -h '$wh' -p $wp -d postgres -c 'DELETE FROM people WHERE id = 32'
EXECUTE r(3);
EXECUTE r(3);
SELECT version FROM unlearn.models WHERE name = 'ridge_d';
}, on_error_stop => 0);
like($perr, qr/^psql:<stdin>:\d+: ERROR:  model "ridge_d" changed after this statement was planned\nDETAIL:  Rows journaled on the workers left its lineage/,
	'a cached plan after a DELETE on a worker: refused once, with 40001');
q1(q{DELETE FROM people_local WHERE id IN (31, 32)});
my @pv = split /\n/, $pout;
is(scalar(@pv), 4, 'three predictions and the version');
my $row3 = q1(q{SELECT format('ARRAY[%s, %s, %s, %s]::float8[]', a, b, c, flag::int) FROM people WHERE id = 3});
my $current = q1(qq{SELECT unlearn.predict('ridge_d', $row3)});
cmp_ok(abs($pv[2] - $current), '<=', 1e-12 * abs($current),
	"run again, it predicts with the model as it is now, without both rows (the coordinator's own prediction of the row: $current)");
is(q1(q{SELECT method || ' ' || rows FROM unlearn.erasure_log WHERE model_name = 'ridge_d' ORDER BY seq DESC LIMIT 1}),
	'exact 1', "the worker's DELETE was taken out by the next plan, logged");
isnt($pv[1], $current, 'which the plan made before the worker\'s DELETE did not');
is(q1(q{SELECT count(*) FROM unlearn.lineage_of('people', 32)}), '0', 'and no model holds the row');
# The same in a read-only transaction: refused (40001), then, the plan
# made again, refused as any read-only read of a model with journaled rows.
my ($rret, $rout, $rerr) = $coord->psql('postgres', qq{
SET plan_cache_mode = force_generic_plan;
PREPARE r(int) AS SELECT unlearn.predict('ridge_d', people) FROM people WHERE id = \$1;
EXECUTE r(3);
\\! psql -X -q -h '$wh' -p $wp -d postgres -c 'DELETE FROM people WHERE id = 34'
BEGIN READ ONLY;
EXECUTE r(3);
ROLLBACK;
BEGIN READ ONLY;
EXECUTE r(3);
ROLLBACK;
}, on_error_stop => 0);
like($rerr, qr/ERROR:  model "ridge_d" changed after this statement was planned.*ERROR:  model "ridge_d" cannot predict: 1 of its training rows left distributed table "people"/s,
	'read-only: the cached plan refused (40001), the next plan refused (55000)');
q1(q{DELETE FROM people_local WHERE id = 34});
is(q1(q{SELECT count(*) FROM unlearn.lineage_of('people', 34)}), '0', 'a read-write read then folds it');

# A worker down during a DELETE: the DELETE fails whole.
my $key_on_w2 = q1(qq{
	SELECT min(id) FROM people WHERE get_shard_id_for_distribution_column('people', id) IN (
	  SELECT shardid FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
	   WHERE n.nodeport = ${\ $workers[1]->port })});
$workers[1]->stop;
like(fails(qq{DELETE FROM people WHERE id IN (1, $key_on_w2)}), qr/ERROR:  .*(connect|connection)/i,
	'with a worker down, a DELETE of its rows fails');
$workers[1]->start;
is(q1(qq{SELECT count(*) FROM people WHERE id IN (1, $key_on_w2)}), '2', 'both rows are still there');
is(q1(qq{SELECT count(*) FROM unlearn.distributed_journal_$rid WHERE key IN (1, $key_on_w2)}), '0',
	'and nothing was journaled');

# A worker down during training: a clear error; no model, lineage table or log entry.
my $log_before = q1('SELECT count(*) FROM unlearn.erasure_log');
$workers[0]->stop;
like(fails(q{SELECT unlearn.create_model('down', 'people', 'y', '{a, b}', 'linear')}),
	qr/ERROR:  .*(connect|connection)/i, 'with a worker down, training fails with a connection error');
$workers[0]->start;
is(q1(q{SELECT count(*) FROM unlearn.model WHERE name = 'down'}) . ' '
	  . q1(q{SELECT count(*) FROM pg_class WHERE relname ~ '^distributed_(lineage|journal)_' AND relkind = 'r' AND relnamespace = 'unlearn'::regnamespace})
	  . ' ' . q1('SELECT count(*) FROM unlearn.erasure_log'),
	'0 6 ' . $log_before, 'nothing of the failed fit was left');

# A shard moved to the other worker: its lineage and journal shards move with it.
my ($shard, $from) = split /\|/, q1(qq{
	SELECT s.shardid, n.nodeport FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
	  JOIN pg_dist_node n USING (groupid)
	 WHERE s.logicalrelid = 'people'::regclass
	   AND s.shardid = get_shard_id_for_distribution_column('people', 21)});
my $to = $from == $workers[0]->port ? $workers[1]->port : $workers[0]->port;
q1(qq{SELECT citus_move_shard_placement($shard, '${\ $coord->host}', $from, '${\ $coord->host}', $to,
                                        shard_transfer_mode => 'block_writes')});
is(q1(qq{SELECT count(DISTINCT n.nodeport) FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
          JOIN pg_dist_node n USING (groupid)
         WHERE s.logicalrelid IN ('people'::regclass, 'unlearn.distributed_lineage_$rid'::regclass)
           AND s.shardminvalue = (SELECT shardminvalue FROM pg_dist_shard WHERE shardid = $shard)
           AND n.nodeport = $to}),
	'1', 'the lineage shard moved with the source shard');
is(q1(q{SELECT string_agg(model, ',' ORDER BY model) FROM unlearn.lineage_of('people', 21)}),
	'logit_d,pois_d,ridge_d', 'lineage_of still finds the row');
q1(q{DELETE FROM people WHERE id = 21});
is(q1(q{SELECT count(*) FROM unlearn.lineage_of('people', 21)}), '0', 'a DELETE on the moved shard is erased');
# The key column renamed: the journal trigger follows (it reads the distribution column's name).
q1(q{ALTER TABLE people RENAME COLUMN id TO pid; DELETE FROM people WHERE pid = 22});
is(q1(q{SELECT count(*) FROM unlearn.lineage_of('people', 22)}) . ' '
	  . q1(q{SELECT method FROM unlearn.erasure_log WHERE model_name = 'ridge_d' ORDER BY seq DESC LIMIT 1}),
	'0 exact', 'after a rename of the key, a DELETE is erased');

# TRUNCATE (Citus fires its triggers on the coordinator): the models must be retrained, logged.
q1(q{TRUNCATE people});
is(q1(q{SELECT string_agg(state, ',' ORDER BY name) FROM unlearn.models WHERE name LIKE '%_d'}),
	'needs_retrain,needs_retrain,needs_retrain', 'after a TRUNCATE the models must be retrained');
is(q1(q{SELECT count(*) FROM unlearn.erasure_log WHERE event = 'truncate' AND model_name LIKE '%_d'}),
	'3', 'each TRUNCATE is logged');
q1(q{SELECT unlearn.retrain('ridge_d')});
is(q1(q{SELECT state FROM unlearn.models WHERE name = 'ridge_d'}), 'empty',
	'retrained on the empty table, the model is empty');

# Dropped, a model takes its lineage, journal and triggers with it.
q1(q{SELECT unlearn.drop_model('ridge_d'); SELECT unlearn.drop_model('logit_d'); SELECT unlearn.drop_model('pois_d')});
is(q1(q{SELECT count(*) FROM pg_class WHERE relname ~ '^distributed_(lineage|journal)_' AND relkind = 'r'
          AND relnamespace = 'unlearn'::regnamespace}) . ' '
	  . q1(q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'people'::regclass AND tgname LIKE 'unlearn%'}),
	'0 0', 'the dropped models left no table and no trigger');
# Undistributed, the table is a new local one: the model goes, logged; the
# copies of its journal triggers there do nothing, and its DELETEs work.
q1(q{CREATE TABLE moving (id int PRIMARY KEY, a float8, y float8);
     SELECT create_distributed_table('moving', 'id');
     INSERT INTO moving SELECT g, g % 7, g % 5 + g % 7 FROM generate_series(1, 200) g;
     SELECT count(*) FROM unlearn.create_model('mm', 'moving', 'y', '{a}', 'linear');
     SET citus.enable_unsafe_triggers = on;
     SELECT undistribute_table('moving');});
is(q1(q{SELECT event || ' ' || method FROM unlearn.erasure_log WHERE model_name = 'mm' ORDER BY seq DESC LIMIT 1}),
	'drop cascade', 'undistributed: the model went with the distributed table, logged');
is(q1(q{WITH d AS (DELETE FROM moving WHERE id <= 3 RETURNING id) SELECT count(*) FROM d}), "3",
	'a DELETE on the new local table works');
is(q1(q{SELECT count(*) FROM pg_class WHERE relname ~ '^distributed_(lineage|journal)_' AND relkind = 'r'
          AND relnamespace = 'unlearn'::regnamespace}), '0', 'and the model left no table');
is(q1(q{SELECT ok FROM unlearn.verify_log()}), 't', "the log's chain verifies");

$_->stop for reverse($coord, @workers);
done_testing();
