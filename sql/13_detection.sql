-- Detection: detect_blobs (doh, log, dog) and contours (cells) on small rasters with
-- hand-checkable answers, and every refusal.  Parity with scikit-image and OpenCV on random
-- images is test/integration/detect_parity.sh.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;
SET extra_float_digits = 0;

-- a 64 x 64 heatmap (EPSG:32632, 10 m cells) with two Gaussian blobs of sigma 4: one centred on
-- pixel (row 20, col 16), one on (row 44, col 40)
CREATE TEMP TABLE heat AS
SELECT ST_SetValues(ST_AddBand(ST_MakeEmptyRaster(64, 64, 500000, 4800640, 10, -10, 0, 0, 32632), '32BF'::text, 0, -9999),
                    1, 1, 1,
                    (SELECT array_agg(r ORDER BY i) FROM (
                       SELECT i, array_agg(exp(-((i - 20) ^ 2 + (j - 16) ^ 2) / 32.0)
                                           + exp(-((i - 44) ^ 2 + (j - 40) ^ 2) / 32.0) ORDER BY j) AS r
                       FROM generate_series(0, 63) i, generate_series(0, 63) j GROUP BY i) x)::float8[][]) AS r;

-- DoH's box filters put each centre within a pixel of the blob's (skimage gives the same rows,
-- columns and sigmas: 43, 39, 8.22 and 19, 15, 8.22); the point is the pixel's centre
SELECT blob_id, pixel_row, pixel_col, round(sigma::numeric, 2) AS sigma, round(radius::numeric, 1) AS radius_m,
       ST_AsText(geom) AS centre, ST_SRID(geom)
FROM mlops.detect_blobs((SELECT r FROM heat), 'doh', '{"min_sigma": 2, "max_sigma": 10, "threshold": 0.01}');
-- with a threshold of 0.001 the integral image's edge responses pass too, as in skimage (5 blobs)
SELECT count(*) FROM mlops.detect_blobs((SELECT r FROM heat), 'doh', '{"min_sigma": 2, "max_sigma": 10, "threshold": 0.001}');
-- LoG finds both centres exactly; its radius is sigma * sqrt(2) in metres
SELECT blob_id, pixel_row, pixel_col, round(sigma::numeric, 2) AS sigma, round(radius::numeric, 1) AS radius_m
FROM mlops.detect_blobs((SELECT r FROM heat), 'log', '{"min_sigma": 2, "max_sigma": 10, "threshold": 0.05}');
SELECT count(*) AS dog_blobs, min(pixel_row), max(pixel_row)
FROM mlops.detect_blobs((SELECT r FROM heat), 'dog', '{"min_sigma": 2, "max_sigma": 10, "threshold": 0.05}');
-- pred_threshold zeroes the weaker blob first
SELECT count(*) AS blobs_left FROM mlops.detect_blobs(
  (SELECT ST_MapAlgebra(r, 1, '32BF', 'CASE WHEN [rast.y] > 32 THEN [rast] * 0.5 ELSE [rast] END') FROM heat),
  'doh', '{"min_sigma": 2, "max_sigma": 10, "threshold": 0.001, "pred_threshold": 0.75}');
-- nodata reads as 0; all nodata gives no blob (not an error)
SELECT count(*) AS blobs_of_nodata FROM mlops.detect_blobs(
  ST_AddBand(ST_MakeEmptyRaster(16, 16, 0, 16, 1, -1, 0, 0, 32632), '32BF'::text, -9999, -9999));
-- band 2
SELECT count(*) AS blobs_of_band_2 FROM mlops.detect_blobs(
  (SELECT ST_AddBand(ST_AddBand(ST_MakeEmptyRaster(64, 64, 0, 64, 1, -1, 0, 0, 32632), '8BUI'::text, 0, NULL),
                     ST_Band(r, 1)) FROM heat), 'doh', '{"min_sigma": 2, "max_sigma": 10, "threshold": 0.001}', 2);

-- contours: cells >= level, exact areas, holes, valid polygons
CREATE TEMP TABLE mask AS
SELECT ST_SetValues(ST_AddBand(ST_MakeEmptyRaster(8, 8, 0, 8, 1, -1, 0, 0, 32632), '8BUI'::text, 0, NULL),
                    1, 1, 1, ARRAY[
  [0,0,0,0,0,0,0,0],
  [0,1,1,1,1,0,0,0],
  [0,1,0,0,1,0,0,0],
  [0,1,0,5,1,0,0,0],
  [0,1,1,1,1,0,0,0],
  [0,0,0,0,0,1,0,0],
  [0,0,0,0,0,0,1,1],
  [0,0,0,0,0,0,1,1]]::float8[][]) AS r;
