# Background refresh (src/refresh_worker.c): a logistic model whose bound
# passes unlearn.refresh_threshold of its erasure_tol is refreshed by a
# background worker from its own snapshot, without the model's lock (a
# ridge model re-summed).  The worker is paused before its install, or in
# its pass (the test hook unlearn.refresh_pause_lock, held by a prepared
# transaction) while
# erasures, rectifications, a retrain, a drop, a TRUNCATE or a crash of
# the worker happen; afterwards the model must equal a fresh fit within
# its bound (verify_model, and its gradient on the remaining rows within
# its certified bound), its log must be complete (every version one
# entry), and its journal empty.  With the worker disabled, today's
# foreground refresh is all there is.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('background_refresh');
$node->init;
$node->append_conf('postgresql.conf',
	"max_prepared_transactions = 4\nfsync = off\nunlearn.log_to_server = off\nrestart_after_crash = on");
$node->start;

my $pause = 7001;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION unlearn;
	ALTER DATABASE postgres SET unlearn.refresh_threshold = 0.01;
	ALTER DATABASE postgres SET unlearn.refresh_pause_lock = $pause;
	-- Uniform in [0, 1), independent across g and k.
	CREATE FUNCTION hu(g int, k int) RETURNS float8 LANGUAGE sql IMMUTABLE
	AS \$\$ SELECT ('x' || substr(md5(g || '-' || k), 1, 8))::bit(32)::bigint / 4294967296.0 \$\$;
	CREATE TABLE public.pts (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8, x4 float8,
	                         x5 float8, x6 float8, c text, y int);
	INSERT INTO public.pts
	SELECT g, hu(g, 1), hu(g, 2), hu(g, 3), hu(g, 4), hu(g, 5), hu(g, 6),
	       (ARRAY['a', 'b', 'c'])[1 + g % 3],
	       (hu(g, 9) < 1 / (1 + exp(-(3 * hu(g, 1) - 2 * hu(g, 2) + hu(g, 3) - 1 + 0.3 * (g % 3)))))::int
	  FROM generate_series(1, 20000) g;
	-- The next row to erase: in an order unrelated to the features.
	CREATE FUNCTION erase_next() RETURNS int LANGUAGE sql AS \$\$
	    DELETE FROM public.pts WHERE id = (SELECT id FROM public.pts ORDER BY md5(id::text) LIMIT 1)
	    RETURNING id \$\$;
});

# A fresh logistic model p on pts.
sub fresh_model
{
	$node->safe_psql('postgres', q{
		SELECT unlearn.drop_model(name) FROM unlearn.models WHERE name = 'p';
		SELECT name FROM unlearn.create_model('p', 'public.pts', 'y', NULL, 'logistic',
		                                      '{"erasure_tol": 0.1}');
	});
}

# Erases rows one transaction each until the model (p unless given) asks
# for a refresh, or $limit (500) rows; how many.
sub erase_until_requested
{
	my ($model, $limit, $erase) = @_;
	$model //= 'p';
	$limit //= 500;
	$erase //= 'erase_next';
	return $node->safe_psql('postgres', qq{
		CREATE TEMP TABLE erased_count (n int);
		DO \$\$
		DECLARE n int := 0;
		BEGIN
		    LOOP
		        PERFORM $erase();
		        n := n + 1;
		        COMMIT;
		        EXIT WHEN n >= $limit OR (SELECT refresh_pending FROM unlearn.models WHERE name = '$model');
		    END LOOP;
		    INSERT INTO erased_count VALUES (n);
		END \$\$;
		SELECT n FROM erased_count;
	});
}

# The pause lock, held by a prepared transaction (it survives a crash):
# before the install, or (in_pass) in the pass once its snapshot is taken.
sub hold
{
	my ($in_pass) = @_;
	my $key = $pause + ($in_pass ? 1 : 0);
	$node->safe_psql('postgres',
		"BEGIN; SELECT pg_advisory_xact_lock($key); PREPARE TRANSACTION 'hold'");
}

