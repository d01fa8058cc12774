#!/usr/bin/env bash
#SBATCH --job-name=anneal-sweep
#SBATCH --array=0-3
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --time=00:30:00
#SBATCH --requeue
#SBATCH --signal=B:TERM@60
#SBATCH --open-mode=append
#SBATCH --output=slurm-%x-%A_%a.out
#
# A sweep as a Slurm job array: array task I trains trial I of the config's
# [sweep] into $OUT/trials/NNNN. `anneal train` reads the index from
# $SLURM_ARRAY_TASK_ID, so the command has no --trial.
#
# Submit from the repository root (the config's data path is relative to it):
#
#   examples/scale-out/slurm-array.sh submit
#
# sizes the array from `anneal sweep plan`, submits it, and submits a
# collect job that runs once every array task has succeeded
# (--dependency=afterok). By hand, that is:
#
#   jid=$(sbatch --parsable --array=0-3 examples/scale-out/slurm-array.sh)
#   sbatch --dependency=afterok:$jid --kill-on-invalid-dep=yes \
#          --job-name=anneal-collect --wrap "anneal sweep collect runs/iris-sweep"
#
# Environment (sbatch exports the submitting shell's environment):
#   ANNEAL        the anneal binary                        [anneal]
#   CONFIG        the sweep config                         [configs/iris-sweep.toml]
#   OUT           the sweep folder (on a shared filesystem) [runs/iris-sweep]
#   MAX_REQUEUES  requeues of one task before giving up    [3]
#   SBATCH_ARGS   extra sbatch options in submit mode, e.g. "--partition=cpu"
#   TRIALS        submit mode: the array size [the trial count of plan.json]
#
# Exit codes and what this script does with them:
#   0            trial done, or already finished earlier (skipped)
#   1, 2, 3      run failed / bad config or usage / bad data: the task FAILS,
#                no retry (rerunning would fail the same way), and the
#                afterok collect job is cancelled
#   75           transient failure (I/O and the like): requeue the task
#   143, 130     stopped by SIGTERM/SIGINT after writing a checkpoint: requeue;
#                the rerun resumes from the checkpoint
#
# Preemption and time limits: --signal=B:TERM@60 makes Slurm send SIGTERM to
# this batch shell 60 s before the time limit; the trap below forwards it to
# anneal, which finishes the current step, writes a checkpoint and exits 143,
# and the task requeues itself while it still runs. Preemption with
# PreemptMode=REQUEUE signals every process of the job (anneal included) and
# requeues the job itself (that is what --requeue allows); anneal treats a
# second SIGTERM like the first. Clusters can get the same requeue-on-exit
# behaviour without this script's help with RequeueExit=75,130,143 in slurm.conf.
set -uo pipefail

anneal=${ANNEAL:-anneal}
config=${CONFIG:-configs/iris-sweep.toml}
out=${OUT:-runs/iris-sweep}
max_requeues=${MAX_REQUEUES:-3}

if [ "${1:-}" = "submit" ]; then
  set -e
  # The plan fixes the trial count (and is what `anneal sweep collect`
  # ranks against); writing it first also fails fast on a bad config.
  "$anneal" sweep plan --config "$config" --out "$out" >/dev/null
  trials=${TRIALS:-$(grep -o '"index"' "$out/plan.json" | wc -l)}
  if [ "$trials" -lt 1 ]; then
    echo "slurm-array.sh: $out/plan.json lists no trials" >&2
    exit 2
  fi
  mkdir -p "$out/slurm"
  export ANNEAL="$anneal" CONFIG="$config" OUT="$out" MAX_REQUEUES="$max_requeues"
  # shellcheck disable=SC2086  # SBATCH_ARGS is a list of options
  array_job=$(sbatch --parsable ${SBATCH_ARGS:-} --array="0-$((trials - 1))" \
    --output="$out/slurm/%A_%a.out" "$0")
  array_job=${array_job%%;*}
  # shellcheck disable=SC2086
  collect_job=$(sbatch --parsable ${SBATCH_ARGS:-} --job-name=anneal-collect \
    --dependency="afterok:$array_job" --kill-on-invalid-dep=yes \
    --output="$out/slurm/collect-%j.out" \
    --wrap "exec \"\$ANNEAL\" sweep collect \"\$OUT\"")
  collect_job=${collect_job%%;*}
  echo "ARRAY_JOB=$array_job TRIALS=$trials"
  echo "COLLECT_JOB=$collect_job"
  exit 0
fi

# --- inside an array task -------------------------------------------------
if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
  echo "usage: sbatch [--array=0-N] $0   (or: $0 submit)" >&2
  exit 2
fi
echo "[$(date -u +%FT%TZ)] task $SLURM_ARRAY_TASK_ID (job $SLURM_JOB_ID, restart ${SLURM_RESTART_COUNT:-0}) on $(hostname -s)"

# anneal runs in the background so that this shell can forward SIGTERM
# (bash defers traps while a foreground child runs).
"$anneal" train --config "$config" --out "$out" &
child=$!
trap 'echo "[$(date -u +%FT%TZ)] SIGTERM: asking anneal to checkpoint"; kill -TERM "$child" 2>/dev/null' TERM
trap 'kill -INT "$child" 2>/dev/null' INT
wait "$child"
# A trapped signal interrupts `wait`: wait again until anneal has exited,
# then once more for its exit status (bash keeps it).
while kill -0 "$child" 2>/dev/null; do wait "$child"; done
wait "$child"
rc=$?
echo "[$(date -u +%FT%TZ)] task $SLURM_ARRAY_TASK_ID: anneal exited $rc"

case $rc in
  75 | 130 | 143)
    restarts=${SLURM_RESTART_COUNT:-0}
    if [ "$restarts" -ge "$max_requeues" ]; then
      echo "task $SLURM_ARRAY_TASK_ID: exit $rc after $restarts requeues; giving up" >&2
      exit "$rc"
    fi
    # Requeue this array task (its own job id). Slurm ends this instance and
    # starts the same command again later; anneal resumes the checkpoint.
    if scontrol requeue "$SLURM_JOB_ID"; then
      echo "task $SLURM_ARRAY_TASK_ID: requeued (exit $rc is retryable)"
      exit 0
    fi
    echo "task $SLURM_ARRAY_TASK_ID: scontrol requeue failed" >&2
    exit "$rc"
    ;;
  *)
    exit "$rc"
    ;;
esac
