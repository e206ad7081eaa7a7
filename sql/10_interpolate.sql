-- Spatial interpolation: make_grid, interpolate_raster (idw, nearest, linear, kriging, fade,
-- Gaussian smoothing) on small grids with hand-checkable values, and every refusal.
-- Parity with ST_InterpolateRaster on random points is test/integration/interpolate_parity.sh.
CREATE EXTENSION IF NOT EXISTS pg_mlops CASCADE;
SET extra_float_digits = 0;

-- make_grid: the heatmap service's rule, ceil(max(min_cell_size, sqrt(area / max_cells)))
WITH g AS (SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 1000, 500, 3857)) AS r)
SELECT ST_Width(r), ST_Height(r), ST_ScaleX(r), ST_ScaleY(r), ST_UpperLeftX(r), ST_UpperLeftY(r),
       ST_SRID(r), ST_NumBands(r), ST_BandPixelType(r, 1), ST_BandNoDataValue(r, 1)
FROM g;
-- sqrt(1000 * 500 / 10000) = 7.07 < min_cell_size 10 -> 10 m cells; with max_cells 100: ceil(70.7) = 71
SELECT ST_Width(r), ST_Height(r), ST_ScaleX(r)
FROM (SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 1000, 500, 3857), max_cells => 100) AS r) g;
SELECT ST_Width(r), ST_Height(r), ST_ScaleX(r), ST_BandPixelType(r, 1), ST_BandNoDataValue(r, 1),
       (ST_SummaryStats(r, 1, false)).max
FROM (SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 25, 10, 4326), cell_size => 2.5, pixel_type => '16BSI',
                             nodata => -1) AS r) g;
SELECT mlops.make_grid('POINT EMPTY'::geometry) IS NULL AS empty_area_gives_null;
SELECT mlops.make_grid(NULL) IS NULL AS null_area_gives_null;
-- a point: one cell
SELECT ST_Width(r), ST_Height(r) FROM (SELECT mlops.make_grid('POINT(5 5)'::geometry) AS r) g;
-- min_cell_size 0: no lower bound but whole units of the CRS (ceil(sqrt(1000 * 500 / 10000)) = 8)
SELECT ST_Width(r), ST_Height(r), ST_ScaleX(r)
FROM (SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 1000, 500, 3857), min_cell_size => 0) AS r) g;
-- units are the CRS's: a geographic CRS (degrees) needs an explicit cell_size, in degrees
SELECT mlops.make_grid(ST_MakeEnvelope(13.3, 52.4, 13.5, 52.6, 4326));
SELECT mlops.make_grid(ST_MakeEnvelope(13.3, 52.4, 13.5, 52.6, 4326), min_cell_size => 0);
SELECT ST_Width(r), ST_Height(r), ST_ScaleX(r)
FROM (SELECT mlops.make_grid(ST_MakeEnvelope(13.3, 52.4, 13.5, 52.6, 4326), cell_size => 0.002) AS r) g;
-- the same area in metres (UTM 33N) gets a grid of metres
SELECT ST_Width(r), ST_Height(r), ST_ScaleX(r) AS cell_m, ST_SRID(r)
FROM (SELECT mlops.make_grid(ST_Transform(ST_MakeEnvelope(13.3, 52.4, 13.5, 52.6, 4326), 32633)) AS r) g;
-- refusals
SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 10, 10), min_cell_size => -1);
SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 10, 10), cell_size => 0);
SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 10, 10), cell_size => 'NaN');
SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 10, 10), max_cells => 0);
SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 10, 10), pixel_type => '12BF');
SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 10, 10), pixel_type => '8BUI', nodata => 300);
SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 1e6, 10), cell_size => 1);
SET mlops.max_raster_cells = 1000;
SELECT mlops.make_grid(ST_MakeEnvelope(0, 0, 100, 100), cell_size => 1);
RESET mlops.max_raster_cells;

-- A 4 x 3 template, 10 m cells, upper-left (0, 30); cell centres x = 5, 15, 25, 35 and
-- y = 25, 15, 5.  Three sensors with values 10, 20, 30.
CREATE TEMP TABLE tmpl AS
SELECT ST_AddBand(ST_MakeEmptyRaster(4, 3, 0, 30, 10, -10, 0, 0, 3857), '32BF'::text, 0, -9999) AS r;
CREATE TEMP TABLE sensors (id int, geom geometry);
INSERT INTO sensors VALUES
  (1, 'SRID=3857;POINT Z (5 25 10)'), (2, 'SRID=3857;POINT Z (35 5 20)'), (3, 'SRID=3857;POINT Z (35 25 30)');