sub release
{
	$node->safe_psql('postgres', "COMMIT PREPARED 'hold'");
}

# Waits until the worker has made its pass and waits for the pause lock.
sub wait_paused
{
	ok($node->poll_query_until('postgres', q{
		SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		                WHERE a.backend_type = 'unlearn refresh worker'
		                  AND l.locktype = 'advisory' AND NOT l.granted)}),
		"$_[0]: the worker made its pass and waits before its install");
}

# Waits until no refresh worker runs.
sub wait_done
{
	ok($node->poll_query_until('postgres', q{
		SELECT NOT EXISTS (SELECT FROM pg_stat_activity
		                    WHERE backend_type = 'unlearn refresh worker')}),
		"$_[0]: the worker is done");
}

# Waits until a background refresh of p is logged after entry $seq (the
# worker starts after the erasing transaction commits: it may not run yet).
sub wait_refreshed
{
	my ($seq, $what, $model) = @_;
	$model //= 'p';
	ok($node->poll_query_until('postgres', qq{
		SELECT count(*) > 0 FROM unlearn.erasure_log
		 WHERE model_name = '$model' AND event = 'refresh' AND seq > $seq}),
		"$what: a background refresh is logged");
	wait_done($what);
}

# The model equals a fresh fit within its bound, and its gradient on the
# remaining rows is within its certified bound.
sub check_model
{
	my ($what, $model) = @_;
	$model //= 'p';
	my ($verdict, $within) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT verdict, gradient_norm <= error_bound FROM unlearn.verify_model('$model')});
	is($verdict, 'ok', "$what: the model equals a fresh fit within its bound");
	is($within, 't', "$what: its gradient on the remaining rows is within its certified bound")
	  if $node->safe_psql('postgres', qq{SELECT type FROM unlearn.models WHERE name = '$model'})
	  ne 'linear';
}

# After an install with no erasure since, the frame the model is stored in
# (unlearn.model_term) is its remaining rows' own preprocessing: the
# install moved it (preprocessing.c), no training-time mean is left.
sub check_frame
{
	my ($what, $model) = @_;
	$model //= 'p';
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FILTER (WHERE abs(t.center - p.center) > 1e-9 * p.scale
		                           OR abs(t.scale - p.scale) > 1e-9 * p.scale)
		       || ' of ' || count(*)
		  FROM unlearn.model_term t JOIN unlearn.model m USING (model_id)
		  JOIN unlearn.preprocessing('$model') p
		    ON p.column_name = t.column_name AND t.level IS NULL
		 WHERE m.name = '$model'}), '0 of 6',
		"$what: the stored frame is the remaining rows' preprocessing");
}

# Every version of the model has one entry (each starts where the last ended),
# the chain verifies, and the journal is empty.
sub check_log
{
	my ($what, $model) = @_;
	$model //= 'p';
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FILTER (WHERE version_before IS DISTINCT FROM previous)
		  FROM (SELECT version_before,
		               lag(version_after) OVER (ORDER BY seq) AS previous
		          FROM unlearn.erasure_log
		         WHERE model_id = (SELECT max(model_id) FROM unlearn.erasure_log WHERE model_name = '$model')
		           AND event NOT IN ('create', 'verify')) e
		 WHERE previous IS NOT NULL}), '0', "$what: every version of the model has one log entry");
	is($node->safe_psql('postgres', 'SELECT (unlearn.verify_log()).ok'), 't',
		"$what: the log's chain verifies");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM unlearn.refresh_journal'), '0',
		"$what: the refresh journal is empty");
}

# Background refreshes logged for the model since log entry $seq.
sub refreshes_since
{
	my ($seq) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FROM unlearn.erasure_log
		 WHERE model_name = 'p' AND event = 'refresh' AND seq > $seq});
}

sub last_seq
{
	return $node->safe_psql('postgres', 'SELECT coalesce(max(seq), 0) FROM unlearn.erasure_log');
}

