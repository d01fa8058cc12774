"""anneal against the tools a user would pick instead, in one session, on the
same files, as ratios.

    python3 -m venv V && V/bin/pip install -r benches/compare/peers/requirements.txt
    cargo build --release
    V/bin/python benches/compare/compare.py [--runs 5] [--only prep,train,e2e]

Workloads (the peers' scripts in peers/ are the team's baselines, copied
unchanged from the shared folder; see peers/RESULTS.md):

  prep   the 1M-row synthetic CSV (peers/gen_synth.py, seed 42, 76 MB):
         read, seeded 80/20 split, fit median/mode imputation, mean/std and
         category lists on train, transform both to float32 matrices.
         pandas (C reader), polars-python (eager) against
         `anneal bench --stages prep` (anneal's data stage also hashes the
         file, profiles every column and records statistics). Whole process,
         spawn to exit, and the process's peak RSS, median of --runs fresh
         processes after one warm-up.
  train  the MLP recipe of peers/train_sklearn.py and train_torch.py
         (inputs -> 64 -> 64 -> classes, ReLU, Adam 1e-3, batch 64, 10
         epochs, stratified 80/20, median/mode imputation, standardised,
         one-hot) on the five shipped datasets: training samples/s and test
         accuracy, at seed 42 and as the mean over seeds 0-9. anneal runs
         `anneal bench --stages train` on a config with the same recipe
         (and scikit-learn's weight initialisation, `init = "glorot"`),
         once per run, in fresh processes.
  e2e    time to first result on iris: the peers' whole train+eval scripts
         against `anneal train --config configs/iris.toml` (process start to
         a written, checksummed artifact and report).

Every process is started only when the machine is quiet (peers/harness.py
waits until other processes use < 10% of the CPUs). Results go to
benches/compare/results/compare.json and a Markdown table on stdout.
Separate sessions differ by 15-20% on this machine type: compare ratios
taken in one run, not absolute figures across runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, PEERS)
from harness import PY, bench_env, run_measured  # noqa: E402

DATASETS = {  # name -> target, as in peers/common.py
    "iris": "species",
    "wine": "class",
    "breast_cancer": "diagnosis",
    "penguins": "species",
    "titanic": "survived",
}


def anneal_binary(given: str | None) -> str:
    if given:
        return os.path.abspath(given)
    for target in [os.environ.get("CARGO_TARGET_DIR"),
                   os.path.expanduser("~/.cache/anneal/target"),
                   os.path.join(ROOT, "target")]:
        if target and os.path.exists(os.path.join(target, "release", "anneal")):
            return os.path.join(target, "release", "anneal")
    sys.exit("no anneal binary found: run `cargo build --release` or pass --anneal PATH")


def env() -> dict:
    e = bench_env()
    e["PEERS_DATASETS"] = os.path.join(ROOT, "datasets")
    return e


def measured(cmd: list[str], runs: int, cwd: str = PEERS, after=None) -> list[dict]:
    """`runs` measured runs after a warm-up; `after()`, when given, is called
    after each run (to read what the run wrote) and kept as its "after"."""
    run_measured(cmd, env=env(), cwd=cwd)  # warm-up: page cache, .pyc files
    rs = []
    for _ in range(runs):
        r = run_measured(cmd, env=env(), cwd=cwd)
        if after is not None:
            r["after"] = after()
        rs.append(r)
    return rs


def med(xs):
    return statistics.median(xs)


def recipe_config(csv: str, target: str, epochs: int, stratify: bool, seed: int = 42) -> str:
    """The peers' pipeline and MLP recipe as an anneal config (recipe.toml)."""
    with open(os.path.join(HERE, "recipe.toml")) as f:
        text = f.read()
    for key, value in {"@PATH@": json.dumps(csv), "@TARGET@": target,
                       "@STRATIFY@": "true" if stratify else "false",
                       "@EPOCHS@": str(epochs), "@SEED@": str(seed)}.items():
        text = text.replace(key, value)
    return text


def bench_json(anneal: str, config: str, stages: str, out: str, extra=()) -> list[str]:
    return [anneal, "bench", "--config", config, "--stages", stages, "--quiet", "--out", out,
            *extra]


