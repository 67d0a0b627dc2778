# Linear-algebra unit battery (src/selftest.c), one TAP test per check:
# random SPD solves against a residual check, the condition estimate, dsyrk
# Gram sums against a plain loop, rank-1 update/downdate against fresh
# factorizations, 1000 successive downdates then updates, refused downdates.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $checks_per_seed = 20;

my $node = PostgreSQL::Test::Cluster->new('linalg');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION unlearn');
$node->safe_psql('postgres', slurp_file('linalg_helpers.sql'));

foreach my $seed (1, 2, 3)
{
	my @rows = split /\n/, $node->safe_psql('postgres',
		"SELECT check_name, passed, measured, bound
		   FROM unlearn_test.linalg_selftest($seed)");
	is(scalar(@rows), $checks_per_seed, "seed $seed: every check reported");
	foreach my $row (@rows)
	{
		my ($name, $passed, $measured, $bound) = split /\|/, $row;
		ok($passed eq 't', "seed $seed: $name ($measured <= $bound)");
	}
}

$node->stop;
done_testing();