# The settings, as described.
is($node->safe_psql('postgres', q{
	LOAD 'unlearn';
	SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
	 WHERE name IN ('unlearn.background_refresh', 'unlearn.refresh_threshold')}),
	'unlearn.background_refresh=on unlearn.refresh_threshold=0.01',
	'background refresh is on by default; the threshold is set for the database');

# 1. No race: the worker refreshes, nothing runs meanwhile.
fresh_model();
my $seq = last_seq();
my $n = erase_until_requested();
ok($n > 1 && $n < 500, "the model asks for a refresh after $n erasures");
wait_refreshed($seq, 'no race');
is(refreshes_since($seq), '1', 'no race: one background refresh is logged');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM unlearn.erasure_log
	 WHERE model_name = 'p' AND event = 'erasure' AND method = 'refresh' AND seq > $seq}), '0',
	'no race: no DELETE refreshed in the foreground');
is($node->safe_psql('postgres', "SELECT refresh_pending FROM unlearn.models WHERE name = 'p'"), 'f',
	'no race: the model no longer shows a pending refresh');
like($node->safe_psql('postgres', qq{
	SELECT current_user_name || ' ' || rows || ' ' || detail FROM unlearn.erasure_log
	 WHERE model_name = 'p' AND event = 'refresh' AND seq > $seq}),
	qr/^\w+ \d+ A background refresh: a pass over the rows of version \d+, with the 0 changes since folded in\.$/,
	'no race: the entry says what the refresh was, over how many rows');
check_model('no race');
check_frame('no race');
check_log('no race');

# 2. Erasures while the worker is between its pass and its install: single
# rows, and a statement of twenty.
fresh_model();
hold();
$seq = last_seq();
erase_until_requested();
wait_paused('erasures');
is($node->safe_psql('postgres', "SELECT refresh_pending FROM unlearn.models WHERE name = 'p'"), 't',
	'unlearn.models shows the pending refresh');
$node->safe_psql('postgres', q{
	SELECT erase_next(); SELECT erase_next(); SELECT erase_next();
	DELETE FROM public.pts WHERE id IN (SELECT id FROM public.pts ORDER BY md5(id::text) DESC LIMIT 20);
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM unlearn.refresh_journal'), '4',
	'erasures: each of the four statements journaled its rows for the refresh');
release();
wait_done('erasures');
like($node->safe_psql('postgres', qq{
	SELECT detail FROM unlearn.erasure_log WHERE model_name = 'p' AND event = 'refresh' AND seq > $seq}),
	qr/with the 4 changes since folded in/, 'erasures: the refresh folded the four changes in');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM unlearn.erasure_log
	 WHERE model_name = 'p' AND event = 'erasure' AND method = 'refresh' AND seq > $seq}), '0',
	'erasures: none of them refreshed in the foreground');
check_model('erasures');
check_frame('erasures');
check_log('erasures');

# 2b. Erasures while the pass itself waits, its snapshot taken: the rows
# it then reads include the erased ones, and the journal takes them out.
fresh_model();
hold(1);
$seq = last_seq();
erase_until_requested();
wait_paused('erasures during the pass');
$node->safe_psql('postgres', q{
	SELECT erase_next(); SELECT erase_next();
	UPDATE public.pts SET y = 1 - y WHERE id IN (SELECT id FROM public.pts ORDER BY md5(id::text) LIMIT 1);
});
release();
wait_done('erasures during the pass');
like($node->safe_psql('postgres', qq{
	SELECT detail FROM unlearn.erasure_log WHERE model_name = 'p' AND event = 'refresh' AND seq > $seq}),
	qr/with the 3 changes since folded in/,
	'erasures during the pass: the rows its snapshot still saw were folded out');
check_model('erasures during the pass');
check_log('erasures during the pass');