CREATE TEMP TABLE pts AS SELECT ST_Collect(geom ORDER BY id) AS g FROM sensors;

-- values of band 1, row by row, rounded
CREATE FUNCTION pixels(r raster) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(row_text, ' / ' ORDER BY y) FROM (
    SELECT y, string_agg(round(val::numeric, 3)::text, ' ' ORDER BY x) AS row_text
    FROM ST_PixelAsPoints(r, 1, false) GROUP BY y) s $$;

-- nearest: each cell takes the closest sensor's value; of equidistant sensors the later one, as
-- GDAL: (25, 15) and (35, 15) are as far from sensor 2 (20) as from sensor 3 (30) and take 30
SELECT pixels(mlops.interpolate_raster(pts.g, tmpl.r, 'nearest')) FROM pts, tmpl;
-- two readings at one spot: the later one counts (nearest and linear alike); a reading of 50 at
-- sensor 1's spot after it
SELECT pixels(mlops.interpolate_raster(ST_Collect(pts.g, 'SRID=3857;POINT Z (5 25 50)'), tmpl.r, 'nearest'))
FROM pts, tmpl;
SELECT pixels(mlops.interpolate_raster(ST_Collect(pts.g, 'SRID=3857;POINT Z (5 25 50)'), tmpl.r, 'linear'))
FROM pts, tmpl;
-- linear on points that make no triangle (where GDAL 3.6's qhull fails with "Delaunay
-- triangulation failed"): radius -1 fills every cell with the nearest point, radius 0 gives nodata
SELECT pixels(mlops.interpolate_raster('SRID=3857;MULTIPOINT Z (5 5 10, 15 15 20, 25 25 30)'::geometry, tmpl.r,
                                       'linear', '{"radius": -1}'))
FROM tmpl;
SELECT pixels(mlops.interpolate_raster('SRID=3857;MULTIPOINT Z (5 5 10, 15 15 20, 25 25 30)'::geometry, tmpl.r, 'linear'))
FROM tmpl;
SELECT pixels(mlops.interpolate_raster('SRID=3857;MULTIPOINT Z (5 25 10)'::geometry, tmpl.r, 'linear', '{"radius": -1}'))
FROM tmpl;
-- idw power 2: a cell on a sensor takes its value; (15, 15): distances^2 200, 500, 500 ->
-- (10/200 + 20/500 + 30/500) / (1/200 + 1/500 + 1/500) = 16.667
SELECT pixels(mlops.interpolate_raster(pts.g, tmpl.r)) FROM pts, tmpl;
-- the same through the array form, with 2-D points
SELECT pixels(mlops.interpolate_raster(a.geoms, a.vals, tmpl.r, 'idw', '{"power": 2}'))
FROM (SELECT array_agg(ST_Force2D(geom) ORDER BY id) AS geoms, array_agg(ST_Z(geom) ORDER BY id) AS vals FROM sensors) a, tmpl;
-- idw with a radius and min_points: cells with fewer than 2 sensors within 21 m are nodata
SELECT pixels(mlops.interpolate_raster(pts.g, tmpl.r, 'idw', '{"radius": 21, "min_points": 2}'))
FROM pts, tmpl;
-- linear: the plane through the three sensors inside their triangle, nodata outside
SELECT pixels(mlops.interpolate_raster(pts.g, tmpl.r, 'linear')) FROM pts, tmpl;
-- linear with radius -1 (GDAL's default): the nearest sensor outside the triangle
SELECT pixels(mlops.interpolate_raster(pts.g, tmpl.r, 'linear', '{"radius": -1}')) FROM pts, tmpl;
-- kriging with a given variogram reproduces the sensors (no nugget) and stays within their range
SELECT pixels(mlops.interpolate_raster(pts.g, tmpl.r, 'kriging',
              '{"model": "exponential", "sill": 10, "range": 30, "max_points": 0}'))
FROM pts, tmpl;
-- the worked example of Isaaks & Srivastava (1989, ch. 12): seven samples around (65E, 137N),
-- covariance 10 exp(-0.3 h) (exponential, sill 10, practical range 10): the book's ordinary
-- kriging estimate is 592.7 (the kernel's unit test also checks the weights and the variance)
SELECT round(ST_Value(mlops.interpolate_raster(
         'MULTIPOINT Z ((61 139 477), (63 140 696), (64 129 227), (68 128 646), (71 140 606), (73 141 791), (75 128 783))'::geometry,
         ST_AddBand(ST_MakeEmptyRaster(1, 1, 64.5, 137.5, 1, -1, 0, 0, 0), '64BF'::text), 'kriging',
         '{"model": "exponential", "nugget": 0, "sill": 10, "range": 10, "max_points": 0}'), 1, 1)::numeric, 1) AS isaaks_srivastava;
-- fade: beyond 10 m from the nearest sensor the value fades (factor exp(-0.5 ((d - 10) / 5)^2))
SELECT pixels(mlops.interpolate_raster(pts.g, tmpl.r, 'nearest', '{"fade_distance": 10, "fade_smoothing": 5}'))
FROM pts, tmpl;
-- Gaussian smoothing keeps nodata cells and the mean of a constant field
SELECT pixels(mlops.interpolate_raster(pts.g, tmpl.r, 'linear', '{"gaussian_sigma": 1}'))
FROM pts, tmpl;
SELECT pixels(mlops.interpolate_raster('SRID=3857;MULTIPOINT Z ((1 1 7), (39 29 7))'::geometry, tmpl.r, 'idw',
                                       '{"gaussian_sigma": 1.5}')) FROM tmpl;
-- the result keeps the template's size, georeference, SRID and pixel type; nodata is marked
SELECT ST_Width(r), ST_Height(r), ST_UpperLeftX(r), ST_UpperLeftY(r), ST_ScaleX(r), ST_ScaleY(r), ST_SRID(r),
       ST_BandPixelType(r, 1), ST_BandNoDataValue(r, 1)
FROM (SELECT mlops.interpolate_raster(pts.g, tmpl.r, 'idw', '{"nodata": -1}') AS r FROM pts, tmpl) s;
-- an 8-bit template: values rounded as GDAL writes them (16.667 -> 17), the template's nodata kept
SELECT pixels(mlops.interpolate_raster(g, ST_AddBand(ST_MakeEmptyRaster(4, 3, 0, 30, 10, -10, 0, 0, 3857), '8BUI'::text, 0, 255),
                                       'linear'))
FROM pts;
SELECT mlops.interpolate_raster(g, ST_AddBand(ST_MakeEmptyRaster(4, 3, 0, 30, 10, -10, 0, 0, 3857), '8BUI'::text, 0, 255),
                                'idw', '{"nodata": 300}')
FROM pts;
-- a make_grid template
SELECT ST_Width(r), ST_Height(r), ST_Value(r, 1, 1) AS first_cell
FROM (SELECT mlops.interpolate_raster(g, mlops.make_grid(g, cell_size => 5), 'nearest') AS r FROM pts) s;
-- fit_variogram gives a model kriging can use
SELECT v ->> 'model' AS model, (v ->> 'nugget')::float8 >= 0 AS nugget_ok,
       (v ->> 'sill')::float8 >= (v ->> 'nugget')::float8 AS sill_ok, (v ->> 'range')::float8 > 0 AS range_ok
FROM (SELECT mlops.fit_variogram(ST_Collect(ST_MakePoint(x, y, sin(x / 7.0) + cos(y / 5.0))), 'exponential') AS v
      FROM generate_series(0, 40, 4) x, generate_series(0, 40, 4) y) s;

-- empty input gives NULL, as PostGIS does
SELECT mlops.interpolate_raster('SRID=3857;MULTIPOINT Z EMPTY'::geometry, r) IS NULL AS empty_points FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z EMPTY'::geometry, r) IS NULL AS empty_point FROM tmpl;
SELECT mlops.interpolate_raster('{}'::geometry[], '{}'::float8[], r) IS NULL AS empty_arrays FROM tmpl;
SELECT mlops.interpolate_raster(NULL::geometry, r) IS NULL AS null_points FROM tmpl;

-- refusals, each with its own message
SELECT mlops.interpolate_raster('SRID=3857;MULTIPOINT((1 1), (2 2))'::geometry, r) FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;LINESTRING Z (1 1 1, 2 2 2)'::geometry, r) FROM tmpl;
SELECT mlops.interpolate_raster('SRID=4326;POINT Z (1 1 1)'::geometry, r) FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry,
                                ST_MakeEmptyRaster(4, 3, 0, 30, 10, -10, 0, 0, 3857));
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry,
                                ST_AddBand(ST_MakeEmptyRaster(4, 3, 0, 30, 10, -10, 0.5, 0, 3857), '32BF'::text));
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'spline') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'idw', '{"powr": 2}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'nearest', '{"power": 2}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'idw', '{"power": -1}') FROM tmpl;
-- a smoothing too wide for any grid, and an empty template, say so
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'idw', '{"gaussian_sigma": 1e12}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'kriging', '{"gaussian_sigma": 1e12}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry,
                                ST_AddBand(ST_MakeEmptyRaster(0, 0, 0, 30, 10, -10, 0, 0, 3857), '32BF'::text));
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'idw', '{"radius": -5}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'linear', '{"radius": -2}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'idw', '{"power": "2"}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'idw', '{"max_points": 2.5}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'idw', '[1, 2]') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'idw', '{"fade_smoothing": 3}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'kriging', '{"model": "cubic"}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'kriging', '{"sill": 3}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'kriging', '{"sill": 1, "nugget": 2, "range": 5}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'kriging', '{"sill": 1, "range": 0}') FROM tmpl;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r, 'kriging') FROM tmpl;
SELECT mlops.interpolate_raster(ARRAY['SRID=3857;POINT(1 1)'::geometry], '{1, 2}', r) FROM tmpl;
SELECT mlops.interpolate_raster(ARRAY['SRID=3857;POINT(1 1)'::geometry, NULL], '{1, 2}', r) FROM tmpl;
SELECT mlops.interpolate_raster(ARRAY['SRID=3857;POINT(1 1)'::geometry], '{NaN}', r) FROM tmpl;
SELECT mlops.interpolate_raster(ARRAY['SRID=3857;POINT(1 1)'::geometry], '{Infinity}', r) FROM tmpl;
SELECT mlops.interpolate_raster(ARRAY['SRID=3857;MULTIPOINT((1 1), (2 2))'::geometry], '{1}', r) FROM tmpl;
SELECT mlops.interpolate_raster(ARRAY['SRID=3857;POINT(1 1)'::geometry, 'SRID=4326;POINT(2 2)'], '{1, 2}', r) FROM tmpl;
SELECT mlops.interpolate_raster(ARRAY[['SRID=3857;POINT(1 1)'::geometry]], '{{1}}', r) FROM tmpl;
SELECT mlops.interpolate_raster(ST_MakePoint(1, 1, 'NaN'), ST_AddBand(ST_MakeEmptyRaster(2, 2, 0, 2, 1, -1, 0, 0, 0), '32BF'::text));
SET mlops.max_raster_cells = 10;
SELECT mlops.interpolate_raster('SRID=3857;POINT Z (1 1 1)'::geometry, r) FROM tmpl;
RESET mlops.max_raster_cells;
SELECT mlops.fit_variogram('POINT Z (1 1 1)'::geometry);
SELECT mlops.fit_variogram('MULTIPOINT Z ((1 1 1), (2 2 2), (3 1 3))'::geometry, 'exponential', '{"power": 2}');

