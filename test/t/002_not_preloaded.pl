# 002_not_preloaded.pl — without pg_mlops in shared_preload_libraries the extension still
# installs and its pure functions work; no worker runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('plain');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
});
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION pg_mlops CASCADE');
is($node->safe_psql('postgres', "SELECT mlops.version() = extversion FROM pg_extension WHERE extname = 'pg_mlops'"),
	't', 'extension installs and mlops.version() works without preloading');
is($node->safe_psql('postgres', 'LOAD \'pg_mlops\'; SHOW mlops.work_dir'), 'pg_mlops', 'mlops.work_dir exists once the library is loaded');
my ($ret, $out, $err) = $node->psql('postgres', "LOAD 'pg_mlops'; SHOW mlops.workers");
isnt($ret, 0, 'the worker settings exist only when preloaded');
like($err, qr/unrecognized configuration parameter "mlops.workers"/, 'SHOW of a worker setting says it is unknown');
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'"),
	'server is up');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mlops worker'"),
	'0', 'no worker without preloading');

($ret, $out, $err) = $node->psql('postgres', qq{SELECT mlops.submit_job('sql', '{"command": "SELECT 1"}')});
isnt($ret, 0, 'a job for the worker cannot be queued without a worker');
like($err, qr/no pg_mlops worker serves database "postgres".*HINT:  Add pg_mlops to shared_preload_libraries/s,
	'the error says so and hints at shared_preload_libraries');
$node->safe_psql('postgres', q{SELECT mlops.declare_kind('train')});
is($node->safe_psql('postgres', q{SELECT mlops.submit_job('train', '{}') > 0}), 't',
	'jobs for external workers can be queued without a worker');

$node->stop;
done_testing();