# 3. Rectifications (labels and a level changed) while it waits.
fresh_model();
hold();
$seq = last_seq();
erase_until_requested();
wait_paused('rectifications');
$node->safe_psql('postgres', q{
	UPDATE public.pts SET y = 1 - y WHERE id IN (SELECT id FROM public.pts ORDER BY md5(id::text) LIMIT 3);
	UPDATE public.pts SET c = 'a', x1 = x1 * 0.9 WHERE id IN (SELECT id FROM public.pts ORDER BY md5(id::text) DESC LIMIT 2);
});
release();
wait_done('rectifications');
like($node->safe_psql('postgres', qq{
	SELECT detail FROM unlearn.erasure_log WHERE model_name = 'p' AND event = 'refresh' AND seq > $seq}),
	qr/with the 2 changes since folded in/, 'rectifications: the refresh folded both statements in');
check_model('rectifications');
check_log('rectifications');

# 3b. A ridge model: its kept sums re-summed in the background (at 1.01
# times the rows' weight here), erasures while it waits folded in exactly.
$node->safe_psql('postgres', q{
	SELECT unlearn.drop_model('p');
	SELECT name FROM unlearn.create_model('q', 'public.pts', 'x1',
	                                      ARRAY['x2', 'x3', 'x4', 'c'], 'linear');
});
hold();
$seq = last_seq();
$n = erase_until_requested('q', 2000);
ok($n > 1 && $n < 2000, "ridge: the model asks for a re-sum after $n erasures");
wait_paused('ridge');
$node->safe_psql('postgres', q{
	SELECT erase_next(); SELECT erase_next();
	UPDATE public.pts SET x1 = x1 + 1 WHERE id IN (SELECT id FROM public.pts ORDER BY md5(id::text) LIMIT 2);
});
release();
wait_done('ridge');
like($node->safe_psql('postgres', qq{
	SELECT method || ': ' || detail FROM unlearn.erasure_log
	 WHERE model_name = 'q' AND event = 'refresh' AND seq > $seq}),
	qr/^exact: A background re-sum: a pass over the rows of version \d+, with the 3 changes since folded in\.$/,
	'ridge: the re-sum folded the three changes in, and stays exact');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM unlearn.erasure_log WHERE model_name = 'q' AND seq > $seq
	   AND event <> 'refresh' AND method <> 'exact'}), '0', 'ridge: every erasure exact');
my ($verdict_q, $close_q) = split /\|/, $node->safe_psql('postgres', q{
	SELECT verdict, parameter_distance < 1e-9 FROM unlearn.verify_model('q')});
is($verdict_q, 'ok', 'ridge: the model equals a fresh fit');
is($close_q, 't', 'ridge: to rounding');
check_log('ridge', 'q');
$node->safe_psql('postgres', q{SELECT unlearn.drop_model('q')});

# 3c. A partitioned source: the pass reads the model's rows through the
# parent, from every partition.
$node->safe_psql('postgres', q{
	CREATE TABLE public.ppts (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8, y int)
	  PARTITION BY RANGE (id);
	CREATE TABLE public.ppts_a PARTITION OF public.ppts FOR VALUES FROM (1) TO (10001);
	CREATE TABLE public.ppts_b PARTITION OF public.ppts FOR VALUES FROM (10001) TO (20001);
	INSERT INTO public.ppts SELECT id, x1, x2, x3, y FROM public.pts;
	SELECT name FROM unlearn.create_model('pp', 'public.ppts', 'y', ARRAY['x1', 'x2', 'x3'],
	                                      'logistic', '{"erasure_tol": 0.0001}');
});
$seq = last_seq();
$node->safe_psql('postgres', q{
	DO $$
	BEGIN
	    FOR i IN 1 .. 200 LOOP
	        DELETE FROM public.ppts WHERE id = (SELECT id FROM public.ppts ORDER BY md5(id::text) LIMIT 1);
	        COMMIT;
	        EXIT WHEN (SELECT refresh_pending FROM unlearn.models WHERE name = 'pp');
	    END LOOP;
	END $$;
});
wait_refreshed($seq, 'partitioned source', 'pp');
like($node->safe_psql('postgres', qq{
	SELECT rows || ' ' || (SELECT count(*) FROM public.ppts) FROM unlearn.erasure_log
	 WHERE model_name = 'pp' AND event = 'refresh' AND seq > $seq}),
	qr/^(\d+) \1$/, 'partitioned source: the refresh refitted on every row of both partitions');
