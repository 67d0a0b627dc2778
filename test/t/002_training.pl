# Training on a cluster of its own: models survive pg_dump/pg_restore and a
# crash, a long training can be cancelled and leaves nothing behind, and
# long runs report progress.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('training');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION unlearn;
	CREATE TABLE pts (id bigint PRIMARY KEY, a float8, b float8, kind text, y int);
	SELECT setseed(0.42);
	INSERT INTO pts
	SELECT g, random() * 2 - 1, random() * 2 - 1, (ARRAY['x', 'y', 'z'])[1 + g % 3], 0
	  FROM generate_series(1, 300000) g;
	UPDATE pts SET y = (random() < 1 / (1 + exp(-(2 * a - b)))::float8)::int;
	SELECT name FROM unlearn.create_model('lg', 'pts', 'y', NULL, 'logistic');
	SELECT name FROM unlearn.create_model('lin', 'pts', 'a', ARRAY['b', 'kind'], 'linear');
});

# A fingerprint of everything a model is: parameters, terms, lineage.
my $state_sql = q{
	SELECT m.name, m.version, m.rows_trained, m.theta::text, m.hessian::text,
	       (SELECT string_agg(t::text, ';' ORDER BY position) FROM unlearn.model_term t
	         WHERE t.model_id = m.model_id),
	       (SELECT md5(string_agg(key || ':' || fingerprint, ',')) FROM unlearn.lineage(m.name)),
	       (SELECT sum(unlearn.predict_proba('lg', p)) FROM pts p)
	  FROM unlearn.model m ORDER BY m.name};
my $before = $node->safe_psql('postgres', $state_sql);
like($before, qr/^lg\|1\|300000\|/m, 'logistic model trained on all rows');

# pg_dump keeps the models (extension config tables) and they work restored.
my $dump = $node->basedir . '/models.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ],
	'pg_dump of a database with models');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ],
	'pg_restore into a new database');
is($node->safe_psql('restored', $state_sql), $before,
	'restored models: same parameters, terms, lineage and predictions');
is($node->safe_psql('restored',
		q{SELECT name FROM unlearn.create_model('after_restore', 'pts', 'y', ARRAY['a'], 'logistic')}),
	'after_restore', 'the model sequence continues after restore');

# A crash does not lose or tear committed models.
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $state_sql), $before, 'models intact after a crash');

# Cancelling a training run: an error, and no trace of the model.
my ($stdout, $stderr);
$node->psql('postgres',
	q{SET statement_timeout = '30ms';
	  SELECT unlearn.create_model('cancelled', 'pts', 'y', NULL, 'logistic');},
	stdout => \$stdout, stderr => \$stderr);
like($stderr, qr/canceling statement due to statement timeout/, 'training can be cancelled');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM unlearn.model WHERE name = 'cancelled'}),
	'0', 'a cancelled training leaves no model');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM unlearn.lineage l
		   WHERE NOT EXISTS (SELECT 1 FROM unlearn.model m WHERE m.model_id = l.model_id)}),
	'0', 'a cancelled training leaves no lineage');

# Progress: with unlearn.progress_interval = 0, every step reports.
$node->psql('postgres',
	q{SET unlearn.progress_interval = 0;
	  SELECT name FROM unlearn.create_model('chatty', 'pts', 'y', NULL, 'logistic');},
	stdout => \$stdout, stderr => \$stderr);
like($stderr, qr/NOTICE:  training "chatty": read 65536 rows/, 'progress while reading rows');
like($stderr, qr/NOTICE:  training "chatty": iteration 0, objective [0-9.e+]+, gradient norm/,
	'progress at each Newton iteration');
# By default (10 s) a short training says nothing.
$node->psql('postgres',
	q{SELECT name FROM unlearn.create_model('quiet', 'pts', 'y', ARRAY['a'], 'logistic');},
	stdout => \$stdout, stderr => \$stderr);
unlike($stderr, qr/NOTICE/, 'no progress messages for a short run by default');

$node->stop;
done_testing();
