# 001_worker.pl — the life of the pg_mlops background worker: running when preloaded, back after
# kill -9 (a crash restart of the cluster) and after pg_terminate_backend, settings reloaded on
# SIGHUP without a restart, mlops.workers processes, and DROP DATABASE of another database not
# blocked.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_cron,pg_mlops'
cron.database_name = 'postgres'
mlops.database_name = 'postgres'
restart_after_crash = on
});
$node->start;

my $worker_q = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker'";

sub worker_pids
{
	my $out = $node->safe_psql('postgres', "$worker_q ORDER BY pid");
	return [ grep { $_ ne '' } split /\n/, $out ];
}

# Running when preloaded, in the configured database, visible by name.
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker'"),
	'one worker runs when the library is preloaded');
is( $node->safe_psql(
		'postgres', "SELECT datname || '|' || application_name FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker'"),
	'postgres|pg_mlops worker',
	'worker is connected to mlops.database_name and named');
$node->safe_psql('postgres', 'CREATE EXTENSION pg_mlops CASCADE');
is($node->safe_psql('postgres', 'SELECT mlops.version() = extversion FROM pg_extension WHERE extname = \'pg_mlops\''),
	't', 'extension installed in the preloaded cluster');
ok(-d $node->data_dir . '/pg_mlops', 'worker made the default work directory under the data directory');

# kill -9: the postmaster restarts the whole cluster, and the worker with it.
my $pid = worker_pids()->[0];
my $t0 = time();
kill 'KILL', $pid;
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker' AND pid <> $pid"),
	'worker is back after kill -9');
my $elapsed = time() - $t0;
diag(sprintf('worker back %.2f s after kill -9', $elapsed));
cmp_ok($elapsed, '<', 5, 'worker back within 5 seconds of kill -9');
is($node->safe_psql('postgres', 'SELECT mlops.version() IS NOT NULL'), 't', 'extension usable after the crash restart');

# pg_terminate_backend: a FATAL exit, restarted after the restart interval.
$pid = worker_pids()->[0];
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker' AND pid <> $pid"),
	'worker is back after pg_terminate_backend');

# SIGHUP: a new work_dir is taken up without a restart of the worker.
$pid = worker_pids()->[0];
my $newdir = $node->basedir . '/work dir "two"';
my $quoted = $newdir =~ s/'/''/gr;
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "ALTER SYSTEM SET mlops.work_dir = '$quoted'");
$node->reload;
ok($node->wait_for_log(qr/pg_mlops worker using work directory "\Q$newdir\E"/, $log_offset),
	'worker logs the new work directory after SIGHUP');
ok(-d $newdir, 'worker created the new work directory');
is(worker_pids()->[0], $pid, 'reload did not restart the worker');

# An impossible work_dir is a warning; the worker keeps running.
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', "ALTER SYSTEM SET mlops.work_dir = '/proc/pg_mlops_cannot_be_here'");
$node->reload;
ok($node->wait_for_log(qr/pg_mlops worker could not create work directory/, $log_offset),
	'an unusable work directory is reported');
is(worker_pids()->[0], $pid, 'worker survives an unusable work directory');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET mlops.work_dir');
$node->reload;

# DROP DATABASE of another database is not blocked by the worker.
$node->safe_psql('postgres', 'CREATE DATABASE scratch');
$node->safe_psql('scratch', 'SELECT 1');
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE scratch');
is($ret, 0, 'DROP DATABASE of another database succeeds') or diag($stderr);

# mlops.workers = 2: two processes; 0: none (the pg_cron launcher shows the server is up).
$node->append_conf('postgresql.conf', "mlops.workers = 2\n");
$node->restart;
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker'"),
	'mlops.workers = 2 runs two workers');
$node->append_conf('postgresql.conf', "mlops.workers = 0\n");
$node->restart;
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'"),
	'server up with mlops.workers = 0');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker'"),
	'0', 'mlops.workers = 0 runs no worker');

$node->stop;
done_testing();