check_model('partitioned source', 'pp');
check_log('partitioned source', 'pp');
$node->safe_psql('postgres', q{SELECT unlearn.drop_model('pp'); DROP TABLE public.ppts});

# 4. A retrain while it waits: the refresh is not installed over the new fit.
fresh_model();
hold();
erase_until_requested();
wait_paused('retrain');
$node->safe_psql('postgres', q{SELECT name FROM unlearn.retrain('p')});
$seq = last_seq();
release();
wait_done('retrain');
is(refreshes_since($seq), '0', 'retrain: no refresh is installed over the new fit');
is($node->safe_psql('postgres', q{
	SELECT version || ' ' || refresh_pending::text FROM unlearn.models WHERE name = 'p'}),
	$node->safe_psql('postgres', q{
	SELECT version_after || ' false' FROM unlearn.erasure_log WHERE model_name = 'p' AND event = 'retrain'
	 ORDER BY seq DESC LIMIT 1}), "retrain: the model is the retrain's version, with no refresh pending");
check_model('retrain');
check_log('retrain');

# 5. A drop while it waits.
fresh_model();
hold();
erase_until_requested();
wait_paused('drop');
$node->safe_psql('postgres', q{SELECT unlearn.drop_model('p')});
$seq = last_seq();
release();
wait_done('drop');
is(refreshes_since($seq), '0', 'drop: nothing is logged after the drop');
is($node->safe_psql('postgres', 'SELECT count(*) FROM unlearn.refresh_journal'), '0',
	'drop: the journal is empty');
ok(slurp_file($node->logfile) !~ /background refresh of model "p" failed/,
	'drop: the worker did not fail');

# 6. A TRUNCATE of the source while it waits (the pass holds no lock then).
$node->safe_psql('postgres', q{
	CREATE TABLE public.pts_copy AS SELECT * FROM public.pts;
});
fresh_model();
hold();
erase_until_requested();
wait_paused('truncate');
$node->safe_psql('postgres', q{TRUNCATE public.pts});
$seq = last_seq();
release();
wait_done('truncate');
is(refreshes_since($seq), '0', 'truncate: no refresh is installed after it');
is($node->safe_psql('postgres', q{SELECT state || ' ' || rows || ' ' || refresh_pending::text
	FROM unlearn.models WHERE name = 'p'}), 'needs_retrain 0 false',
	'truncate: the model holds no row and must be retrained; nothing is pending');
check_log('truncate');
$node->safe_psql('postgres', q{
	INSERT INTO public.pts SELECT * FROM public.pts_copy;
});

# 7. The worker killed (SIGKILL: the server restarts every backend) while it
# waits; the prepared transaction holding the pause lock survives.  The
# request does too, and the next erasure starts a worker that refreshes.
fresh_model();
hold();
erase_until_requested();
wait_paused('crash');
my $pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'unlearn refresh worker'");
kill 'KILL', $pid;
ok($node->poll_query_until('postgres', 'SELECT true'), 'crash: the server is back');
is($node->safe_psql('postgres', "SELECT refresh_pending FROM unlearn.models WHERE name = 'p'"), 't',
	'crash: the request survived');
release();
$seq = last_seq();
$node->safe_psql('postgres', 'SELECT erase_next()');
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) > 0 FROM unlearn.erasure_log
	 WHERE model_name = 'p' AND event = 'refresh' AND seq > $seq}), 'crash: the next erasure starts a worker that refreshes');
wait_done('crash');
check_model('crash');
check_log('crash');

