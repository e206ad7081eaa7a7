#!/usr/bin/python3
"""test/parity/metrics_parity.py — pg_mlops's metric functions against scikit-learn 1.2.

Run by test/integration/metrics_parity.sh on a throwaway cluster (PGHOST, PGPORT, PGUSER and
PGDATABASE set, pg_mlops created).  It generates a few hundred random cases from a fixed seed
(MLOPS_PARITY_SEED overrides it), computes each with scikit-learn (numpy, scipy for softmax)
and with SQL — the json and the jsonb form of every function, float8[] for the regression and
single-row uncertainty forms, and mlops.confusion_agg over tables of text, bigint, boolean and
jsonb columns — and prints TAP: one line per case.  Numbers must agree within 1e-12 (NaN equals
NaN; JSON null stands for NaN; a boolean label must come back a boolean); where scikit-learn
raises, the SQL call must raise an error of SQLSTATE class 22 (data exception).  Each
classification and regression case also runs on untyped literals (the text forms).

All cases go to the server in a few psql round trips: each case is one row of a VALUES list
handed to parity.eval(), a PL/pgSQL function that runs the expression in an exception block and
returns its text or its SQLSTATE.  A batch that loses its connection (a crash) is re-run case by
case so that the culprit is named.

Usage: /usr/bin/python3 test/parity/metrics_parity.py [--tap-offset N]
       (needs Debian's python3-sklearn: /usr/bin/python3, not a pyenv python)
"""
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from scipy import special
from sklearn import metrics as M
from sklearn.utils.multiclass import unique_labels

SEED = int(os.environ.get("MLOPS_PARITY_SEED", "20240611"))
TOL = 1e-12
BATCH = 150

rng = random.Random(SEED)
nrng = np.random.default_rng(SEED)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

