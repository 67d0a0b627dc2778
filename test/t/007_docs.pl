# The front door cannot drift: the demo runs and tells its story (a Newton
# step for the logistic model, an exact update for ridge, both verified
# against a fresh fit, an intact chain); every SQL block of the README's
# walkthrough, and of the docs' runnable examples, runs as written after
# the demo's set-up; every relative link in README.md and docs/ resolves
# to a file and, where it names one, a heading.
use strict;
use warnings;
use File::Basename;
use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# test/run runs prove in the staged copy's test/ directory.
my $root = File::Spec->rel2abs(($ENV{TESTDIR} // '.') . '/..');
my $node = PostgreSQL::Test::Cluster->new('docs');
$node->init;
$node->start;

# Runs a psql script from the repository's root, stopping at its first
# error, as a user pasting it into psql would see it.
sub psql_script
{
	my ($dbname, $script) = @_;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(
		[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($dbname) ],
		'<', \$script, '>', \$out, '2>', \$err,
		init => sub { chdir $root or die "chdir $root: $!" });
	return ($ok, $out, $err);
}

# The ```sql blocks of a Markdown file, in order.
sub sql_blocks
{
	my ($file) = @_;
	my $text = slurp_file("$root/$file");
	my @blocks = $text =~ /^```sql\n(.*?)^```$/msg;
	return @blocks;
}

# --- the demo ---------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE demo');
my ($ok, $out, $err) = psql_script('demo', "\\i demo/demo.sql\n");
ok($ok, 'the demo runs to its end') or diag($err);
unlike($err, qr/ERROR/, 'the demo raises no error');
my @steps = $out =~ /^== (\d+)\. /mg;
is_deeply(\@steps, [ 1 .. 10 ], 'the demo announces its ten steps in order');
like($out, qr/^ diagnosis\s+\| erasure \|\s+1 \| newton /m,
	'the single-row erasure from the logistic model is a Newton step');
like($out, qr/^ area\s+\| erasure \|\s+1 \| exact /m,
	'the single-row erasure from the ridge model is exact');
like($out, qr/^ diagnosis\s+\| rectification \|\s+1 \|/m, 'the UPDATE is rectified');
like($out, qr/^ models_holding_patient_20 \n-+\n\s+0$/m, 'no model holds the erased patient');
like($out, qr/^ area\s+\| ok\s+\|.*\n diagnosis \| ok\s+\|/m,
	'both models agree with a fresh fit (verify_model ok)');
like($out, qr/^ area\s+\|\s+0 \| needs_retrain\n diagnosis \|\s+0 \| needs_retrain$/m,
	'TRUNCATE leaves both models waiting for a retrain');
unlike($out, qr/^ f\s+\|/m, 'verify_log never fails');

# --- the README's walkthrough -----------------------------------------------
my @readme = sql_blocks('README.md');
cmp_ok(scalar(@readme), '>=', 8, 'the README has its walkthrough blocks');
# The blocks run in order in one session, as pasted into psql: the
# installation section's CREATE EXTENSION first, then the walkthrough.
$node->safe_psql('postgres', 'CREATE DATABASE walkthrough');
($ok, $out, $err) = psql_script('walkthrough', join("\n", @readme));
ok($ok, 'every SQL block of the README runs as written, in order') or diag($err);
unlike($err, qr/ERROR/, 'the walkthrough raises no error');
like($out, qr/^ risk\s+\| erasure \|\s+1 \| newton /m, 'the walkthrough erases by a Newton step');
like($out, qr/^ size\s+\| erasure \|\s+1 \| exact /m, 'and exactly from the ridge model');
like($out, qr/^ models_holding_20 \n-+\n\s+0$/m, 'no model holds the erased row');
like($out, qr/^ risk \| ok /m, 'the logistic model verifies');
like($out, qr/^ size \| ok /m, 'the ridge model verifies');
is($node->safe_psql('walkthrough', 'SELECT count(*) FROM unlearn.models'), '0',
	'the walkthrough cleans up its models');
is($node->safe_psql('walkthrough',
	q{SELECT count(*) FROM pg_roles WHERE rolname LIKE 'walk\_%'}), '0',
	'and its roles');

# --- the docs' runnable examples --------------------------------------------
# docs/auditing.md answers the auditor's questions in SQL: run its blocks on
# a database where the demo ran (it has models, erasures and a log).
if (-f "$root/docs/auditing.md")
{
	my @audit = sql_blocks('docs/auditing.md');
	cmp_ok(scalar(@audit), '>=', 1, 'docs/auditing.md has runnable SQL');
	my $prelude = "\\i demo/setup.sql\n"
	  . "SELECT unlearn.create_model('risk', 'patients', 'benign', ARRAY['mean_radius', 'worst_area'], 'logistic', '{\"erasure_tol\": 0.01}');\n"
	  . "BEGIN; SET LOCAL unlearn.request_reference = 'DSR-2026-0042'; DELETE FROM patients WHERE id = 20; COMMIT;\n";
	$node->safe_psql('postgres', 'CREATE DATABASE auditing');
	my ($aok, $aout, $aerr) = psql_script('auditing', $prelude . join("\n", @audit));
	ok($aok, 'every SQL block of docs/auditing.md runs') or diag($aerr);
}

# --- links --------------------------------------------------------------------
# GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'.
sub anchor
{
	my ($heading) = @_;
	my $a = lc $heading;
	$a =~ s/`//g;
	$a =~ s/[^\w\- ]//g;
	$a =~ s/ /-/g;
	return $a;
}

my @files = ('README.md', map { "docs/" . basename($_) } glob("$root/docs/*.md"));
my (%anchors, @bad);
foreach my $f (@files)
{
	my %seen;
	foreach my $h (slurp_file("$root/$f") =~ /^#+ (.+)$/mg)
	{
		my $a = anchor($h);
		my $n = $seen{$a}++;
		$anchors{$f}{ $n ? "$a-$n" : $a } = 1;
	}
}
my $links = 0;
foreach my $f (@files)
{
	my $text = slurp_file("$root/$f");
	$text =~ s/^```.*?^```$//msg;    # no links inside code
	while ($text =~ /\]\(([^)\s]+)\)/g)
	{
		my $link = $1;
		next if $link =~ m{^[a-z]+://} || $link =~ /^mailto:/;
		$links++;
		my ($path, $frag) = split /#/, $link, 2;
		my $target = $path eq '' ? $f : File::Spec->canonpath(dirname($f) . "/$path");
		$target =~ s{^\./}{};
		if (!-e "$root/$target")
		{
			push @bad, "$f: $link (no file $target)";
			next;
		}
		next unless defined $frag && $target =~ /\.md$/;
		push @bad, "$f: $link (no heading #$frag in $target)"
		  unless $anchors{$target}{$frag};
	}
}
cmp_ok($links, '>', 20, 'README.md and docs/ link to each other');
is(join("\n", @bad), '', 'every relative link resolves to a file and heading');

# The front door stays short.
cmp_ok(-s "$root/README.md", '<=', 16 * 1024, 'README.md is at most 16 kB');

done_testing();
