#!/usr/bin/env bash
# The anneal CI pipeline, shared by the GitHub Actions workflow and the
# GitLab CI job beside it (tests/ci_examples.rs runs it for real):
#
#   1. check the training data against the last champion's training data;
#   2. train;
#   3. gate the new model against the registry's champion;
#   4. push it to the registry as a candidate and, if the gate passed,
#      promote it to champion.
#
# Usage: examples/ci/pipeline.sh CONFIG [POLICY]
# Environment:
#   ANNEAL           the anneal binary            [anneal]
#   ANNEAL_REGISTRY  the registry folder; must persist between pipelines
#                    (a CI cache, a mounted volume or a synced bucket)
#   RUN_DIR          where the run is written     [runs/ci]
#   GATE_OVERRIDE    a reason to force a failing gate to pass (recorded)
#   PROMOTE          1 to push and promote a passing model, 0 to gate only
#                    (pull requests)                  [1]
# Exit code: 0 promoted (or passed), 1 gate or data check failed, 2 usage
# or config error, 3 data or artifact error.
set -euo pipefail

config=${1:?usage: pipeline.sh CONFIG [POLICY]}
policy=${2:-$(dirname "$0")/gate.toml}
anneal=${ANNEAL:-anneal}
run=${RUN_DIR:-runs/ci}
: "${ANNEAL_REGISTRY:?set ANNEAL_REGISTRY to a folder that persists between pipelines}"
export ANNEAL_REGISTRY

# The registry name: the config's file name, as `anneal train` names the
# artifact unless [model] name says otherwise.
name=${MODEL_NAME:-$(basename "$config" .toml)}
override=()
if [ -n "${GATE_OVERRIDE:-}" ]; then
  override=(--override-reason "$GATE_OVERRIDE")
fi

# 1. Data: compare this pipeline's training data with the champion's
#    (skipped on the first run, when there is no champion yet).
if "$anneal" registry show "$name@champion" >/dev/null 2>&1; then
  "$anneal" registry pull "$name@champion" --out "$run.champion"
  data=$("$anneal" config --config "$config" --data-path)
  "$anneal" check-data --artifact "$run.champion" --data "$data" \
    --policy "$policy" --out "$run.check-data" "${override[@]}"
  rm -rf "$run.champion"
fi

# 2. Train.
"$anneal" train --config "$config" --out "$run" --force --quiet

# 3. Gate against the champion on the same rows (a first run has none and
#    passes on the policy's value thresholds alone).
"$anneal" gate --report "$run" --policy "$policy" --baseline "$name@champion" \
  --out "$run/gate" "${override[@]}"

# 4. Register the candidate and promote it.
if [ "${PROMOTE:-1}" = "0" ]; then
  echo "gate passed; not promoting (PROMOTE=0)"
  exit 0
fi
"$anneal" registry push "$run/artifact" --name "$name" --alias candidate
"$anneal" registry alias "$name@champion" "$name@candidate"
