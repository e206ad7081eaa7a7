#!/usr/bin/env python3
"""A reference external trainer for pg_mlops (the active-learning backend's Celery task, as an
ordinary client): it claims `train` jobs, trains a small scikit-learn model one epoch at a time,
reports progress and one row of metrics per epoch, stops within one heartbeat when the job is
cancelled, and completes with the model's path.

    python3 examples/trainer.py [--dsn "host=... dbname=..."] [--once] [--lease 30]

A job's params: {"epochs": 10, "dataset": "digits", "model_path": "models/run1.pkl",
"epoch_seconds": 0}.  The role it connects as needs the README's "external worker" grants.
"""
import argparse
import json
import pickle
import sys
import time

import numpy as np
import psycopg2
from sklearn.datasets import load_digits, load_iris
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

DATASETS = {"digits": load_digits, "iris": load_iris}


def claim(cur, lease):
    cur.execute("SELECT id, params, lease_token FROM mlops.claim_job('{train}', %s::interval)", (f"{lease} seconds",))
    row = cur.fetchone()
    return None if row is None or row[0] is None else row


def train(conn, job_id, params, token, lease):
    cur = conn.cursor()
    epochs = int(params.get("epochs", 10))
    loader = DATASETS.get(params.get("dataset", "digits"))
    if loader is None or epochs < 1:
        cur.execute("SELECT mlops.fail_job(%s, %s, %s, false)",
                    (job_id, token, f"bad params: dataset must be one of {sorted(DATASETS)}, epochs >= 1"))
        return "failed"
    X, y = loader(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_va = scaler.transform(X_tr), scaler.transform(X_va)
    classes = np.unique(y)
    model = SGDClassifier(loss="log_loss", random_state=0)
    for epoch in range(epochs):
        model.partial_fit(X_tr, y_tr, classes=classes)
        metrics = {
            "loss": float(log_loss(y_tr, model.predict_proba(X_tr), labels=classes)),
            "accuracy": float(accuracy_score(y_tr, model.predict(X_tr))),
            "val_loss": float(log_loss(y_va, model.predict_proba(X_va), labels=classes)),
            "val_accuracy": float(accuracy_score(y_va, model.predict(X_va))),
        }
        cur.execute("SELECT mlops.report_metrics(%s, %s, %s, %s::jsonb)", (job_id, token, epoch, json.dumps(metrics)))
        cur.execute("SELECT mlops.report_progress(%s, %s, %s, %s)",
                    (job_id, token, (epoch + 1) / epochs, f"epoch {epoch + 1} of {epochs}"))
        cur.execute("SELECT mlops.heartbeat_job(%s, %s, %s::interval)", (job_id, token, f"{lease} seconds"))
        if not cur.fetchone()[0]:
            # cancelled: stop now, as Celery's revoke would
            cur.execute("SELECT mlops.fail_job(%s, %s, %s, false)", (job_id, token, f"cancelled after epoch {epoch + 1}"))
            return "cancelled"
        time.sleep(float(params.get("epoch_seconds", 0)))
    path = params.get("model_path", f"models/job{job_id}.pkl")
    size = len(pickle.dumps(model))
    cur.execute("SELECT mlops.complete_job(%s, %s, %s::jsonb)",
                (job_id, token, json.dumps({"model_path": path, "model_bytes": size, "epochs": epochs,
                                            "val_accuracy": metrics["val_accuracy"]})))
    return "succeeded"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default="")
    ap.add_argument("--once", action="store_true", help="exit when no job is waiting")
    ap.add_argument("--lease", type=int, default=30, help="lease in seconds, renewed every epoch")
    args = ap.parse_args()
    conn = psycopg2.connect(args.dsn)
    conn.autocommit = True   # every call its own transaction: nothing held across an epoch
    while True:
        job = claim(conn.cursor(), args.lease)
        if job is None:
            if args.once:
                return 0
            time.sleep(1)
            continue
        job_id, params, token = job
        try:
            outcome = train(conn, job_id, params if isinstance(params, dict) else json.loads(params), token, args.lease)
        except psycopg2.Error as e:
            # the lease was lost (expired, or the job was claimed again): stop working on it
            outcome = "lost: " + (e.pgerror or str(e)).strip()
        except Exception as e:  # a bug in training: the job fails with the reason, to be retried
            conn.cursor().execute("SELECT mlops.fail_job(%s, %s, %s, true)", (job_id, token, f"{type(e).__name__}: {e}"))
            outcome = "failed"
        print(f"job {job_id}: {outcome}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
