#!/usr/bin/python3
"""test/parity/select_parity.py — mlops.select_batch's entropy top-k against numpy.

Run by test/integration/select_parity.sh on a throwaway cluster (PGHOST, PGPORT, PGUSER and
PGDATABASE set, pg_mlops created).  Three pools of float4[] rows from a fixed seed
(MLOPS_PARITY_SEED overrides it):
  softmax  100,000 x 50, softmax of 2 N(0, 1) logits (the benchmark's kind of rows);
  hard      40,000 x 37: rows near uniform (entropies within 1e-6 of ln 37, so hundreds of
            rows sit at the heap's floor), exact duplicates (equal scores: the lower id first),
            one-hot rows, rows with zeros, tiny and subnormal values;
  short     20,000 x 3 (shorter than a vector).
For k = 1, 100 and 1,000, serial and with two parallel workers, the batch from the float4[]
column (read in place by the float4 screen) must equal, id for id and score for score to the
bit, the batch from the same values as float8[] (the double screen); and it must be numpy's:
entropy in float64 of the float32 values (-sum p ln p over p > 0), sorted by entropy then id.
numpy's log is not libm's, so scores agree within 1e-12 and ids must agree wherever numpy's
entropies are more than 1e-12 apart.  One TAP line per check.

Usage: /usr/bin/python3 test/parity/select_parity.py [--tap-offset N]
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

SEED = int(os.environ.get("MLOPS_PARITY_SEED", "20261207"))
TOL = 1e-12
n_tap = int(sys.argv[sys.argv.index("--tap-offset") + 1]) if "--tap-offset" in sys.argv else 0
failed = 0


def tap(cond, what, detail=None):
    global n_tap, failed
    n_tap += 1
    print(("ok" if cond else "not ok") + f" {n_tap} - {what}")
    if not cond:
        failed += 1
        if detail:
            print("#   " + str(detail)[:2000])
    sys.stdout.flush()


def psql(sql):
    return subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", "SET extra_float_digits = 3",
                           "-c", sql], check=True, capture_output=True, text=True).stdout


def load(name, P):
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        for i, row in enumerate(P):
            f.write(f"{i + 1}\t{{" + ",".join(repr(float(x)) for x in row) + "}\n")
        path = f.name
    os.chmod(path, 0o644)
    psql(f"CREATE TABLE {name} (id bigint, p float4[])")
    psql(f"\\copy {name} FROM '{path}'")
    os.unlink(path)
    psql(f"ALTER TABLE {name} ADD COLUMN p8 float8[]")
    psql(f"UPDATE {name} SET p8 = p::float8[]")
    psql(f"VACUUM ANALYZE {name}")


def stored_exactly(name, P):
    """the table holds numpy's float32 values to the bit (every 97th row compared)"""
    out = psql(f"SELECT p8 FROM {name} WHERE id % 97 = 1 ORDER BY id")
    got = [[float(x) for x in l.strip("{}").split(",")] for l in out.splitlines()]
    want = P[0::97].astype(np.float64).tolist()
    return got == want


def batch(table, col, k, parallel):
    settings = ("SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; "
                "SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;") if parallel else \
        "SET max_parallel_workers_per_gather = 0;"
    out = psql(settings + f" SELECT id, score FROM mlops.select_batch('{table}', "
               f"'{{\"id\": \"id\", \"probs\": \"{col}\", \"k\": {k}}}') ORDER BY rank")
    rows = [l.split("|") for l in out.splitlines() if l]
    return [int(a) for a, _ in rows], [b for _, b in rows]


def plan_workers(table):
    out = psql("SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
               "SET min_parallel_table_scan_size = 0; "
               f"EXPLAIN (ANALYZE, COSTS OFF) SELECT mlops.select_topk_agg(id, p, 0, 100, 0, 0, false) FROM {table}")
    return [l.strip() for l in out.splitlines() if "Workers Launched" in l]


rng = np.random.RandomState(SEED)
pools = {}
L = rng.standard_normal((100_000, 50)) * 2
E = np.exp(L - L.max(1, keepdims=True))
pools["softmax"] = (E / E.sum(1, keepdims=True)).astype(np.float32)

c = 37
H = np.empty((40_000, c))
kind = np.arange(40_000) % 5
for i in range(40_000):
    if kind[i] == 0:      # near uniform
        H[i] = 1.0 + rng.uniform(-1e-3, 1e-3, c)
    elif kind[i] == 1:    # one-hot
        H[i] = 0.0
        H[i, rng.randint(c)] = 1.0
    elif kind[i] == 2:    # zeros, tiny and subnormal among ordinary values
        H[i] = rng.uniform(0, 1, c)
        H[i, rng.rand(c) < 0.3] = 0.0
        H[i, rng.rand(c) < 0.2] = 1e-30
        H[i, rng.rand(c) < 0.2] = 1e-40
    else:                 # ordinary rows
        H[i] = rng.uniform(0, 1, c) ** 3
H /= H.sum(1, keepdims=True)
hard = H.astype(np.float32)
dup = np.arange(40_000)[kind == 0][:2000]
hard[dup[1::2]] = hard[dup[0::2]]   # exact duplicates of near-uniform rows
pools["hard"] = hard

S = rng.uniform(0, 1, (20_000, 3)) ** 2
pools["short"] = (S / S.sum(1, keepdims=True)).astype(np.float32)

for name, P in pools.items():
    load(name, P)
    tap(stored_exactly(name, P), f"{name}: the table holds numpy's float32 values to the bit")
    P64 = P.astype(np.float64)
    lg = np.zeros_like(P64)
    np.log(P64, out=lg, where=P64 > 0)
    Hn = -(P64 * lg).sum(1)
    order = np.lexsort((np.arange(len(Hn)), -Hn))
    for k in (1, 100, 1000):
        ids4, sc4 = batch(name, "p", k, False)
        ids4p, sc4p = batch(name, "p", k, True)
        ids8, sc8 = batch(name, "p8", k, False)
        tap(ids4 == ids8 and sc4 == sc8, f"{name}, k = {k}: the float4 batch is the float8 batch, ids and scores to the bit",
            (ids4[:10], ids8[:10]))
        tap(ids4p == ids4 and sc4p == sc4, f"{name}, k = {k}: and the same with two parallel workers")
        ref = order[:k] + 1
        scores = np.array([float(s) for s in sc4])
        near = np.abs(Hn[np.array(ids4) - 1] - scores).max() if ids4 else 1
        tap(len(ids4) == k and near <= TOL, f"{name}, k = {k}: {k} ids, each scored as numpy scores it (within 1e-12)",
            f"worst {near}")
        kth = Hn[order[k - 1]]
        must = set((np.nonzero(Hn > kth + TOL)[0] + 1).tolist())
        may = set((np.nonzero(Hn >= kth - TOL)[0] + 1).tolist())
        same = must <= set(ids4) <= may
        # order: scores descending, equal scores by id
        ordered = all((scores[i] > scores[i + 1]) or (scores[i] == scores[i + 1] and ids4[i] < ids4[i + 1])
                      for i in range(len(ids4) - 1))
        exact = ids4 == ref.tolist()
        tap(same and ordered, f"{name}, k = {k}: numpy's top {k} (ids apart by more than 1e-12 all agree; "
            f"best first, ties to the lower id; identical to numpy's list: {exact})",
            (sorted(must - set(ids4))[:5], sorted(set(ids4) - may)[:5]))
    w = plan_workers(name)
    tap(len(w) == 1 and w[0].endswith("2"), f"{name}: the parallel runs launched two workers", w)

print(f"1..{n_tap}")
sys.exit(1 if failed else 0)