SELECT contour_id, ST_GeometryType(geom), ST_NumInteriorRings(CASE WHEN GeometryType(geom) = 'POLYGON' THEN geom END) AS holes,
       area, ST_Area(geom) AS geom_area, max_value, ST_IsValid(geom) AS valid, ST_SRID(geom)
FROM mlops.contours((SELECT r FROM mask), 1) ORDER BY contour_id;
SELECT contour_id, ST_GeometryType(geom), ST_NumInteriorRings(geom) AS holes, area, ST_IsValid(geom) AS valid
FROM mlops.contours((SELECT r FROM mask), 1, '{"connectivity": 4}') ORDER BY contour_id;
-- the same cells as ST_DumpAsPolygons gives (its union)
SELECT ST_Equals(ST_Union(c.geom), (SELECT ST_Union(geom) FROM ST_DumpAsPolygons(
         (SELECT ST_Reclass(r, 1, '[0-1):0, [1-255]:1', '8BUI', 0) FROM mask)) d WHERE val = 1)) AS same_cells
FROM mlops.contours((SELECT r FROM mask), 1, '{"connectivity": 4}') c;
SELECT count(*) AS above_min_area FROM mlops.contours((SELECT r FROM mask), 1, '{"connectivity": 4, "min_area": 5}');
SELECT count(*) AS at_level_5 FROM mlops.contours((SELECT r FROM mask), 5);
SELECT count(*) AS blurred, max(area) FROM mlops.contours((SELECT r FROM mask), 0.3, '{"blur": 3}');
SELECT contour_id, area, round(max_value::numeric, 3) FROM mlops.contours((SELECT r FROM heat), 0.5);
-- geodesic areas on EPSG:4326: square metres on the spheroid
SELECT round(area) AS m2 FROM mlops.contours(
  ST_AddBand(ST_MakeEmptyRaster(2, 2, 11.0, 44.0, 0.001, -0.001, 0, 0, 4326), '8BUI'::text, 1, NULL), 1,
  '{"geodesic": true}');

-- mode opencv: cv2.findContours(RETR_CCOMP, CHAIN_APPROX_SIMPLE) vertices at pixel centres,
-- one polygon per outer contour with its holes, area the polygon's (outer minus holes);
-- cv2 gives the outer [[1,1],[1,4],[4,4],[6,6],[6,7],[7,7],[7,6],[6,6],[4,4],[4,1]] (area 10)
-- and the hole [[1,2],[2,1],[3,1],[4,2],[2,4],[1,3]] (area 5.5) in (column, row)
SELECT contour_id, ST_AsText(geom), ST_NumInteriorRings(geom) AS holes, area, ST_Area(geom) AS geom_area,
       max_value, ST_SRID(geom)
FROM mlops.contours((SELECT r FROM mask), 1, '{"mode": "opencv"}') ORDER BY contour_id;
-- a lone pixel is a one-vertex contour (a ring of four equal points, area 0); two separate blobs
-- come newest first, as OpenCV lists them
SELECT contour_id, ST_AsText(geom), area, round(max_value::numeric, 3) AS max_value
FROM mlops.contours(ST_SetValues(ST_AddBand(ST_MakeEmptyRaster(5, 4, 100, 50, 2, -2, 0, 0, 32632), '32BF'::text, 0, NULL),
                    1, 1, 1, ARRAY[[0.9,0,0,0,0],[0,0,0.7,0.8,0],[0,0,0.6,0.75,0],[0,0,0,0,0.2]]::float8[][]),
                    0.5, '{"mode": "opencv"}') ORDER BY contour_id;
SELECT count(*) AS opencv_above_min_area FROM mlops.contours((SELECT r FROM mask), 1, '{"mode": "opencv", "min_area": 4}');
SELECT count(*) AS opencv_below_min_area FROM mlops.contours((SELECT r FROM mask), 1, '{"mode": "opencv", "min_area": 5}');
SELECT count(*) AS opencv_blurred FROM mlops.contours((SELECT r FROM mask), 0.3, '{"mode": "opencv", "blur": 3}');

-- mode subpixel: skimage.measure.find_contours' iso-lines at cell centres; closed ones are
-- polygons, open ones (ending on the edge) linestrings with area 0; max_value is NULL.
-- skimage gives, in (row, column): [[1.5,1],[1,0.5],[0.5,1],[1,1.5],[1.5,1]] around the 1 at
-- (1, 1) of a 3 x 4 grid, and [[0.5,3],[0,2.5]] at the corner 1 at (0, 3)
SELECT contour_id, ST_AsText(geom), area, max_value
FROM mlops.contours(ST_SetValues(ST_AddBand(ST_MakeEmptyRaster(4, 3, 100, 50, 2, -2, 0, 0, 32632), '32BF'::text, 0, NULL),
                    1, 1, 1, ARRAY[[0,0,0,1],[0,1,0,0],[0,0,0,0]]::float8[][]),
                    0.5, '{"mode": "subpixel"}') ORDER BY contour_id;
