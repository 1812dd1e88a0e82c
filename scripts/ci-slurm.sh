#!/usr/bin/env bash
# CI step: the smoke study through `snakemake --profile slurm` on a live one-node SLURM
# cluster (scripts/local-slurm.sh), then a training job cancelled with scancel after a
# checkpoint: the profile's retry resumes it, and it ends as an uninterrupted run.
# Usage: scripts/ci-slurm.sh (from the repo root, after `make .venv/.installed`).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$REPO/.venv/bin"
WORK="$(mktemp -d /tmp/mirage-slurm-ci.XXXXXX)"
export MIRAGE_SLURM_DIR="$WORK/cluster" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
# the cluster's GPUs are fake (GRES on /dev/null): its GPU jobs may run on the CPU (mirage.core.devices;
# sbatch hands the submitting environment to every job)
export MIRAGE_ALLOW_CPU=1

# the trap first: a start that fails half-way still stops what it started
trap '"$REPO/scripts/local-slurm.sh" stop' EXIT
"$REPO/scripts/local-slurm.sh" start
export SLURM_CONF="$MIRAGE_SLURM_DIR/slurm.conf"

# `snakemake --profile slurm` as users type it: the profile installed where Snakemake
# looks a bare name up (make slurm-profile does the same in ~/.config/snakemake)
export XDG_CONFIG_HOME="$WORK/xdg"
make -C "$REPO" --no-print-directory slurm-profile
cp "$REPO/tests/configs/smoke.yaml" "$WORK/smoke.yaml"
cp "$REPO/tests/configs/smoke-slurm.yaml" "$WORK/slurm.yaml"
# the local cluster has no accounting database: squeue for status (MinJobAge keeps
# finished jobs visible), no account, and a short first status check
LOCAL=(--slurm-status-command squeue --slurm-no-account --slurm-init-seconds-before-status-checks 2
       --default-resources slurm_partition=debug --slurm-keep-successful-logs)
run() {
    (cd "$WORK" && "$BIN/snakemake" -s "$REPO/Snakefile" --profile slurm --configfile smoke.yaml slurm.yaml \
        --directory "$WORK/study" "${LOCAL[@]}" "$@")
}

echo "== the smoke study through SLURM"
timeout -s INT 1500 bash -c "$(declare -f run); $(declare -p BIN REPO WORK LOCAL); run" >"$WORK/run1.log" 2>&1 \
    || { tail -50 "$WORK/run1.log"; exit 1; }
test -s "$WORK/study/results/tables/claims.parquet"
test -s "$WORK/study/results/figures/gain_vs_alignment.png"
# every training job went through sbatch with a GPU request
trains=$(squeue -h -t all -o '%i %k' | grep -c 'rule_train_claim' || true)
gpu_trains=$(for j in $(squeue -h -t all -o '%i %k' | awk '/rule_train_claim/ {print $1}'); do
    scontrol show job "$j" | grep -c 'TresPerJob=gres:gpu:1' || true; done | paste -sd+ | bc)
echo "train_claim jobs seen by SLURM: $trains, with a GPU request: $gpu_trains"
[ "$trains" -ge 11 ] && [ "$gpu_trains" -eq "$trains" ]
if squeue -h -t all -o '%i %k' | grep -q 'rule_plot_'; then echo "figure jobs were submitted to SLURM" >&2; exit 1; fi

echo "== a 2-GPU training job: one SLURM task with 2 GPUs, which starts its own 2 training processes"
printf 'rl: {grpo: {steps: 4}}\nmodels: {toy_k: {sft: {steps: 150}}}\n' >"$WORK/two-gpu.yaml"
# (the target first: --set-resources takes every word after it)
(cd "$WORK" && timeout -s INT 900 "$BIN/snakemake" results/rl/toy_k/add/random/seed1/curves.parquet \
    -s "$REPO/Snakefile" --configfile "$REPO/tests/configs/kill_resume.yaml" "$WORK/two-gpu.yaml" --profile slurm \
    --directory "$WORK/two-gpu" "${LOCAL[@]}" --verbose --set-resources train_claim:gpu=2 train_claim:cpus_per_task=2) \
    >"$WORK/run-2gpu.log" 2>&1 || { tail -50 "$WORK/run-2gpu.log"; exit 1; }
