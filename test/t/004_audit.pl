# The audit trail on a cluster of its own: every entry and every link
# reaches the server log (rolled-back entries too) and no key does; an
# auditor outside the database recomputes every entry's hash and the chain
# of links from an export; concurrent erasures keep one chain; the log,
# its chain and the digest keys survive pg_dump/pg_restore, append-only
# triggers included.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('audit');
$node->init;
# Only what the server logs by itself: no statement texts.
$node->append_conf('postgresql.conf', "log_statement = 'none'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION unlearn;
	CREATE TABLE patients (id int PRIMARY KEY, a float8, b float8, y float8);
	INSERT INTO patients SELECT g, g % 13, (g * 7) % 11, g % 13 + 0.5 * ((g * 7) % 11) + g % 3
	  FROM generate_series(1, 4000) g;
	CREATE TABLE people (email text PRIMARY KEY, x float8, y float8);
	INSERT INTO people SELECT 'person' || g || '@example.com', g % 7, g % 5 + g % 7
	  FROM generate_series(1, 300) g;
	INSERT INTO people VALUES ('alice@example.com', 3, 4);
	SELECT unlearn.create_model('dosage', 'patients', 'y', ARRAY['a', 'b'], 'linear');
	SELECT unlearn.create_model('contacts', 'people', 'y', ARRAY['x'], 'linear');
	SET unlearn.request_reference = 'DSR-7';
	DELETE FROM people WHERE email = 'alice@example.com';
	DELETE FROM patients WHERE id IN (10, 11, 12);
	UPDATE patients SET a = a + 1 WHERE id = 13;
});
# A rolled-back erasure: no entry, a line in the server log.
$node->safe_psql('postgres', q{
	BEGIN;
	DELETE FROM patients WHERE id = 20;
	ROLLBACK;
});

my $log = slurp_file($node->logfile);
my @entries = split /\n/, $node->safe_psql('postgres',
	q{SELECT seq || ' ' || encode(entry_hash, 'hex') FROM unlearn.erasure_log ORDER BY seq});
is(scalar(@entries), 5, 'five entries: two models created, two erasures, a rectification');
my $logged = 0;
foreach my $e (@entries)
{
	my ($seq, $hash) = split / /, $e;
	$logged++ if $log =~ /unlearn: erasure_log entry $seq \(hash $hash, transaction \d+\)/;
}
is($logged, scalar(@entries), 'every entry is in the server log with its seq and hash');
my @links = split /\n/, $node->safe_psql('postgres',
	q{SELECT position || ' ' || encode(link_hash, 'hex') || ' ' || array_to_string(entries, ', ')
	    FROM unlearn.erasure_log_chain ORDER BY position});
my $linked = 0;
foreach my $l (@links)
{
	my ($position, $hash, $seqs) = split / /, $l, 3;
	$linked++ if $log =~ /unlearn: erasure_log_chain link $position \(hash $hash, transaction \d+\) seals entries \Q$seqs\E\n/;
}
is($linked, scalar(@links), 'every link is in the server log with its position, hash and entries');
my ($max_seq) = $node->safe_psql('postgres', 'SELECT max(seq) FROM unlearn.erasure_log');
my $rolled_back = $max_seq + 1;
like($log, qr/unlearn: erasure_log entry $rolled_back \(hash [0-9a-f]{64}, transaction \d+\): erasure of 1 rows/,
	'a rolled-back entry leaves its trace in the server log');
unlike($log, qr/alice/, 'no erased key reaches the server log');

unlike($log, qr/STATEMENT:/, 'no statement text (which may name a key) is logged with an entry');

