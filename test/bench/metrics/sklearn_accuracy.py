#!/usr/bin/python3
"""test/bench/metrics/sklearn_accuracy.py Y_TRUE_FILE Y_PRED_FILE RUNS

What a user does without pg_mlops: json.loads the two label arrays' text (fetched once from the
server into files by bench.py) and call sklearn.metrics.accuracy_score.  Prints one JSON line:
{"ms": [run times], "accuracy": value}; only the loads and the score are timed."""
import json
import sys
import time

from sklearn.metrics import accuracy_score


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        a = f.read()
    with open(sys.argv[2], encoding="utf-8") as f:
        b = f.read()
    runs = int(sys.argv[3])
    times, acc = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        acc = accuracy_score(json.loads(a), json.loads(b))
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"ms": times, "accuracy": float(acc)}))


if __name__ == "__main__":
    main()
