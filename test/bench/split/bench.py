"""The splitting benchmark (see run.sh): mlops.split_table against scikit-learn, side by side."""
import os
import subprocess
import tempfile
import time

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold, train_test_split

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
N, CLASSES, GROUPS = 1_000_000, 50, 100_000


def psql(sql):
    return subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          check=True, capture_output=True, text=True).stdout


def timed_psql(sql):
    """Server-side time of one statement (EXPLAIN ANALYZE would add per-row overhead)."""
    out = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1"], input="\\timing on\n" + sql + "\n",
                         check=True, capture_output=True, text=True).stdout
    ms = [float(l.split()[1]) for l in out.splitlines() if l.startswith("Time: ")]
    return ms[-1] / 1000.0


def median(f, runs=RUNS):
    ts = []
    for _ in range(runs):
        ts.append(f())
    return sorted(ts)[len(ts) // 2]


rng = np.random.RandomState(7)
# groups of 1..19 images (mean 10), each of one class; classes Zipf-like over groups
sizes = rng.randint(1, 20, size=GROUPS)
sizes = (sizes * (N / sizes.sum())).astype(int)
sizes[-1] += N - sizes.sum()
sizes = np.maximum(sizes, 1)
while sizes.sum() > N:
    sizes[np.argmax(sizes)] -= 1
w = 1.0 / np.arange(1, CLASSES + 1) ** 1.1
group_class = rng.choice(CLASSES, size=GROUPS, p=w / w.sum())
groups = np.repeat(np.arange(GROUPS), sizes)[:N]
y = group_class[groups]
n = len(y)
with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    for i in range(n):
        f.write(f"{i},c{y[i]:02d},g{groups[i]}\n")
    path = f.name
os.chmod(path, 0o644)
psql("CREATE TABLE images (id int, species text, specimen text)")
subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", f"\\copy images FROM '{path}' CSV"], check=True)
os.unlink(path)
psql("VACUUM ANALYZE images")
print(f"data: {n:,} images, {CLASSES} classes (Zipf-like), {GROUPS:,} specimen groups")


def share_error(test_mask):
    overall = np.bincount(y, minlength=CLASSES) / n
    t = np.bincount(y[test_mask], minlength=CLASSES) / max(test_mask.sum(), 1)
    return float(np.abs(t - overall).max())


def both_sides(test_mask):
    g_test = set(groups[test_mask].tolist())
    g_train = set(groups[~test_mask].tolist())
    return len(g_test & g_train)


def sql_test_mask(opts):
    out = psql(f"SELECT id FROM mlops.split_table('images', '{opts}') WHERE split = 'test'")
    m = np.zeros(n, dtype=bool)
    m[np.array([int(x) for x in out.split()], dtype=np.int64)] = True
    return m


rows = []
# a) stratified_group
opts = '{"id": "id", "label": "species", "group": "specimen", "test_size": 0.2, "seed": 1}'
t_ours = median(lambda: timed_psql(f"SELECT count(*) FROM mlops.split_table('images', '{opts}')"))
m_ours = sql_test_mask(opts)
# the groups as the table holds them ("g<n>" strings: np.unique orders them as text, and the
# order of the groups decides StratifiedGroupKFold's folds); the classes' "c%02d" sort as y does
gstr = np.array([f"g{v}" for v in groups])
t0 = time.perf_counter()
sgkf = StratifiedGroupKFold(5, shuffle=False)
_, test = next(sgkf.split(np.zeros(n), y, gstr))
t_sgkf = time.perf_counter() - t0
m_sgkf = np.zeros(n, dtype=bool); m_sgkf[test] = True


def gss():
    return next(GroupShuffleSplit(1, test_size=0.2, random_state=1).split(np.zeros(n), y, groups))[1]


t_gss = median(lambda: (lambda t0: (gss(), time.perf_counter() - t0)[1])(time.perf_counter()))
m_gss = np.zeros(n, dtype=bool); m_gss[gss()] = True
rows.append(("mlops.split_table stratified_group 0.2", t_ours, share_error(m_ours), both_sides(m_ours)))
rows.append(("sklearn StratifiedGroupKFold(5), 1 fold", t_sgkf, share_error(m_sgkf), both_sides(m_sgkf)))
rows.append(("sklearn GroupShuffleSplit(0.2)", t_gss, share_error(m_gss), both_sides(m_gss)))

# a') method sklearn with folds and groups: StratifiedGroupKFold(5) itself, fold 0 against fold 0
opts4 = '{"id": "id", "label": "species", "group": "specimen", "method": "sklearn", "folds": 5, "shuffle": false}'
t_ours4 = median(lambda: timed_psql(f"SELECT count(*) FROM mlops.split_table('images', '{opts4}')"))
out4 = psql(f"SELECT id FROM mlops.split_table('images', '{opts4}') WHERE fold = 0")
m_ours4 = np.zeros(n, dtype=bool)
m_ours4[np.array([int(x) for x in out4.split()], dtype=np.int64)] = True
identical4 = bool((m_ours4 == m_sgkf).all())
rows.append(("mlops.split_table sklearn SGKF(5), fold 0", t_ours4, share_error(m_ours4), both_sides(m_ours4)))

# b) sklearn mode: identical to train_test_split(stratify=y)
opts2 = '{"id": "id", "label": "species", "method": "sklearn", "test_size": 0.2, "seed": 42}'
ids_sql = f"SELECT split, cardinality(ids) FROM mlops.split_table_ids('images', '{opts2}')"
ylab = np.array([f"c{v:02d}" for v in y])


def tts():
    return train_test_split(np.arange(n), test_size=0.2, stratify=ylab, random_state=42)[1]


# The three are timed in turn within each round (split_table, split_table_ids, train_test_split),
# so that a change of the machine's load between rounds falls on all three alike; the ratios
# printed are per round, then their median and range.
E2E_RUNS = max(RUNS, 5)
e2e = []
for _ in range(E2E_RUNS):
    a = timed_psql(f"SELECT count(*) FROM mlops.split_table('images', '{opts2}')")
    b = timed_psql(ids_sql)
    t0 = time.perf_counter()
    tts()
    e2e.append((a, b, time.perf_counter() - t0))
t_ours2 = sorted(r[0] for r in e2e)[E2E_RUNS // 2]
t_ids2 = sorted(r[1] for r in e2e)[E2E_RUNS // 2]
t_tts = sorted(r[2] for r in e2e)[E2E_RUNS // 2]
ratio_rows = sorted(r[2] / r[0] for r in e2e)
ratio_ids = sorted(r[2] / r[1] for r in e2e)
m_tts = np.zeros(n, dtype=bool); m_tts[tts()] = True
m_ours2 = sql_test_mask(opts2)
identical = bool((m_tts == m_ours2).all())
rows.append(("mlops.split_table method sklearn 0.2", t_ours2, share_error(m_ours2), both_sides(m_ours2)))
rows.append(("sklearn train_test_split(stratify=y)", t_tts, share_error(m_tts), both_sides(m_tts)))

# b2) the same split as two arrays of ids (split_table_ids), end to end in SQL
m_ids2 = np.zeros(n, dtype=bool)
m_ids2[np.array(psql(f"SELECT unnest(ids) FROM mlops.split_table_ids('images', '{opts2}') WHERE split = 'test'").split(),
                dtype=np.int64)] = True
identical_ids = bool((m_tts == m_ids2).all()) and \
    int(psql(f"SELECT sum(cardinality(ids)) FROM mlops.split_table_ids('images', '{opts2}')")) == n

# b3) kernel to kernel, no I/O on either side, both from the same int64 label values in memory
# to two index arrays: our C kernels (labels interned and renumbered as the glue does, then
# split_assign SPLIT_SKLEARN, then the train/test index arrays from its sides) against
# train_test_split(np.arange(n), stratify=y) on numpy arrays (which also shuffles each returned
# array: an order our side does not make; the sets are compared)
KRUNS = max(RUNS, 7)
y_codes = y.astype(np.int64)
with tempfile.TemporaryDirectory() as kd:
    lab_path, side_path = os.path.join(kd, "labels.i64"), os.path.join(kd, "sides.i32")
    y_codes.tofile(lab_path)
    kout = subprocess.run([os.environ["SPLIT_BENCH_BIN"], lab_path, "0.2", "42", str(KRUNS), side_path],
                          check=True, capture_output=True, text=True).stdout
    k_ms = sorted(float(v) for v in kout.split("ms:")[1].split())
    sides = np.fromfile(side_path, dtype=np.int32)
t_kernel = k_ms[len(k_ms) // 2] / 1000.0


def tts_codes():
    return train_test_split(np.arange(n), test_size=0.2, stratify=y_codes, random_state=42)


py_s = []
for _ in range(KRUNS):
    t0 = time.perf_counter()
    tr_k, te_k = tts_codes()
    py_s.append(time.perf_counter() - t0)
py_s.sort()
t_tts_codes = py_s[len(py_s) // 2]
identical_kernel = len(sides) == n and len(tr_k) + len(te_k) == n and \
    np.array_equal(np.flatnonzero(sides == 1), np.sort(te_k)) and \
    np.array_equal(np.flatnonzero(sides == 0), np.sort(tr_k))

# b4) end to end from a client: psycopg2 fetches the id and label columns, then train_test_split
try:
    import psycopg2
except ImportError:
    psycopg2 = None
t_client = None
if psycopg2 is not None:
    conn = psycopg2.connect("")

    def fetch_tts():
        with conn.cursor() as cur:
            cur.execute("SELECT id, species FROM images")
            fetched = cur.fetchall()
        ids_ = np.fromiter((r[0] for r in fetched), dtype=np.int64, count=len(fetched))
        lab_ = np.array([r[1] for r in fetched])
        return ids_[train_test_split(np.arange(len(ids_)), test_size=0.2, stratify=lab_, random_state=42)[1]]

    t_client = median(lambda: (lambda t0: (fetch_tts(), time.perf_counter() - t0)[1])(time.perf_counter()))
    m_client = np.zeros(n, dtype=bool); m_client[fetch_tts()] = True
    identical_client = bool((m_client == m_ours2).all())
    conn.close()

# c) iterative multilabel, 100,000 x 100 labels (1-5 labels an item)
psql("""CREATE TABLE tagged AS SELECT i AS id,
          (SELECT array_agg(DISTINCT (floor(100 * power(random(), 2)))::int) FROM generate_series(1, 1 + (i % 5)) k WHERE k > 0 AND i > 0) AS tags
        FROM generate_series(1, 100000) i""")
opts3 = '{"id": "id", "label": "tags", "test_size": 0.2, "seed": 3}'
t_iter = median(lambda: timed_psql(f"SELECT count(*) FROM mlops.split_table('tagged', '{opts3}')"))

print()
print(f"{'':44s} {'time':>9s} {'share err':>10s} {'groups on both sides':>21s}")
for name, t, e, b in rows:
    print(f"{name:44s} {t:8.3f}s {e:10.5f} {b:21,d}")
print(f"{'mlops.split_table iterative 100k x 100':44s} {t_iter:8.3f}s")
print()
print(f"stratified_group: {t_sgkf / t_ours:.0f}x faster than StratifiedGroupKFold, {t_gss / t_ours:.2f}x GroupShuffleSplit's time "
      f"with {share_error(m_gss) / max(share_error(m_ours), 1e-12):.0f}x less class-share error")
print(f"method sklearn: {ratio_rows[E2E_RUNS // 2]:.2f}x train_test_split's speed (split_table, median by round), "
      f"identical index sets: {identical}")
print()
print("method sklearn against train_test_split(test_size=0.2, stratify=y, random_state=42), 1,000,000 rows, 50 classes:")
print(f"  kernel to kernel (no I/O): C labels + split_assign + index arrays {t_kernel * 1000:.1f} ms "
      f"(median of {KRUNS}, {k_ms[0]:.1f}-{k_ms[-1]:.1f}) vs train_test_split on the same int64 labels "
      f"{t_tts_codes * 1000:.1f} ms ({py_s[0] * 1000:.1f}-{py_s[-1] * 1000:.1f}): {t_tts_codes / t_kernel:.2f}x, "
      f"identical index sets: {identical_kernel}")
print(f"  end to end in SQL, rows:   split_table (read 1M rows, split, return 1M rows) {t_ours2 * 1000:.1f} ms "
      f"vs train_test_split on in-memory string labels {t_tts * 1000:.1f} ms (medians of {E2E_RUNS} rounds): "
      f"{ratio_rows[E2E_RUNS // 2]:.2f}x ({ratio_rows[0]:.2f}-{ratio_rows[-1]:.2f} by round), identical: {identical}")
print(f"  end to end in SQL, arrays: split_table_ids (read 1M rows, split, 2 id arrays) {t_ids2 * 1000:.1f} ms "
      f"vs the same {t_tts * 1000:.1f} ms: {ratio_ids[E2E_RUNS // 2]:.2f}x ({ratio_ids[0]:.2f}-{ratio_ids[-1]:.2f} by round), "
      f"identical: {identical_ids}")
if t_client is not None:
    print(f"  end to end from a client:  psycopg2 fetch of id + label, then train_test_split {t_client * 1000:.1f} ms "
          f"vs split_table_ids {t_ids2 * 1000:.1f} ms: {t_client / t_ids2:.2f}x, identical: {identical_client}")
print(f"method sklearn with folds and groups: {t_sgkf / t_ours4:.0f}x StratifiedGroupKFold's speed, identical fold 0: {identical4}")
print("(SQL times are the server's (psql \\timing): reading the table through SPI, splitting, and returning "
      "1,000,000 rows or 2 arrays; the in-memory scikit-learn times start from arrays already in memory)")
