-- The http and geocode job kinds (src/jobs/kind_http.c, kind_geocode.c): every refusal at
-- submit time, each with its SQLSTATE, message and hint, and nothing queued by a refused
-- submit.  The worker's runs are tested against a local API in test/integration/http_kinds.sh.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.refusal(params text, kind text DEFAULT 'http', OUT state text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mlops.submit_job(kind, params::jsonb);
    state := 'accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
END
$$;

SELECT count(*) AS jobs_before FROM mlops.jobs \gset

-- the request
SELECT * FROM pg_temp.refusal('{}');
SELECT * FROM pg_temp.refusal('{"url": "file:///etc/passwd"}');
SELECT * FROM pg_temp.refusal('{"url": "http://user:pw@127.0.0.1/x"}');
SELECT * FROM pg_temp.refusal('{"url": 42}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "delete_afer": true}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "method": "TRACE"}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "method": "GET", "body": {"a": 1}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "headers": ["X-A: 1"]}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "headers": {"Host": "evil"}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "headers": {"User-Agent": "me"}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "headers": {"Authorization": "Bearer x"}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "headers": {"Bad Name": "x"}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "headers": {"X-A": "a\r\nX-Injected: 1"}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "headers": {"X-A": 1}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "timeout": "soon"}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "timeout": 0.5}');
-- credentials: existing, granted, of kind http, and only sent under their own url
SELECT mlops.set_credential('api', 'http', '{"url": "http://127.0.0.1:9/api", "bearer_token": "tok"}');
SELECT mlops.set_credential('dav', 'webdav', '{"url": "http://127.0.0.1:9/dav/", "username": "u", "password": "p"}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1:9/api/x", "credential": "nope"}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1:9/dav/x", "credential": "dav"}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1:9/apix", "credential": "api"}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1:9/api/runs", "credential": "api", "poll": {"url": "http://127.0.0.1:9/{id}", "until": {"status_in": [200]}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1:9/api/runs", "credential": "api", "poll": {"url": "http://127.0.0.1:9/ap{id}", "until": {"status_in": [200]}}}');

-- poll
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": true}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"interval": 1}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"path": "s", "equals": 1}, "intervall": 1}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"path": "s", "equal": 1}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"path": "s"}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"path": "s", "equals": 1, "in": [1]}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"equals": 1, "status_in": [200]}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"path": "a..b", "equals": 1}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"path": "s", "equals": {"a": 1}}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"path": "s", "in": []}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"path": "s", "in": "done"}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"path": "s", "in": [["done"]]}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200, 99]}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200.5]}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200], "message": "m"}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200]}, "fail_if": {"path": "s", "equals": "failed", "message": 3}}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200]}, "interval": "2 parsecs"}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200]}, "interval": "10ms"}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200]}, "interval": "5s", "max_interval": "2s"}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200]}, "backoff": 0.5}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200]}, "backoff": "fast"}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200]}, "timeout": "8d"}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200]}, "url": "http://127.0.0.1/{id"}}');
SELECT * FROM pg_temp.refusal('{"url": "http://127.0.0.1/x", "poll": {"until": {"status_in": [200]}, "url": "ftp://127.0.0.1/{id}"}}');

-- geocode: the points, the endpoint or credential, the options
SELECT mlops.set_credential('geo', 'http', '{"url": "http://127.0.0.1:9/nominatim/", "key": "k"}');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/"}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/", "points": {"id": 1}}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/", "points": []}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/", "points": [[10.1, 50.1]]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/", "points": [{"id": 1, "lon": 10, "lat": 50, "name": "x"}]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/", "points": [{"lon": 10, "lat": 50}]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/", "points": [{"id": 1.5, "lon": 10, "lat": 50}]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/", "points": [{"id": 1, "lon": 10, "lat": 50}, {"id": 2, "lon": "10", "lat": 50}]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/", "points": [{"id": 1, "lon": 50, "lat": 100}]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/", "points": [{"id": 1, "lon": 190, "lat": 10}]}', 'geocode');
SELECT * FROM pg_temp.refusal(format('{"endpoint": "http://127.0.0.1:9/", "points": %s}',
    (SELECT jsonb_agg(jsonb_build_object('id', i, 'lon', 0, 'lat', 0)) FROM generate_series(1, 10001) i)), 'geocode');
SELECT * FROM pg_temp.refusal('{"points": [{"id": 1, "lon": 10, "lat": 50}]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/", "credential": "geo", "points": [{"id": 1, "lon": 10, "lat": 50}]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "file:///etc/", "points": [{"id": 1, "lon": 10, "lat": 50}]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"endpoint": "http://127.0.0.1:9/?q=1", "points": [{"id": 1, "lon": 10, "lat": 50}]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"credential": "nope", "points": [{"id": 1, "lon": 10, "lat": 50}]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"credential": "dav", "points": [{"id": 1, "lon": 10, "lat": 50}]}', 'geocode');
SELECT * FROM pg_temp.refusal('{"credential": "geo", "points": [{"id": 1, "lon": 10, "lat": 50}], "zoom": 19}', 'geocode');
SELECT * FROM pg_temp.refusal('{"credential": "geo", "points": [{"id": 1, "lon": 10, "lat": 50}], "language": "en&key=x"}', 'geocode');
SELECT * FROM pg_temp.refusal('{"credential": "geo", "points": [{"id": 1, "lon": 10, "lat": 50}], "max_age": "60d"}', 'geocode');
SELECT * FROM pg_temp.refusal('{"credential": "geo", "points": [{"id": 1, "lon": 10, "lat": 50}], "limit": 1}', 'geocode');
-- mlops.user_agent is empty here: a valid job is refused until it is set
SELECT * FROM pg_temp.refusal('{"credential": "geo", "points": [{"id": 1, "lon": 10, "lat": 50}]}', 'geocode');
-- the worker's own functions and the pacing table are not for PUBLIC
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute
FROM pg_proc p WHERE p.proname LIKE 'worker_geocode%' ORDER BY 1;
SELECT has_table_privilege('public', 'mlops.geocode_pacing', 'SELECT') AS public_reads_pacing,
       has_table_privilege('public', 'mlops.geocode_cache', 'SELECT') AS public_reads_cache,
       (SELECT relrowsecurity FROM pg_class WHERE oid = 'mlops.geocode_cache'::regclass) AS cache_has_rls;

-- nothing was queued by a refusal
SELECT count(*) - :jobs_before AS queued_by_refusals FROM mlops.jobs;

-- accepted: a full job (validated only: nothing is queued)
SELECT pg_typeof(mlops.validate_job('http', '{"url": "http://127.0.0.1:9/api/runs", "method": "post", "body": {"model": "m"},
  "headers": {"X-Project": "p"}, "credential": "api", "timeout": "10s",
  "poll": {"url": "http://127.0.0.1:9/api/runs/{id}", "until": {"path": "status", "in": ["done", "failed"]},
           "fail_if": {"path": "status", "equals": "failed", "message": "error.message"},
           "interval": "2s", "backoff": 1.5, "max_interval": "30s", "timeout": "10m"}}')) AS accepted;
SELECT mlops.drop_credential('api'), mlops.drop_credential('dav'), mlops.drop_credential('geo');