SELECT count(*) AS subpixel_closed, bool_and(ST_IsValid(geom)) AS valid,
       bool_and(abs(area - ST_Area(geom)) < 1e-9 * area AND area BETWEEN 6000 AND 8000) AS areas
FROM mlops.contours((SELECT r FROM heat), 0.5, '{"mode": "subpixel"}') WHERE GeometryType(geom) = 'POLYGON';
SELECT count(*) AS subpixel_high_reversed FROM mlops.contours((SELECT r FROM heat), 0.5, '{"mode": "subpixel"}') a
JOIN mlops.contours((SELECT r FROM heat), 0.5, '{"mode": "subpixel", "positive_orientation": "high", "fully_connected": "low"}') b
  USING (contour_id) WHERE ST_Equals(a.geom, b.geom) AND NOT ST_OrderingEquals(a.geom, b.geom);
SELECT count(*) AS subpixel_above_min_area FROM mlops.contours((SELECT r FROM heat), 0.5, '{"mode": "subpixel", "min_area": 5000}');
SELECT count(*) AS subpixel_below_min_area FROM mlops.contours((SELECT r FROM heat), 0.5, '{"mode": "subpixel", "min_area": 10000}');

-- refusals
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'hough');
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'doh', '{"sigma": 2}');
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'doh', '{"exclude_border": 2}');
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'dog', '{"num_sigma": 5}');
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'doh', '{"min_sigma": 12, "max_sigma": 4}');
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'log', '{"min_sigma": -1}');
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'log', '{"overlap": 2}');
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'log', '{"threshold": "NaN"}');
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'dog', '{"sigma_ratio": 1}');
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'doh', '[]');
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'doh', '{}', 2);
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat), 'doh', '{}', 0);
SELECT * FROM mlops.detect_blobs(ST_AddBand(ST_MakeEmptyRaster(8, 8, 0, 8, 1, -1, 0.5, 0, 32632), '32BF'::text, 1, NULL));
SET mlops.max_raster_cells = 1000;
SELECT * FROM mlops.detect_blobs((SELECT r FROM heat));
RESET mlops.max_raster_cells;
SELECT * FROM mlops.contours((SELECT r FROM mask), 'NaN');
SELECT * FROM mlops.contours((SELECT r FROM mask), 1, '{"mode": "opencv2"}');
SELECT * FROM mlops.contours((SELECT r FROM mask), 1, '{"connectivity": 6}');
SELECT * FROM mlops.contours((SELECT r FROM mask), 1, '{"blur": 0}');
SELECT * FROM mlops.contours((SELECT r FROM mask), 1, '{"min_area": -1}');
SELECT * FROM mlops.contours((SELECT r FROM mask), 1, '{"geodesic": true}');
SELECT * FROM mlops.contours((SELECT r FROM mask), 1, '{"levels": 2}');
SELECT * FROM mlops.contours((SELECT r FROM mask), 1, '{"mode": "opencv", "connectivity": 8}');
SELECT * FROM mlops.contours((SELECT r FROM mask), 1, '{"mode": 4}');
SELECT * FROM mlops.contours((SELECT r FROM mask), 1, '{"mode": "subpixel", "connectivity": 4}');
SELECT * FROM mlops.contours((SELECT r FROM mask), 1, '{"fully_connected": "high"}');
SELECT * FROM mlops.contours((SELECT r FROM mask), 1, '{"mode": "subpixel", "positive_orientation": "up"}');
SELECT * FROM mlops.contours(ST_AddBand(ST_MakeEmptyRaster(1, 5, 0, 0, 1, -1, 0, 0, 32632), '8BUI'::text, 1, NULL), 0.5,
                             '{"mode": "subpixel"}');