# the sbatch call of the training job keeps its GPUs on one node (resources.*.nodes)
grep 'sbatch call' "$WORK/run-2gpu.log" | grep 'rule_train_claim' | grep -q -- '--nodes=1' \
    || { grep 'sbatch call:' "$WORK/run-2gpu.log" >&2; echo "the 2-GPU job was not submitted with --nodes=1" >&2; exit 1; }
job=$(squeue -h -t all -o '%i %k' | awk '/rule_train_claim/ {print $1}' | sort -n | tail -1)
scontrol show job "$job" | grep -E 'TresPerJob|NumTasks|NumNodes'
scontrol show job "$job" | grep -q 'TresPerJob=gres:gpu:2' || { echo "job $job did not ask SLURM for 2 GPUs" >&2; exit 1; }
scontrol show job "$job" | grep -q 'NumTasks=1 ' || { echo "job $job is not one task" >&2; exit 1; }
grep -q 'training with 2 processes' "$WORK/two-gpu/logs/train_claim/toy_k/add/random/seed1.log" \
    || { echo "the 2-GPU job did not start 2 training processes" >&2; exit 1; }
"$BIN/python" -c 'import json, sys; run = json.load(open(sys.argv[1])); assert run["processes"] == 2, run; print("SLURM job ran", run["processes"], "training processes")' \
    "$WORK/two-gpu/results/rl/toy_k/add/random/seed1/model/run.json"

echo "== a training job cancelled after a checkpoint: the profile's retry resumes it, to the uninterrupted result"
# tests/test_kill_resume.py's study with a longer GRPO run, so that the cancel lands mid-training
printf 'rl: {grpo: {steps: 80}}\n' >"$WORK/longer.yaml"
KR=(-s "$REPO/Snakefile" --configfile "$REPO/tests/configs/kill_resume.yaml" "$WORK/longer.yaml")
TARGETS=(results/samples/rl/toy_k/add/random/seed1.parquet results/samples/base/toy_k/add.eval.parquet)
"$BIN/snakemake" "${KR[@]}" --directory "$WORK/reference" --cores 2 "${TARGETS[@]}" >"$WORK/reference.log" 2>&1 \
    || { tail -50 "$WORK/reference.log"; exit 1; }
(cd "$WORK" && timeout -s INT 1500 "$BIN/snakemake" "${KR[@]}" --profile slurm --directory "$WORK/resumed" \
    "${LOCAL[@]}" "${TARGETS[@]}" >"$WORK/run2.log" 2>&1; echo $? >"$WORK/run2.rc") &
ckpt="$WORK/resumed/results/checkpoints/train_claim/claim=random/model=toy_k/seed=1/task=add"
for _ in $(seq 1 6000); do
    compgen -G "$ckpt/checkpoint-*/mirage_complete" >/dev/null && break
    sleep 0.1
