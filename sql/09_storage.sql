-- Storage: credentials (administrators only, secrets never shown), and the checks of upload,
-- extract and package jobs at submit time.  The transfers themselves are tested against real
-- servers (test/integration/upload_servers.sh, test/integration/storage_jobs.sh, and
-- test/integration/s3_sigv4.sh against an S3 endpoint that verifies SigV4 signatures).
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;

SELECT mlops.set_credential('owncloud', 'webdav', '{"url": "http://127.0.0.1:8080/dav/", "username": "u", "password": "hunter2"}');
SELECT mlops.set_credential('store', 's3', '{"endpoint": "http://127.0.0.1:4568", "bucket": "b", "access_key": "AK", "secret_key": "sk-very-secret", "region": "eu-west-1"}');
SELECT mlops.set_credential('owncloud', 'webdav', '{"url": "http://127.0.0.1:8081/dav/", "username": "u", "password": "hunter3"}');
SELECT name, kind FROM mlops.credential_names ORDER BY name;
-- bad credentials: the error names keys, never values
SELECT mlops.set_credential('bad name!', 'webdav', '{}');
SELECT mlops.set_credential('x', 'ftp', '{}');
SELECT mlops.set_credential('x', 'webdav', '{"url": "http://h/", "username": "u"}');
SELECT mlops.set_credential('x', 'webdav', '{"url": "http://h/", "username": "u", "password": "p", "pasword": "typo-secret"}');
SELECT mlops.set_credential('x', 'webdav', '{"url": "file:///etc/", "username": "u", "password": "p"}');
SELECT mlops.set_credential('x', 's3', '[]');

-- A role without privileges cannot read a secret in any way.
CREATE ROLE mlops_regress_eve LOGIN;
GRANT EXECUTE ON FUNCTION mlops.submit_job(text, jsonb, bigint[], int, timestamptz, text) TO mlops_regress_eve;
SET ROLE mlops_regress_eve;
SELECT secret FROM mlops.credentials;
SELECT * FROM mlops.credential_names;
SELECT mlops.set_credential('owncloud', 'webdav', '{"url": "http://evil/", "username": "e", "password": "e"}');
SELECT mlops.drop_credential('owncloud');
SELECT mlops.validate_job('upload', '{"path": "x", "credential": "owncloud", "target": "x"}');
-- a job of hers runs as her: the credentials table stays closed
SELECT mlops.submit_job('sql', '{"command": "SELECT secret::text FROM mlops.credentials"}') AS e1 \gset
RESET ROLE;
SELECT mlops.wait_job(:e1, '30 seconds');
SELECT error FROM mlops.jobs WHERE id = :e1;
SELECT count(*) AS secrets_in_jobs FROM mlops.jobs WHERE params::text ~ 'hunter|sk-very-secret' OR coalesce(error, '') ~ 'hunter|sk-very-secret';
-- even granted the table, she sees no secret (row-level security: administrators only)
GRANT SELECT ON mlops.credentials, mlops.credential_grants TO mlops_regress_eve;
SET ROLE mlops_regress_eve;
SELECT count(*) AS eve_sees_secrets FROM mlops.credentials;
RESET ROLE;
REVOKE SELECT ON mlops.credentials, mlops.credential_grants FROM mlops_regress_eve;

-- Credentials are granted per role: an ungranted one looks exactly like one that does not exist.
SET ROLE mlops_regress_eve;
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "d/x.zip", "credential": "owncloud"}');
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "d/x.zip", "credential": "no-such"}');
RESET ROLE;
SELECT mlops.grant_credential('owncloud', 'mlops_regress_eve');
SELECT mlops.grant_credential('owncloud', 'mlops_regress_eve');
SELECT mlops.grant_credential('no-such', 'mlops_regress_eve');
SET ROLE mlops_regress_eve;
SELECT name, kind FROM mlops.credential_names ORDER BY name;
SELECT mlops.grant_credential('store', 'mlops_regress_eve');
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "d/x.zip", "credential": "owncloud"}') > 0 AS eve_may_upload;
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "d/x.zip", "credential": "store"}');
RESET ROLE;
SELECT mlops.revoke_credential('owncloud', 'mlops_regress_eve'), mlops.revoke_credential('owncloud', 'mlops_regress_eve');
SET ROLE mlops_regress_eve;
SELECT count(*) AS eve_sees_credentials FROM mlops.credential_names;
-- shared file areas: only when granted
SELECT mlops.submit_job('extract', '{"archive": "@datasets/a.zip", "dest": "x"}');
SELECT area, used_as, directory = 'roles/' || 'mlops_regress_eve'::regrole::oid AS directory_ok FROM mlops.file_areas;
RESET ROLE;
SELECT mlops.grant_area('datasets', 'mlops_regress_eve');
SELECT mlops.grant_area('Bad Name', 'mlops_regress_eve');
SET ROLE mlops_regress_eve;
SELECT mlops.submit_job('extract', '{"archive": "@datasets/a.zip", "dest": "x"}') > 0 AS eve_may_extract;
SELECT area, used_as, directory ~ '^(roles/[0-9]+|areas/datasets)$' AS directory_ok FROM mlops.file_areas ORDER BY area;
RESET ROLE;
SELECT mlops.revoke_area('datasets', 'mlops_regress_eve');
DELETE FROM mlops.jobs WHERE submitted_by = 'mlops_regress_eve'::regrole;