# An auditor outside the database: export the log and its chain, recompute
# every hash from the documented canonical texts with Python's hashlib.
SKIP:
{
	skip 'no python3', 1 unless -x '/usr/bin/python3';
	my $csv = $node->basedir . '/log.csv';
	my $chain = $node->basedir . '/chain.csv';
	$node->safe_psql('postgres', qq{
		SET timezone = 'UTC';
		COPY (SELECT seq, entry_hash, logged_at, session_user_name, current_user_name,
		             transaction_id, event, model_id, model_name, source_id, source, version_before,
		             version_after, rows, method, step_norm, error_bound, params_hash_before,
		             params_hash_after, request_reference, detail, key_id, key_digests
		        FROM unlearn.erasure_log ORDER BY seq) TO '$csv' WITH (FORMAT csv, FORCE_QUOTE *);
		COPY (SELECT position, link_hash, prev_hash, sealed_at, transaction_id, entries
		        FROM unlearn.erasure_log_chain ORDER BY position) TO '$chain' WITH (FORMAT csv, FORCE_QUOTE *)});
	my $script = $node->basedir . '/verify.py';
	open(my $fh, '>', $script) or die;
	print $fh <<'PY';
import csv, datetime, hashlib, struct, sys

def field(v):
    if v is None:
        return b'-,'
    b = v.encode('utf-8')
    return str(len(b)).encode() + b':' + b + b','

def hexbytes(v):            # bytea in hex output: \x...
    return None if v is None else v[2:]

def floathex(v):
    return None if v is None else struct.pack('>d', float(v)).hex()

def utc(v):                 # 2026-01-02 03:04:05.123456+00
    t = datetime.datetime.fromisoformat(v.replace('+00', '+00:00'))
    return t.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')

def digests(v):             # {"\\x..","\\x.."}
    if v is None:
        return None
    items = [i.strip('"') for i in v[1:-1].split(',') if i]
    return ''.join(i.replace('\\\\x', '').replace('\\x', '') for i in items)

hashes = {}
with open(sys.argv[1], newline='', encoding='utf-8') as f:
    for r in csv.reader(f):
        r = [None if x == '' else x for x in r]
        (seq, entry_hash, logged_at, su, cu, xid, event, model_id, model_name, source_id,
         source, vb, va, rows, method, step, bound, pb, pa, ref, detail, key_id, kd) = r
        text = b''.join(field(x) for x in [
            'unlearn.erasure_log v2', seq, utc(logged_at), su, cu, xid, event, model_id,
            model_name, source_id, source, vb, va, rows, method, floathex(step), floathex(bound),
            hexbytes(pb), hexbytes(pa), ref, detail, key_id, digests(kd)])
        if hashlib.sha256(text).hexdigest() != hexbytes(entry_hash):
            sys.exit('entry %s does not match its hash' % seq)
        hashes[seq] = hexbytes(entry_hash)

prev = '00' * 32
sealed = set()
n = 0
with open(sys.argv[2], newline='', encoding='utf-8') as f:
    for r in csv.reader(f):
        position, link_hash, prev_hash, sealed_at, xid, entries = r
        if hexbytes(prev_hash) != prev:
            sys.exit('link %s does not follow the one before' % position)
        seqs = entries[1:-1].split(',')
        parts = ['unlearn.erasure_log_chain v1', prev, position, utc(sealed_at), xid, str(len(seqs))]
        for s in seqs:
            if s not in hashes or s in sealed:
                sys.exit('link %s seals entry %s, missing or sealed twice' % (position, s))
            sealed.add(s)
            parts += [s, hashes[s]]
        if hashlib.sha256(b''.join(field(x) for x in parts)).hexdigest() != hexbytes(link_hash):
            sys.exit('link %s does not match its hash' % position)
        prev = hexbytes(link_hash)
        n += 1
if sealed != set(hashes):
    sys.exit('entries not sealed: %s' % sorted(set(hashes) - sealed))
print('ok %d %d' % (len(hashes), n))
PY
	close($fh);
	my ($out, $err);
	IPC::Run::run([ '/usr/bin/python3', $script, $csv, $chain ], '>', \$out, '2>', \$err);
	is($out, "ok 5 5\n", 'every entry and the chain recomputed outside the database') or diag($err);
}

