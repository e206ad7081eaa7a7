# 003_jobs.pl — the job engine's life with real downloads from a local HTTP server
# (test/lib/httpd.py): 200 downloads through three kill -9 of the worker, a postmaster crash in
# the middle of a batch, cancel of a running download, retries with backoff, dependency chains,
# an external worker's expiring lease, path checks against symbolic links, a batch of downloads
# claimed and finished together with one failing and one cancelled, an outcome that cannot be
# written failing that job alone, and the latency of wake-on-commit.
use strict;
use warnings;
use Digest::SHA qw(sha256 sha256_hex);
use File::Find;
use FindBin;
use Fcntl qw(O_WRONLY);
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $FINAL = "('succeeded', 'failed', 'cancelled')";

# ---------------------------------------------------------------------------------------------
# The HTTP server, started as this test's user; killed by PID at the end, even when we die.
my $httpd_pid;
my $tmp       = PostgreSQL::Test::Utils::tempdir();
my $port_file = "$tmp/httpd.port";
my $httpd_log = "$tmp/httpd.log";

END
{
	if ($httpd_pid)
	{
		kill 'TERM', $httpd_pid;
		waitpid($httpd_pid, 0);
	}
}

$httpd_pid = fork();
die "fork: $!" unless defined $httpd_pid;
if ($httpd_pid == 0)
{
	exec('/usr/bin/python3', "$FindBin::Bin/../lib/httpd.py", $port_file, $httpd_log)
	  or POSIX::_exit(127);
}
my $deadline = time() + 30;
usleep(20_000) until -s $port_file || time() > $deadline || waitpid($httpd_pid, POSIX::WNOHANG()) != 0;
my $http_port = -s $port_file ? slurp_file($port_file) : '';
chomp $http_port;
BAIL_OUT("test/lib/httpd.py did not start: " . (-f $httpd_log ? slurp_file($httpd_log) : 'no log'))
  unless $http_port =~ /^\d+$/;
my $base = "http://127.0.0.1:$http_port";
note("HTTP server on $base, pid $httpd_pid");

# ---------------------------------------------------------------------------------------------
my $node = PostgreSQL::Test::Cluster->new('jobs');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_cron,pg_mlops'
cron.database_name = 'postgres'
mlops.database_name = 'postgres'
restart_after_crash = on
mlops.max_transfers = 8
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_mlops CASCADE');
my $workdir = $node->data_dir . '/pg_mlops';

sub q1 { return $node->safe_psql('postgres', $_[0]); }

