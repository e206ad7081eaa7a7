# 004_pipelines.pl — pipeline runs through the worker's life: kill -9 of the worker in the
# middle of a 5-step run resumes it and no step that had succeeded runs again; two sessions
# starting the same config at once get one run; rerun 'missing' after deleting one step's record
# reruns that step and its dependents only; cancel_run leaves nothing running.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('pipelines');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_cron,pg_mlops'
cron.database_name = 'postgres'
mlops.database_name = 'postgres'
restart_after_crash = on
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_mlops CASCADE');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

# wait_for(SQL, EXPECTED, TIMEOUT): polls (tolerating a restarting server) until SQL prints EXPECTED.
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
	diag("timed out waiting for\n  $sql\nto give '$expected'; last output '" . ($out // '') . "', stderr '" . ($err // '') . "'");
	return 0;
}

q1(q{CREATE TABLE trace (step text, at timestamptz DEFAULT clock_timestamp())});

# a 5-step chain; every step records itself in its own transaction and then takes a while
my @steps;
for my $i (1 .. 5)
{
	my $dep = $i > 1 ? sprintf(', "depends_on": ["s%d"]', $i - 1) : '';
	push @steps,
	  sprintf(q{{"name": "s%d", "kind": "sql", "retries": 2%s, "params": {"command": "INSERT INTO trace VALUES (''s%d''); SELECT pg_sleep(0.6)"}}},
		$i, $dep, $i);
}
q1("SELECT mlops.define_pipeline('chain', '[" . join(', ', @steps) . "]', '{\"tag\": \"x\"}')");

# ---------------------------------------------------------------------------------------------
# a) kill -9 of the worker while s3 runs: the run resumes, no step that succeeded runs again.
{
	my $run = q1("SELECT mlops.start_run('chain', '{\"tag\": \"kill\"}')");
	ok(wait_for("SELECT state FROM mlops.run_steps WHERE run_id = '$run' AND step = 's3'", 'running', 30),
		'a: the run reaches s3');
	my $pid = q1("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker'");
	kill 'KILL', $pid;
	ok(wait_for("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker' AND pid <> $pid", '1', 60),
		'a: the worker is back after kill -9');
	ok(wait_for("SELECT state FROM mlops.runs WHERE run_id = '$run'", 'succeeded', 90), 'a: the run succeeds after the crash')
	  or diag(q1("SELECT string_agg(step || ' ' || state, ', ' ORDER BY ord) FROM mlops.run_steps WHERE run_id = '$run'"));
	is(q1("SELECT string_agg(step || '=' || n, ' ' ORDER BY step) FROM (SELECT step, count(*) n FROM trace GROUP BY step) t"),
		's1=1 s2=1 s3=1 s4=1 s5=1', 'a: every step committed exactly once (s1 and s2 were not run again)');
	is(q1("SELECT string_agg(j.step || '=' || j.attempts, ' ' ORDER BY j.step) FROM mlops.jobs j WHERE j.run_id = '$run'"),
		's1=1 s2=1 s3=2 s4=1 s5=1', 'a: only s3, running at the kill, took a second attempt');
}

# ---------------------------------------------------------------------------------------------
# b) Two sessions starting the same config at once get one run.
{
	q1('TRUNCATE trace');
	my @h;
	my @out = ('', '');
	for my $k (0, 1)
	{
		push @h,
		  IPC::Run::start(
			[
				'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c',
				"BEGIN; SELECT mlops.start_run('chain', '{\"tag\": \"twice\"}'); SELECT pg_sleep(0.5); COMMIT;"
			],
			'>', \$out[$k], '2>', \$out[$k]);
	}
	$_->finish for @h;
	my ($a, $b) = map { (split /\n/, $_)[0] // '' } @out;
	ok($a ne '' && $a eq $b, "b: both sessions got the same run id ($a, $b)");
	is(q1("SELECT count(*) FROM mlops.runs WHERE pipeline = 'chain' AND config ->> 'tag' = 'twice'"), '1', 'b: one run');
	ok(wait_for("SELECT state FROM mlops.runs WHERE run_id = '$a'", 'succeeded', 60), 'b: it succeeds');
	is(q1("SELECT count(*) FROM mlops.jobs WHERE run_id = '$a'"), '5', 'b: its five steps were queued once each');
}

# ---------------------------------------------------------------------------------------------
# c) rerun 'missing' after deleting one step's record: that step and its dependents only.
{
	my $run = q1("SELECT run_id FROM mlops.runs WHERE config ->> 'tag' = 'twice'");
	q1('TRUNCATE trace');
	q1("DELETE FROM mlops.run_steps WHERE run_id = '$run' AND step = 's4'");
	is(q1("SELECT mlops.rerun('$run', mode => 'missing')"), '2', 'c: s4 and s5 are queued again');
	ok(wait_for("SELECT state FROM mlops.runs WHERE run_id = '$run'", 'succeeded', 60), 'c: the run succeeds again');
	is(q1("SELECT string_agg(step, ' ' ORDER BY step) FROM trace"), 's4 s5', 'c: only s4 and s5 ran');
}

# ---------------------------------------------------------------------------------------------
# d) cancel_run leaves nothing running.
{
	my $run = q1("SELECT mlops.start_run('chain', '{\"tag\": \"cancel\"}')");
	ok(wait_for("SELECT state FROM mlops.run_steps WHERE run_id = '$run' AND step = 's2'", 'running', 30), 'd: the run reaches s2');
	my $t0 = time();
	is(q1("SELECT mlops.cancel_run('$run')"), 't', 'd: cancel_run');
	ok( wait_for(
			"SELECT count(*) FROM mlops.jobs WHERE run_id = '$run' AND state IN ('pending', 'running')", '0', 10),
		'd: no job of the run is left pending or running');
	diag(sprintf('d: the run stopped %.2f s after cancel_run', time() - $t0));
	# a warm session (mlops.sql_session_idle) may remain, idle: none may still run a statement
	is(q1("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mlops sql job' AND state <> 'idle'"), '0', 'd: no job session is left running');
	is(q1("SELECT state || ' ' || (SELECT string_agg(step || ':' || state, ' ' ORDER BY ord) FROM mlops.run_steps s WHERE s.run_id = r.run_id) FROM mlops.runs r WHERE run_id = '$run'"),
		'cancelled s1:succeeded s2:cancelled s3:cancelled s4:cancelled s5:cancelled', 'd: the run and its steps are cancelled');
}

$node->stop;
done_testing();
