# A real Citus cluster for TAP tests: a coordinator and two workers on
# Unix sockets, each with citus and unlearn, the workers added to the
# coordinator.  Citus is built from ../shared/vendor by test/lib/cluster.sh.
package CitusCluster;
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Test::More;

# Whether Citus is installed; skips the whole test file when it is not.
sub require_citus
{
	my $libdir = `pg_config --pkglibdir`;
	chomp $libdir;
	plan skip_all =>
	  "Citus is not installed ($libdir/citus.so): test/run builds it from ../shared/vendor"
	  unless -f "$libdir/citus.so";
}

# Starts the cluster; returns the coordinator and the workers.
sub start
{
	my (%opts) = @_;
	my @nodes;
	for my $name ('coordinator', 'worker1', 'worker2')
	{
		my $node = PostgreSQL::Test::Cluster->new($name);
		$node->init;
		$node->append_conf('postgresql.conf',
			"shared_preload_libraries = 'citus'\nmax_prepared_transactions = 200\n"
			  . "fsync = off\nunlearn.log_to_server = off\ncitus.shard_count = 4\n"
			  . "citus.local_hostname = '" . $node->host . "'\n"
			  . ($opts{conf} // ''));
		$node->start;
		$node->safe_psql('postgres', 'CREATE EXTENSION citus; CREATE EXTENSION unlearn');
		push @nodes, $node;
	}
	my ($coord, @workers) = @nodes;
	$coord->safe_psql('postgres', sprintf("SELECT citus_set_coordinator_host('%s', %d)",
			$coord->host, $coord->port));
	$coord->safe_psql('postgres', sprintf("SELECT citus_add_node('%s', %d)", $_->host, $_->port))
	  for @workers;
	return ($coord, @workers);
}

1;