def prep(anneal: str, runs: int, scratch: str, rows: int) -> dict:
    csv = os.path.join(PEERS, "data", "synth_1m.csv" if rows == 1_000_000 else f"synth_{rows}.csv")
    if not os.path.exists(csv):
        subprocess.run([PY, "gen_synth.py", "--rows", str(rows), "--out", csv], cwd=PEERS,
                       check=True, env=env())
    cfg = os.path.join(scratch, "synth.toml")
    with open(cfg, "w") as f:
        f.write(recipe_config(csv, "label", 1, stratify=False))
    out = os.path.join(scratch, "bench-prep.json")
    variants = {
        "pandas (C reader)": [PY, "prep_pandas.py", csv, "--engine", "c"],
        "polars-python (eager)": [PY, "prep_polars.py", csv],
        "anneal": bench_json(anneal, cfg, "prep", out),
    }
    res = {}

    def prepare_seconds():
        with open(out) as f:
            return json.load(f)["data"]["prepare_seconds"]

    for name, cmd in variants.items():
        rs = measured(cmd, runs, after=prepare_seconds if name == "anneal" else None)
        res[name] = {
            "process_wall_s": [r["wall_s"] for r in rs],
            "peak_rss_mib": [r["max_rss_mib"] for r in rs],
            "cpu_s": [r["user_s"] + r["sys_s"] for r in rs],
        }
        if name == "anneal":
            with open(out) as f:
                b = json.load(f)
            res[name]["inputs"] = b["data"]["inputs"]
            res[name]["in_process_prepare_s"] = med([r["after"] for r in rs])
        else:
            res[name]["inputs"] = rs[0]["result"]["X_train"][1]
            res[name]["in_process_prepare_s"] = med(
                [r["result"]["stages_s"]["pipeline_total"] for r in rs])
        print(f"prep: {name} done", file=sys.stderr)
    return {"file": csv, "bytes": os.path.getsize(csv), "tools": res}


ACCURACY_SEEDS = range(10)


def train(anneal: str, runs: int, scratch: str, datasets: list[str]) -> dict:
    """Samples/s of the seed-42 run, and the mean test accuracy over seeds
    0-9 (each seed draws its own split and weights): a 69-row test split
    moves by 1.4 points per row, so one seed cannot say "equal accuracy"."""
    res = {"anneal": {}}
    seeds = ",".join(map(str, ACCURACY_SEEDS))
    common = ["--datasets", ",".join(datasets), "--repeats", str(runs), "--seeds", seeds]
    peers = {
        "scikit-learn MLPClassifier": [PY, "train_sklearn.py", *common],
        "PyTorch (manual batches)": [PY, "train_torch.py", "--loader", "manual", *common],
    }
    for name, cmd in peers.items():
        try:
            r = run_measured(cmd, env=env(), cwd=PEERS)
        except RuntimeError as e:
            print(f"train: {name} skipped: {str(e)[-300:]}", file=sys.stderr)
            continue
        res[name] = {d: {"samples_per_s": v["samples_per_s"], "test_acc": v["test_acc_seed42"],
                         "test_acc_mean": v["test_acc_mean"]}
                     for d, v in r["result"]["datasets"].items()}
        print(f"train: {name} done", file=sys.stderr)
    for d in datasets:
        cfg = os.path.join(scratch, f"{d}.toml")
        with open(cfg, "w") as f:
            f.write(recipe_config(os.path.join(ROOT, "datasets", d + ".csv"), DATASETS[d], 10,
                                  stratify=True))
        out = os.path.join(scratch, f"bench-{d}.json")
        sps, acc = [], None
        for _ in range(runs):
            run_measured(bench_json(anneal, cfg, "train", out), env=env(), cwd=ROOT)
            with open(out) as f:
                b = json.load(f)
            sps.append(b["train"]["samples_per_second"])
            acc = b["train"].get("test_accuracy")
        accs = []
        for seed in ACCURACY_SEEDS:
            with open(cfg, "w") as f:
                f.write(recipe_config(os.path.join(ROOT, "datasets", d + ".csv"), DATASETS[d], 10,
                                      stratify=True, seed=seed))
            run_measured(bench_json(anneal, cfg, "train", out), env=env(), cwd=ROOT)
            with open(out) as f:
                accs.append(json.load(f)["train"]["test_accuracy"])
        res["anneal"][d] = {"samples_per_s": med(sps), "test_acc": acc,
                            "test_acc_mean": statistics.mean(accs)}
        print(f"train: anneal {d} done", file=sys.stderr)
    return res