-- merge_detections: three ways of merging points into sites
CREATE TEMP TABLE dets AS
SELECT ARRAY['POINT(0 0)', 'POINT(0.004 0)', 'POINT(0.008 0)', 'POINT(1 1)', 'POINT(1.003 1)', 'POINT(5 5)']::geometry[] AS pts;
SELECT site_id, ST_AsText(ST_SnapToGrid(geom, 1e-9)), n_members, members
FROM mlops.merge_detections((SELECT pts FROM dets), 0.005, 'single_link');
SELECT site_id, ST_AsText(ST_SnapToGrid(geom, 1e-9)), n_members, members
FROM mlops.merge_detections((SELECT pts FROM dets), 0.005);
SELECT site_id, n_members, members
FROM mlops.merge_detections((SELECT pts FROM dets), 0.005, 'dbscan', '{"min_points": 2}');
-- single_link is ST_ClusterDBSCAN(minpoints 1)'s partition
SELECT (SELECT string_agg(members::text, ' ' ORDER BY members::text)
        FROM mlops.merge_detections((SELECT pts FROM dets), 0.005, 'single_link'))
     = (SELECT string_agg(m::text, ' ' ORDER BY m::text) FROM (
          SELECT array_agg(i::int ORDER BY i) AS m FROM (
            SELECT i, ST_ClusterDBSCAN(g, 0.005, 1) OVER () AS c FROM unnest((SELECT pts FROM dets)) WITH ORDINALITY u(g, i)) x
          GROUP BY c) y) AS same_as_st_clusterdbscan;
-- geodesic: radius in metres on the WGS84 ellipsoid for EPSG:4326 points (single_link, dbscan).
-- At 60°N a degree of longitude is ~55.8 km, of latitude ~111.4 km: points 0.001° apart east-west
-- are ~55.8 m apart, north-south ~111.4 m; across the antimeridian too
CREATE TEMP TABLE geo AS
SELECT ARRAY['SRID=4326;POINT(10 60)', 'SRID=4326;POINT(10.001 60)', 'SRID=4326;POINT(10 60.001)',
             'SRID=4326;POINT(179.9995 -20)', 'SRID=4326;POINT(-179.9995 -20)']::geometry[] AS pts;
SELECT round(ST_Distance(a::geography, b::geography)::numeric, 3) AS metres
FROM (SELECT pts[1] a, pts[2] b FROM geo UNION ALL SELECT pts[1], pts[3] FROM geo UNION ALL SELECT pts[4], pts[5] FROM geo) x;
SELECT site_id, round(ST_X(geom)::numeric, 6) AS lon, round(ST_Y(geom)::numeric, 6) AS lat, n_members, members
FROM mlops.merge_detections((SELECT pts FROM geo), 60, 'single_link', '{"geodesic": true}');
-- the site across the antimeridian is at 180° (or -180°), not at 0°
SELECT site_id, round(abs(ST_X(geom))::numeric, 6) AS abs_lon, round(ST_Y(geom)::numeric, 6) AS lat, n_members, members
FROM mlops.merge_detections((SELECT pts FROM geo), 120, 'single_link', '{"geodesic": true}');
SELECT site_id, n_members, members
FROM mlops.merge_detections((SELECT pts FROM geo), 60, 'dbscan', '{"geodesic": true, "min_points": 2}');
SELECT * FROM mlops.merge_detections((SELECT pts FROM dets), 60, 'single_link', '{"geodesic": true}');
SELECT * FROM mlops.merge_detections((SELECT pts FROM geo), 60, 'iterative_mean', '{"geodesic": true}');
SELECT * FROM mlops.merge_detections((SELECT pts FROM geo), 60, 'single_link', '{"geodesic": 1}');
SELECT * FROM mlops.merge_detections((SELECT pts FROM geo), 2e7, 'single_link', '{"geodesic": true}');
SELECT * FROM mlops.merge_detections(ARRAY['SRID=4326;POINT(0 91)']::geometry[], 60, 'single_link', '{"geodesic": true}');
SELECT * FROM mlops.merge_detections((SELECT pts FROM geo), 60, 'single_link', '{"radius_unit": "m"}');
SELECT count(*) FROM mlops.merge_detections('{}'::geometry[], 1);
SELECT * FROM mlops.merge_detections((SELECT pts FROM dets), 0);
SELECT * FROM mlops.merge_detections((SELECT pts FROM dets), 'NaN');
SELECT * FROM mlops.merge_detections((SELECT pts FROM dets), 1, 'kmeans');
SELECT * FROM mlops.merge_detections((SELECT pts FROM dets), 1, 'single_link', '{"min_points": 3}');
SELECT * FROM mlops.merge_detections((SELECT pts FROM dets), 1, 'dbscan', '{"min_points": 0}');
SELECT * FROM mlops.merge_detections(ARRAY['POINT(0 0)', 'LINESTRING(0 0, 1 1)']::geometry[], 1);
SELECT * FROM mlops.merge_detections(ARRAY['POINT(0 0)', 'POINT EMPTY']::geometry[], 1);
SELECT * FROM mlops.merge_detections(ARRAY['SRID=4326;POINT(0 0)', 'SRID=3857;POINT(1 1)']::geometry[], 1);
SELECT * FROM mlops.merge_detections(ARRAY['POINT(0 0)', NULL]::geometry[], 1);
SELECT * FROM mlops.merge_detections(ARRAY['POINT(0 0)', ST_MakePoint(1, 'NaN')]::geometry[], 1);
SELECT * FROM mlops.merge_detections(ARRAY['POINT(0 0)', 'POINT Z (1 1 1)', 'SRID=4326;POINT(1 1)']::geometry[], 1);
-- 2-D points are read in place and sites written from PostGIS's own bytes for the SRID: the same
-- sites as from 3-D copies of the points (read through ST_AsEWKB), coordinates to the bit, and the
-- bytes of ST_SetSRID(ST_MakePoint(x, y), srid)
WITH p AS (SELECT s, array_agg(ST_SetSRID(ST_MakePoint(sin(i * 1.7) * 3, cos(i * 2.3) * 3), s) ORDER BY i) AS a
           FROM unnest(ARRAY[0, 4326, 32632]) s, generate_series(1, 2000) i GROUP BY s)
