#!/usr/bin/env bash
# test/bench/detection_pipeline/run.sh — the detection pipeline (`make bench`, or
# BENCH=detection_pipeline) against what a user would write without it: the same calls of
# mlops.detect_blobs, merge_detections, confirm_detections and contours in one psql session,
# keeping their rows in temporary tables.  Three models' heatmaps of 500 x 500 cells with 40
# Gaussian blobs each; three runs (a new config each: the same config would be the same run and
# compute nothing).  The pipeline's extra time is its five stages' sessions (a process per step
# that loads pg_mlops and PostGIS) and the rows it writes; the per-step times come from mlops.jobs.
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/lib/cluster.sh
. test/lib/tap.sh    # poll_sql

cluster_start --db mlops_bench --durable || exit 1
trap 'cluster_stop' EXIT
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops CASCADE;
CREATE TABLE public.heat (model text, raster raster);
INSERT INTO public.heat
SELECT m.model, ST_SetValues(ST_AddBand(ST_MakeEmptyRaster(500, 500, 600000, 5005000, 10, -10, 0, 0, 32632), '32BF'::text, 0, NULL),
         1, 1, 1, (SELECT array_agg(r ORDER BY i) FROM (
           SELECT i, array_agg(least(1.0, (SELECT coalesce(sum(exp(greatest(-50.0, -((i - b.ci - m.di) ^ 2 + (j - b.cj - m.dj) ^ 2) / (2.0 * b.s * b.s)))), 0)
                                           FROM (SELECT 25 + (k * 97) % 450 AS ci, 25 + (k * 61) % 450 AS cj, 3 + k % 6 AS s
                                                 FROM generate_series(1, 40) k) b)) ORDER BY j) AS r
           FROM generate_series(0, 499) i, generate_series(0, 499) j GROUP BY i) x)::float8[][])
FROM (VALUES ('a', 0, 0), ('b', 1, -1), ('c', -1, 1)) m(model, di, dj);
SQL

now() { date +%s.%N; }
for w in 400 401 402; do
  t0=$(now)
  run=$(psql -XAtq -c "SELECT mlops.start_run('detection', '{\"heatmaps\": {\"table\": \"public.heat\"},
    \"blob_options\": {\"min_sigma\": 2, \"max_sigma\": 12, \"threshold\": 0.005}, \"pred_threshold\": 0.5,
    \"radius\": 150, \"level\": 0.5, \"window\": $w}')")
  poll_sql "SELECT state FROM mlops.runs WHERE run_id = '$run'" succeeded 300 >/dev/null || { echo "run $run did not succeed"; exit 1; }
  t1=$(now)
  psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<SQL || exit 1
CREATE TEMP TABLE b AS SELECT h.model, x.* FROM public.heat h,
  mlops.detect_blobs(h.raster, 'doh', '{"min_sigma": 2, "max_sigma": 12, "threshold": 0.005, "pred_threshold": 0.5}') x;
CREATE TEMP TABLE s AS SELECT row_number() OVER (ORDER BY d.model, m.site_id)::int AS site_id, d.model, m.geom
FROM (SELECT model, array_agg(geom ORDER BY blob_id) p FROM b GROUP BY model) d, mlops.merge_detections(d.p, 150) m;
CREATE TEMP TABLE c AS SELECT ids[c.candidate] AS site_id
FROM (SELECT array_agg(site_id ORDER BY site_id) ids, array_agg(geom ORDER BY site_id) g,
             array_agg(ascii(model) - 96 ORDER BY site_id) m FROM s) a, mlops.confirm_detections(a.g, a.m, 2, 150) c;
CREATE TEMP TABLE k AS SELECT s.site_id, x.* FROM s JOIN c USING (site_id) JOIN public.heat h ON h.model = s.model,
  mlops.contours(ST_Clip(h.raster, ST_Expand(s.geom, $w)), 0.5) x WHERE ST_DWithin(x.geom, s.geom, 150);
SQL
  t2=$(now)
  echo "run $run: pipeline $(printf '%.2f' "$(echo "$t1 - $t0" | bc)") s, direct calls in one session $(printf '%.2f' "$(echo "$t2 - $t1" | bc)") s," \
       "ratio $(printf '%.1f' "$(echo "($t1 - $t0) / ($t2 - $t1)" | bc -l)");" \
       "$(psql -XAtq -c "SELECT (SELECT count(*) FROM mlops.detections WHERE run_id = '$run') || ' blobs, '
                                || (SELECT count(*) FILTER (WHERE confirmed) FROM mlops.sites WHERE run_id = '$run') || ' confirmed sites, '
                                || (SELECT count(*) FROM mlops.site_contours WHERE run_id = '$run') || ' contours'")"
  psql -XAtq -c "SELECT '  ' || j.step || ': ' || count(*) || ' job(s), ' || round(extract(epoch FROM max(j.finished_at) - min(j.started_at))::numeric, 2) || ' s'
                 FROM mlops.jobs j WHERE j.run_id = '$run' GROUP BY j.step ORDER BY min(j.started_at)"
done