# 7a. The worker's statement cancelled while it waits (pg_cancel_backend):
# it reports the failure, withdraws the request with its journal, and
# serves the next request; the model is untouched by it.
fresh_model();
hold();
$seq = last_seq();
erase_until_requested();
wait_paused('cancel');
$node->safe_psql('postgres', 'SELECT erase_next()');
$node->safe_psql('postgres', q{
	SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE backend_type = 'unlearn refresh worker'});
ok($node->poll_query_until('postgres', q{
	SELECT NOT refresh_pending FROM unlearn.models WHERE name = 'p'}),
	'cancel: the request is withdrawn');
release();
wait_done('cancel');
like(slurp_file($node->logfile),
	qr/background refresh of model "p" failed: canceling statement due to user request/,
	'cancel: the worker reported the failure');
is($node->safe_psql('postgres', 'SELECT count(*) FROM unlearn.refresh_journal'), '0',
	'cancel: the journal went with the request');
is(refreshes_since($seq), '0', 'cancel: nothing was installed');
check_model('cancel');
$seq = last_seq();
erase_until_requested();
wait_refreshed($seq, 'cancel, then asked again');
check_model('cancel, then asked again');
check_log('cancel, then asked again');

# 7b. The worker runs as the bootstrap superuser: a search_path set for
# the database must not put another schema's "=" in its statements.
$node->safe_psql('postgres', q{
	CREATE SCHEMA evil;
	CREATE TABLE evil.hits (backend text);
	GRANT ALL ON SCHEMA evil TO PUBLIC;
	GRANT ALL ON evil.hits TO PUBLIC;
	CREATE FUNCTION evil.eq(a int4, b int4) RETURNS bool LANGUAGE plpgsql AS $$
	BEGIN
	    INSERT INTO evil.hits SELECT backend_type FROM pg_catalog.pg_stat_activity
	     WHERE pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid();
	    RETURN pg_catalog.int4eq(a, b);
	END $$;
	CREATE OPERATOR evil.= (LEFTARG = int4, RIGHTARG = int4, FUNCTION = evil.eq);
	ALTER DATABASE postgres SET search_path = evil, "$user", public, pg_catalog;
});
fresh_model();
$seq = last_seq();
erase_until_requested();
wait_refreshed($seq, 'search_path');
is(refreshes_since($seq), '1', 'search_path: the worker refreshed the model');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM evil.hits WHERE backend = 'unlearn refresh worker'}), '0',
	"search_path: none of the worker's statements used the database's search_path");
ok($node->safe_psql('postgres', q{SELECT count(*) FROM evil.hits}) > 0,
	'search_path: (the operator is there to be found: client statements used it)');
$node->safe_psql('postgres', q{
	ALTER DATABASE postgres RESET search_path;
	DROP SCHEMA evil CASCADE;
});

# 8. Disabled: no request, no worker; a DELETE refreshes in the foreground
# when its step passes erasure_tol, as before.
$node->safe_psql('postgres', q{
	LOAD 'unlearn'; ALTER SYSTEM SET unlearn.background_refresh = off; SELECT pg_reload_conf();
});
fresh_model();
$seq = last_seq();
$n = erase_until_requested();
is($n, '500', 'disabled: no erasure asks for a refresh');
is(refreshes_since($seq), '0', 'disabled: no background refresh');
ok($node->safe_psql('postgres', qq{
	SELECT count(*) FROM unlearn.erasure_log
	 WHERE model_name = 'p' AND event = 'erasure' AND method = 'refresh' AND seq > $seq}) > 0,
	'disabled: DELETEs refresh in the foreground');
is($node->safe_psql('postgres', 'SELECT count(*) FROM unlearn.refresh_journal'), '0',
	'disabled: nothing is journaled');
check_model('disabled');
check_log('disabled');

