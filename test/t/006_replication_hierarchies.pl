# Erasure under logical replication for partitioned and inheritance
# sources.  The apply worker applies each change to the table that
# stores the row and fires only row-level triggers there (and statement
# triggers for TRUNCATE): every model whose rows that table stores - on
# the table or on a partitioned ancestor - is erased or rectified, and equals a fresh fit on its remaining training
# rows.  A cross-partition UPDATE reaches a subscriber as a DELETE and an
# INSERT: the row leaves the model, logged as an erasure with its digest.
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

# Same tables on both sides, but orders is partitioned differently on the
# subscriber (it receives orders' changes through the root and routes them).
my $common = q{
	CREATE TABLE sales (id int PRIMARY KEY, region int, x float8, y float8) PARTITION BY RANGE (id);
	CREATE TABLE sales_1 PARTITION OF sales FOR VALUES FROM (1) TO (101);
	CREATE TABLE sales_2 PARTITION OF sales FOR VALUES FROM (101) TO (201);
	CREATE TABLE sales_3 PARTITION OF sales FOR VALUES FROM (201) TO (2001);
	CREATE TABLE people (id int PRIMARY KEY, x float8, y float8);
	CREATE TABLE staff (grade int) INHERITS (people);
	ALTER TABLE staff ADD PRIMARY KEY (id);
};
$publisher->safe_psql('postgres', $common . q{
	CREATE TABLE orders (id int PRIMARY KEY, x float8, y float8) PARTITION BY RANGE (id);
	CREATE TABLE orders_low PARTITION OF orders FOR VALUES FROM (1) TO (151);
	CREATE TABLE orders_high PARTITION OF orders FOR VALUES FROM (151) TO (1001);
});
$subscriber->safe_psql('postgres', $common . q{
	CREATE TABLE orders (id int PRIMARY KEY, x float8, y float8) PARTITION BY HASH (id);
	CREATE TABLE orders_h0 PARTITION OF orders FOR VALUES WITH (MODULUS 3, REMAINDER 0);
	CREATE TABLE orders_h1 PARTITION OF orders FOR VALUES WITH (MODULUS 3, REMAINDER 1);
	CREATE TABLE orders_h2 PARTITION OF orders FOR VALUES WITH (MODULUS 3, REMAINDER 2);
});
$publisher->safe_psql('postgres', q{
	INSERT INTO sales SELECT g, 1 + g % 3, sin(g), 2 * sin(g) + cos(5 * g) / 3 + g % 3
	  FROM generate_series(1, 300) g;
	INSERT INTO orders SELECT g, cos(g), 1 - 3 * cos(g) + sin(11 * g) / 4 FROM generate_series(1, 300) g;
	INSERT INTO people SELECT g, sin(2 * g), sin(2 * g) + cos(7 * g) / 2 FROM generate_series(1, 100) g;
	INSERT INTO staff SELECT g, sin(2 * g), 3 * sin(2 * g) + cos(7 * g) / 2, g % 4
	  FROM generate_series(101, 200) g;
	CREATE PUBLICATION pub_leaves FOR TABLE sales, people, staff;
	CREATE PUBLICATION pub_root FOR TABLE orders WITH (publish_via_partition_root = true);
});
my $connstr = $publisher->connstr . ' dbname=postgres';
$subscriber->safe_psql('postgres',
	"CREATE SUBSCRIPTION sub CONNECTION '$connstr' PUBLICATION pub_leaves, pub_root");
$subscriber->wait_for_subscription_sync($publisher, 'sub');
is($subscriber->safe_psql('postgres',
		'SELECT (SELECT count(*) FROM sales) || \'/\' || (SELECT count(*) FROM orders) || \'/\' || (SELECT count(*) FROM people)'),
	'300/300/200', 'initial copy');

# The subscriber's models: on a partitioned root, on one partition, on a
# root its publisher partitions otherwise, on an inheritance parent (its
# own rows, as SELECT ... FROM ONLY reads them) and on its child.
my %models = (
	m_sales   => q{'sales', 'y', ARRAY['x', 'region']},
	m_sales_2 => q{'sales_2', 'y', ARRAY['x']},
	m_orders  => q{'orders', 'y', ARRAY['x']},
	m_people  => q{'people', 'y', ARRAY['x']},
	m_staff   => q{'staff', 'y', ARRAY['x', 'grade']},
);
$subscriber->safe_psql('postgres', 'CREATE EXTENSION unlearn');
for my $m (sort keys %models)
{
	$subscriber->safe_psql('postgres',
		"SELECT unlearn.create_model('$m', $models{$m}, 'linear', '{\"standardize\": false}')");
}