def e2e(anneal: str, runs: int, scratch: str) -> dict:
    res = {}
    scripts = {
        "scikit-learn MLP": "e2e/iris_sklearn_mlp.py",
        "PyTorch MLP": "e2e/iris_torch_mlp.py",
        "LightGBM": "e2e/iris_lightgbm.py",
    }
    for name, script in scripts.items():
        try:
            rs = measured([PY, script], runs)
        except RuntimeError as e:
            print(f"e2e: {name} skipped: {str(e)[-300:]}", file=sys.stderr)
            continue
        res[name] = {"process_wall_s": [r["wall_s"] for r in rs],
                     "peak_rss_mib": [r["max_rss_mib"] for r in rs]}
    out = os.path.join(scratch, "iris-run")
    cmd = [anneal, "train", "--config", os.path.join(ROOT, "configs", "iris.toml"), "--out", out,
           "--force", "--quiet"]
    rs = measured(cmd, runs, cwd=ROOT)
    res["anneal"] = {"process_wall_s": [r["wall_s"] for r in rs],
                     "peak_rss_mib": [r["max_rss_mib"] for r in rs]}
    return res


def table(results: dict) -> str:
    lines = []
    if "prep" in results:
        p = results["prep"]["tools"]
        a = p["anneal"]
        lines += [f"### Data preparation, {results['prep']['bytes'] / 1e6:.0f} MB synthetic CSV "
                  "(whole process, median)", "",
                  "| tool | process s | in-process s | peak RSS MiB | inputs | anneal faster by | "
                  "anneal's memory / peer's |", "|---|---:|---:|---:|---:|---:|---:|"]
        for name, r in p.items():
            w, m = med(r["process_wall_s"]), med(r["peak_rss_mib"])
            ratio = w / med(a["process_wall_s"])
            mem = med(a["peak_rss_mib"]) / m
            lines.append(f"| {name} | {w:.2f} | {r['in_process_prepare_s']:.2f} | {m:.0f} | "
                         f"{r['inputs']} | {ratio:.2f}x | {mem:.2f} |")
        lines.append("")
    if "train" in results:
        t = results["train"]
        tools = list(t)
        lines += ["### MLP training (64-64, batch 64, Adam 1e-3, 10 epochs), samples/s "
                  "(test accuracy, seed 42 / mean of seeds 0-9)", "",
                  "| dataset | " + " | ".join(tools) + " | anneal / fastest peer |",
                  "|---|" + "---:|" * (len(tools) + 1)]
        for d in t["anneal"]:
            cells, best = [], 0.0
            for tool in tools:
                v = t[tool].get(d)
                if v is None:
                    cells.append("-")
                    continue
                acc = "" if v["test_acc"] is None else f" ({100 * v['test_acc']:.1f}%"
                if acc and v.get("test_acc_mean") is not None:
                    acc += f" / {100 * v['test_acc_mean']:.1f}%"
                acc += ")" if acc else ""
                cells.append(f"{v['samples_per_s'] / 1e3:.0f}k{acc}")
                if tool != "anneal":
                    best = max(best, v["samples_per_s"])
            ratio = f"{t['anneal'][d]['samples_per_s'] / best:.2f}x" if best else "-"
            lines.append(f"| {d} | " + " | ".join(cells) + f" | {ratio} |")
        lines.append("")
    if "e2e" in results:
        e = results["e2e"]
        a = med(e["anneal"]["process_wall_s"])
        lines += ["### Time to first result, iris (process start to exit, median)", "",
                  "| tool | s | peak RSS MiB | anneal faster by |", "|---|---:|---:|---:|"]
        for name, r in e.items():
            w = med(r["process_wall_s"])
            lines.append(f"| {name} | {w:.3f} | {med(r['peak_rss_mib']):.0f} | {w / a:.1f}x |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--anneal", help="the anneal binary [default: the release build]")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="prep,train,e2e")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the prep CSV")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    a = ap.parse_args()
    anneal = anneal_binary(a.anneal)
    only = a.only.split(",")
    scratch = tempfile.mkdtemp(prefix="anneal-compare-")
    results = {"anneal": anneal}
    try:
        if "prep" in only:
            results["prep"] = prep(anneal, a.runs, scratch, a.rows)
        if "train" in only:
            results["train"] = train(anneal, a.runs, scratch, a.datasets.split(","))
        if "e2e" in only:
            results["e2e"] = e2e(anneal, a.runs, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "compare.json"), "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    print(table(results))


if __name__ == "__main__":
    main()