# Concurrent erasures on two tables (and so two models) under READ
# COMMITTED and REPEATABLE READ: they wait for each other only at commit,
# and the links form one chain, each naming a different predecessor.
my $dir = $node->basedir;
open(my $f1, '>', "$dir/patients.sql") or die;
print $f1 "\\set id random(100, 4000)\nDELETE FROM patients WHERE id = :id;\n";
close($f1);
open(my $f2, '>', "$dir/people.sql") or die;
print $f2 "\\set id random(1, 300)\nDELETE FROM people WHERE email = 'person' || :id || '\@example.com';\n";
close($f2);
foreach my $isolation ('read committed', 'repeatable read')
{
	local $ENV{PGOPTIONS} = '-c default_transaction_isolation=' . ($isolation =~ s/ /\\ /r);
	$node->command_ok(
		[ 'pgbench', '-n', '-c', '4', '-j', '2', '-t', '40', '--max-tries', '50',
		  '-f', "$dir/patients.sql", '-f', "$dir/people.sql", $node->connstr('postgres') ],
		"concurrent erasures under $isolation");
}
is($node->safe_psql('postgres', q{
		SELECT ok, entries > 100 FROM unlearn.verify_log()}),
	't|t', 'the log verifies after concurrent erasures');
is($node->safe_psql('postgres',
		q{SELECT count(*) - count(DISTINCT prev_hash) FROM unlearn.erasure_log_chain}),
	'0', 'no two links follow the same link: one chain, no fork');

# A commit that fails after its link was made (as a serialization failure
# found at commit does) leaves no link line: the server log shows only
# links that are in the chain.
$node->safe_psql('postgres', q{
	CREATE FUNCTION fail_commit() RETURNS void
	AS '$libdir/unlearn', 'unlearn_test_fail_commit' LANGUAGE C;
});
my ($ret_fail, $out_fail, $err_fail) = $node->psql('postgres', q{
	BEGIN;
	DELETE FROM patients WHERE id = 30;
	SELECT fail_commit();
	COMMIT;
});
like($err_fail, qr/the commit failed after its link was made/, 'a commit fails after its link was made');
is($node->safe_psql('postgres', q{SELECT count(*) FROM patients WHERE id = 30}), '1',
	'and rolled back');
$log = slurp_file($node->logfile);
my %chain = map { split / /, $_, 2 } split /\n/, $node->safe_psql('postgres',
	q{SELECT position || ' ' || encode(link_hash, 'hex') FROM unlearn.erasure_log_chain});
my @said = $log =~ /unlearn: erasure_log_chain link (\d+) \(hash ([0-9a-f]{64})/g;
my $stray = 0;
while (my ($position, $hash) = splice(@said, 0, 2))
{
	$stray++ unless defined $chain{$position} && $chain{$position} eq $hash;
}
is($stray, 0, 'every link line in the server log is a link of the chain');
$node->safe_psql('postgres', q{DELETE FROM patients WHERE id = 30});
is($node->safe_psql('postgres', 'SELECT ok FROM unlearn.verify_log()'), 't',
	'the chain verifies after the failed commit, and the next link follows the last committed one');

# pg_dump and pg_restore: the entries, the chain, the sequence and the digest
# keys come back; the append-only triggers are recreated by CREATE EXTENSION.
my $digest_sql = q{SELECT encode(unlearn.subject_digest('people', 'alice@example.com', 1), 'hex')};
my $head_sql = q{SELECT position || ' ' || encode(link_hash, 'hex') FROM unlearn.log_anchor()};
my $subject_sql = q{SELECT string_agg(seq || ':' || event || ':' || model_name, ',' ORDER BY seq)
                       FROM unlearn.subject_log('people', 'alice@example.com')};
my $sources_sql = q{SELECT string_agg(source_id || ':' || relation::text, ',' ORDER BY source_id)
                      FROM unlearn.sources};
my $digest = $node->safe_psql('postgres', $digest_sql);
my $head = $node->safe_psql('postgres', $head_sql);
my $subject = $node->safe_psql('postgres', $subject_sql);
my $sources = $node->safe_psql('postgres', $sources_sql);
like($subject, qr/^\d+:erasure:contacts$/, 'alice\'s erasure is found by her table and key');
my $dump = "$dir/audit.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ],
	'pg_dump of a database with an erasure log');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-e', '-d', $node->connstr('restored'), $dump ],
	'pg_restore without errors (the digest keys do not collide)');
is($node->safe_psql('restored', $head_sql), $head, 'restored log: same head link and hash');
is($node->safe_psql('restored', 'SELECT ok FROM unlearn.verify_log()'), 't',
	'restored log: the chain verifies');
is($node->safe_psql('restored', $digest_sql), $digest, 'restored digest keys: same digests');
is($node->safe_psql('restored', $sources_sql), $sources,
	'restored sources: same identities, bound to the restored tables');
