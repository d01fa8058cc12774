#!/usr/bin/env bash
# Runs the Slurm path for real on one machine: a private single-node Slurm
# cluster (munged, slurmctld, slurmd) inside its own network namespace, the
# sweep submitted with slurm-array.sh as a job array plus its dependent
# collect job, the leaderboard printed, and everything torn down again.
#
# Usage (as root; it changes to the repository root itself):
#   examples/scale-out/slurm-local.sh [--dummy] [--no-requeue-test] [--preempt-test] [--keep]
#
#   --dummy            a stand-in for anneal (a few lines of shell) instead of
#                      the real binary: checks the Slurm setup alone
#   --no-requeue-test  do not make task 1's first attempt exit 75 (see below)
#   --preempt-test     afterwards, preempt a long trial as Slurm does before a
#                      time limit (SIGTERM to the batch shell) and check that
#                      anneal checkpoints, exits 143, the task requeues and
#                      the rerun resumes from the checkpoint and completes
#   --keep             keep the temporary folder (slurm.conf, daemon logs)
#
# Environment:
#   ANNEAL   the anneal binary [anneal on PATH, else
#            $HOME/.cache/anneal/target/release/anneal]
#   CONFIG   the sweep config  [configs/iris-sweep.toml]
#   OUT      the sweep folder  [runs/slurm-local/iris-sweep]; a trial that
#            already finished there is skipped, so a rerun only does what
#            is missing
#   TIMEOUT  seconds to wait for the jobs [900]
#   PREEMPT_EPOCHS  --preempt-test: the long trial's epochs [20000]
#   PREEMPT_AFTER   --preempt-test: seconds of training before SIGTERM [2]
#   TRIALS   the array size [the plan's trial count]; TRIALS=5 with the
#            4-trial iris sweep shows a failed sweep with the real binary:
#            task 4 exits 2 (no such trial), FAILS, is not retried, the
#            collect job is cancelled and this script exits 1
#   DUMMY_FAIL_TASK  with --dummy: the array task that exits 3 (bad data)
#
# The requeue test: unless --no-requeue-test, task 1 runs through a wrapper
# that exits 75 ("transient failure, retry") on its first attempt without
# training, so slurm-array.sh's `scontrol requeue` path runs for real; the
# requeued attempt trains normally.
#
# Needs: Linux, root (network namespaces, daemons), Debian/Ubuntu's
# slurm-wlm and munge (installed with apt-get when missing). Nothing
# listens outside the namespace, so an existing Slurm or munge installation
# on the machine is neither used nor disturbed.
#
# Exit code: 0 when every array task and the collect job completed (and the
# preemption test passed); 1 when not; 124 on timeout; 2 on a setup error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

dummy=0 requeue_test=1 preempt_test=0 keep=0
for arg in "$@"; do
  case $arg in
    --dummy) dummy=1 ;;
    --no-requeue-test) requeue_test=0 ;;
    --preempt-test) preempt_test=1 ;;
    --keep) keep=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "slurm-local.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

config=${CONFIG:-configs/iris-sweep.toml}
out=${OUT:-runs/slurm-local/iris-sweep}
[ "$dummy" = 1 ] && out=${OUT:-runs/slurm-local/dummy}
timeout_s=${TIMEOUT:-900}
started=$SECONDS

log() { echo "[slurm-local $(date -u +%T)] $*"; }
die() { echo "slurm-local.sh: $*" >&2; exit 2; }

[ "$(uname -s)" = Linux ] || die "needs Linux (network namespaces)"
[ "$(id -u)" = 0 ] || die "needs root (network namespace, Slurm daemons); try sudo"