done
victim=$(squeue -h -t running -o '%i %k' | awk '/rule_train_claim/ {print $1; exit}')
[ -n "$victim" ] || { echo "no running training job to cancel" >&2; exit 1; }
scancel "$victim"
echo "cancelled SLURM job $victim after $(basename "$(dirname "$(compgen -G "$ckpt/checkpoint-*/mirage_complete" | head -1)")")"
wait
rc=$(cat "$WORK/run2.rc")
[ "$rc" -eq 0 ] || { tail -50 "$WORK/run2.log"; exit 1; }
grep -q "SLURM-job '$victim' failed, SLURM status is: 'CANCELLED'" "$WORK/run2.log"
"$BIN/python" - "$WORK/reference" "$WORK/resumed" <<'PY'
import json, sys
from pathlib import Path
import polars as pl
from safetensors.torch import load_file
ref, res = map(Path, sys.argv[1:])
run = "results/rl/toy_k/add/random/seed1"
step = json.loads((res / run / "model" / "run.json").read_text())["resumed_from_step"]
assert step > 0, "the retried job did not resume from a checkpoint"
a, b = load_file(str(ref / run / "model" / "model.safetensors")), load_file(str(res / run / "model" / "model.safetensors"))
assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a), "resumed weights differ"
for table in ("results/samples/rl/toy_k/add/random/seed1.parquet", f"{run}/curves.parquet", f"{run}/reward_history.parquet"):
    assert pl.read_parquet(ref / table).equals(pl.read_parquet(res / table)), table
print(f"resumed from step {step}: weights, evaluation, curves and reward history equal the uninterrupted run")
PY
echo "== a training job longer than its runtime: it checkpoints before its limit, stops, and its retries resume it"
# SLURM sets SLURM_JOB_ID in the job, so the deadline (runtime less checkpoints.stop_before_limit) is on;
# 0.99 of a 1-minute runtime: each attempt trains one rollout batch of the 4, then checkpoints and stops
printf 'rl: {grpo: {steps: 4}}\n' >"$WORK/four.yaml"
printf 'checkpoints: {stop_before_limit: 0.99}\nresources: {train: {gpu: 1, mem_mb: 1000, runtime: 1, cpus_per_task: 1, threads: 1, retries: 8}}\n' \
    >"$WORK/limit.yaml"
TL=(-s "$REPO/Snakefile" --configfile "$REPO/tests/configs/kill_resume.yaml" "$WORK/four.yaml")
"$BIN/snakemake" "${TL[@]}" --directory "$WORK/unlimited" --cores 2 "${TARGETS[@]}" >"$WORK/unlimited.log" 2>&1 \
    || { tail -50 "$WORK/unlimited.log"; exit 1; }
(cd "$WORK" && timeout -s INT 1500 "$BIN/snakemake" "${TL[@]}" "$WORK/limit.yaml" --profile slurm \
    --directory "$WORK/limited" "${LOCAL[@]}" "${TARGETS[@]}") >"$WORK/run3.log" 2>&1 \
    || { tail -50 "$WORK/run3.log"; exit 1; }
# each attempt a SLURM job of its own (a retry inside the same allocation would inherit its limit)
restarts=$(grep -c 'Trying to restart job' "$WORK/run3.log" || true)
attempts=$(squeue -h -t all -o '%i %k' | grep -c 'rule_train_claim' || true)
echo "the time-limited training job was restarted $restarts times; SLURM saw $attempts training jobs in all"
[ "$restarts" -eq 3 ] || { grep -E 'restart|failed|stopped before' "$WORK/run3.log" | tail -20; exit 1; }
"$BIN/python" - "$WORK/unlimited" "$WORK/limited" <<'PY'
import json, sys
from pathlib import Path
import polars as pl
from safetensors.torch import load_file
ref, res = map(Path, sys.argv[1:])
run = "results/rl/toy_k/add/random/seed1"
info = json.loads((res / run / "model" / "run.json").read_text())
assert info["resumed_from_step"] == 6, info
a, b = load_file(str(ref / run / "model" / "model.safetensors")), load_file(str(res / run / "model" / "model.safetensors"))
assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a), "time-limited weights differ"
for table in ("results/samples/rl/toy_k/add/random/seed1.parquet", f"{run}/curves.parquet", f"{run}/reward_history.parquet"):
    assert pl.read_parquet(ref / table).equals(pl.read_parquet(res / table)), table
print("4 attempts of one rollout batch each: weights, evaluation, curves and reward history equal the unlimited run")
PY
echo "slurm CI step passed (work dir $WORK)"
