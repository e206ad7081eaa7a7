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
t_ours2 = median(lambda: timed_psql(f"SELECT count(*) FROM mlops.split_table('images', '{opts2}')"))
ylab = np.array([f"c{v:02d}" for v in y])


def tts():
    return train_test_split(np.arange(n), test_size=0.2, stratify=ylab, random_state=42)[1]


t_tts = median(lambda: (lambda t0: (tts(), time.perf_counter() - t0)[1])(time.perf_counter()))
m_tts = np.zeros(n, dtype=bool); m_tts[tts()] = True
m_ours2 = sql_test_mask(opts2)
identical = bool((m_tts == m_ours2).all())
rows.append(("mlops.split_table method sklearn 0.2", t_ours2, share_error(m_ours2), both_sides(m_ours2)))
rows.append(("sklearn train_test_split(stratify=y)", t_tts, share_error(m_tts), both_sides(m_tts)))

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
print(f"method sklearn: {t_tts / t_ours2:.2f}x train_test_split's speed, identical index sets: {identical}")
print(f"method sklearn with folds and groups: {t_sgkf / t_ours4:.0f}x StratifiedGroupKFold's speed, identical fold 0: {identical4}")
print("(the SQL times include reading the table through SPI and returning 1,000,000 rows; "
      "scikit-learn's have the arrays in memory already)")