is($node->safe_psql('restored', $subject_sql), $subject,
	'restored log: a subject is still found by table and key');
$node->safe_psql('restored', 'ALTER TABLE people RENAME TO persons');
is($node->safe_psql('restored', q{SELECT string_agg(seq || ':' || event || ':' || model_name, ',' ORDER BY seq)
                                    FROM unlearn.subject_log('persons', 'alice@example.com')}),
	$subject, 'and by its new name after a rename');
is($node->safe_psql('restored', q{
		SELECT string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger
		 WHERE tgrelid IN ('unlearn.erasure_log'::regclass, 'unlearn.erasure_log_chain'::regclass)
		   AND NOT tgisinternal}),
	'append_only:A,append_only:A,append_only_truncate:A,append_only_truncate:A',
	'restored log and chain: append-only triggers, enabled always');
my ($ret, $out, $err) = $node->psql('restored', 'DELETE FROM unlearn.erasure_log');
like($err, qr/cannot delete from unlearn\.erasure_log/, 'restored log: still append-only');
# A new link follows the restored head.
$node->safe_psql('restored', q{DELETE FROM patients WHERE id = 50});
my ($head_position) = split / /, $head;
is($node->safe_psql('restored', qq{
		SELECT k.position = $head_position + 1, k.prev_hash = h.link_hash
		  FROM unlearn.erasure_log_chain k, unlearn.erasure_log_chain h
		 WHERE h.position = $head_position ORDER BY k.position DESC LIMIT 1}),
	't|t', 'a new link after restore follows the restored head');
is($node->safe_psql('restored', 'SELECT ok FROM unlearn.verify_log()'), 't',
	'the restored and extended log verifies');

# unlearn.log_to_server = off (superusers only) leaves the server log without
# the entry and link lines; the table and its chain are written as ever.
{
	my ($seq_before) = $node->safe_psql('postgres', 'SELECT max(seq) FROM unlearn.erasure_log');
	my $offset = -s $node->logfile;
	$node->safe_psql('postgres', q{
		SET unlearn.log_to_server = off;
		DELETE FROM patients WHERE id = 40;
	});
	my ($seq_after) = $node->safe_psql('postgres', 'SELECT max(seq) FROM unlearn.erasure_log');
	cmp_ok($seq_after, '>', $seq_before, 'with log_to_server off the erasure is still logged in the table');
	my $tail = substr(slurp_file($node->logfile), $offset);
	unlike($tail, qr/unlearn: erasure_log (entry|_chain link)/,
		'and no entry or link line reaches the server log');
	is($node->safe_psql('postgres', 'SELECT ok FROM unlearn.verify_log()'), 't',
		'the chain still verifies');
	$node->safe_psql('postgres', 'CREATE ROLE plain_user');
	my ($rc, $out, $err) = $node->psql('postgres',
		'SELECT unlearn.version(); SET ROLE plain_user; SET unlearn.log_to_server = off');
	like($err, qr/permission denied to set parameter "unlearn.log_to_server"/,
		'only a superuser may turn the server-log copy off');
	# Set before the library is loaded, by a role that may not: ignored.
	$node->safe_psql('postgres', q{
		CREATE TABLE public.visits (id int PRIMARY KEY, x float8, y float8);
		INSERT INTO public.visits SELECT g, g % 7, g % 5 + g % 7 FROM generate_series(1, 100) g;
		SELECT unlearn.create_model('visits', 'public.visits', 'y', ARRAY['x'], 'linear');
		GRANT DELETE, SELECT ON public.visits TO plain_user;
	});
	$offset = -s $node->logfile;
	$node->psql('postgres',
		'SET ROLE plain_user; SET unlearn.log_to_server = off; DELETE FROM public.visits WHERE id = 42');
	like(substr(slurp_file($node->logfile), $offset), qr/unlearn: erasure_log entry \d+/,
		'a placeholder set by a role that may not set it is ignored');
	$offset = -s $node->logfile;
	$node->safe_psql('postgres', 'DELETE FROM patients WHERE id = 41');
	like(substr(slurp_file($node->logfile), $offset), qr/unlearn: erasure_log entry \d+/,
		'on by default');
}


$node->stop;
done_testing();