# On the publisher: deletes through a root and straight from a partition,
# updates in place and across partitions, deletes through an inheritance
# parent and from its child, a TRUNCATE of one partition.
$publisher->safe_psql('postgres', q{
	DELETE FROM sales WHERE id IN (1, 2, 3, 140, 241);
	DELETE FROM sales_2 WHERE id IN (104, 107);
	UPDATE sales SET x = x + 1 WHERE id IN (11, 114);
	UPDATE sales SET id = 1119 WHERE id = 119;
	DELETE FROM orders WHERE id IN (10, 200, 299);
	UPDATE orders SET x = x / 2 WHERE id IN (20, 160);
	UPDATE orders SET id = 900 WHERE id = 30;
	DELETE FROM people WHERE id IN (4, 104);
	DELETE FROM staff WHERE id = 150;
	UPDATE people SET x = -x WHERE id IN (9, 109);
	TRUNCATE sales_1;
});
$publisher->wait_for_catchup('sub');

is($subscriber->safe_psql('postgres',
		'SELECT (SELECT count(*) FROM sales) || \'/\' || (SELECT count(*) FROM orders) || \'/\' || (SELECT count(*) FROM people)'),
	'196/297/197', 'changes replicated');

# Rows that left each model: deleted ones, and 119 and 30 (moved across
# partitions: a DELETE and an INSERT on the subscriber).  Every other row
# is still in its lineage with its new values.
sub lineage_count
{
	my ($source, $key) = @_;
	return $subscriber->safe_psql('postgres',
		"SELECT count(*) FROM unlearn.lineage_of('$source', $key)");
}
is(lineage_count('sales', 2),   '0', 'a row deleted through the root left the root\'s model');
is(lineage_count('sales_2', 104), '0', 'a row deleted from a partition left both models');
is(lineage_count('sales', 119), '0', 'a row moved across partitions left the model');
is(lineage_count('sales', 114), '1', 'a row updated in place stayed');
is(lineage_count('orders', 30), '0', 'a row moved on the publisher left the subscriber\'s model');
is(lineage_count('people', 4),  '0', 'a parent\'s row deleted left the parent\'s model');
is(lineage_count('staff', 104), '0', 'a child\'s row deleted through the parent left the child\'s model');
is(lineage_count('staff', 150), '0', 'a child\'s row deleted from the child left its model');
is($subscriber->safe_psql('postgres', q{
		SELECT rows FROM unlearn.models WHERE name = 'm_sales'}),
	'195', 'the TRUNCATE of a partition took its rows out of the root\'s model');
is($subscriber->safe_psql('postgres', q{
		SELECT count(*) FROM unlearn.erasure_log
		 WHERE model_name = 'm_sales' AND event = 'erasure'
		   AND unlearn.source_subject_digest(source_id, '119', key_id) = ANY (key_digests)}),
	'1', 'the moved row\'s erasure is logged with its digest');

# Each model equals a fresh fit on its remaining training rows (the rows
# moved by an UPDATE are new rows of the source, and not among them).
my %remaining = (
	m_sales   => 'id <> 1119',
	m_sales_2 => 'true',
	m_orders  => 'id <> 900',
	m_people  => 'true',
	m_staff   => 'true',
);
for my $m (sort keys %models)
{
	$subscriber->safe_psql('postgres',
		"SELECT unlearn.create_model('${m}_fresh', $models{$m}, 'linear', "
		  . "'{\"standardize\": false, \"where\": \"$remaining{$m}\"}')");
	is($subscriber->safe_psql('postgres', qq{
			SELECT (SELECT rows FROM unlearn.models WHERE name = '$m') =
			       (SELECT rows FROM unlearn.models WHERE name = '${m}_fresh')
			   AND max(abs(w.raw_weight - f.raw_weight)) / greatest(max(abs(f.raw_weight)), 1) < 1e-9
			  FROM unlearn.weights('$m') w JOIN unlearn.weights('${m}_fresh') f USING (term)}),
		't', "$m equals a fresh fit on its remaining rows");
	is($subscriber->safe_psql('postgres', "SELECT verdict FROM unlearn.verify_model('$m')"),
		'ok', "$m verifies");
}
is($subscriber->safe_psql('postgres', 'SELECT ok FROM unlearn.verify_log()'), 't',
	'the subscriber\'s log verifies');

# A TRUNCATE of a whole source: its model must be retrained, with every
# key's digest on the record.
$publisher->safe_psql('postgres', 'TRUNCATE staff');
$publisher->wait_for_catchup('sub');
is($subscriber->safe_psql('postgres', q{
		SELECT state || ':' || (SELECT cardinality(key_digests) FROM unlearn.erasure_log
		                         WHERE model_name = 'm_staff' ORDER BY seq DESC LIMIT 1)
		  FROM unlearn.models WHERE name = 'm_staff'}),
	'needs_retrain:98', 'a replicated TRUNCATE of a source marks its model with every digest');

$subscriber->stop;
$publisher->stop;
done_testing();
