"""select_bench.py PICKS -- numpy's greedy k-centre and entropy top-100 on select_bench.c's data.

RandomState(0).random_sample draws the same doubles as rng.h's mt_random_sample, so the pool, the
labelled set and the probability rows are those of select_bench.c.  Times numpy (float64 distances by
the ||x||^2 + ||y||^2 - 2 x.y expansion for the labelled set, direct differences for the picks) and
compares its 100 core-set picks and 100 entropy ids, in order, with the file select_bench.c wrote.
"""
import sys
import time

import numpy as np

rs = np.random.RandomState(0)
n, m, d, b = 100000, 1000, 128, 100
X = rs.random_sample(n * d).astype(np.float32).reshape(n, d)
L = rs.random_sample(m * d).astype(np.float32).reshape(m, d)
P = None

t = time.time()
X64 = X.astype(np.float64)
xx = (X64 ** 2).sum(1)
mind = np.full(n, np.inf)
for s in range(0, m, 100):
    Lc = L[s:s + 100].astype(np.float64)
    D = xx[:, None] + (Lc ** 2).sum(1)[None, :] - 2 * X64 @ Lc.T
    mind = np.minimum(mind, D.min(1))
picks = []
for _ in range(b):
    p = int(np.argmax(mind))
    picks.append(p)
    mind = np.minimum(mind, ((X - X[p]) ** 2).sum(1, dtype=np.float64))
    mind[p] = -1
print("numpy core-set: %.0f ms" % ((time.time() - t) * 1e3))

P = rs.random_sample(1000000 * 50).reshape(1000000, 50)
P /= P.sum(1, keepdims=True)
t = time.time()
H = -(P * np.log(P)).sum(1)
top = np.argpartition(-H, 100)[:100]
top = top[np.lexsort((top, -H[top]))]
print("numpy entropy top-100: %.0f ms" % ((time.time() - t) * 1e3))

if len(sys.argv) > 1:
    ours = np.loadtxt(sys.argv[1], dtype=np.int64)
    print("core-set picks identical:", bool((ours[:100] == picks).all()))
    print("entropy top-100 identical:", bool((ours[100:200] == top).all()))