# --- packages --------------------------------------------------------------
missing=()
for cmd in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge mungekey:munge; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || missing+=("${cmd#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "install slurm-wlm and munge (no apt-get here)"
  log "installing slurm-wlm and munge with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq || die "apt-get update failed"
  # The packages' service scripts do not start anything without systemd;
  # where systemd runs they start the system munged/slurmd, which this
  # script does not use.
  timeout 600 apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null \
    || die "apt-get install slurm-wlm munge failed"
fi
command -v ip >/dev/null || die "needs ip (iproute2)"
command -v nsenter >/dev/null || die "needs nsenter (util-linux)"
slurm_version=$(slurmctld -V)
log "using $slurm_version, $(munged --version 2>&1 | head -n1)"

# --- temporary folder, namespace, teardown ---------------------------------
work=$(mktemp -d /tmp/anneal-slurm.XXXXXX)
chmod 755 "$work" # munged wants its socket's folders searchable by all
ns=anneal-slurm-$$

teardown() {
  local rc=$?
  set +e
  trap - EXIT INT TERM HUP
  if [ -n "${array_job:-}" ] && [ -n "$(inns timeout 10 squeue -h -o %i 2>/dev/null)" ]; then
    # Jobs still queued or running (timeout, interrupt): cancel them while
    # slurmctld still runs, so that anneal gets its SIGTERM, checkpoints
    # and exits 143 (and its task's requeue is refused: the job is gone).
    log "cancelling the remaining jobs"
    inns timeout 10 scancel --user=root 2>/dev/null
    for _ in $(seq 30); do
      [ -z "$(inns timeout 10 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  if ip netns list 2>/dev/null | grep -qw "$ns"; then
    # Everything this script started lives in the namespace: the daemons,
    # slurmstepd and the jobs. Stop them gently, then for good.
    local pids
    pids=$(ip netns pids "$ns" 2>/dev/null)
    if [ -n "$pids" ]; then
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null
      for _ in $(seq 20); do
        [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
        sleep 0.5
      done
      pids=$(ip netns pids "$ns" 2>/dev/null)
      # shellcheck disable=SC2086
      [ -n "$pids" ] && kill -KILL $pids 2>/dev/null && sleep 0.5
    fi
    ip netns delete "$ns"
  fi
  if [ "$keep" = 1 ]; then
    log "kept $work (slurm.conf, logs)"
  else
    rm -rf "$work"
  fi
  log "torn down after $((SECONDS - started)) s, exit $rc"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --- the anneal binary -----------------------------------------------------
mkdir -p "$work/bin"
if [ "$dummy" = 1 ]; then
  # A stand-in that speaks just enough of anneal's interface for
  # slurm-array.sh: `sweep plan` (4 trials), `train` (index from
  # $SLURM_ARRAY_TASK_ID), `sweep collect`.
  anneal=$work/bin/anneal-dummy
  cat >"$anneal" <<'EOF'
#!/usr/bin/env bash
set -eu
out=runs/dummy
while [ $# -gt 0 ]; do
  case $1 in --out) out=$2; shift ;; --config | --trial) shift ;; *) args="${args:-} $1" ;; esac
  shift
done
case ${args:-} in
  " sweep plan") mkdir -p "$out"; printf '{"trials": [{"index": 0}, {"index": 1}, {"index": 2}, {"index": 3}]}\n' >"$out/plan.json" ;;
  " train")
    if [ "${DUMMY_FAIL_TASK:-}" = "$SLURM_ARRAY_TASK_ID" ]; then echo "dummy: bad data" >&2; exit 3; fi
    d=$out/trials/$(printf %04d "$SLURM_ARRAY_TASK_ID"); mkdir -p "$d"; sleep 2
    printf '{"valid": {"accuracy": 0.%s}}\n' "$((90 + SLURM_ARRAY_TASK_ID))" >"$d/metrics.json"
    echo "dummy trial $SLURM_ARRAY_TASK_ID on $(hostname -s)" ;;
  " sweep collect "*) out=${args#" sweep collect "}; grep -H . "$out"/trials/*/metrics.json | tee "$out/leaderboard.md" ;;
  *) echo "dummy anneal: unsupported:${args:-}" >&2; exit 2 ;;
esac
EOF
  chmod +x "$anneal"
else
  anneal=${ANNEAL:-$(command -v anneal || echo "$HOME/.cache/anneal/target/release/anneal")}
  [ -x "$anneal" ] || die "no anneal binary at $anneal (set ANNEAL, or --dummy to test Slurm alone)"
  anneal=$(cd "$(dirname "$anneal")" && pwd)/$(basename "$anneal")
  "$anneal" sweep --help >/dev/null 2>&1 || die "$anneal has no 'sweep' subcommand (too old)"
  [ -f "$config" ] || die "no config $config"