def to_py(v):
    """numpy values to plain Python ones, recursively."""
    if isinstance(v, np.ndarray):
        return [to_py(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [to_py(x) for x in v]
    if isinstance(v, dict):
        return {k: to_py(x) for k, x in v.items()}
    return v


def jtext(obj):
    return json.dumps(to_py(obj), separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def show(obj):
    """For diagnostics: like jtext, with NaN shown as NaN."""
    return json.dumps(to_py(obj), separators=(",", ":"), ensure_ascii=False)


def jlit(obj, form):
    """A json or jsonb SQL literal for obj (form "untyped": a literal without a cast, as a user
    types it); floats are written in full (repr round-trips)."""
    lit = "'" + jtext(obj).replace("'", "''") + "'"
    return lit if form == "untyped" else lit + "::" + form


def farr(values):
    """A float8[] SQL literal."""
    return "'{" + ",".join(repr(float(v)) for v in values) + "}'::float8[]"


def sqlstr(s):
    return "'" + s.replace("'", "''") + "'"


def fnum(x):
    return repr(float(x)) + "::float8"


def is_num(x):
    return isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating))


def same(exp, got):
    """Structural comparison: numbers within TOL, NaN equal to NaN or null, strings exactly."""
    if isinstance(exp, dict):
        return isinstance(got, dict) and set(exp) == set(got) and all(same(exp[k], got[k]) for k in exp)
    if isinstance(exp, (list, tuple)):
        return isinstance(got, list) and len(exp) == len(got) and all(same(a, b) for a, b in zip(exp, got))
    if isinstance(exp, str):
        return isinstance(got, str) and got == exp
    if isinstance(exp, (bool, np.bool_)):
        # a boolean label stays a boolean: false is not 0
        return isinstance(got, bool) and got == bool(exp)
    if exp is None or (is_num(exp) and math.isnan(float(exp))):
        return got is None or (is_num(got) and math.isnan(float(got)))
    if is_num(exp):
        if not is_num(got):
            return False
        e, g = float(exp), float(got)
        if math.isnan(g):
            return False
        if math.isinf(e) or math.isinf(g):
            return e == g
        return abs(e - g) <= TOL
    return exp == got


def key_text(label):
    """classification_report's key for a label: scikit-learn's own ("%s" % label: 1 for
    integers, 1.0 for floats, True and False for booleans)."""
    return "%s" % label


def sk_call(f):
    """('ok', value) or ('error', 'ExcType: message'); warnings are silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            try:
                return "ok", f()
            except (ValueError, TypeError, ZeroDivisionError) as e:
                return "error", "%s: %s" % (type(e).__name__, e)


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------

CASES = []


def add_case(name, expr, kind, outcome, note=None):
    """kind: float | jsonb | float[]; outcome: ('ok', expected) or ('error', why)."""
    CASES.append(dict(name=name, expr=expr, kind=kind, outcome=outcome, note=note))


# ---- classification: scikit-learn side -----------------------------------------------------

def labels_used(yt, yp, labels, multilabel):
    if labels is not None:
        return list(labels)
    if multilabel:
        return list(range(len(yt[0]) if len(yt) else 0))
    return unique_labels(np.asarray(yt), np.asarray(yp)).tolist()


def sk_classif(fn, yt, yp, p, multilabel):
    """scikit-learn's value for one call, shaped as pg_mlops returns it."""
    sw = p.get("sample_weight")
    lab = p.get("labels")
    kw = {}
    if "zero_division" in p:
        kw["zero_division"] = p["zero_division"]
    if fn == "accuracy":
        return float(M.accuracy_score(yt, yp, normalize=p.get("normalize", True), sample_weight=sw))
    if fn in ("precision", "recall", "f1", "fbeta"):
        common = dict(labels=lab, pos_label=p.get("pos_label", 1), average=p.get("average", "binary"),
                      sample_weight=sw, **kw)
        if fn == "precision":
            return float(M.precision_score(yt, yp, **common))
        if fn == "recall":
            return float(M.recall_score(yt, yp, **common))
        if fn == "f1":
            return float(M.f1_score(yt, yp, **common))
        return float(M.fbeta_score(yt, yp, beta=p["beta"], **common))
    if fn == "precision_recall_fscore_support":
        avg = p.get("average")
        pr, rc, fb, su = M.precision_recall_fscore_support(
            yt, yp, beta=p.get("beta", 1.0), labels=lab, pos_label=p.get("pos_label", 1),
            average=avg, sample_weight=sw, **kw)
        if avg is None:
            return {"labels": to_py(labels_used(yt, yp, lab, multilabel)), "precision": to_py(pr),
                    "recall": to_py(rc), "fbeta": to_py(fb), "support": to_py(su)}
        return {"precision": float(pr), "recall": float(rc), "fbeta": float(fb), "support": None}
    if fn == "confusion_matrix":
        cm = M.confusion_matrix(yt, yp, labels=lab, sample_weight=sw, normalize=p.get("normalize"))
        return {"labels": to_py(labels_used(yt, yp, lab, multilabel)), "matrix": to_py(cm)}
    if fn == "classification_report":
        rep = M.classification_report(yt, yp, labels=lab, sample_weight=sw, output_dict=True, **kw)
        used = labels_used(yt, yp, None if lab is None else list(np.asarray(lab)), multilabel)
        rename = {"%s" % l: key_text(l) for l in (np.asarray(used) if len(used) else [])}
        return {rename.get(k, k): to_py(v) for k, v in rep.items()}
    raise AssertionError(fn)


KIND_OF = {"accuracy": "float", "precision": "float", "recall": "float", "f1": "float", "fbeta": "float",
           "precision_recall_fscore_support": "jsonb", "confusion_matrix": "jsonb",
           "classification_report": "jsonb"}


def sql_classif(fn, yt, yp, p, form):
    args = [jlit(yt, form), jlit(yp, form)]
    args += sql_named(p, form)
    return "mlops.%s(%s)" % (fn, ", ".join(args))


def sql_named(p, form):
    out = []
    for k in ("normalize", "beta", "average", "pos_label", "labels", "zero_division", "sample_weight"):
        if k not in p:
            continue
        v = p[k]
        if k == "normalize":
            # normalize is a keyword (col_name_keyword): a named argument must quote it
            out.append('"normalize" => ' + (("true" if v else "false") if isinstance(v, bool) else sqlstr(v)))
        elif k == "average":
            out.append("average => " + ("NULL" if v is None else sqlstr(v)))
        elif k in ("beta", "zero_division"):
            out.append("%s => %s" % (k, fnum(v)))
        elif form is None:                       # the confusion forms: JSON args left untyped
            out.append("%s => %s" % (k, sqlstr(jtext(v))))
        else:
            out.append("%s => %s" % (k, jlit(v, form)))
    return out


def describe(p):
    bits = []
    for k, v in p.items():
        if k == "sample_weight":
            bits.append("weights")
        elif k == "labels":
            bits.append("labels=" + jtext(v))
        elif k == "pos_label":
            bits.append("pos_label=" + jtext(v))
        else:
            bits.append("%s=%s" % (k, v))
    return " ".join(bits)


def classif_case(ds, fn, p, forms=("json", "jsonb", "untyped"), spec_error=None):
    yt, yp = ds["yt"], ds["yp"]
    if spec_error:
        outcome = ("error", "by pg_mlops's spec: " + spec_error)
        sk = sk_call(lambda: sk_classif(fn, yt, yp, p, ds["multilabel"]))
        note = "scikit-learn gives " + (repr(sk[1]) if sk[0] == "ok" else sk[1])
    else:
        outcome = sk_call(lambda: sk_classif(fn, yt, yp, p, ds["multilabel"]))
        note = None
    for form in forms:
        add_case("%s %s [%s] %s" % (form, fn, ds["desc"], describe(p)), sql_classif(fn, yt, yp, p, form),
                 KIND_OF[fn], outcome, note)


# ---- classification: data sets -------------------------------------------------------------

def weights(n, zeros=True):
    w = [round(rng.uniform(0.05, 3.0), rng.choice([1, 3, 17])) for _ in range(n)]
    if zeros and n:
        for i in rng.sample(range(n), max(1, n // 8)):
            w[i] = 0.0
    return w


def agree(yt, classes, rate):
    return [y if rng.random() < rate else rng.choice(classes) for y in yt]


def dataset(desc, yt, yp, pos_label=1, pool=None, multilabel=False):
    present = [] if multilabel else unique_labels(np.asarray(yt), np.asarray(yp)).tolist()
    return dict(desc="%s n=%d" % (desc, len(yt)), yt=yt, yp=yp, pos_label=pos_label,
                pool=pool if pool is not None else present, multilabel=multilabel,
                binary=(not multilabel and len(present) <= 2), w=weights(len(yt)))


def make_datasets():
    dss = []
    for i in range(4):
        n = rng.randint(6, 60)
        yt = [rng.randint(0, 1) for _ in range(n)]
        dss.append(dataset("binary 0/1", yt, agree(yt, [0, 1], rng.uniform(0.4, 0.95)), pool=[0, 1, 7]))
    for i in range(2):
        n = rng.randint(8, 50)
        yt = [rng.choice([2, 5]) for _ in range(n)]
        dss.append(dataset("binary 2/5", yt, agree(yt, [2, 5], 0.7), pos_label=5, pool=[2, 5, 3]))
    n = rng.randint(10, 40)
    yt = [rng.choice(["spam", "ham"]) for _ in range(n)]
    dss.append(dataset("binary spam/ham", yt, agree(yt, ["spam", "ham"], 0.75), pos_label="spam",
                       pool=["ham", "spam", "eggs"]))
    n = rng.randint(10, 30)
    yt = [float(rng.randint(0, 1)) for _ in range(n)]
    yp = [bool(v) if rng.random() < 0.8 else rng.random() < 0.5 for v in yt]
    dss.append(dataset("binary 0.0/1.0 vs true/false", yt, yp, pool=[0, 1]))
    n = rng.randint(10, 30)
    yt = [rng.random() < 0.5 for _ in range(n)]
    yp = [v if rng.random() < 0.8 else not v for v in yt]
    dss.append(dataset("binary true/false", yt, yp, pool=[False, True]))
    for i in range(6):
        k = rng.randint(3, 7)
        classes = list(range(k))
        n = rng.randint(10, 80)
        yt = [rng.choice(classes[:-1]) for _ in range(n)]               # last class: only in y_pred
        yp = agree(yt, classes[1:], rng.uniform(0.3, 0.9))              # class 0 may vanish from y_pred
        if i % 2:
            yp = [v if v != 1 else 2 for v in yp]                        # class 1 never predicted
        dss.append(dataset("multiclass %d classes" % k, yt, yp, pool=classes + [42]))
    n = rng.randint(20, 50)
    classes = [-3, 2, 10, 100]
    yt = [rng.choice(classes) for _ in range(n)]
    dss.append(dataset("multiclass -3/2/10/100", yt, agree(yt, classes, 0.6), pool=[100, -3, 10, 99]))
    for i in range(2):
        classes = ["cat", "dog", "bird", "ant", "Zebra", "ähre", "aa"][: rng.randint(3, 7)]
        n = rng.randint(12, 60)
        yt = [rng.choice(classes) for _ in range(n)]
        dss.append(dataset("strings %s" % "/".join(classes), yt, agree(yt, classes, 0.6),
                           pool=classes + ["yak"]))
    for i in range(4):
        k = rng.randint(2, 5)
        n = rng.randint(5, 30)
        yt = [[rng.randint(0, 1) for _ in range(k)] for _ in range(n)]
        yp = [[b if rng.random() < 0.75 else 1 - b for b in row] for row in yt]
        if i == 0:
            yt[0] = [0] * k
            yp[0] = [0] * k                                              # an empty row on both sides
        if i == 1:
            for row in yp:
                row[-1] = 0                                              # last column never predicted
        dss.append(dataset("multilabel %d columns" % k, yt, yp, pool=list(range(k)), multilabel=True))
    return dss


def random_params(ds, fn):
    p = {}
    if ds["multilabel"]:
        avgs = ["micro", "macro", "weighted", "samples"]
    elif ds["binary"]:
        avgs = ["binary", "binary", "micro", "macro", "weighted"]
    else:
        avgs = ["micro", "macro", "weighted"]
    if fn in ("precision", "recall", "f1", "fbeta"):
        p["average"] = rng.choice(avgs)
    elif fn == "precision_recall_fscore_support" and rng.random() < 0.5:
        p["average"] = rng.choice(avgs)
    if fn == "fbeta":
        p["beta"] = rng.choice([0.5, 2.0])
    elif fn == "precision_recall_fscore_support" and rng.random() < 0.5:
        p["beta"] = rng.choice([0.5, 2.0, 1.0])
    if p.get("average") == "binary" and ds["pos_label"] != 1:
        p["pos_label"] = ds["pos_label"]
    elif fn not in ("accuracy", "confusion_matrix", "classification_report") and rng.random() < 0.1:
        p["pos_label"] = ds["pos_label"]                                 # ignored unless binary
    if fn in ("precision", "recall", "f1", "fbeta", "precision_recall_fscore_support",
              "confusion_matrix", "classification_report") and rng.random() < 0.3:
        pool = ds["pool"]
        p["labels"] = rng.sample(pool, rng.randint(1, len(pool)))
    if fn in ("precision", "recall", "f1", "fbeta", "precision_recall_fscore_support",
              "classification_report") and rng.random() < 0.5:
        p["zero_division"] = rng.choice([0.0, 1.0])
    if fn == "accuracy" and rng.random() < 0.3:
        p["normalize"] = False
    if fn == "confusion_matrix" and rng.random() < 0.5:
        p["normalize"] = rng.choice(["true", "pred", "all"])
    if rng.random() < 0.35:
        p["sample_weight"] = ds["w"]
    return p


def classification_cases(dss):
    fns = ["accuracy", "precision", "recall", "f1", "fbeta", "precision_recall_fscore_support",
           "confusion_matrix", "classification_report"]
    for ds in dss:
        for fn in fns:
            for _ in range(2 if fn not in ("accuracy", "confusion_matrix") else 1):
                classif_case(ds, fn, random_params(ds, fn))
        # every average at least once, with and without weights
        for avg in (["micro", "macro", "weighted", "samples"] if ds["multilabel"] else
                    (["binary"] if ds["binary"] else []) + ["micro", "macro", "weighted"]):
            p = {"average": avg}
            if avg == "binary" and ds["pos_label"] != 1:
                p["pos_label"] = ds["pos_label"]
            classif_case(ds, "f1", dict(p, sample_weight=ds["w"]), forms=(rng.choice(["json", "jsonb"]),))


def corner_cases():
    """Zero-division corners, with zero_division 0 and 1."""
    corners = [
        ("class never predicted", [0, 1, 2, 2, 1, 0, 2], [0, 2, 2, 2, 0, 0, 2]),
        ("class never present", [0, 0, 1, 1, 0, 1], [0, 2, 1, 2, 0, 1]),
        ("all predictions one class", [0, 1, 2, 1, 0, 2, 2], [1] * 7),
        ("binary nothing predicted positive", [0, 1, 1, 0, 1], [0, 0, 0, 0, 0]),
        ("binary no positive in y_true", [0, 0, 0, 0], [0, 1, 0, 1]),
        ("binary all negative, pos_label absent", [0, 0, 0], [0, 0, 0]),
        ("binary all correct", [1, 0, 1], [1, 0, 1]),
        ("multilabel empty rows", [[0, 0, 0], [1, 0, 0], [0, 0, 0]], [[0, 0, 0], [0, 0, 0], [0, 1, 0]]),
        ("multilabel all zero", [[0, 0], [0, 0]], [[0, 0], [0, 0]]),
    ]
    for desc, yt, yp in corners:
        ml = isinstance(yt[0], list)
        ds = dataset(desc, yt, yp, multilabel=ml)
        if ml:
            avgs = ["micro", "macro", "weighted", "samples", None]
        elif ds["binary"]:
            avgs = ["binary", "micro", "macro", "weighted", None]
        else:
            avgs = ["micro", "macro", "weighted", None]
        for zd in (0.0, 1.0):
            for avg in avgs:
                if avg is None:
                    classif_case(ds, "precision_recall_fscore_support", {"zero_division": zd})
                else:
                    for fn in ("precision", "recall", "f1"):
                        classif_case(ds, fn, {"average": avg, "zero_division": zd},
                                     forms=(rng.choice(["json", "jsonb"]),))
                    classif_case(ds, "fbeta", {"beta": 2.0, "average": avg, "zero_division": zd},
                                 forms=(rng.choice(["json", "jsonb"]),))
            classif_case(ds, "classification_report", {"zero_division": zd})
        if not ml:
            for norm in ("true", "pred", "all"):
                classif_case(ds, "confusion_matrix", {"normalize": norm}, forms=(rng.choice(["json", "jsonb"]),))
        classif_case(ds, "accuracy", {})
    # accuracy on empty arrays is NaN (scikit-learn agrees)
    ds = dataset("empty", [], [])
    classif_case(ds, "accuracy", {})


def error_cases():
    """Cases where scikit-learn raises (and a few that pg_mlops's spec makes errors)."""
    mc = dataset("multiclass", [0, 1, 2, 1, 0], [0, 2, 2, 1, 0])
    bi = dataset("binary 2/5", [2, 5, 5, 2], [5, 5, 2, 2])
    st = dataset("binary spam/ham", ["spam", "ham", "ham"], ["spam", "spam", "ham"])
    ml = dataset("multilabel", [[0, 1], [1, 1], [1, 0]], [[0, 1], [1, 0], [1, 0]], multilabel=True)
    b01 = dataset("binary 0/1", [0, 1, 1, 0], [0, 1, 0, 0])
    errs = [
        (mc, "f1", {}),                                                  # average binary on multiclass
        (mc, "precision", {"average": "binary"}),
        (mc, "fbeta", {"beta": 2.0}),
        (mc, "precision_recall_fscore_support", {"average": "binary"}),
        (ml, "recall", {"average": "binary"}),
        (mc, "f1", {"average": "samples"}),                              # samples outside multilabel
        (b01, "precision", {"average": "samples"}),
        (mc, "f1", {"average": "foo"}),
        (bi, "f1", {}),                                                  # pos_label 1 absent, two others
        (bi, "precision_recall_fscore_support", {"average": "binary"}),
        (st, "precision", {}),
        (st, "f1", {"pos_label": "eggs"}),
        (b01, "fbeta", {"beta": -1.0}),
        (b01, "f1", {"zero_division": 0.5}),
        (b01, "precision_recall_fscore_support", {"zero_division": 0.5}),
        (b01, "accuracy", {"sample_weight": [1.0, 2.0, 3.0]}),           # weights of another length
        (b01, "f1", {"sample_weight": [1.0, 2.0]}),
        (b01, "confusion_matrix", {"sample_weight": [1.0, 2.0, 3.0, 4.0, 5.0]}),
        (b01, "accuracy", {"sample_weight": [0.0, 0.0, 0.0, 0.0]}),      # ZeroDivisionError
        (b01, "confusion_matrix", {"normalize": "foo"}),
        (b01, "confusion_matrix", {"labels": [7]}),                      # no given label in y_true
        (b01, "confusion_matrix", {"labels": []}),
        (ml, "confusion_matrix", {}),                                    # multilabel unsupported
        (ml, "f1", {"average": "macro", "labels": [5]}),                 # column out of range
    ]
    for ds, fn, p in errs:
        classif_case(ds, fn, p)
    raw = [
        ("length mismatch", [0, 1, 1], [0, 1], ["accuracy", "f1", "confusion_matrix"], {}),
        ("multilabel vs multiclass", [[0, 1], [1, 0]], [0, 1], ["accuracy", "f1"], {"average": "macro"}),
        ("multiclass vs multilabel", [0, 2], [[0, 1], [1, 0]], ["accuracy"], {}),
        ("continuous labels", [0.5, 1.0, 0.0], [1, 1, 0], ["accuracy", "f1", "confusion_matrix"], {}),
        ("continuous labels in y_pred", [0, 1, 2], [0, 1.25, 2], ["accuracy", "precision"], {"average": "macro"}),
        ("ragged multilabel rows", [[0, 1], [1, 0, 1]], [[0, 1], [1, 0, 1]], ["accuracy"], {}),
        ("multilabel rows with a 2", [[0, 2], [1, 0]], [[0, 1], [1, 0]], ["accuracy", "f1"], {"average": "micro"}),
        ("strings vs numbers", ["cat", "dog", "cat"], [1, 2, 1], ["precision"], {"average": "micro"}),
    ]
    for desc, yt, yp, fns, p in raw:
        ds = dict(desc="%s n=%d" % (desc, len(yt)), yt=yt, yp=yp, multilabel=False)
        for fn in fns:
            pp = {} if fn in ("accuracy", "confusion_matrix") else dict(p)
            classif_case(ds, fn, pp)
    # By the spec, not by scikit-learn (which compares them as strings or fails with a TypeError):
    ds = dict(desc="strings vs numbers n=3", yt=["1", "0", "1"], yp=[1, 0, 1], multilabel=False)
    classif_case(ds, "accuracy", {}, spec_error="strings mixed with numbers")
    ds = dict(desc="string and number labels n=3", yt=["a", "b", "a"], yp=[1, 1, 0], multilabel=False)
    classif_case(ds, "accuracy", {}, spec_error="strings mixed with numbers")
    # one array holding both: numpy turns it into an array of strings ("1"), so scikit-learn counts
    ds = dict(desc="strings mixed with numbers n=3", yt=["a", 1, "b"], yp=["a", "b", "b"], multilabel=False)
    classif_case(ds, "f1", {"average": "macro"}, spec_error="strings mixed with numbers")
    classif_case(ds, "confusion_matrix", {}, spec_error="strings mixed with numbers")
    ds = dict(desc="null label n=3", yt=[0, None, 1], yp=[0, 1, 1], multilabel=False)
    classif_case(ds, "accuracy", {}, spec_error="null labels")
    classif_case(ds, "f1", {}, spec_error="null labels")
    ds = dict(desc="null label in y_pred n=2", yt=["a", "b"], yp=["a", None], multilabel=False)
    classif_case(ds, "confusion_matrix", {}, spec_error="null labels")


# ---- regression ----------------------------------------------------------------------------

REG = {"mae": lambda a, b, w: M.mean_absolute_error(a, b, sample_weight=w),
       "mse": lambda a, b, w: M.mean_squared_error(a, b, sample_weight=w),
       "rmse": lambda a, b, w: M.mean_squared_error(a, b, sample_weight=w, squared=False),
       "r2": lambda a, b, w: M.r2_score(a, b, sample_weight=w)}


def regression_case(desc, yt, yp, fn, w):
    outcome = sk_call(lambda: float(REG[fn](yt, yp, w)))
    if fn == "r2" and len(yt) >= 2 and len(set(yt)) == 1 and outcome[0] == "ok":
        # A documented divergence: for a constant y_true, r2_score's force_finite rule gives 1.0
        # (perfect) or 0.0, but numpy's weighted mean of equal values can round off by one ulp,
        # leaving a denominator of ~1e-31 and results like -6.8e+29.  pg_mlops computes the
        # weighted mean with compensated sums and applies the rule exactly.
        outcome = ("ok", 1.0 if list(yt) == list(yp) else 0.0)
    for form in ("json", "jsonb", "untyped", "float8[]"):
        if form == "float8[]":
            args = [farr(yt), farr(yp)] + ([] if w is None else ["sample_weight => " + farr(w)])
        else:
            args = [jlit(yt, form), jlit(yp, form)] + ([] if w is None else ["sample_weight => " + jlit(w, form)])
        add_case("%s %s [%s n=%d]%s" % (form, fn, desc, len(yt), " weights" if w is not None else ""),
                 "mlops.%s(%s)" % (fn, ", ".join(args)), "float", outcome)


def regression_cases():
    sets = []
    for i in range(6):
        n = rng.randint(2, 80)
        yt = [float(x) for x in nrng.normal(rng.uniform(-5, 5), rng.uniform(0.5, 3), n)]
        yp = [float(a + b) for a, b in zip(yt, nrng.normal(0, rng.uniform(0.1, 2), n))]
        sets.append(("random", yt, yp))
    sets.append(("integers", [3, -1, 4, 1, 5, 9, 2, 6], [3, 0, 4, 2, 5, 8, 2, 7]))
    sets.append(("constant y_true, perfect", [2.5, 2.5, 2.5], [2.5, 2.5, 2.5]))
    sets.append(("constant y_true, not perfect", [2.5, 2.5, 2.5], [2.5, 2.0, 3.0]))
    sets.append(("one sample", [1.5], [2.0]))
    for desc, yt, yp in sets:
        for fn in REG:
            regression_case(desc, yt, yp, fn, None)
            if len(yt) > 1 and rng.random() < 0.6:
                w = weights(len(yt), zeros=len(yt) > 3)
                regression_case(desc, yt, yp, fn, w)
    regression_case("length mismatch", [1.0, 2.0, 3.0], [1.0, 2.0], "mae", None)
    regression_case("weights length mismatch", [1.0, 2.0, 3.0], [1.0, 2.0, 2.5], "mse", [1.0, 2.0])
    regression_case("empty", [], [], "mse", None)
    regression_case("empty", [], [], "r2", None)
    # overflow: the squared or absolute error is inf, and so is the mean (not NaN)
    regression_case("overflow", [1e200], [-1e200], "mse", None)
    regression_case("overflow", [1e200, 0.0], [-1e200, 0.0], "rmse", None)
    regression_case("overflow", [1.7e308], [-1.7e308], "mae", None)
    regression_case("overflow", [1.7e308, 1.0], [-1.7e308, 2.0], "mae", [1.0, 2.0])


# ---- uncertainty ---------------------------------------------------------------------------

def ent(row, base):
    s = -sum(p * math.log(p) for p in row if p > 0)
    return s / math.log(base) if base is not None else s / math.log(2)


def prob_rows(n, k, zeros):
    rows = []
    for _ in range(n):
        p = nrng.dirichlet(np.ones(k) * rng.choice([0.3, 1.0, 5.0]))
        if zeros and rng.random() < 0.4:
            p[rng.randrange(k)] = 0.0
            p = p / p.sum()
        rows.append([float(x) for x in p])
    return rows


def uncertainty_cases():
    sets = [("random %dx%d" % (n, k), prob_rows(n, k, zeros)) for n, k, zeros in
            [(5, 2, False), (8, 3, True), (6, 5, True), (4, 10, True), (12, 4, False)]]
    sets.append(("corners", [[1.0, 0.0, 0.0], [0.5, 0.5], [0.25, 0.25, 0.25, 0.25], [0.4, 0.4, 0.2]]))
    for desc, rows in sets:
        for base in (None, 2.0, math.e, 10.0):
            exp = [ent(r, base) for r in rows]
            for form in ("json", "jsonb", "untyped"):
                args = [jlit(rows, form)] + ([] if base is None else ["base => " + fnum(base)])
                add_case("%s entropy [%s] base=%s" % (form, desc, base), "mlops.entropy(%s)" % ", ".join(args),
                         "float[]", ("ok", exp))
        for fn, f in (("least_confidence", lambda r: 1.0 - max(r)),
                      ("margin", lambda r: sorted(r)[-1] - sorted(r)[-2])):
            exp = [f(r) for r in rows]
            for form in ("json", "jsonb", "untyped"):
                add_case("%s %s [%s]" % (form, fn, desc), "mlops.%s(%s)" % (fn, jlit(rows, form)),
                         "float[]", ("ok", exp))
        for r in rows[:2]:
            base = rng.choice([2.0, math.e, 10.0])
            add_case("float8[] entropy [%s row %d] base=%s" % (desc, len(r), base),
                     "mlops.entropy(%s, %s)" % (farr(r), fnum(base)), "float", ("ok", ent(r, base)))
            add_case("float8[] least_confidence [%s row %d]" % (desc, len(r)),
                     "mlops.least_confidence(%s)" % farr(r), "float", ("ok", 1.0 - max(r)))
            add_case("float8[] margin [%s row %d]" % (desc, len(r)),
                     "mlops.margin(%s)" % farr(r), "float", ("ok", sorted(r)[-1] - sorted(r)[-2]))
    # scipy's entropy normalises; these rows sum to 1, so it must agree with the formula above
    for desc, rows in sets:
        for r in rows:
            from scipy import stats
            assert abs(stats.entropy(r, base=2) - ent(r, 2.0)) < 1e-13, (desc, r)
    logits = [[float(x) for x in nrng.normal(0, 3, k)] for k in (2, 3, 5, 8)]
    logits.append([1000.0, 999.0, 0.0])
    logits.append([-5.0, -5.0, -5.0])
    for form in ("json", "jsonb", "untyped"):
        add_case("%s softmax [%d rows]" % (form, len(logits)), "mlops.softmax(%s)" % jlit(logits, form), "jsonb",
                 ("ok", [to_py(special.softmax(np.array(r))) for r in logits]))
    for r in logits:
        add_case("float8[] softmax [row of %d]" % len(r), "mlops.softmax(%s)" % farr(r), "float[]",
                 ("ok", to_py(special.softmax(np.array(r)))))


# ---- confusion_agg -------------------------------------------------------------------------

AGG_SETUP = []


def agg_table(kind, cid, yt, yp):
    if kind == "jsonb":
        AGG_SETUP.append(
            "INSERT INTO parity.agg_jsonb SELECT %d, a.v, b.v FROM jsonb_array_elements(%s) WITH ORDINALITY a(v, i) "
            "JOIN jsonb_array_elements(%s) WITH ORDINALITY b(v, i) USING (i);" % (cid, jlit(yt, "jsonb"), jlit(yp, "jsonb")))
        return "parity.agg_jsonb"
    sqltype = {"text": "text", "bigint": "bigint", "boolean": "boolean"}[kind]

    def arr(vals):
        if kind == "text":
            return "ARRAY[%s]::text[]" % ",".join(sqlstr(v) for v in vals)
        if kind == "boolean":
            return "ARRAY[%s]::boolean[]" % ",".join("true" if v else "false" for v in vals)
        return "ARRAY[%s]::bigint[]" % ",".join(str(int(v)) for v in vals)
    AGG_SETUP.append("INSERT INTO parity.agg_%s SELECT %d, a, b FROM unnest(%s, %s) u(a, b);"
                     % (sqltype, cid, arr(yt), arr(yp)))
    return "parity.agg_" + sqltype


def agg_cases():
    specs = []
    n = 40
    yt = [rng.randint(0, 1) for _ in range(n)]
    specs.append(("bigint", "binary 0/1", yt, agree(yt, [0, 1], 0.8), 1))
    yt = [rng.choice(["spam", "ham"]) for _ in range(n)]
    specs.append(("text", "spam/ham", yt, agree(yt, ["spam", "ham"], 0.7), "spam"))
    yt = [rng.random() < 0.4 for _ in range(n)]
    specs.append(("boolean", "boolean", yt, [v if rng.random() < 0.8 else not v for v in yt], True))
    yt = [rng.randint(0, 4) for _ in range(60)]
    specs.append(("bigint", "multiclass 0..5", yt, agree(yt, [0, 1, 2, 3, 5], 0.6), None))
    yt = [rng.choice([0, 1, 2, 10]) for _ in range(50)]
    specs.append(("jsonb", "multiclass 0/1/2/10", yt, [float(v) for v in agree(yt, [0, 1, 2, 10], 0.6)], None))
    cls = ["cat", "dog", "bird", "Zebra", "ähre"]
    yt = [rng.choice(cls[:4]) for _ in range(50)]
    specs.append(("text", "strings", yt, agree(yt, cls[1:], 0.6), None))
    yt = [rng.choice(cls[:3]) for _ in range(30)]
    specs.append(("jsonb", "strings", yt, agree(yt, cls[:3], 0.6), None))
    yt = [rng.random() < 0.5 for _ in range(30)]
    specs.append(("jsonb", "booleans", yt, [v if rng.random() < 0.7 else not v for v in yt], True))
    cid = 0
    for kind, desc, yt, yp, pos in specs:
        cid += 1
        tbl = agg_table(kind, cid, yt, yp)
        conf = "mlops.confusion_agg(yt, yp)"
        binary = pos is not None

        def add(fn, p, call, outcome=None):
            if outcome is None:
                outcome = sk_call(lambda: sk_classif(fn, yt, yp, p, False))
            add_case("confusion_agg %s %s [%s n=%d] %s" % (kind, fn, desc, len(yt), describe(p)),
                     "(SELECT %s FROM %s WHERE case_id = %d)" % (call, tbl, cid), KIND_OF.get(fn, "float"),
                     outcome)

        def call(fn, p):
            return "mlops.%s(%s)" % (fn, ", ".join([conf] + sql_named(p, None)))
        add("accuracy", {}, call("accuracy", {}))
        add("accuracy", {}, "mlops.accuracy_agg(yt, yp)")
        add("confusion_matrix", {}, conf + "::jsonb")
        add("confusion_matrix", {}, call("confusion_matrix", {}))
        add("confusion_matrix", {"normalize": "true"}, call("confusion_matrix", {"normalize": "true"}))
        add("classification_report", {}, call("classification_report", {}))
        add("precision_recall_fscore_support", {}, call("precision_recall_fscore_support", {}))
        p = {"average": "macro", "beta": 2.0}
        add("precision_recall_fscore_support", p, call("precision_recall_fscore_support", p))
        for fn, p in (("f1", {"average": "macro"}), ("precision", {"average": "weighted", "zero_division": 1.0}),
                      ("recall", {"average": "micro"}), ("fbeta", {"beta": 0.5, "average": "macro"})):
            add(fn, p, call(fn, p))
        if binary:
            p = {} if pos == 1 or pos is True else {"pos_label": pos}
            for fn in ("f1", "precision", "recall"):
                add(fn, p, call(fn, p))
        else:
            add("f1", {}, call("f1", {}))                                  # binary on multiclass: error
        if kind in ("bigint", "text") and not binary:
            p = {"average": "macro", "labels": list(unique_labels(np.asarray(yt)))[:2]}
            p["labels"] = to_py(p["labels"])
            add("recall", p, call("recall", p))

    # a JSON null label is an error in every form (an SQL NULL row is skipped)
    for yt, yp, where in (([1, None, 0], [1, 1, 0], "y_true"), ([1, 0, 0], [1, 0, None], "y_pred")):
        cid += 1
        tbl = agg_table("jsonb", cid, yt, yp)
        for call in ("mlops.confusion_agg(yt, yp)::jsonb", "mlops.accuracy_agg(yt, yp)"):
            add_case("confusion_agg jsonb %s [JSON null in %s]" % (call.split("(")[0], where),
                     "(SELECT %s FROM %s WHERE case_id = %d)" % (call, tbl, cid), "float",
                     ("error", "by pg_mlops's spec: null labels"))


# ---------------------------------------------------------------------------------------------
# Running SQL
# ---------------------------------------------------------------------------------------------

# The SQLSTATE class an expected error must have: 22, data exception (scikit-learn's ValueError
# and TypeError are bad input).  42883 (no such function), XX000 (internal) and the like fail.
ERROR_CLASS = "22"

SETUP_SQL = r"""
SET client_min_messages = warning;
SET synchronous_commit = on;
DROP SCHEMA IF EXISTS parity CASCADE;
CREATE SCHEMA parity;
CREATE FUNCTION parity.eval(id int, expr text) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
  r text;
  st text;
  msg text;
BEGIN
  EXECUTE 'SELECT (' || expr || ')::text' INTO r;
  RETURN jsonb_build_object('id', id, 'ok', true, 'v', r);
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  RETURN jsonb_build_object('id', id, 'ok', false, 'state', st, 'msg', msg);
END
$f$;
CREATE TABLE parity.agg_text (case_id int, yt text, yp text);
CREATE TABLE parity.agg_bigint (case_id int, yt bigint, yp bigint);
CREATE TABLE parity.agg_boolean (case_id int, yt boolean, yp boolean);
CREATE TABLE parity.agg_jsonb (case_id int, yt jsonb, yp jsonb);
"""


def psql(script, timeout=300):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False, encoding="utf-8") as f:
        f.write(script)
        path = f.name
    try:
        p = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-f", path],
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return 99, "", "timeout after %ss" % timeout
    finally:
        os.unlink(path)


def wait_for_server(seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        rc, out, _ = psql("SELECT 1;", timeout=10)
        if rc == 0 and out.strip() == "1":
            return True
        time.sleep(0.5)
    return False


def eval_script(items):
    rows = ",\n".join("(%d, $parity$%s$parity$)" % (i, CASES[i]["expr"]) for i in items)
    return ("SET statement_timeout = '60s';\nSET extra_float_digits = 1;\n"
            "SELECT parity.eval(id, expr)::text FROM (VALUES\n%s\n) v(id, expr) ORDER BY id;\n" % rows)


def run_batch(items, results):
    rc, out, err = psql(eval_script(items))
    got = {}
    if rc == 0:
        for line in out.splitlines():
            if line.strip():
                r = json.loads(line)
                got[r["id"]] = r
    if rc == 0 and len(got) == len(items):
        results.update(got)
        return
    # the batch died (a crash?): run its cases one by one to name the culprit
    recover()
    for i in items:
        rc, out, err = psql(eval_script([i]))
        if rc == 0 and out.strip():
            r = json.loads(out.strip().splitlines()[-1])
            results[i] = r
        else:
            results[i] = {"id": i, "crash": (err or "no output").strip()}
            recover()


def recover():
    """After a backend crash: let the postmaster notice it and reinitialise, then rebuild schema
    parity (a crash restart may lose recent asynchronous commits)."""
    print("# a batch lost its connection: waiting for the server, rebuilding schema parity")
    time.sleep(2)
    wait_for_server()
    psql(SETUP_SQL + "\n".join(AGG_SETUP) + "\n")


def parse_result(kind, text):
    if text is None:
        return None
    if kind == "float":
        return float(text)
    if kind == "float[]":
        t = text.strip()
        assert t[0] == "{" and t[-1] == "}", t
        inner = t[1:-1]
        return [] if inner == "" else [None if x == "NULL" else float(x) for x in inner.split(",")]
    return json.loads(text)


# ---------------------------------------------------------------------------------------------
# Parallel aggregation (combine / serialize) on a table large enough for workers
# ---------------------------------------------------------------------------------------------

PAR_SETUP = r"""
SET client_min_messages = warning;
SELECT setseed(%f);
CREATE TABLE parity.par AS
  SELECT g AS id, t AS yt, CASE WHEN random() < 0.7 THEN t ELSE (random() * 6)::int END AS yp
  FROM (SELECT g, (random() * 5)::int AS t FROM generate_series(1, 200000) g) s;
ALTER TABLE parity.par ADD COLUMN yt_s text, ADD COLUMN yp_s text;
UPDATE parity.par SET yt_s = 'c' || yt, yp_s = 'c' || yp;
VACUUM ANALYZE parity.par;
COPY (SELECT yt, yp FROM parity.par ORDER BY id) TO STDOUT;
"""

PAR_SET = ("SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
           "SET min_parallel_table_scan_size = 0; SET parallel_leader_participation = off;\n")


def parallel_checks(emit):
    rc, out, err = psql(PAR_SETUP % ((SEED % 1000) / 1000.0))
    if rc != 0:
        emit(False, "parallel: build the 200000-row table", ["psql: " + err.strip()])
        return
    pairs = [line.split("\t") for line in out.splitlines() if line]
    yt = [int(a) for a, b in pairs]
    yp = [int(b) for a, b in pairs]
    yts = ["c%d" % v for v in yt]
    yps = ["c%d" % v for v in yp]
    queries = [
        ("f1 macro over confusion_agg(bigint)", "SELECT mlops.f1(mlops.confusion_agg(yt, yp), average => 'macro') FROM parity.par",
         "float", lambda: float(M.f1_score(yt, yp, average="macro"))),
        ("confusion_agg(bigint)::jsonb", "SELECT mlops.confusion_agg(yt, yp)::jsonb FROM parity.par", "jsonb",
         lambda: {"labels": to_py(unique_labels(yt, yp)), "matrix": to_py(M.confusion_matrix(yt, yp))}),
        ("confusion_matrix over confusion_agg(text)", "SELECT mlops.confusion_matrix(mlops.confusion_agg(yt_s, yp_s)) FROM parity.par",
         "jsonb", lambda: {"labels": to_py(unique_labels(yts, yps)), "matrix": to_py(M.confusion_matrix(yts, yps))}),
        ("accuracy_agg(bigint)", "SELECT mlops.accuracy_agg(yt, yp) FROM parity.par", "float",
         lambda: float(M.accuracy_score(yt, yp))),
        ("accuracy_agg(text)", "SELECT mlops.accuracy_agg(yt_s, yp_s) FROM parity.par", "float",
         lambda: float(M.accuracy_score(yts, yps))),
    ]
    for name, q, kind, skf in queries:
        rc, plan, err = psql(PAR_SET + "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + q + ";")
        ok = rc == 0 and "Partial Aggregate" in plan and "Finalize Aggregate" in plan and "Gather" in plan
        launched = [l.strip() for l in plan.splitlines() if "Workers Launched" in l]
        emit(ok and launched and not launched[0].endswith(": 0"),
             "parallel plan for %s: Finalize Aggregate / Gather / Partial Aggregate, workers launched" % name,
             ["plan: " + l for l in (plan or err).splitlines()])
        for mode, settings in (("parallel", PAR_SET), ("serial", "SET max_parallel_workers_per_gather = 0;\n")):
            rc, out, err = psql(settings + q + ";")
            exp = sk_call(skf)
            if rc != 0:
                emit(False, "%s %s equals scikit-learn" % (mode, name), ["SQL: " + q, "error: " + err.strip()])
                continue
            got = parse_result(kind, out.strip())
            emit(same(exp[1], got), "%s %s equals scikit-learn" % (mode, name),
                 ["SQL: " + q, "scikit-learn: " + show(exp[1])[:2000], "pg_mlops:     " + out.strip()[:2000]])


# ---------------------------------------------------------------------------------------------

def main():
    offset = 0
    if len(sys.argv) > 2 and sys.argv[1] == "--tap-offset":
        offset = int(sys.argv[2])
    t0 = time.time()
    print("# seed %d (set MLOPS_PARITY_SEED to change it); scikit-learn %s" % (SEED, __import__("sklearn").__version__))

    dss = make_datasets()
    classification_cases(dss)
    corner_cases()
    error_cases()
    regression_cases()
    uncertainty_cases()
    agg_cases()
    n_err = sum(1 for c in CASES if c["outcome"][0] == "error")
    print("# %d cases (%d expect an error), scikit-learn side in %.1f s" % (len(CASES), n_err, time.time() - t0))

    state = {"n": offset, "failed": 0}

    def emit(ok, name, diag):
        state["n"] += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", state["n"], name))
        if not ok:
            state["failed"] += 1
            for d in diag:
                for line in str(d).splitlines() or [""]:
                    print("#   " + line)
        sys.stdout.flush()

    rc, out, err = psql(SETUP_SQL + "\n".join(AGG_SETUP) + "\n")
    if rc != 0:
        emit(False, "set up schema parity (helper function, confusion_agg tables)", [err.strip()])
        print("1..%d" % state["n"])
        return 1

    results = {}
    t1 = time.time()
    items = list(range(len(CASES)))
    for i in range(0, len(items), BATCH):
        run_batch(items[i:i + BATCH], results)
    print("# SQL side in %.1f s" % (time.time() - t1))

    for i, c in enumerate(CASES):
        r = results.get(i, {"crash": "no result"})
        want_kind, want = c["outcome"]
        diag = ["SQL: SELECT " + c["expr"]]
        if c["note"]:
            diag.append("note: " + c["note"])
        if "crash" in r:
            ok = False
            diag += ["scikit-learn: " + (show(want) if want_kind == "ok" else "raises " + want),
                     "pg_mlops:     connection lost / psql failed: " + r["crash"]]
        elif want_kind == "error":
            # scikit-learn's ValueError / TypeError is bad input: SQLSTATE class 22 (data
            # exception), never an internal error (XX000) or a call that never ran
            ok = not r["ok"] and r["state"].startswith(ERROR_CLASS)
            if r["ok"]:
                diag += ["scikit-learn: raises " + want, "pg_mlops:     returned " + str(r["v"])]
            elif not ok:
                diag += ["scikit-learn: raises " + want,
                         "pg_mlops:     ERROR %s, not of class %sxxx: %s" % (r["state"], ERROR_CLASS, r["msg"])]
            else:
                c["name"] += " -> SQLSTATE %s" % r["state"]
        else:
            if not r["ok"]:
                ok = False
                diag += ["scikit-learn: " + show(want), "pg_mlops:     ERROR %s: %s" % (r["state"], r["msg"])]
            else:
                try:
                    got = parse_result(c["kind"], r["v"])
                    ok = same(want, got)
                except Exception as e:                                  # unparsable output
                    ok = False
                    got = "unparsable (%s)" % e
                if not ok:
                    diag += ["scikit-learn: " + show(want), "pg_mlops:     " + str(r["v"])]
        emit(ok, c["name"], diag)

    parallel_checks(emit)

    print("1..%d" % state["n"])
    print("# %d failed of %d; %.1f s in all" % (state["failed"], state["n"] - offset, time.time() - t0))
    return 1 if state["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