# 9. No background worker slot free (max_worker_processes 1: the logical
# replication launcher holds it): the launch is reported, nothing is
# journaled (no worker runs), and the DELETE that passes the tolerance
# refreshes in the foreground, as without the worker.
$node->safe_psql('postgres', q{ALTER SYSTEM RESET unlearn.background_refresh});
$node->append_conf('postgresql.conf', 'max_worker_processes = 1');
$node->restart;
fresh_model();
$seq = last_seq();
$n = erase_until_requested();
ok($n > 1 && $n < 500, 'no slot: the model asks for a refresh');
$node->safe_psql('postgres', 'SELECT erase_next(); SELECT erase_next()');
like(slurp_file($node->logfile), qr/could not start a background refresh worker/,
	'no slot: the failed launch is reported in the server log');
is($node->safe_psql('postgres', 'SELECT count(*) FROM unlearn.refresh_journal'), '0',
	'no slot: nothing is journaled while no worker runs');
$node->safe_psql('postgres', qq{
	DO \$\$
	BEGIN
	    FOR i IN 1 .. 2000 LOOP
	        PERFORM erase_next();
	        COMMIT;
	        EXIT WHEN EXISTS (SELECT FROM unlearn.erasure_log WHERE seq > $seq
	                             AND model_name = 'p' AND event = 'erasure' AND method = 'refresh');
	    END LOOP;
	END \$\$;
});
is($node->safe_psql('postgres', qq{
	SELECT (count(*) FILTER (WHERE event = 'erasure' AND method = 'refresh') > 0)::text || ' ' ||
	       count(*) FILTER (WHERE event = 'refresh')
	  FROM unlearn.erasure_log WHERE model_name = 'p' AND seq > $seq}), 'true 0',
	'no slot: a DELETE refreshes in the foreground, no background refresh');
check_model('no slot');
check_log('no slot');
$node->append_conf('postgresql.conf', 'max_worker_processes = 8');
$node->restart;

# Erases rows of $model one by one (with $erase) until it asks for a
# refresh, runs the three statements $sql while the worker waits before
# its install, and checks that the install folded all three in.
sub refresh_while_three_statements
{
	my ($what, $model, $erase, $sql) = @_;
	hold();
	my $from = $node->safe_psql('postgres', 'SELECT coalesce(max(seq), 0) FROM unlearn.erasure_log');
	my $count = erase_until_requested($model, 500, $erase);
	ok($count > 1 && $count < 500, "$what: the model asks for a refresh after $count erasures");
	wait_paused($what);
	$node->safe_psql('postgres', $sql);
	release();
	wait_refreshed($from, $what, $model);
	like($node->safe_psql('postgres', qq{
		SELECT detail FROM unlearn.erasure_log
		 WHERE model_name = '$model' AND event = 'refresh' AND seq > $from ORDER BY seq LIMIT 1}),
		qr/with the 3 changes since folded in\.$/,
		"$what: the install folded in the three statements made meanwhile");
}

# A Poisson model with an exposure: the same worker, with erasures (and an
# UPDATE of exposures) while it waits before its install, and the same
# guarantees; the journaled rows carry their exposures.  No other model is
# left to be refreshed first (the worker would pause on it).  At this
# tolerance the install may ask for one more refresh: the first is checked.
$node->safe_psql('postgres', q{
	SELECT unlearn.drop_model(name) FROM unlearn.models;
	CREATE TABLE public.cnt (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8,
	                         span float8, n int);
	INSERT INTO public.cnt
	SELECT g, hu(g, 1), hu(g, 2), hu(g, 3), 0.5 + 2 * hu(g, 4),
	       floor(2 * hu(g, 9) * (0.5 + 2 * hu(g, 4)) * exp(1 + 2 * hu(g, 1) - hu(g, 2) + 0.5 * hu(g, 3)))::int
	  FROM generate_series(1, 20000) g;
	CREATE FUNCTION erase_next_count() RETURNS int LANGUAGE sql AS $$
	    DELETE FROM public.cnt WHERE id = (SELECT id FROM public.cnt ORDER BY md5(id::text) LIMIT 1)
	    RETURNING id $$;
	SELECT name FROM unlearn.create_model('pc', 'public.cnt', 'n', NULL, 'poisson',
	                                      '{"erasure_tol": 1e-5, "exposure": "span"}');
});
refresh_while_three_statements('poisson', 'pc', 'erase_next_count', q{
	SELECT erase_next_count();
	DELETE FROM public.cnt WHERE id IN (SELECT id FROM public.cnt ORDER BY md5(id::text) LIMIT 20);
	UPDATE public.cnt SET n = n + 3, span = span * 2
	 WHERE id IN (SELECT id FROM public.cnt ORDER BY md5(id::text) DESC LIMIT 5);
});
check_model('poisson', 'pc');
check_log('poisson', 'pc');