fi
log "anneal: $anneal"

job_anneal=$anneal
if [ "$requeue_test" = 1 ]; then
  job_anneal=$work/bin/anneal-flaky
  cat >"$job_anneal" <<EOF
#!/usr/bin/env bash
# Task 1's first attempt fails as a transient error would (exit 75).
if [ "\${1:-}" = train ] && [ "\${SLURM_ARRAY_TASK_ID:-}" = 1 ] && [ "\${SLURM_RESTART_COUNT:-0}" = 0 ]; then
  echo "requeue test: task 1, first attempt: exit 75 without training" >&2
  exit 75
fi
exec "$anneal" "\$@"
EOF
  chmod +x "$job_anneal"
fi

array_job='' collect_job=''

# --- network namespace -----------------------------------------------------
# Only a loopback interface: nothing inside can reach the network, nothing
# outside can reach the daemons. Slurm resolves its addresses with
# AI_ADDRCONFIG, which finds no IPv4 address when 127.0.0.1 is the only one,
# hence a second (private, benchmark-range) address on lo.
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 198.18.0.1/32 dev lo
# nsenter --net, not `ip netns exec`: the latter remounts /sys, which hides
# /sys/fs/cgroup, and slurmd refuses to start without it.
inns() { nsenter --net="/run/netns/$ns" -- "$@"; }

# --- munge -----------------------------------------------------------------
mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/log" "$work/run"
if ! mungekey --create --keyfile="$work/munge/munge.key" 2>/dev/null; then
  dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 600 "$work/munge/munge.key"
inns munged --socket="$work/munge/munge.socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
  --seed-file="$work/munge/munged.seed"

# --- slurm.conf ------------------------------------------------------------
node=$(hostname -s)
cpus=$(nproc)
cat >"$work/slurm.conf" <<EOF
# Generated by examples/scale-out/slurm-local.sh: one node, no accounting,
# no cgroups, everything under $work.
ClusterName=anneal-local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job may start again only after its credential has
# expired (120 s by default); 10 s keeps the requeue test short.
AuthInfo=socket=$work/munge/munge.socket,cred_expire=10
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$work/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Look at the queue every few seconds rather than every minute.
SchedulerParameters=sched_interval=2,bf_interval=2
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
ReturnToService=2
# Seconds between a job's SIGTERM and SIGKILL (anneal checkpoints within a
# training step).
KillWait=10
# Keep finished jobs visible to scontrol long enough to read their states.
MinJobAge=3600
# Cancel the collect job when an array task fails (afterok never met).
DependencyParameters=kill_invalid_depend
# Job ids that differ from run to run (the state folder is new every time):
# the task logs in the sweep folder are named after them.
FirstJobId=$(($(date +%s) % 600000 * 100 + 1))
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$work/slurm.conf
# The jobs inherit this environment (sbatch --export=ALL): drop scheduler
# variables that a surrounding job might have set.
for v in $(compgen -v SLURM_) JOB_COMPLETION_INDEX VC_TASK_INDEX; do
  [ "$v" = SLURM_CONF ] || unset "$v"
done

