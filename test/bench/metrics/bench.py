#!/usr/bin/python3
"""test/bench/metrics/bench.py — the metrics benchmark's driver (run by run.sh on a throwaway
cluster: PGHOST, PGPORT, PGUSER and PGDATABASE are set and pg_mlops is created).

a) One row holding two arrays of 1,000,000 labels (0..9, ~90% agreement), json and jsonb:
   mlops.accuracy vs the fastest plain SQL we could write (each candidate is timed and the
   ratio is taken against the fastest: a WITH ORDINALITY join of *_array_elements_text, the
   arrays zipped with ROWS FROM (*_array_elements_text(a), *_array_elements_text(b)), and for
   jsonb the zip of jsonb_array_elements, comparing jsonb values) vs json_array_length of both
   columns (the cost of reading the arrays at all) vs Python (json.loads of both columns' text
   + sklearn.metrics.accuracy_score).
b) 10,000,000 rows of (y_true int, y_pred int): mlops.f1(mlops.confusion_agg(...), 'macro')
   vs count(*) FILTER (WHERE y_true = y_pred), with max_parallel_workers_per_gather = 2, and
   whether the confusion_agg plan is Finalize Aggregate / Gather / Partial Aggregate.

SQL times are wall times measured inside the server (clock_timestamp() around EXECUTE in
bench.time_runs, no client transfer); every number is the median of RUNS runs (BENCH_RUNS,
default 7).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
FORMS = ("json", "jsonb", "jsonb_lz4")
PY = "/usr/bin/python3"

# Plain-SQL candidates for accuracy of one row of two arrays, per type; the fastest is the peer.
PLAIN = {
    "json": [
        ("ordinality join", "SELECT (SELECT count(*) FILTER (WHERE a.v = b.v)::float8 / count(*) "
                            "FROM {f}_array_elements_text(t.y_true) WITH ORDINALITY a(v, i) "
                            "JOIN {f}_array_elements_text(t.y_pred) WITH ORDINALITY b(v, i) USING (i)) FROM {t} t"),
        ("ROWS FROM zip", "SELECT (SELECT count(*) FILTER (WHERE z.a = z.b)::float8 / count(*) "
                          "FROM ROWS FROM ({f}_array_elements_text(t.y_true), {f}_array_elements_text(t.y_pred)) z(a, b)) "
                          "FROM {t} t"),
        ("ROWS FROM zip, avg", "SELECT (SELECT avg((z.a = z.b)::int)::float8 "
                               "FROM ROWS FROM ({f}_array_elements_text(t.y_true), {f}_array_elements_text(t.y_pred)) z(a, b)) "
                               "FROM {t} t"),
    ],
}
PLAIN["jsonb"] = PLAIN["json"] + [
    ("ROWS FROM zip of jsonb values", "SELECT (SELECT count(*) FILTER (WHERE z.a = z.b)::float8 / count(*) "
                                      "FROM ROWS FROM (jsonb_array_elements(t.y_true), jsonb_array_elements(t.y_pred)) z(a, b)) "
                                      "FROM {t} t"),
]


def psql(sql, *extra):
    p = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", *extra, "-c", sql],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("psql failed: %s\n%s" % (sql, p.stderr.strip()))
    return p.stdout.strip()


def time_query(q, settings="", runs=RUNS):
    """Median and all run times (ms) of a one-row query, and its value (from its first run)."""
    value = psql(settings + q)
    out = psql(settings + "SELECT bench.time_runs($q$%s$q$, %d)" % (q, runs))
    ms = [float(x) for x in out.strip("{}").split(",")]
    return statistics.median(ms), ms, value


def ratio(a, b):
    return "%.1fx" % (a / b) if b > 0 else "n/a"


def main():
    t_start = time.time()
    print("setting up: 2 x 1,000,000-label arrays (json, jsonb), 10,000,000-row table ...", flush=True)
    p = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-f", os.path.join(HERE, "setup.sql")],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stderr, file=sys.stderr)
        return 1
    print("  set up in %.1f s; medians of %d runs, SQL timed inside the server\n" % (time.time() - t_start, RUNS))

    # ---- a) accuracy over one row of two 1,000,000-label arrays -------------------------------
    res = {}
    for form in FORMS:
        tbl = "bench.labels_%s" % form
        f = form.split("_")[0]
        qs = {
            "mlops": "SELECT mlops.accuracy(y_true, y_pred) FROM %s" % tbl,
            "length": "SELECT {f}_array_length(y_true) + {f}_array_length(y_pred) FROM {t}".format(f=f, t=tbl),
        }
        for name, q in PLAIN[f]:
            qs["plain " + name] = q.format(f=f, t=tbl)
        for k, q in qs.items():
            res[(form, k)] = time_query(q)
        # the plain-SQL peer is the fastest candidate
        best = min((k for k in qs if k.startswith("plain ")), key=lambda k: res[(form, k)][0])
        res[(form, "plain")] = res[(form, best)]
        res[(form, "plain_name")] = best[len("plain "):]

    with tempfile.TemporaryDirectory() as d:
        ft, fp = os.path.join(d, "y_true.json"), os.path.join(d, "y_pred.json")
        psql("SELECT y_true FROM bench.labels_json", "-o", ft)
        psql("SELECT y_pred FROM bench.labels_json", "-o", fp)
        p = subprocess.run([PY, os.path.join(HERE, "sklearn_accuracy.py"), ft, fp, str(RUNS)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stderr, file=sys.stderr)
            return 1
        sk = json.loads(p.stdout)
    sk_ms = statistics.median(sk["ms"])

    print("a) accuracy of one row holding two arrays of 1,000,000 labels (0..9, ~90% agree), ms")
    print("   %-52s %10s %10s %10s" % ("", "json", "jsonb", "jsonb lz4"))
    rows = [("mlops.accuracy(y_true, y_pred)", "mlops")]
    rows += [("plain SQL: " + name, "plain " + name) for name, _ in PLAIN["jsonb"]]
    rows += [("*_array_length(y_true) + *_array_length(y_pred)", "length")]
    for label, k in rows:
        print("   %-52s %s" % (label, " ".join(
            "%10.1f" % res[(f, k)][0] if (f, k) in res else "%10s" % "-" for f in FORMS)))
    print("   the fastest plain SQL: %s" % "; ".join("%s: %s" % (f, res[(f, "plain_name")]) for f in FORMS))
    print("   %-52s %10.1f %10s" % ("Python: json.loads x2 + sklearn accuracy_score", sk_ms, "(same)"))
    print("   values: mlops %s / %s, plain SQL %s / %s, sklearn %.10g" % (
        res[("json", "mlops")][2], res[("jsonb", "mlops")][2], res[("json", "plain")][2],
        res[("jsonb", "plain")][2], sk["accuracy"]))
    print("   ratios                                                     json      jsonb  jsonb lz4")
    for label, num, target in (("fastest plain SQL / mlops (target >= 20x)", "plain", 20),
                               ("sklearn / mlops     (target >= 10x)", None, 10),
                               ("*_array_length / mlops", "length", None)):
        cells = []
        for form in FORMS:
            m = res[(form, "mlops")][0]
            v = sk_ms if num is None else res[(form, num)][0]
            cell = ratio(v, m)
            if target is not None:
                cell += "" if m > 0 and v / m >= target else " MISSED"
            cells.append(cell)
        print("   %-52s %10s %10s %10s" % (label, *cells))

    # ---- b) 10,000,000 rows, parallel aggregate ----------------------------------------------
    settings = "SET max_parallel_workers_per_gather = 2; "
    q_f1 = "SELECT mlops.f1(mlops.confusion_agg(y_true, y_pred), average => 'macro') FROM bench.labels_10m"
    q_cnt = "SELECT count(*) FILTER (WHERE y_true = y_pred) FROM bench.labels_10m"
    q_acc = "SELECT mlops.accuracy_agg(y_true, y_pred) FROM bench.labels_10m"
    f1 = time_query(q_f1, settings)
    cnt = time_query(q_cnt, settings)
    acc = time_query(q_acc, settings)
    plan = psql(settings + "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + q_f1)
    shape = all(s in plan for s in ("Finalize Aggregate", "Gather", "Partial Aggregate"))
    launched = [l.strip() for l in plan.splitlines() if "Workers Launched" in l]
    cnt_plan = psql(settings + "EXPLAIN (COSTS OFF) " + q_cnt)

    print()
    print("b) 10,000,000 rows (y_true int, y_pred int, 0..9), max_parallel_workers_per_gather = 2, ms")
    print("   %-52s %10.1f   (f1 = %s)" % ("mlops.f1(mlops.confusion_agg(...), 'macro')", f1[0], f1[2]))
    print("   %-52s %10.1f   (count = %s)" % ("count(*) FILTER (WHERE y_true = y_pred)", cnt[0], cnt[2]))
    print("   %-52s %10.1f   (accuracy = %s)" % ("mlops.accuracy_agg(y_true, y_pred)", acc[0], acc[2]))
    print("   ratio confusion_agg f1 / count(*) FILTER: %s" % ratio(f1[0], cnt[0]))
    print("   confusion_agg plan Finalize Aggregate / Gather / Partial Aggregate: %s%s" % (
        "yes" if shape else "NO", (" (" + launched[0] + ")") if launched else ""))
    print("   count(*) FILTER plan parallel: %s" % ("yes" if "Partial Aggregate" in cnt_plan else "no"))
    if not shape:
        for line in plan.splitlines():
            print("     " + line)
    print("\n   all runs (ms): " + "; ".join(
        "%s %s" % (name, ",".join("%.0f" % x for x in r[1])) for name, r in
        (("a.json.mlops", res[("json", "mlops")]), ("a.json.fastest_plain", res[("json", "plain")]),
         ("a.jsonb.mlops", res[("jsonb", "mlops")]), ("a.jsonb.fastest_plain", res[("jsonb", "plain")]),
         ("a.jsonb_lz4.mlops", res[("jsonb_lz4", "mlops")]),
         ("a.sklearn", (sk_ms, sk["ms"])), ("b.f1", f1), ("b.count", cnt))))
    print("   benchmark took %.0f s" % (time.time() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
