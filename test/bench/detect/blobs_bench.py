#!/usr/bin/python3
"""blobs_bench.py - blob_detect (src/detect/blobs.c, one thread) against
scikit-image 0.19.3 on a 2048 x 2048 image with ~200 Gaussian blobs
(sigma 3..12) and noise (times 5 for dog, whose default threshold finds none
of them otherwise), each method with skimage's defaults; one run each,
side by side: wall and CPU seconds of each (the CPU ratio is the one to
trust on a busy machine), and the number of blobs each found.
Usage: /usr/bin/python3 test/bench/detect/blobs_bench.py [size] [methods...]"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from skimage import feature

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def main():
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
    methods = sys.argv[2:] or ["doh", "log", "dog"]
    tmp = tempfile.mkdtemp(prefix="blobs_bench")
    exe = os.path.join(tmp, "blobs_bench")
    subprocess.run(["cc", "-O2", "-I" + os.path.join(ROOT, "src"), "-o", exe,
                    os.path.join(ROOT, "test/bench/detect/blobs_bench.c"),
                    os.path.join(ROOT, "src/detect/blobs.c"),
                    os.path.join(ROOT, "src/detect/blobs_plan.c"),
                    os.path.join(ROOT, "src/detect/blobs_prune.c"),
                    os.path.join(ROOT, "src/util/errbuf.c"), "-lm"], check=True)
    rng = np.random.default_rng(2048)
    img = np.zeros((size, size))
    for _ in range(200 * size * size // (2048 * 2048)):
        s = rng.uniform(3, 12)
        cy, cx = rng.uniform(0, size, 2)
        r0, r1 = int(max(0, cy - 5 * s)), int(min(size, cy + 5 * s + 1))
        c0, c1 = int(max(0, cx - 5 * s)), int(min(size, cx + 5 * s + 1))
        yy, xx = np.mgrid[r0:r1, c0:c1]
        img[r0:r1, c0:c1] += rng.uniform(0.3, 1.0) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    img += rng.normal(0, 0.02, img.shape)
    path = os.path.join(tmp, "img.f64")
    img.astype(np.float64).tofile(path)
    # blob_dog's default threshold (0.5) finds none of these blobs: its image is scaled by 5 so
    # that it finds some and the comparison of the two results means something
    path_dog = os.path.join(tmp, "img5.f64")
    img_dog = img * 5
    img_dog.astype(np.float64).tofile(path_dog)

    print("# %dx%d image, ~%d blobs; skimage %s; one run each, one thread" % (
        size, size, 200 * size * size // (2048 * 2048), __import__("skimage").__version__))
    print("%-6s %18s %18s %14s  %s" % ("method", "skimage wall/cpu s", "kernel wall/cpu s",
                                       "ratio wall/cpu", "blobs (skimage / kernel)"))
    for m in methods:
        fn = {"doh": feature.blob_doh, "log": feature.blob_log, "dog": feature.blob_dog}[m]
        t0, c0 = time.perf_counter(), time.process_time()
        want = fn(img_dog if m == "dog" else img)
        ts, cs = time.perf_counter() - t0, time.process_time() - c0
        out = subprocess.run([exe, str(size), str(size), path_dog if m == "dog" else path, m],
                             capture_output=True, text=True,
                             check=True).stdout.split()
        tk, ck, nk = float(out[0]), float(out[1]), int(out[2])
        print("%-6s %8.3f / %7.3f %8.3f / %7.3f %6.1fx / %5.1fx  %d / %d" % (
            m, ts, cs, tk, ck, ts / tk, cs / ck, len(want), nk), flush=True)


if __name__ == "__main__":
    main()