log "starting slurmctld and slurmd (node $node, $cpus CPUs) in network namespace $ns"
inns slurmctld -f "$SLURM_CONF"
inns slurmd -f "$SLURM_CONF" -N "$node"
state=
for _ in $(seq 60); do
  state=$(inns timeout 10 sinfo -h -n "$node" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 1
done
if [ "$state" != idle ]; then
  echo "slurm-local.sh: node not idle after 60 s (state '${state:-none}')" >&2
  tail -n 20 "$work/log/slurmctld.log" "$work/log/slurmd.log" "$work/munge/munged.log" >&2 || true
  exit 2
fi
inns sinfo

# --- helpers -------------------------------------------------------------
# Waits until none of the jobs in $1 (comma-separated) is queued or running;
# exit 124 past the deadline.
deadline=$((SECONDS + timeout_s))
wait_jobs() {
  local queue last=''
  while :; do
    queue=$(inns timeout 30 squeue -h -j "$1" -o '%i %T %r' 2>/dev/null || echo "? squeue failed")
    [ -z "$queue" ] && return 0
    if [ "$queue" != "$last" ]; then
      while read -r l; do echo "    $l"; done <<<"$queue"
      last=$queue
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "slurm-local.sh: jobs still queued or running after $timeout_s s:" >&2
      echo "$queue" >&2
      exit 124
    fi
    sleep 2
  done
}
# One line per job (per array task) from slurmctld's memory; sets $failed
# when one did not complete.
field() { sed -E -n "s/(^|.*[[:space:]])$1=([^[:space:]]*).*/\2/p" <<<"$2"; }
report_jobs() {
  local line task state runtime rows=''
  while read -r line; do
    [ -n "$line" ] || continue
    task=$(field ArrayTaskId "$line")
    state=$(field JobState "$line")
    runtime=$(field RunTime "$line")
    # A job cancelled before it started has no meaningful run time.
    [[ $runtime =~ ^[0-9]{3,}- ]] && runtime=-
    rows+=$(printf '%-10s %-8s %-10s %-6s %-9s %s' "$(field JobId "$line")" "${task:-collect}" \
      "$state" "$(field ExitCode "$line")" "$(field Restarts "$line")" "$runtime")$'\n'
    [ "$state" = COMPLETED ] || failed=1
  done < <(for j in "$@"; do inns timeout 30 scontrol -o show job "$j"; done)
  printf '%-10s %-8s %-10s %-6s %-9s %s\n' job task state exit restarts runtime
  sort -k2,2n <<<"${rows%$'\n'}"
}
# A task's log, without anneal's per-epoch progress lines.
show_log() {
  [ -f "$1" ] || return 0
  echo "== $1"
  grep -v '^epoch [0-9]*/[0-9]* ' "$1" || true
  local n
  n=$(grep -c '^epoch [0-9]*/[0-9]* ' "$1" || true)
  [ "${n:-0}" = 0 ] || echo "   ($n per-epoch progress lines left out)"
}
failed=0

# --- the sweep -------------------------------------------------------------
submitted=$SECONDS
submit=$(inns env ANNEAL="$job_anneal" CONFIG="$config" OUT="$out" \
  timeout 120 "$here/slurm-array.sh" submit)
echo "$submit"
array_job=$(sed -n 's/^ARRAY_JOB=\([0-9]*\).*/\1/p' <<<"$submit")
collect_job=$(sed -n 's/^COLLECT_JOB=\([0-9]*\).*/\1/p' <<<"$submit")
trials=$(sed -n 's/.*TRIALS=\([0-9]*\).*/\1/p' <<<"$submit")
if [ -z "$array_job" ] || [ -z "$collect_job" ]; then die "submission failed"; fi
log "array job $array_job ($trials tasks), collect job $collect_job; waiting (at most $timeout_s s)"
wait_jobs "$array_job,$collect_job"
sweep_s=$((SECONDS - submitted))
log "all jobs left the queue after $sweep_s s"
echo
report_jobs "$array_job" "$collect_job"
echo
for f in "$out/slurm/${array_job}"_*.out "$out/slurm/collect-$collect_job.out"; do
  show_log "$f"
done
if [ "$requeue_test" = 1 ]; then
  echo "== requeues recorded by slurmctld"
  grep -i 'requeu' "$work/log/slurmctld.log" || echo "(none)"
fi
if [ -f "$out/leaderboard.md" ]; then
  echo
  echo "== $out/leaderboard.md"
  cat "$out/leaderboard.md"
fi
echo
if [ "$failed" = 1 ]; then
  log "FAILED: not every job completed ($slurm_version, $((SECONDS - started)) s)"
  exit 1
fi
log "OK: $slurm_version, array of $trials tasks and the collect job completed in $sweep_s s"

# --- preemption test -------------------------------------------------------
if [ "$preempt_test" = 1 ]; then
  # The same sweep with many more epochs, so that trial 0 is still training
  # when the signal comes; its data path made absolute, as the copy lives
  # in the temporary folder, like its sweep folder.
  pout=$work/preempt
  cfgdir=$(cd "$(dirname "$config")" && pwd)
  pconfig=$work/configs/$(basename "$config" .toml)-long.toml
  mkdir -p "$work/configs" "$pout/slurm"
  sed -e "s|^epochs *=.*|epochs = ${PREEMPT_EPOCHS:-20000}|" \
    -e "s|^path *= *\"\([^/\"][^\"]*\)\"|path = \"$cfgdir/\1\"|" "$config" >"$pconfig"
  if [ "$dummy" = 1 ]; then
    # The stand-in trains by sleeping 2 s; make it long enough.
    sed -i 's/mkdir -p "$d"; sleep 2/mkdir -p "$d"; sleep 30 \& wait $!/' "$anneal"
  fi
  log "preemption test: trial 0 of $pconfig (${PREEMPT_EPOCHS:-20000} epochs) into $pout"
  pjob=$(inns env ANNEAL="$anneal" CONFIG="$pconfig" OUT="$pout" timeout 30 \
    sbatch --parsable --array=0 --output="$pout/slurm/%A_%a.out" "$here/slurm-array.sh")
  pjob=${pjob%%;*}
  # Signal once anneal prints epoch lines: it is training, its SIGTERM
  # handler is in place.
  for _ in $(seq 240); do
    grep -q '^epoch [0-9]*/' "$pout/slurm/${pjob}_0.out" 2>/dev/null && break
    [ -n "$(inns timeout 30 squeue -h -j "$pjob" 2>/dev/null)" ] || break
    [ "$SECONDS" -ge "$deadline" ] && exit 124
    sleep 0.25
  done
  sleep "${PREEMPT_AFTER:-2}"
  # What --signal=B:TERM@60 does 60 s before the time limit: SIGTERM to the
  # batch shell, which forwards it to anneal.
  log "preemption test: SIGTERM to the batch shell of ${pjob}_0"
  inns timeout 30 scancel --signal=TERM --batch "${pjob}_0"
  wait_jobs "$pjob"
  echo
  report_jobs "$pjob"
  plog=$(cat "$pout/slurm/${pjob}_0.out" 2>/dev/null || true)
  show_log "$pout/slurm/${pjob}_0.out"
  echo
  if [ "$failed" = 1 ]; then
    log "FAILED: preemption test: the trial did not complete"
    exit 1
  elif ! grep -q 'anneal exited 143' <<<"$plog"; then
    log "FAILED: preemption test: anneal never exited 143 (finished before the signal? raise PREEMPT_EPOCHS)"
    exit 1
  elif [ "$dummy" = 0 ] && ! grep -q 'resuming from' <<<"$plog"; then
    log "FAILED: preemption test: the requeued run did not resume from a checkpoint"
    exit 1
  fi
  log "OK: preemption test: SIGTERM -> exit 143 -> requeue -> resumed -> completed"
  if [ "$dummy" = 0 ]; then
    # anneal resumes exactly: the interrupted trial must score what the same
    # trial scores when nothing interrupts it.
    log "preemption test: training the same trial uninterrupted, outside Slurm, to compare"
    "$anneal" train --config "$pconfig" --trial 0 --out "$work/uninterrupted" --quiet >/dev/null
    a=$work/uninterrupted/trials/0000 b=$pout/trials/0000
    id_a=$(grep -o '"id": *"[0-9a-f]*"' "$a/artifact/manifest.json" || true)
    id_b=$(grep -o '"id": *"[0-9a-f]*"' "$b/artifact/manifest.json" || true)
    if cmp -s "$a/metrics.json" "$b/metrics.json" && [ -n "$id_a" ] && [ "$id_a" = "$id_b" ]; then
      id_b=${id_b%\"}
      log "OK: preemption test: metrics.json and artifact id (${id_b##*\"}) identical to the uninterrupted run's"
    else
      log "FAILED: preemption test: the resumed trial differs from the uninterrupted run ($id_a vs $id_b)"
      diff "$a/metrics.json" "$b/metrics.json" | head -n 20
      exit 1
    fi
  fi
fi
