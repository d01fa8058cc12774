#!/usr/bin/env python3
"""Model quality with the minimal config, against the peers on the same rows.

For each table, anneal trains with a config that says only `[data] path` and
`target` (every other choice is a default); then `peers/same_split.py` trains
LightGBM (defaults) and scikit-learn's MLP on exactly the rows anneal trained
on and scores all three on anneal's test rows. Prints a Markdown table and
writes results/quality.json.

    python quality.py --anneal ../../target/release/anneal \
        --bench-dir ../../../shared/datasets/bench [--only titanic,cells]

The six bench tables are not shipped with the repository (27 MB); point
--bench-dir at a folder holding them (see datasets/README.md for sources).
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# name, file, target, regression, shipped with the repository
TABLES = [
    ("titanic", "titanic.csv", "survived", False, True),
    ("breast_cancer", "breast_cancer.csv", "diagnosis", False, True),
    ("penguins", "penguins.csv", "species", False, True),
    ("ames", "ames.csv", "Sale_Price", True, False),
    ("attrition", "attrition.csv", "Attrition", False, False),
    ("cells", "cells.csv", "class", False, False),
    ("fertility", "fertility.csv", "morekids", False, False),
    ("loans", "loans.csv", "interest_rate", True, False),
    ("flights", "flights.csv", "arr_delay", True, False),
]


def minimal_config(path: str, target: str, extra: str) -> str:
    return f'[data]\npath = {json.dumps(path)}\ntarget = {json.dumps(target)}\n{extra}'


def run_one(anneal, name, path, target, regression, scratch, extra):
    cfg = os.path.join(scratch, f"{name}.toml")
    with open(cfg, "w") as f:
        f.write(minimal_config(path, target, extra))
    run = os.path.join(scratch, name)
    t = time.time()
    p = subprocess.run([anneal, "train", "--config", cfg, "--out", run, "--force", "--quiet"],
                       capture_output=True, text=True)
    secs = time.time() - t
    if p.returncode != 0:
        return {"name": name, "error": p.stderr.strip()[-400:]}
    report = json.load(open(os.path.join(run, "report.json")))
    cmd = [sys.executable, os.path.join(HERE, "peers", "same_split.py"), run, path, target]
    if regression:
        cmd.append("--regression")
    peers = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    test = report["metrics"]["test"]
    base = report.get("baseline", {}).get("test", {})
    training = report.get("training", {})
    return {
        "name": name,
        "metric": "r2" if regression else "accuracy",
        "anneal": test["r2" if regression else "accuracy"],
        "anneal_log_loss": test.get("log_loss"),
        "prior_log_loss": base.get("log_loss"),
        "anneal_seconds": secs,
        "epochs_run": training.get("epochs_run"),
        "best_epoch": training.get("best_epoch"),
        "model": report["model"]["kind"],
        "lightgbm": peers.get("lightgbm_r2" if regression else "lightgbm_acc"),
        "lightgbm_seconds": peers.get("lightgbm_s"),
        "sklearn_mlp": peers.get("sklearn_mlp_r2" if regression else "sklearn_mlp_acc"),
        "sklearn_seconds": peers.get("sklearn_s"),
        "train_rows": peers.get("train_rows"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--anneal", default=os.path.join(ROOT, "target", "release", "anneal"))
    ap.add_argument("--bench-dir", default=os.path.join(ROOT, "..", "shared", "datasets", "bench"))
    ap.add_argument("--scratch", default=os.path.join(HERE, "results", "quality"))
    ap.add_argument("--only", default="")
    ap.add_argument("--extra", default="", help="TOML appended to every config (ablations)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "quality.json"))
    a = ap.parse_args()
    os.makedirs(a.scratch, exist_ok=True)
    only = set(filter(None, a.only.split(",")))
    rows = []
    for name, file, target, regression, shipped in TABLES:
        if only and name not in only:
            continue
        path = os.path.join(ROOT, "datasets", file) if shipped else os.path.join(a.bench_dir, file)
        if not os.path.exists(path):
            print(f"skip {name}: {path} not found", file=sys.stderr)
            continue
        r = run_one(a.anneal, name, os.path.abspath(path), target, regression, a.scratch, a.extra)
        rows.append(r)
        print(json.dumps(r), file=sys.stderr, flush=True)
    print("| table | metric | anneal (minimal config) | LightGBM defaults | sklearn MLP | anneal s | LightGBM s | log loss anneal / prior |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['name']} | error: {r['error']} |")
            continue
        ll = "" if r["anneal_log_loss"] is None else f"{r['anneal_log_loss']:.4f} / {r['prior_log_loss']:.4f}"
        print(f"| {r['name']} | {r['metric']} | {r['anneal']:.4f} | {r['lightgbm']:.4f} | {r['sklearn_mlp']:.4f} "
              f"| {r['anneal_seconds']:.1f} | {r['lightgbm_seconds']:.1f} | {ll} |")
    with open(a.out, "w") as f:
        json.dump(rows, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