# A multinomial model (three classes, K d parameters): the same worker,
# with erasures, and an UPDATE that moves rows between classes, while it
# waits before its install; the journaled rows carry their classes, and
# the pass and the install sum all K d parameters' gradient and Hessian.
$node->safe_psql('postgres', q{
	SELECT unlearn.drop_model(name) FROM unlearn.models;
	CREATE TABLE public.cls (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8, k text);
	INSERT INTO public.cls
	SELECT g, hu(g, 1), hu(g, 2), hu(g, 3),
	       CASE WHEN hu(g, 9) < 0.2 + 0.5 * hu(g, 1) THEN 'a'
	            WHEN hu(g, 8) < 0.3 + 0.6 * hu(g, 2) THEN 'b' ELSE 'c' END
	  FROM generate_series(1, 20000) g;
	CREATE FUNCTION erase_next_class() RETURNS int LANGUAGE sql AS $$
	    DELETE FROM public.cls WHERE id = (SELECT id FROM public.cls ORDER BY md5(id::text) LIMIT 1)
	    RETURNING id $$;
	SELECT name FROM unlearn.create_model('pm', 'public.cls', 'k', NULL, 'multinomial',
	                                      '{"erasure_tol": 1e-3}');
});
refresh_while_three_statements('multinomial', 'pm', 'erase_next_class', q{
	SELECT erase_next_class();
	DELETE FROM public.cls WHERE id IN (SELECT id FROM public.cls ORDER BY md5(id::text) LIMIT 20);
	UPDATE public.cls SET k = CASE k WHEN 'a' THEN 'b' WHEN 'b' THEN 'c' ELSE 'a' END
	 WHERE id IN (SELECT id FROM public.cls ORDER BY md5(id::text) DESC LIMIT 5);
});
is($node->safe_psql('postgres', q{
	SELECT string_agg(c.class || ' ' || c.rows, ', ' ORDER BY c.ordinal)
	       = (SELECT string_agg(k || ' ' || n, ', ' ORDER BY k)
	            FROM (SELECT k, count(*) AS n FROM public.cls GROUP BY k) r)
	  FROM unlearn.classes('pm') c}), 't',
	"multinomial: the classes' row counts are the table's");
check_model('multinomial', 'pm');
check_log('multinomial', 'pm');

# Only superusers change the settings.
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
my ($ret, $out, $err) = $node->psql('postgres',
	"LOAD 'unlearn'; SET ROLE plain; SET unlearn.refresh_threshold = 0.5");
like($err, qr/permission denied to set parameter "unlearn.refresh_threshold"/,
	'a role that is not a superuser cannot change the threshold');
($ret, $out, $err) = $node->psql('postgres',
	"LOAD 'unlearn'; SET ROLE plain; SET unlearn.background_refresh = off");
like($err, qr/permission denied to set parameter "unlearn.background_refresh"/,
	'nor turn the worker off');
($ret, $out, $err) = $node->psql('postgres', "LOAD 'unlearn'; SET unlearn.refresh_threshold = 0");
like($err, qr/0 is outside the valid range for parameter "unlearn.refresh_threshold" \(0.01 .. 1\)/,
	'a threshold of 0 is refused');

$node->stop;
done_testing();
