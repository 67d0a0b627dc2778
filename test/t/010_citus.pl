# Citus (built from ../shared/vendor by test/lib/cluster.sh): a real
# coordinator and two workers on Unix sockets (models of distributed
# tables: 011_citus_distributed.pl).  Nothing may miss an erasure
# silently: training on a reference or Citus local table is refused
# (0A000); a modeled table cannot be distributed (Citus refuses its
# triggers), and if it is anyway (citus.enable_unsafe_triggers), the
# copies of unlearn's triggers Citus gives the shards refuse to fire, so a
# DELETE, UPDATE or TRUNCATE through the coordinator fails whole and the
# model, its lineage and the log stay as they were; undistributing the
# table drops it, and the model with it, on the record.  A local table's model in the
# same cluster works as anywhere.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use CitusCluster;

CitusCluster::require_citus();
my ($coord, @workers) = CitusCluster::start();
my @nodes = ($coord, @workers);
is($coord->safe_psql('postgres', 'SELECT count(*) FROM citus_get_active_worker_nodes()'), '2',
	'the coordinator has two workers');

# Runs SQL on the coordinator, expecting an error; returns it.
sub fails
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $coord->psql('postgres', $sql);
	return $ret != 0 ? $err : "succeeded: $out";
}

# The model's version, state, lineage rows and the log's length, as one string.
sub model_state
{
	my ($model) = @_;
	return $coord->safe_psql('postgres', qq{
		SELECT m.version || ' ' || m.state || ' ' ||
		       (SELECT count(*) FROM unlearn.lineage l WHERE l.model_id = m.model_id) || ' ' ||
		       (SELECT count(*) FROM unlearn.erasure_log)
		  FROM unlearn.model m WHERE m.name = '$model'});
}

# Training on tables Citus manages is refused, and leaves nothing.
$coord->safe_psql('postgres', q{
	CREATE TABLE dist (id int PRIMARY KEY, a float8, b float8, y float8);
	SELECT create_distributed_table('dist', 'id');
	INSERT INTO dist SELECT g, g % 7, g % 5, 2 * (g % 7) - (g % 5) + (g % 3) FROM generate_series(1, 1000) g;
	CREATE TABLE ref (id int PRIMARY KEY, a float8, y float8);
	SELECT create_reference_table('ref');
	INSERT INTO ref SELECT g, g % 7, g % 5 FROM generate_series(1, 100) g;
	CREATE TABLE loc (id int PRIMARY KEY, a float8, y float8);
	INSERT INTO loc SELECT g, g % 7, g % 5 FROM generate_series(1, 100) g;
	SELECT citus_add_local_table_to_metadata('loc');
});
like(fails(q{SELECT unlearn.create_model('m', 'ref', 'y', '{a}', 'linear')}),
	qr/ERROR:  cannot train a model on "ref", a reference table of Citus/,
	'training on a reference table is refused');
like(fails(q{SELECT unlearn.create_model('m', 'loc', 'y', '{a}', 'linear')}),
	qr/ERROR:  cannot train a model on "loc", a Citus local table of Citus/,
	'training on a Citus local table is refused');
is($coord->safe_psql('postgres',
		'SELECT (SELECT count(*) FROM unlearn.model) + (SELECT count(*) FROM unlearn.erasure_log)'),
	'0', 'the refusals left no model and no log entry');

# A model on a local table of the cluster works as anywhere.
$coord->safe_psql('postgres', q{
	CREATE TABLE pts (id int PRIMARY KEY, a float8, b float8, y float8);
	INSERT INTO pts SELECT g, g % 7, g % 5, 2 * (g % 7) - (g % 5) + (g % 3) FROM generate_series(1, 1000) g;
	SELECT unlearn.create_model('mp', 'pts', 'y', '{a, b}', 'linear');
	DELETE FROM pts WHERE id <= 10;
});
is($coord->safe_psql('postgres', q{
	SELECT method || ' ' || rows FROM unlearn.erasure_log WHERE model_name = 'mp' ORDER BY seq DESC LIMIT 1}),
	'exact 10', 'a local table of the cluster: its DELETE is erased exactly');

# Citus refuses to distribute the modeled table: it has triggers.
like(fails(q{SELECT create_distributed_table('pts', 'id')}),
	qr/cannot distribute relation "pts" because it has triggers/,
	'Citus refuses to distribute a modeled table');

# Forced (unsafe triggers), the shards' copies of the triggers refuse to
# fire: DELETE, UPDATE and TRUNCATE fail whole, the model is untouched.
$coord->safe_psql('postgres', q{
	SET citus.enable_unsafe_triggers = on;
	SELECT create_distributed_table('pts', 'id');
});
my $before = model_state('mp');
like(fails(q{SET citus.enable_unsafe_triggers = on; DELETE FROM pts WHERE id = 20}),
	qr/ERROR:  trigger "unlearn_\w+_\d+" on "pts_\d+" is a copy of an erasure trigger of unlearn/,
	'distributed anyway: a DELETE through the coordinator fails with the shard trigger\'s refusal');
like(fails(q{SET citus.enable_unsafe_triggers = on; UPDATE pts SET y = y + 1 WHERE id = 21}),
	qr/is a copy of an erasure trigger of unlearn/, 'an UPDATE fails the same way');
like(fails(q{SET citus.enable_unsafe_triggers = on; TRUNCATE pts}),
	qr/is a copy of an erasure trigger of unlearn/, 'a TRUNCATE fails the same way');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM pts WHERE id IN (20, 21)'), '2',
	'the rows are still in the table');
is(model_state('mp'), $before, 'the model, its lineage and the log are as they were');
like(fails(q{SELECT unlearn.retrain('mp')}),
	qr/cannot retrain model "mp": it was trained before "pts" was distributed/,
	'retraining the model of the now distributed table is refused');

# Undistributed (Citus copies the rows to a new local table and drops the
# distributed one), the model goes with its source, on the record; a model
# trained on the table as it is now erases as anywhere.
$coord->safe_psql('postgres', q{
	SET citus.enable_unsafe_triggers = on;
	SELECT undistribute_table('pts');
});
is($coord->safe_psql('postgres', q{
	SELECT event || ' ' || method || ': ' || detail FROM unlearn.erasure_log
	 WHERE model_name = 'mp' ORDER BY seq DESC LIMIT 1}),
	'drop cascade: Its source table pts was dropped.',
	'undistributed: the model went with the distributed table, logged');
$coord->safe_psql('postgres', q{
	SELECT unlearn.create_model('mp2', 'pts', 'y', '{a, b}', 'linear');
	DELETE FROM pts WHERE id = 20;
});
is($coord->safe_psql('postgres', q{
	SELECT method || ' ' || rows FROM unlearn.erasure_log WHERE model_name = 'mp2' ORDER BY seq DESC LIMIT 1}),
	'exact 1', 'a model of the undistributed table: a DELETE is erased exactly');
is($coord->safe_psql('postgres', q{SELECT verdict FROM unlearn.verify_model('mp2')}), 'ok',
	'and it equals a fresh fit of the remaining rows');
is($coord->safe_psql('postgres', q{SELECT ok FROM unlearn.verify_log()}), 't',
	"the log's chain verifies");

$_->stop for reverse @nodes;
done_testing();
