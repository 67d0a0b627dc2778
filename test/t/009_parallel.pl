# Parallel training (src/parallel_sums.c) when it fails: a fit whose
# passes are shared with parallel workers is cancelled (statement_timeout,
# rows in memory and streamed) or loses a worker (pg_terminate_backend)
# while they sum; the statement
# fails whole (no model, no lineage, no log entry), no worker is left, and
# the next fit runs and equals a serial one.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('parallel');
$node->init;
$node->append_conf('postgresql.conf',
	"fsync = off\nunlearn.log_to_server = off\nmax_parallel_maintenance_workers = 2");
$node->start;

# 400,000 rows of 64 features and 10 classes: a multinomial fit of several
# seconds, nearly all of it in its Hessians' passes.
$node->safe_psql('postgres', q{
	CREATE EXTENSION unlearn;
	ALTER DATABASE postgres SET unlearn.parallel_min_rows = 1000;
	SELECT setseed(0.5);
	SELECT format('CREATE TABLE wide (id int PRIMARY KEY, %s, label int)',
	              string_agg(format('f%s float8', j), ', ' ORDER BY j))
	  FROM generate_series(1, 64) j \gexec
	SELECT format($q$INSERT INTO wide SELECT i, %s, floor(10 * random())::int
	                   FROM generate_series(1, 400000) i$q$,
	              string_agg('random()', ', '))
	  FROM generate_series(1, 64) j \gexec
});

# Nothing of a failed fit is left: no model, no lineage, no log entry, and
# no parallel worker still running.
sub nothing_left
{
	my ($what, $entries) = @_;
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM unlearn.model) || ' ' ||
		       (SELECT count(*) FROM unlearn.lineage) || ' ' ||
		       (SELECT count(*) FROM unlearn.erasure_log)}), "0 0 $entries",
		"$what: no model, no lineage, no log entry is left");
	ok($node->poll_query_until('postgres', q{
		SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'parallel worker'}),
		"$what: no parallel worker is left");
}

my $train = q{SELECT unlearn.create_model('w', 'wide', 'label', NULL, 'multinomial')};
my $entries = $node->safe_psql('postgres', 'SELECT count(*) FROM unlearn.erasure_log');

# A cancel while the workers sum.
my ($ret, $out, $err) = $node->psql('postgres', "SET statement_timeout = '3s'; $train");
like($err, qr/canceling statement due to statement timeout/, 'cancel: the fit is cancelled');
nothing_left('cancel', $entries);

# A worker terminated while it sums: the leader fails with its error.
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/, "\\echo started\n$train;\n\\echo finished\n");
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'parallel worker'}),
	'worker lost: the fit runs with parallel workers');
$node->safe_psql('postgres', q{
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'parallel worker'});
$bg->query_until(qr/finished/, '');
like($bg->{stderr}, qr/ERROR:  terminating background worker "parallel worker" due to administrator command/,
	"worker lost: the fit fails with the worker's error");
$bg->quit;
nothing_left('worker lost', $entries);

# A cancel in a streaming fit (rows beyond unlearn.train_memory: each pass
# a parallel scan of the table): the same.
($ret, $out, $err) = $node->psql('postgres',
	"SET unlearn.train_memory = '64MB'; SET statement_timeout = '3s'; $train");
like($err, qr/canceling statement due to statement timeout/, 'streaming cancel: the fit is cancelled');
nothing_left('streaming cancel', $entries);

# The next fit runs, with workers, and equals a serial fit of the rows.
$node->safe_psql('postgres', $train);
$node->safe_psql('postgres', q{
	SET max_parallel_maintenance_workers = 0;
	SELECT unlearn.create_model('w_serial', 'wide', 'label', NULL, 'multinomial')});
ok($node->safe_psql('postgres', q{
	SELECT max(abs(a - b)) / max(abs(b)) < 1e-6
	  FROM unnest((SELECT theta FROM unlearn.model WHERE name = 'w'),
	              (SELECT theta FROM unlearn.model WHERE name = 'w_serial')) AS u(a, b)}) eq 't',
	'after them: a fit with workers equals a serial fit');

$node->stop;
done_testing();
