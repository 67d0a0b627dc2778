# Erasure under logical replication: a subscriber's models are trained on
# its copy of a table; a DELETE on the publisher reaches the subscriber
# through the apply worker (session_replication_role = replica), and the
# ENABLE ALWAYS triggers erase the row from the subscriber's model there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $publisher = PostgreSQL::Test::Cluster->new('publisher');
$publisher->init(allows_streaming => 'logical');
$publisher->start;
my $subscriber = PostgreSQL::Test::Cluster->new('subscriber');
$subscriber->init;
$subscriber->start;

my $table = q{CREATE TABLE pts (id int PRIMARY KEY, a float8, b float8, y float8)};
$publisher->safe_psql('postgres', $table);
$subscriber->safe_psql('postgres', $table);
$publisher->safe_psql('postgres', q{
	INSERT INTO pts SELECT g, sin(g), cos(3 * g), 1 + 2 * sin(g) - cos(3 * g) + sin(7 * g) / 4
	  FROM generate_series(1, 300) g;
	CREATE PUBLICATION pub FOR TABLE pts;
});
my $connstr = $publisher->connstr . ' dbname=postgres';
$subscriber->safe_psql('postgres', "CREATE SUBSCRIPTION sub CONNECTION '$connstr' PUBLICATION pub");
$subscriber->wait_for_subscription_sync($publisher, 'sub');
is($subscriber->safe_psql('postgres', 'SELECT count(*) FROM pts'), '300', 'initial copy');

# The subscriber trains a model on its copy.
$subscriber->safe_psql('postgres', q{
	CREATE EXTENSION unlearn;
	SELECT unlearn.create_model('m', 'pts', 'y', ARRAY['a', 'b'], 'linear', '{"standardize": false}');
});

# Deletes and an update on the publisher, applied by the subscriber's worker.
$publisher->safe_psql('postgres', q{
	DELETE FROM pts WHERE id = 7;
	DELETE FROM pts WHERE id BETWEEN 100 AND 119;
	UPDATE pts SET a = a + 1 WHERE id = 200;
});
$publisher->wait_for_catchup('sub');

is($subscriber->safe_psql('postgres', 'SELECT count(*) FROM pts'), '279', 'changes replicated');
# The worker applies row by row: one entry per replicated row.
is($subscriber->safe_psql('postgres',
		q{SELECT string_agg(event || ':' || n, ',' ORDER BY event)
		    FROM (SELECT event, sum(rows) AS n FROM unlearn.erasure_log
		            WHERE event IN ('erasure', 'rectification') GROUP BY event) e}),
	'erasure:21,rectification:1', 'the apply worker fired the erasure triggers');
is($subscriber->safe_psql('postgres', q{SELECT count(*) FROM unlearn.lineage_of('pts', 7)}),
	'0', 'the deleted row left the subscriber model\'s lineage');
$subscriber->safe_psql('postgres', q{
	SELECT unlearn.create_model('fresh', 'pts', 'y', ARRAY['a', 'b'], 'linear', '{"standardize": false}');
});
is($subscriber->safe_psql('postgres', q{
		SELECT max(abs(x.weight - f.weight)) / max(abs(f.weight)) < 1e-9
		  FROM unlearn.weights('m') x JOIN unlearn.weights('fresh') f USING (term)}),
	't', 'the subscriber\'s model equals a fresh fit on its remaining rows');

$subscriber->stop;
$publisher->stop;
done_testing();