-- the settings
SELECT name, setting, context FROM pg_settings
WHERE name IN ('mlops.compute_threads', 'mlops.max_raster_cells') ORDER BY name;
-- one thread gives the same raster as several
SET mlops.compute_threads = 1;
CREATE TEMP TABLE one AS SELECT mlops.interpolate_raster(pts.g, tmpl.r, 'idw') AS r FROM pts, tmpl;
SET mlops.compute_threads = 4;
SELECT ST_AsHexWKB(one.r) = ST_AsHexWKB(mlops.interpolate_raster(pts.g, tmpl.r, 'idw')) AS threads_agree
FROM one, pts, tmpl;
RESET mlops.compute_threads;
-- a long computation stops at a cancel (here statement_timeout), between chunks of rows
CREATE TEMP TABLE many AS
SELECT ST_Collect(ST_MakePoint(random() * 1000, random() * 1000, random())) AS g FROM generate_series(1, 3000);
SET statement_timeout = '300ms';
SELECT ST_Width(mlops.interpolate_raster(g, ST_AddBand(ST_MakeEmptyRaster(2000, 2000, 0, 1000, 0.5, -0.5, 0, 0, 0), '32BF'::text),
                                         'kriging', '{"max_points": 0, "model": "exponential", "sill": 1, "range": 100}'))