-- Secrets in job params are refused, at any depth; jobs name a credential instead.
SELECT mlops.submit_job('upload', '{"path": "x", "target": "x", "credential": "owncloud", "password": "hunter2"}');
SELECT mlops.declare_kind('train');
SELECT mlops.submit_job('train', '{"storage": {"Secret_Key": "abc"}}');
SELECT mlops.submit_job('download', '{"url": "http://127.0.0.1/x", "path": "x", "headers": {"Authorization": "Bearer x"}}');

-- upload, extract and package: checked at submit time
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "d/x.zip"}');
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "d/x.zip", "credential": "nope"}');
SELECT mlops.submit_job('upload', '{"path": "../x.zip", "target": "d/x.zip", "credential": "owncloud"}');
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "../x.zip", "credential": "owncloud"}');
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "/abs", "credential": "owncloud"}');
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "a\u0001b", "credential": "owncloud"}');
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "a/./b", "credential": "owncloud"}');
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "a//b", "credential": "owncloud"}');
SELECT mlops.submit_job('download', '{"credential": "owncloud", "object": "a/../../b", "path": "x"}');
-- names that need escaping in a URL are allowed (percent-encoded when the job runs)
SELECT mlops.validate_job('upload', '{"path": "x.zip", "target": "runs/a b+c=d é?#%.zip", "credential": "owncloud"}');
SELECT mlops.validate_job('download', '{"credential": "owncloud", "object": "runs/a b+c=d é.zip", "path": "x"}');
SELECT mlops.submit_job('upload', '{"path": "x.zip", "target": "d/x.zip", "credential": "owncloud", "delete_after": "yes"}');
SELECT mlops.submit_job('extract', '{"archive": "a.zip"}');
SELECT mlops.submit_job('extract', '{"archive": "/etc/a.zip", "dest": "x"}');
SELECT mlops.submit_job('extract', '{"archive": "a.zip", "dest": "../x"}');
SELECT mlops.submit_job('package', '{"source": "s", "path": "out/set-%Y-%Q.zip"}');
SELECT mlops.submit_job('package', '{"source": "../s", "path": "out/set.zip"}');
SELECT mlops.submit_job('package', '{"source": "s"}');
-- list: a granted s3 or webdav credential, a safe prefix, whole numbers within the limits
SELECT mlops.set_credential('plainweb', 'http', '{"url": "http://127.0.0.1:8080/files/"}');
SELECT mlops.submit_job('list', '{}');
SELECT mlops.submit_job('list', '{"credential": "nope"}');
SELECT mlops.submit_job('list', '{"credential": "plainweb"}');
SELECT mlops.submit_job('list', '{"credential": "owncloud", "depth": "infinity"}');
SELECT mlops.submit_job('list', '{"credential": "owncloud", "prefix": "../up"}');
SELECT mlops.submit_job('list', '{"credential": "owncloud", "prefix": "/abs"}');
SELECT mlops.submit_job('list', '{"credential": "owncloud", "recursive": "yes"}');
SELECT mlops.submit_job('list', '{"credential": "store", "page_size": 0}');
SELECT mlops.submit_job('list', '{"credential": "store", "page_size": 1001}');
SELECT mlops.submit_job('list', '{"credential": "store", "max_entries": 2.5}');
SELECT mlops.submit_job('list', '{"credential": "store", "max_entries": 10001}');
SELECT mlops.validate_job('list', '{"credential": "store", "prefix": "runs/", "page_size": 2, "max_entries": 100, "recursive": true}');
SELECT mlops.drop_credential('plainweb');
-- stat: a granted credential and a safe object name
SELECT mlops.submit_job('stat', '{"credential": "owncloud"}');
SELECT mlops.submit_job('stat', '{"credential": "owncloud", "object": "../x"}');
SELECT mlops.submit_job('stat', '{"credential": "nope", "object": "x"}');
SELECT mlops.submit_job('stat', '{"credential": "owncloud", "object": "x", "method": "GET"}');
SELECT mlops.validate_job('stat', '{"credential": "store", "object": "models/m.bin"}');
SELECT count(*) AS queued FROM mlops.jobs WHERE kind IN ('upload', 'extract', 'package', 'list');

SELECT mlops.drop_credential('store'), mlops.drop_credential('store');
DROP OWNED BY mlops_regress_eve;
DROP ROLE mlops_regress_eve;
