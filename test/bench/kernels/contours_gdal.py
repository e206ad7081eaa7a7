#!/usr/bin/python3
"""test/bench/kernels/contours_gdal.py — GDAL's Polygonize (what the issue compares cells mode
with) on the mask of contours_bench.c, then contours_bench itself, on this machine.

Usage: /usr/bin/python3 test/bench/kernels/contours_gdal.py   (Debian's python3-gdal)
"""
import os
import subprocess
import tempfile
import time

import numpy as np
from osgeo import gdal, ogr

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SIDE = 4096

d = tempfile.mkdtemp(prefix="contours_gdal.")
exe = os.path.join(d, "bench")
img_path = os.path.join(d, "img.bin")
subprocess.run(["cc", "-std=c11", "-O2", "-I" + os.path.join(ROOT, "src"), "-o", exe,
                os.path.join(ROOT, "test/bench/kernels/contours_bench.c"),
                os.path.join(ROOT, "src/detect/contours.c"),
                os.path.join(ROOT, "src/util/errbuf.c"), "-lm"], check=True)
ours = subprocess.run([exe, "15", img_path], capture_output=True, text=True, check=True).stdout
img = np.fromfile(img_path, dtype=np.float64).reshape(SIDE, SIDE)
mask = (img >= 0.5).astype(np.uint8)

for conn in (4, 8):
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        src = gdal.GetDriverByName("MEM").Create("", SIDE, SIDE, 1, gdal.GDT_Byte)
        band = src.GetRasterBand(1)
        band.WriteArray(mask)
        ds = ogr.GetDriverByName("Memory").CreateDataSource("out")
        layer = ds.CreateLayer("polys")
        layer.CreateField(ogr.FieldDefn("v", ogr.OFTInteger))
        opts = ["8CONNECTED=8"] if conn == 8 else []
        gdal.Polygonize(band, band, layer, 0, opts)
        t = time.perf_counter() - t0
        n = layer.GetFeatureCount()
        best = t if best is None or t < best else best
    print("GDAL Polygonize, connectivity %d: %d polygons, best %.1f ms" % (conn, n, best * 1e3))
print(ours.strip())