# wait_for(SQL, EXPECTED, TIMEOUT): runs SQL every 50 ms (connection errors are tolerated, the
# server may be restarting) until it prints EXPECTED; returns true, or false after TIMEOUT
# seconds with the last output in a diag.
sub wait_for
{
	my ($sql, $expected, $timeout) = @_;
	my $until = time() + ($timeout // 60);
	my ($ret, $out, $err);
	while (time() < $until)
	{
		($ret, $out, $err) = $node->psql('postgres', $sql);
		return 1 if $ret == 0 && $out eq $expected;
		usleep(50_000);
	}
	diag("timed out after ${\($timeout // 60)} s waiting for\n  $sql\nto give '$expected'; last output '"
		  . ($out // '') . "', stderr '" . ($err // '') . "'");
	return 0;
}

sub worker_pid
{
	my ($ret, $out) = $node->psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker'");
	return $ret == 0 && $out =~ /^(\d+)$/ ? $1 : undef;
}

# Kills the worker with SIGKILL (the postmaster restarts the whole cluster) and waits for a new one.
sub kill_worker
{
	my ($why) = @_;
	my $pid = worker_pid();
	ok(defined $pid, "$why: the worker runs") or return;
	my $t0 = time();
	kill 'KILL', $pid;
	ok( wait_for(
			"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker' AND pid <> $pid",
			't', 60),
		"$why: the worker is back after kill -9");
	diag(sprintf("%s: worker %d killed, a new one runs %.2f s later", $why, $pid, time() - $t0));
}

# The bytes test/lib/httpd.py sends for /file/<n>/<seed>.
sub pattern
{
	my ($n, $seed) = @_;
	my $out = '';
	my $i   = 0;
	$out .= sha256("$seed:" . $i++) while length($out) < $n;
	return substr($out, 0, $n);
}

sub file_sha256
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or return undef;
	my $d = Digest::SHA->new(256);
	$d->addfile($fh);
	close $fh;
	return $d->hexdigest;
}

# unnamed_ok: whether the work directory's file system gives unnamed files (O_TMPFILE, which is
# O_DIRECTORY | 020000000 on Linux); where it does not, downloads write <dest>.part, as the
# worker does, and cases c and i check that instead (said in a diag, not skipped).
my $unnamed_ok;
sub unnamed_ok
{
	return $unnamed_ok if defined $unnamed_ok;
	$unnamed_ok = sysopen(my $probe, $workdir, 0x410000 | O_WRONLY, 0600) ? 1 : 0;
	diag("unnamed files (O_TMPFILE) in the work directory: " . ($unnamed_ok ? 'yes' : "no ($!): downloads use .part files"));
	close($probe) if $unnamed_ok;
	return $unnamed_ok;
}

# unnamed_in: whether a pg_mlops worker holds an unnamed (O_TMPFILE) file open in a folder:
# /proc shows such a descriptor as "<folder>/#<inode> (deleted)".
sub unnamed_in
{
	my ($dir) = @_;
	foreach my $pid (split /\n/,
		q1("SELECT string_agg(pid::text, E'\\n') FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker'"))
	{
		foreach my $fd (glob("/proc/$pid/fd/*"))
		{
			my $to = readlink($fd) // next;
			return 1 if $to =~ m{^\Q$dir\E/#\d+ \(deleted\)$};
		}
	}
	return 0;
}

# Every *.part file under the work directory.
sub part_files
{
	my @parts;
	find({ wanted => sub { push @parts, $File::Find::name if /\.part$/ }, no_chdir => 1 }, $workdir)
	  if -d $workdir;
	return @parts;
}

# "state count" lines of a batch, for the diagnostics.
sub batch_states
{
	my ($run_id) = @_;
	return q1("SELECT string_agg(state || ' ' || n, ', ' ORDER BY state) FROM "
		  . "(SELECT state, count(*) n FROM mlops.jobs WHERE run_id = '$run_id' GROUP BY state) s");
}

# Checks a batch of downloads: all succeeded, results and files right, nothing duplicated.
sub check_batch
{
	my ($run_id, $dir, $files) = @_;    # $files: { name => [size, seed] }
	my $n = scalar keys %$files;
	is(q1("SELECT count(*) || ' ' || count(DISTINCT params->>'path') FROM mlops.jobs WHERE run_id = '$run_id'"),
		"$n $n", "$run_id: each of the $n jobs is in mlops.jobs exactly once");
	my $bad = q1(
		"SELECT string_agg(id || ' ' || state || ' attempts ' || attempts || ': ' || coalesce(error, ''), E'\\n') "
		  . "FROM mlops.jobs WHERE run_id = '$run_id' AND state <> 'succeeded'");
	is($bad, '', "$run_id: all $n downloads succeeded");

	my %res = map { my @f = split /\|/; ($f[0] => [ @f[ 1 .. $#f ] ]) } split /\n/,
	  q1("SELECT params->>'path', result->>'size', result->>'sha256', result->>'http_status', "
		  . "result->>'url' = params->>'url' FROM mlops.jobs WHERE run_id = '$run_id'");
	my @wrong;
	for my $name (sort keys %$files)
	{
		my ($size, $seed) = @{ $files->{$name} };
		my $path     = "$workdir/$dir/$name";
		my $expected = sha256_hex(pattern($size, $seed));
		my $r        = $res{"$dir/$name"};
		if (!$r)
		{
			push @wrong, "$name: no job";
			next;
		}
		my ($rsize, $rsha, $rstatus, $rurl) = @$r;
		my $disk = file_sha256($path);
		push @wrong, "$name: result size $rsize, expected $size" if ($rsize // '') ne $size;
		push @wrong, "$name: result sha256 $rsha, expected $expected" if ($rsha // '') ne $expected;
		push @wrong, "$name: http_status $rstatus" if ($rstatus // '') ne '200';
		push @wrong, "$name: result url differs from params url" if ($rurl // '') ne 't';
		push @wrong, "$name: no file on disk" unless defined $disk;
		push @wrong, "$name: file on disk has sha256 $disk, expected $expected"
		  if defined $disk && $disk ne $expected;
		push @wrong, "$name: file on disk has " . (-s $path) . " bytes, expected $size"
		  if defined $disk && -s $path != $size;
	}
	is(scalar(@wrong), 0, "$run_id: every result's size and sha256 are right and match the file on disk")
	  or diag(join("\n", @wrong[ 0 .. ($#wrong < 20 ? $#wrong : 19) ]));

	opendir(my $dh, "$workdir/$dir");
	my @extra = grep { !/^\.\.?$/ && !exists $files->{$_} } readdir($dh);
	closedir $dh;
	is_deeply(\@extra, [], "$run_id: no other file in the download directory");
}

ok(wait_for("SELECT mlops.worker_running()", 't', 30), 'the worker serves the database');

# ---------------------------------------------------------------------------------------------
# a) 200 downloads through three kill -9 of the worker.
{
	my (%files, @values);
	for my $i (1 .. 200)
	{
		my $size = 20_000 + ($i * 7919) % 180_001;
		$files{"f$i.bin"} = [ $size, "a$i" ];
		push @values, "($i, $size)";
	}
	my $t0 = time();
	is( q1( "SELECT count(mlops.submit_job('download', jsonb_build_object("
			  . "'url', '$base/file/' || size || '/a' || i || '?delay_ms=30', 'path', 'a/f' || i || '.bin'), "
			  . "max_attempts => 10, run_id => 'a')) FROM (VALUES "
			  . join(', ', @values)
			  . ") v(i, size)"),
		'200', 'a: 200 downloads queued');

	my $done = 0;
	for my $k (1 .. 3)
	{
		my $target = $done + 25;
		ok(wait_for("SELECT count(*) >= $target FROM mlops.jobs WHERE run_id = 'a' AND state = 'succeeded'",
				't', 90),
			"a: kill $k: $target downloads succeeded before it");
		my $states = batch_states('a');
		my $left   = q1("SELECT count(*) FROM mlops.jobs WHERE run_id = 'a' AND state NOT IN $FINAL");
		my @parts  = part_files();
		cmp_ok($left, '>', 0, "a: kill $k happens while downloads are still pending or running")
		  or diag("states: $states");
		diag("a: kill $k with $states; " . scalar(@parts) . " .part files on disk");
		kill_worker("a: kill $k");
		$done = q1("SELECT count(*) FROM mlops.jobs WHERE run_id = 'a' AND state = 'succeeded'");
	}
	ok(wait_for("SELECT count(*) FROM mlops.jobs WHERE run_id = 'a' AND state IN $FINAL", '200', 120),
		'a: all 200 downloads ended')
	  or diag('states: ' . batch_states('a'));
	diag(sprintf('a: 200 downloads with 3 kills took %.1f s', time() - $t0));
	check_batch('a', 'a', \%files);
	my @parts = part_files();
	is_deeply(\@parts, [], 'a: no .part file left under the work directory');
	my ($attempts, $extra, $max) = split /\|/,
	  q1("SELECT sum(attempts), sum(attempts) - count(*), max(attempts) FROM mlops.jobs WHERE run_id = 'a'");
	diag("a: $attempts attempts in total for 200 jobs ($extra spent by the kills, at most $max for one job)");
	cmp_ok($extra, '>', 0, 'a: the kills cost attempts (jobs were running when the worker died)');
}

# ---------------------------------------------------------------------------------------------
# b) A postmaster crash (kill -9 of the postmaster) in the middle of a batch.
{
	my %files;
	for my $i (1 .. 50)
	{
		$files{"f$i.bin"} = [ 30_000 + $i * 2000, "b$i" ];
	}
	is( q1( "SELECT count(mlops.submit_job('download', jsonb_build_object("
			  . "'url', '$base/file/' || (30000 + i * 2000) || '/b' || i || '?delay_ms=40', "
			  . "'path', 'b/f' || i || '.bin'), max_attempts => 10, run_id => 'b')) FROM generate_series(1, 50) i"),
		'50', 'b: 50 downloads queued');
	ok(wait_for("SELECT count(*) FILTER (WHERE state = 'succeeded') >= 5 FROM mlops.jobs WHERE run_id = 'b'", 't', 60),
		'b: some downloads succeeded');
	my $states = batch_states('b');
	my $left   = q1("SELECT count(*) FROM mlops.jobs WHERE run_id = 'b' AND state NOT IN $FINAL");
	cmp_ok($left, '>', 0, 'b: the postmaster is killed while downloads are not done') or diag("states: $states");

	# the postmaster's children: after its death they must all exit before a new start
	my ($pm) = slurp_file($node->data_dir . '/postmaster.pid') =~ /^(\d+)/;
	my @children;
	for my $stat (glob('/proc/[0-9]*/stat'))
	{
		open(my $fh, '<', $stat) or next;
		my $line = <$fh>;
		close $fh;
		push @children, $1 if $line && $line =~ /^(\d+) \(.*\) \S (\d+) / && $2 == $pm;
	}
	diag("b: killing the postmaster $pm (" . scalar(@children) . " children) with $states");
	$node->kill9;
	my $until = time() + 30;
	my @alive;
	while (time() < $until)
	{
		@alive = grep { kill 0, $_ } @children;
		last unless @alive;
		usleep(50_000);
	}
	is_deeply(\@alive, [], "b: the postmaster's children exit after its death");
	$node->start;
	ok(wait_for("SELECT count(*) FROM mlops.jobs WHERE run_id = 'b' AND state IN $FINAL", '50', 120),
		'b: all 50 downloads ended after the restart')
	  or diag('states: ' . batch_states('b'));
	check_batch('b', 'b', \%files);
	my @parts = part_files();
	is_deeply(\@parts, [], 'b: no .part file left under the work directory');
	diag('b: ' . q1("SELECT sum(attempts) - count(*) FROM mlops.jobs WHERE run_id = 'b'")
		  . ' attempts spent by the postmaster crash');
}

# ---------------------------------------------------------------------------------------------
# c) Cancel of a slow download takes effect within a second, and leaves no file.
{
	my $size = 8 * 1024 * 1024;
	my $id   = q1("SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/slow/$size', "
		  . "'path', 'c/slow.bin'))");
	ok(wait_for("SELECT state = 'running' AND progress > 0 FROM mlops.jobs WHERE id = $id", 't', 30),
		'c: the slow download runs and reports progress');
	if (unnamed_ok())
	{
		ok(!-e "$workdir/c/slow.bin.part" && !-e "$workdir/c/slow.bin",
			'c: nothing is named while it runs (it writes an unnamed file)');
		ok(unnamed_in("$workdir/c"), 'c: a worker holds an unnamed file open in c/');
	}
	else
	{
		ok(-f "$workdir/c/slow.bin.part", 'c: its .part file exists while it runs (no O_TMPFILE here)');
	}
	my $out = q1(
		qq{SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset
SELECT mlops.cancel_job($id) AS asked \\gset
SELECT mlops.wait_job($id, '10 seconds') AS st \\gset
SELECT :'asked' || ' ' || :'st' || ' ' || (extract(epoch FROM clock_timestamp()) - :t0)});
	my ($asked, $st, $elapsed) = split / /, $out;
	is($asked, 't', 'c: cancel_job of the running download returns true');
	is($st,    'cancelled', 'c: the download ends cancelled');
	diag(sprintf('c: cancel took %.3f s from cancel_job to state cancelled', $elapsed));
	cmp_ok($elapsed, '<', 1.0, 'c: the cancel takes effect within one second');
	is(q1("SELECT progress < 1 AND finished_at IS NOT NULL AND result IS NULL FROM mlops.jobs WHERE id = $id"),
		't', 'c: the cancelled job has no result and a finish time');
	ok(!-e "$workdir/c/slow.bin.part", 'c: the .part file is gone');
	ok(!-e "$workdir/c/slow.bin",      'c: no final file exists');
}

# ---------------------------------------------------------------------------------------------
# d) Retries with backoff: 503 twice, then 200.
{
	my $id = q1("SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/flaky/d1/1000', "
		  . "'path', 'd/flaky1.bin'), max_attempts => 5)");
	is(q1("SELECT mlops.wait_job($id, '30 seconds')"), 'succeeded', 'd: a flaky download succeeds in the end');
	is(q1("SELECT attempts FROM mlops.jobs WHERE id = $id"), '3', 'd: after exactly 3 attempts');
	is(q1("SELECT result->>'sha256' FROM mlops.jobs WHERE id = $id"), sha256_hex(pattern(1000, 'd1')),
		'd: with the right sha256');
	my ($hits, $first, $last) = split / /, slurp_file_url("$base/hits/d1");
	is($hits, 3, 'd: the server was asked 3 times');
	my $span = $last - $first;
	diag(sprintf('d: %.2f s between the first request and the successful one', $span));
	cmp_ok($span, '>=', 1.5, 'd: two backoffs (>= 0.5 s and >= 1 s) between the first start and the success');

	my $id2 = q1("SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/flaky/d2/1000', "
		  . "'path', 'd/flaky2.bin'), max_attempts => 2)");
	is(q1("SELECT mlops.wait_job($id2, '30 seconds')"), 'failed', 'd: with max_attempts 2 it ends failed');
	my $row = q1("SELECT attempts || '|' || coalesce(error, '') FROM mlops.jobs WHERE id = $id2");
	like($row, qr/^2\|.*503/, 'd: after 2 attempts, with an error mentioning 503') or diag("attempts|error: $row");
	ok(!-e "$workdir/d/flaky2.bin" && !-e "$workdir/d/flaky2.bin.part", 'd: the failed download left no file');
}

# A tiny HTTP GET for the test's own questions to the server.
sub slurp_file_url
{
	my ($url) = @_;
	my ($host, $port, $path) = $url =~ m{^http://([^:/]+):(\d+)(/.*)$} or die "bad url $url";
	require IO::Socket::INET;
	my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 10) or die "connect: $!";
	print $s "GET $path HTTP/1.0\r\nHost: $host\r\n\r\n";
	local $/;
	my $resp = <$s>;
	close $s;
	$resp =~ s/^.*?\r\n\r\n//s;
	return $resp;
}

# ---------------------------------------------------------------------------------------------
# e) Dependencies: a chain that succeeds in order, and a failed download failing its dependent.
{
	q1('CREATE TABLE trace (step text, at timestamptz DEFAULT clock_timestamp())');
	my $ids = q1(
		qq{SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/file/50000/e1?delay_ms=50',
       'path', 'e/e1.bin')) AS d \\gset
SELECT mlops.submit_job('sql', '{"command": "INSERT INTO trace (step) VALUES (''s1'')"}',
       depends_on => ARRAY[:d]::bigint[]) AS s1 \\gset
SELECT mlops.submit_job('sql', '{"command": "INSERT INTO trace (step) VALUES (''s2'')"}',
       depends_on => ARRAY[:s1]::bigint[]) AS s2 \\gset
SELECT :d || ' ' || :s1 || ' ' || :s2});
	my ($d, $s1, $s2) = split / /, $ids;
	is(q1("SELECT mlops.wait_job($s2, '30 seconds')"), 'succeeded', 'e: the end of the chain succeeds');
	is(q1("SELECT string_agg(state, ' ' ORDER BY id) FROM mlops.jobs WHERE id IN ($d, $s1, $s2)"),
		'succeeded succeeded succeeded', 'e: every job of the chain succeeded');
	my $order = q1(
		"SELECT d.finished_at <= s1.started_at AND s1.finished_at <= s2.started_at "
		  . "AND d.finished_at < s1.finished_at AND s1.finished_at < s2.finished_at "
		  . "FROM mlops.jobs d, mlops.jobs s1, mlops.jobs s2 WHERE d.id = $d AND s1.id = $s1 AND s2.id = $s2");
	is($order, 't', 'e: each job started after the one it depends on finished')
	  or diag(q1("SELECT id, started_at, finished_at FROM mlops.jobs WHERE id IN ($d, $s1, $s2) ORDER BY id"));
	is(q1('SELECT string_agg(step, \' \' ORDER BY at) FROM trace'), 's1 s2', 'e: the sql jobs left their trace in order');

	my $f = q1("SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/status/404', 'path', 'e/404.bin'))");
	my $dep = q1("SELECT mlops.submit_job('sql', '{\"command\": \"INSERT INTO trace (step) VALUES (''never'')\"}', "
		  . "depends_on => ARRAY[$f]::bigint[])");
	is(q1("SELECT mlops.wait_job($f, '30 seconds')"), 'failed', 'e: a download of a 404 fails');
	my $row = q1("SELECT attempts || '|' || coalesce(error, '') FROM mlops.jobs WHERE id = $f");
	like($row, qr/^1\|/, 'e: a 404 is not retried (attempts = 1)') or diag("attempts|error: $row");
	like($row, qr/404/, 'e: its error mentions 404') or diag("attempts|error: $row");
	is(q1("SELECT mlops.wait_job($dep, '30 seconds')"), 'failed', 'e: the sql job depending on it fails');
	$row = q1("SELECT attempts || '|' || coalesce(error, '') FROM mlops.jobs WHERE id = $dep");
	like($row, qr/^0\|.*dependency $f\b/, 'e: without running, with an error naming the failed dependency')
	  or diag("attempts|error: $row");
	is(q1("SELECT count(*) FROM trace WHERE step = 'never'"), '0', 'e: the dependent sql never ran');
}

# ---------------------------------------------------------------------------------------------
# f) An external worker's lease expires: the periodic pass puts the job back.
{
	q1("SELECT mlops.declare_kind('train')");
	my $id = q1("SELECT mlops.submit_job('train', '{\"epochs\": 1}')");
	is(q1("SELECT id FROM mlops.claim_job('{train}', '1 second')"), $id, 'f: an external worker claims the train job');
	my $stale = q1("SELECT lease_token FROM mlops.jobs WHERE id = $id");
	is(q1("SELECT state || ' ' || attempts FROM mlops.jobs WHERE id = $id"), 'running 1', 'f: it runs');
	ok( wait_for(
			"SELECT state = 'pending' AND attempts = 1 AND error = 'lease expired' FROM mlops.jobs WHERE id = $id",
			't', 15),
		'f: after the lease expires the job is pending again with error "lease expired"')
	  or diag(q1("SELECT state, attempts, error, lease_until, now() FROM mlops.jobs WHERE id = $id"));
	# the retry waits for its backoff: poll the claim until it takes the job
	ok(wait_for("SELECT id FROM mlops.claim_job('{train}', '1 minute')", $id, 15), 'f: it can be claimed again');
	my $token = q1("SELECT lease_token FROM mlops.jobs WHERE id = $id");
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT mlops.complete_job($id, '$token', '{\"loss\": 0.1}')");
	is($ret, 0, 'f: complete_job of the claimed job, with its lease token, works') or diag($err);
	is(q1("SELECT state || ' ' || attempts || ' ' || coalesce(result::text, 'no result') FROM mlops.jobs WHERE id = $id"),
		'succeeded 2 {"loss": 0.1}', 'f: the second claim completes it');
	($ret, $out, $err) = $node->psql('postgres', "SELECT mlops.heartbeat_job($id, '$stale')");
	like($err, qr/not held with this token/, 'f: the first, expired lease is refused');
}

# ---------------------------------------------------------------------------------------------
# g) Paths: symbolic links inside the work directory, "..", absolute paths.
{
	my $before = q1('SELECT count(*) FROM mlops.jobs');
	symlink($node->basedir, "$workdir/escape") or die "symlink: $!";
	my ($ret, $out, $err) = $node->psql('postgres',
		"SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/file/10/g', 'path', 'escape/x.bin'))");
	isnt($ret, 0, 'g: a download through a symbolic link to outside is refused');
	like($err, qr/symbolic link/, 'g: the error mentions the symbolic link') or diag($err);
	for my $path ('../x', '/abs/x', 'a/../../x')
	{
		($ret, $out, $err) = $node->psql('postgres',
			"SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/file/10/g', 'path', '$path'))");
		isnt($ret, 0, "g: path '$path' is refused") or diag($out);
		like($err, qr/is not allowed/, "g: path '$path': error says it is not allowed") or diag($err);
	}
	is(q1('SELECT count(*) FROM mlops.jobs'), $before, 'g: nothing was queued');

	# a symbolic link made after the submit is refused when the job runs
	my $id = q1("SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/file/10/g', "
		  . "'path', 'later/x.bin'), run_after => now() + interval '1 second')");
	symlink($node->basedir, "$workdir/later") or die "symlink: $!";
	is(q1("SELECT mlops.wait_job($id, '30 seconds')"), 'failed', 'g: a link made after the submit fails the job');
	like(q1("SELECT error FROM mlops.jobs WHERE id = $id"), qr/symbolic link/, 'g: its error mentions the symbolic link');
	ok(!-e $node->basedir . '/x.bin' && !-e $node->basedir . '/x.bin.part', 'g: nothing was written outside');
	unlink "$workdir/escape", "$workdir/later";
}

# ---------------------------------------------------------------------------------------------
# i) A download that will not run again (its last attempt died with the worker) leaves no .part:
#    the restarted worker removes the files no running download owns.
{
	my $size = 8 * 1024 * 1024;
	my $id   = q1("SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/slow/$size', "
		  . "'path', 'i/orphan.bin'), max_attempts => 1)");
	ok(wait_for("SELECT state = 'running' AND progress > 0 FROM mlops.jobs WHERE id = $id", 't', 30),
		'i: the slow download runs');
	if (unnamed_ok())
	{
		ok(!-e "$workdir/i/orphan.bin.part" && unnamed_in("$workdir/i"),
			'i: it writes an unnamed file, with no .part');
	}
	else
	{
		ok(-f "$workdir/i/orphan.bin.part", 'i: its .part file exists while it runs (no O_TMPFILE here)');
	}
	kill_worker('i');
	ok(wait_for("SELECT state || ' ' || attempts FROM mlops.jobs WHERE id = $id", 'failed 1', 30),
		'i: the job whose only attempt died with the worker ends failed');
	my $gone = 0;
	for (1 .. 200)
	{
		if (!-e "$workdir/i/orphan.bin.part") { $gone = 1; last; }
		usleep(50_000);
	}
	ok($gone, 'i: no .part file after the worker died');
	ok(!unnamed_in("$workdir/i"), 'i: and no unnamed file of it is left open');
	ok(!-e "$workdir/i/orphan.bin", 'i: and no final file exists');
}

# ---------------------------------------------------------------------------------------------
# j) A batch: downloads submitted in one transaction are claimed several per transaction and
#    their outcomes written several per transaction, yet each job ends on its own: a 404 fails
#    (not retried) while the others succeed, a flaky one is retried with backoff, and a slow one
#    cancelled inside the batch stops alone, leaving no file.
{
	my $size = 8 * 1024 * 1024;
	q1( "SELECT count(mlops.submit_job('download', jsonb_build_object('url', '$base/file/20000/j' || i, "
		  . "'path', 'j/ok' || i || '.bin'), run_id => 'j')) FROM generate_series(1, 12) i;\n"
		  . "SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/status/404', 'path', 'j/missing.bin'), "
		  . "run_id => 'j', max_attempts => 5);\n"
		  . "SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/flaky/j1/1000', 'path', 'j/flaky.bin'), "
		  . "run_id => 'j', max_attempts => 5);\n"
		  . "SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/slow/$size', 'path', 'j/slow.bin'), "
		  . "run_id => 'j');");
	my $slow = q1("SELECT id FROM mlops.jobs WHERE run_id = 'j' AND params->>'path' = 'j/slow.bin'");
	ok(wait_for("SELECT state = 'running' AND progress > 0 FROM mlops.jobs WHERE id = $slow", 't', 30),
		'j: the slow download of the batch runs');
	is(q1("SELECT mlops.cancel_job($slow)"), 't', 'j: cancel_job of the slow download inside the batch returns true');
	ok(wait_for("SELECT count(*) FROM mlops.jobs WHERE run_id = 'j' AND state IN $FINAL", '15', 60),
		'j: all 15 jobs of the batch ended') or diag(batch_states('j'));
	is(q1("SELECT state || ' ' || (result IS NULL) FROM mlops.jobs WHERE id = $slow"), 'cancelled true',
		'j: the cancelled download ended cancelled, without a result');
	ok(!-e "$workdir/j/slow.bin" && !-e "$workdir/j/slow.bin.part", 'j: and left no file');
	my $row = q1("SELECT state || '|' || attempts || '|' || coalesce(error, '') FROM mlops.jobs "
		  . "WHERE run_id = 'j' AND params->>'path' = 'j/missing.bin'");
	like($row, qr/^failed\|1\|.*404/, 'j: the 404 failed at its first attempt (not retried), its own error naming 404')
	  or diag("state|attempts|error: $row");
	is(q1("SELECT state || ' ' || attempts || ' ' || (result->>'sha256') FROM mlops.jobs "
		  . "WHERE run_id = 'j' AND params->>'path' = 'j/flaky.bin'"),
		'succeeded 3 ' . sha256_hex(pattern(1000, 'j1')), 'j: the flaky download was retried and succeeded at attempt 3');
	my $good = 0;
	for my $i (1 .. 12)
	{
		my $want = sha256_hex(pattern(20000, "j$i"));
		my $r = q1("SELECT state || ' ' || attempts || ' ' || (result->>'sha256') || ' ' || (error IS NULL) "
			  . "FROM mlops.jobs WHERE run_id = 'j' AND params->>'path' = 'j/ok$i.bin'");
		$good++ if $r eq "succeeded 1 $want true" && (file_sha256("$workdir/j/ok$i.bin") // '') eq $want;
	}
	is($good, 12, 'j: the 12 others succeeded at their first attempt, each with its own result and file');
	cmp_ok(q1("SELECT max(n) FROM (SELECT count(*) n FROM mlops.jobs WHERE run_id = 'j' GROUP BY started_at) s"),
		'>=', 2, 'j: several jobs were claimed in one transaction (they share a start time)');
	# how many outcomes shared a transaction depends on timing: shown, not asserted
	diag('j: at most ' . q1("SELECT max(n) FROM (SELECT count(*) n FROM mlops.jobs WHERE run_id = 'j' "
			  . "AND state = 'succeeded' GROUP BY finished_at) s") . ' outcomes written in one transaction');
	is_deeply([ grep { m{/j/} } part_files() ], [], 'j: no .part file is left');
}

# ---------------------------------------------------------------------------------------------
# k) An outcome that cannot be written (here a trigger refuses one job's success) costs the other
#    jobs of its batch nothing: they succeed, and that job ends failed with the reason, not stuck
#    running.
{
	q1( "CREATE FUNCTION public.refuse_k() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN "
		  . "IF NEW.state = 'succeeded' AND NEW.params->>'path' = 'k/refused.bin' THEN "
		  . "RAISE EXCEPTION 'refused by a test trigger'; END IF; RETURN NEW; END \$\$;\n"
		  . "CREATE TRIGGER refuse_k BEFORE UPDATE ON mlops.jobs FOR EACH ROW EXECUTE FUNCTION public.refuse_k();");
	q1( "SELECT count(mlops.submit_job('download', jsonb_build_object('url', '$base/file/5000/k' || i, "
		  . "'path', CASE WHEN i = 4 THEN 'k/refused.bin' ELSE 'k/ok' || i || '.bin' END), run_id => 'k')) "
		  . "FROM generate_series(1, 8) i");
	ok(wait_for("SELECT count(*) FROM mlops.jobs WHERE run_id = 'k' AND state IN $FINAL", '8', 60),
		'k: all 8 jobs ended') or diag(batch_states('k'));
	is(q1("SELECT count(*) FROM mlops.jobs WHERE run_id = 'k' AND state = 'succeeded' AND params->>'path' <> 'k/refused.bin'"),
		'7', 'k: the 7 others succeeded');
	my $row = q1("SELECT state || '|' || attempts || '|' || coalesce(error, '') FROM mlops.jobs "
		  . "WHERE run_id = 'k' AND params->>'path' = 'k/refused.bin'");
	like($row, qr/^failed\|1\|could not record the outcome: refused by a test trigger$/,
		'k: the job whose success could not be written ended failed, with the reason')
	  or diag("state|attempts|error: $row");
	like(slurp_file($node->logfile), qr/could not record the outcome of job \d+: refused by a test trigger/,
		'k: the server log names the job and the reason');
	q1("DROP TRIGGER refuse_k ON mlops.jobs; DROP FUNCTION public.refuse_k()");
}

# ---------------------------------------------------------------------------------------------
# l) The outcomes of the transfers that ended are written in the transaction that claims the next
#    jobs; a claim that fails (here a trigger refuses to let one job start) is rolled back alone:
#    those outcomes stay, no job is left running, and the refused job waits, unclaimed.
{
	q1( "CREATE FUNCTION public.refuse_l() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN "
		  . "IF NEW.state = 'running' AND NEW.params->>'path' = 'l/poison.bin' THEN "
		  . "RAISE EXCEPTION 'claim refused by a test trigger'; END IF; RETURN NEW; END \$\$;\n"
		  . "CREATE TRIGGER refuse_l BEFORE UPDATE ON mlops.jobs FOR EACH ROW EXECUTE FUNCTION public.refuse_l();");
	# as many as mlops.max_transfers (8): the refused job can only be claimed as they end
	q1( "SELECT count(mlops.submit_job('download', jsonb_build_object('url', '$base/file/5000/l' || i || '?delay_ms=400', "
		  . "'path', 'l/ok' || i || '.bin'), run_id => 'l')) FROM generate_series(1, 8) i");
	ok(wait_for("SELECT count(*) FROM mlops.jobs WHERE run_id = 'l' AND state = 'running'", '8', 30),
		'l: the 8 downloads run') or diag(batch_states('l'));
	my $poison = q1("SELECT mlops.submit_job('download', jsonb_build_object('url', '$base/file/100/lp', "
		  . "'path', 'l/poison.bin'), run_id => 'l-poison')");
	ok(wait_for("SELECT count(*) FROM mlops.jobs WHERE run_id = 'l' AND state = 'succeeded'", '8', 60),
		'l: the 8 succeed while every claim of the refused job fails') or diag(batch_states('l'));
	is(q1("SELECT state || ' ' || attempts FROM mlops.jobs WHERE id = $poison"), 'pending 0',
		'l: the refused job is still pending, no attempt spent');
	like(slurp_file($node->logfile), qr/claim refused by a test trigger/, 'l: the server log has the claim\'s error');
	q1("DROP TRIGGER refuse_l ON mlops.jobs; DROP FUNCTION public.refuse_l()");
	ok(wait_for("SELECT state FROM mlops.jobs WHERE id = $poison", 'succeeded', 30),
		'l: without the trigger it is claimed and succeeds');
}

# ---------------------------------------------------------------------------------------------
# m) What the worker allocates in a pass is freed with the pass: over batches of downloads its
#    TopMemoryContext does not grow (it did, by about 100 bytes a job, when a commit left
#    TopMemoryContext current for the outcomes' strings that came next).
{
	my $wpid = q1("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker' LIMIT 1");
	my @used;
	for my $b (1 .. 3)
	{
		q1( "SELECT count(mlops.submit_job('download', jsonb_build_object('url', '$base/file/2000/m$b-' || i, "
			  . "'path', 'm/$b/' || i || '.bin'), run_id => 'm$b')) FROM generate_series(1, 150) i");
		ok(wait_for("SELECT count(*) FROM mlops.jobs WHERE run_id = 'm$b' AND state = 'succeeded'", '150', 60),
			"m: batch $b of 150 downloads succeeded") or diag(batch_states("m$b"));
		q1("SELECT pg_log_backend_memory_contexts($wpid)");
		my $got;
		for (1 .. 100)
		{
			my @all = (slurp_file($node->logfile) =~ /\[$wpid\][^\n]*level: 0; TopMemoryContext: [^\n]*?; (\d+) used/g);
			if (scalar(@all) >= $b) { $got = $all[-1]; last; }
			usleep(50_000);
		}
		push @used, $got // -1;
	}
	diag("m: the worker's TopMemoryContext, bytes used after each batch: @used");
	ok($used[1] > 0 && $used[2] > 0 && $used[2] - $used[1] < 2048,
		'm: the worker\'s TopMemoryContext does not grow from batch to batch');
}

# ---------------------------------------------------------------------------------------------
# h) Wake on commit: from a submit's commit to the worker's start, with the worker idle.
{
	my $script = '';
	for (1 .. 20)
	{
		$script .= qq{SELECT pg_sleep(0.1);
SELECT mlops.submit_job('sql', '{"command": "SELECT 1"}', run_id => 'wake') AS w \\gset
SELECT mlops.wait_job(:w, '10 seconds');
};
	}
	q1($script);
	is(q1("SELECT count(*) FROM mlops.jobs WHERE run_id = 'wake' AND state = 'succeeded'"), '20',
		'h: 20 trivial sql jobs succeeded');
	my ($p50, $max) = split /\|/, q1(
		"SELECT round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at))), "
		  . "round(1000 * max(extract(epoch FROM started_at - created_at))) FROM mlops.jobs WHERE run_id = 'wake'");
	diag("h: from submit to start: p50 $p50 ms, max $max ms over 20 jobs");
	cmp_ok($p50, '<', 200, 'h: the worker starts a submitted job promptly (p50 under 200 ms)');
}

my $log = slurp_file($node->logfile);
my @panics = $log =~ /^.*\b(?:PANIC|TRAP):.*$/mg;
is_deeply(\@panics, [], 'no PANIC or assertion failure in the server log');

$node->stop;
kill 'TERM', $httpd_pid;
waitpid($httpd_pid, 0);
$httpd_pid = undef;
done_testing();