FROM many;
RESET statement_timeout;

-- Pictures a person can read: a PNG of band 1 (nodata transparent, cells enlarged) and an SVG
-- around it with a colour bar, units and the sensors.
SELECT substr(p, 1, 8) = '\x89504e470d0a1a0a'::bytea AS png_signature,
       get_byte(p, 16) * 16777216 + get_byte(p, 17) * 65536 + get_byte(p, 18) * 256 + get_byte(p, 19) AS png_width,
       get_byte(p, 20) * 16777216 + get_byte(p, 21) * 65536 + get_byte(p, 22) * 256 + get_byte(p, 23) AS png_height
FROM (SELECT mlops.heatmap_png(mlops.interpolate_raster(pts.g, tmpl.r, 'idw'), '{"scale": 10}') AS p FROM pts, tmpl) s;
SELECT svg LIKE '<?xml%' AND svg LIKE '%<svg%</svg>%' AS is_svg,
       svg LIKE '%NO₂ &lt;µg/m³&gt;%' AS escaped_units,
       svg LIKE '%Station &amp; A%' AS labels_drawn,
       svg LIKE '%data:image/png;base64,%' AS png_inside,
       (SELECT count(*) FROM regexp_matches(svg, '<circle', 'g')) >= 3 AS sensors_marked