SELECT s, count(*) > 100 AS many_sites,
       bool_and(d.geom::bytea = ST_SetSRID(ST_MakePoint(ST_X(z.geom), ST_Y(z.geom)), s)::bytea
                AND ST_SRID(z.geom) = s AND d.members = z.members AND d.n_members = z.n_members) AS same_as_through_ewkb,
       count(*) = (SELECT count(*) FROM mlops.merge_detections(p.a, 0.1)) AS every_site_matched
FROM p, LATERAL mlops.merge_detections(p.a, 0.1) d
JOIN LATERAL mlops.merge_detections((SELECT array_agg(ST_Force3D(g) ORDER BY i) FROM unnest(p.a) WITH ORDINALITY u(g, i)),
                                    0.1) z USING (site_id)
GROUP BY s, p.a ORDER BY s;

-- confirm_detections: candidates found by at least k model runs, matched by shape, not by box
-- two thin diagonal strips whose bounding boxes overlap but which do not touch must not match
SELECT candidate, n_models, confirmed_by FROM mlops.confirm_detections(ARRAY[
  'POLYGON((0 0, 1 0, 10 9, 10 10, 9 10, 0 1, 0 0))',          -- model 1: a strip along y = x
  'POLYGON((0 5, 1 5, 5 9, 5 10, 4 10, 0 6, 0 5))',            -- model 2: a strip above it, box overlapping
  'POLYGON((2 2, 4 2, 4 4, 2 4, 2 2))',                          -- model 2: on the first strip
  'POINT(50 50)',                                                -- model 3: far away
  'POINT(50.5 50)'                                               -- model 1: 0.5 from it
]::geometry[], ARRAY[1, 2, 2, 3, 1]);
SELECT ST_Intersects(ST_Envelope('POLYGON((0 0, 1 0, 10 9, 10 10, 9 10, 0 1, 0 0))'::geometry),
                     ST_Envelope('POLYGON((0 5, 1 5, 5 9, 5 10, 4 10, 0 6, 0 5))'::geometry)) AS boxes_overlap,
       ST_Intersects('POLYGON((0 0, 1 0, 10 9, 10 10, 9 10, 0 1, 0 0))'::geometry,
                     'POLYGON((0 5, 1 5, 5 9, 5 10, 4 10, 0 6, 0 5))'::geometry) AS shapes_meet;
-- with a tolerance of 1 the two points confirm each other; with min_models 1 every candidate stays
SELECT candidate, n_models, confirmed_by FROM mlops.confirm_detections(
  ARRAY['POINT(50 50)', 'POINT(50.5 50)', 'POINT(0 0)']::geometry[], ARRAY[3, 1, 2], 2, 1);
SELECT count(*) FROM mlops.confirm_detections(ARRAY['POINT(0 0)', 'POINT(9 9)']::geometry[], ARRAY[1, 2], 1);
SELECT * FROM mlops.confirm_detections(ARRAY['POINT(0 0)']::geometry[], ARRAY[1, 2]);
SELECT * FROM mlops.confirm_detections(ARRAY['POINT(0 0)']::geometry[], ARRAY[1], 0);
SELECT * FROM mlops.confirm_detections(ARRAY['POINT(0 0)']::geometry[], ARRAY[1], 2, -1);
SELECT * FROM mlops.confirm_detections(ARRAY['POINT(0 0)', NULL]::geometry[], ARRAY[1, 2]);
