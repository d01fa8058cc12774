#!/usr/bin/env python3
"""Run an anneal sweep on a Ray cluster with Ray Tune.

anneal owns the sweep: `anneal sweep plan` lists the trials (a grid or a
random search from the config's `[sweep]` section) and `anneal train
--trial I` trains trial I into OUT/trials/NNNN. Ray Tune only schedules:
its search space is the trial index, each Tune trial runs the anneal binary
as a subprocess, reads back OUT/trials/NNNN/metrics.json
({"<split>": {"<metric>": number}}) and reports every metric as
"<split>/<metric>". Tune ranks by the sweep's own objective (plan.json's
`objective`, `split` and `maximize`), and `anneal sweep collect` writes the
same ranking as OUT/leaderboard.{json,md,html} at the end.

Usage, from the repository root (the config's data path is relative to the
config's folder):

    pip install "ray[tune]"
    python examples/scale-out/ray_tune.py --config configs/iris-sweep.toml \
        --out runs/iris-sweep [--anneal PATH] [--cpus-per-trial 1]

On a multi-node cluster (`ray.init(address="auto")`, or RAY_ADDRESS), every
node needs the anneal binary, the config and its data at the same paths, and
OUT on a shared filesystem.

anneal's exit codes, and what happens here:
    0           trial done (or done before: a finished trial is skipped)
    1, 2, 3     run failed / bad config / bad data: the Tune trial errors
                and is not retried (a retry would fail the same way)
    75          transient failure: run the same command again
    143, 130    stopped by SIGTERM/SIGINT after writing a checkpoint: run
                the same command again, which resumes from the checkpoint
Retries of 75/143/130 happen inside the Tune trial (up to --retries times),
so Tune's own FailureConfig stays at max_failures=0 and never retries a
trial that failed for good. A Ray worker that is killed outright (node
lost) errors its trial; rerunning this script reruns only the trials that
have not finished, since anneal skips finished ones.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

RETRYABLE = {75: "transient failure", 130: "SIGINT, checkpoint written", 143: "SIGTERM, checkpoint written"}
PERMANENT = {1: "run failed", 2: "bad config or usage", 3: "bad data or artifact"}
# Index variables that anneal also reads: a Ray worker started inside a
# Kubernetes Indexed Job or a Slurm array must not pass its own index on.
SCHEDULER_INDEX_VARS = ("JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "VC_TASK_INDEX")


class TrialFailed(RuntimeError):
    """anneal exited with a code that retrying would not change."""


def default_anneal() -> str:
    return (
        os.environ.get("ANNEAL")
        or shutil.which("anneal")
        or str(Path.home() / ".cache/anneal/target/release/anneal")
    )


def plan_sweep(anneal: str, config: Path, out: Path) -> dict:
    """Writes OUT/plan.json with `anneal sweep plan` and returns it."""
    subprocess.run([anneal, "sweep", "plan", "--config", str(config), "--out", str(out)], check=True)
    return json.loads((out / "plan.json").read_text())


def run_trial(anneal: str, config: Path, out: Path, index: int, retries: int) -> dict:
    """Trains trial `index` (retrying 75/143/130) and returns its metrics.json."""
    env = {k: v for k, v in os.environ.items() if k not in SCHEDULER_INDEX_VARS}
    cmd = [anneal, "train", "--config", str(config), "--out", str(out), "--trial", str(index), "--quiet"]
    for attempt in range(retries + 1):
        rc = subprocess.run(cmd, env=env).returncode
        if rc == 0:
            break
        if rc in RETRYABLE and attempt < retries:
            print(f"trial {index}: exit {rc} ({RETRYABLE[rc]}); retrying", file=sys.stderr)
            time.sleep(min(2**attempt, 30))
            continue
        raise TrialFailed(f"trial {index}: anneal exited {rc} ({PERMANENT.get(rc) or RETRYABLE.get(rc) or 'unexpected'})")
    metrics_path = out / "trials" / f"{index:04d}" / "metrics.json"
    return json.loads(metrics_path.read_text())


def flatten(metrics: dict) -> dict:
    """{"valid": {"accuracy": 0.9}} -> {"valid/accuracy": 0.9}"""
    return {
        f"{split}/{name}": value
        for split, by_name in metrics.items()
        for name, value in by_name.items()
        if isinstance(value, (int, float))
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path("configs/iris-sweep.toml"))
    parser.add_argument("--out", type=Path, default=None, help="sweep folder [runs/<config stem>]")
    parser.add_argument("--anneal", default=default_anneal(), help="the anneal binary [$ANNEAL, anneal on PATH]")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--retries", type=int, default=3, help="reruns of a trial that exits 75/143/130")
    parser.add_argument("--address", default=None, help="Ray cluster address [a local Ray]")
    args = parser.parse_args()

    import ray
    from ray import tune

    # Absolute paths: Tune runs each trial in a folder of its own.
    anneal = str(Path(args.anneal).resolve()) if os.sep in args.anneal else args.anneal
    config = args.config.resolve()
    out = (args.out or Path("runs") / config.stem).resolve()
    plan = plan_sweep(anneal, config, out)
    trials = plan["trials"]
    metric = f"{plan['split']}/{plan['objective']}"
    mode = "max" if plan["maximize"] else "min"
    print(f"{len(trials)} trials of {plan['config']}, ranked by {metric} ({mode})")

    def trainable(cfg: dict) -> None:
        index = cfg["trial"]
        result = flatten(run_trial(anneal, config, out, index, args.retries))
        result["trial_index"] = index
        result["anneal_trial_id"] = trials[index]["id"]  # Tune owns "trial_id"
        tune.report(result)

    ray.init(address=args.address, include_dashboard=False)
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": args.cpus_per_trial}),
        param_space={"trial": tune.grid_search([t["index"] for t in trials])},
        tune_config=tune.TuneConfig(metric=metric, mode=mode),
        run_config=tune.RunConfig(
            name=f"anneal-{config.stem}",
            storage_path=str(out / "ray"),
            failure_config=tune.FailureConfig(max_failures=0),
            verbose=1,
        ),
    )
    results = tuner.fit()

    errors = [r for r in results if r.error]
    for r in errors:
        print(f"error: {r.error}", file=sys.stderr)
    if len(errors) == len(trials):
        return 1
    best = results.get_best_result()
    i = best.metrics["trial_index"]
    values = trials[i]["values"]
    print(f"best trial {i} ({best.metrics['anneal_trial_id']}): {metric} = {best.metrics[metric]}, {values}")
    # The same ranking as files beside the trials, and the best artifact.
    subprocess.run([anneal, "sweep", "collect", str(out)], check=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