FROM (SELECT mlops.heatmap_svg(mlops.interpolate_raster(pts.g, tmpl.r, 'idw'), pts.g,
             jsonb_build_object('title', 'Demo heatmap', 'units', 'NO₂ <µg/m³>', 'vmin', 0, 'vmax', 100,
                                'labels', (SELECT jsonb_agg('Station & ' || chr(64 + n)) FROM generate_series(1, ST_NumGeometries(pts.g)) n))) AS svg
      FROM pts, tmpl) s;
-- The area outlined: a polygon with a hole, drawn in the raster's cells (4 x 3 cells at scale 10:
-- the outer ring spans 40 x 30 px); curves, other SRIDs and NaN are refused.
WITH svg AS (
  SELECT mlops.heatmap_svg(r, NULL, '{"scale": 10}',
         'SRID=3857;POLYGON((0 0, 40 0, 40 30, 0 30, 0 0), (10 10, 20 10, 20 20, 10 10))') AS s FROM tmpl),
d AS (SELECT (regexp_match(s, '<path d="([^"]*)" fill="none"'))[1] AS d FROM svg),
xy AS (SELECT m[1]::float8 AS x, m[2]::float8 AS y FROM d, regexp_matches(d.d, '([0-9.]+) ([0-9.]+)', 'g') m)
SELECT (SELECT count(*) FROM regexp_matches((SELECT d FROM d), 'M', 'g')) AS rings,
       (SELECT count(*) FROM xy) AS vertices,
       (SELECT max(x) - min(x) FROM xy) AS width_px, (SELECT max(y) - min(y) FROM xy) AS height_px,
       (SELECT s LIKE '%area outline%' FROM svg) AS in_legend,
       (SELECT mlops.heatmap_svg(r, NULL, '{}', NULL) NOT LIKE '%area outline%' FROM tmpl) AS absent_without_area;
SELECT mlops.heatmap_svg(r, NULL, '{}', 'SRID=4326;POLYGON((0 0, 1 0, 1 1, 0 0))') FROM tmpl;
SELECT mlops.heatmap_svg(r, NULL, '{}', 'SRID=3857;CURVEPOLYGON(CIRCULARSTRING(0 0, 4 0, 4 4, 0 4, 0 0))') FROM tmpl;
SELECT mlops.heatmap_svg(r, NULL, '{}', 'SRID=3857;LINESTRING(0 0, 1e300 1e300)') FROM tmpl;
SELECT mlops.heatmap_png(r, '{"colormap": "jet"}') FROM tmpl;
SELECT mlops.heatmap_png(r, '{"scale": 0}') FROM tmpl;
SELECT mlops.heatmap_png(r, '{"vmin": 5, "vmax": 1}') FROM tmpl;
SELECT mlops.heatmap_png(r, '{"size": 3}') FROM tmpl;
SELECT mlops.heatmap_svg(r, 'SRID=4326;POINT(1 1)'::geometry) FROM tmpl;
SELECT mlops.heatmap_svg(r, 'SRID=3857;MULTIPOINT((1 1), (2 2))'::geometry, '{"labels": ["only one"]}') FROM tmpl;
SELECT mlops.heatmap_png(ST_MakeEmptyRaster(4, 3, 0, 30, 10, -10, 0, 0, 3857));
