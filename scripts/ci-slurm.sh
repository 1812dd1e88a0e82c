#!/usr/bin/env bash
# CI step: the smoke study through `snakemake --profile slurm` on a live one-node SLURM
# cluster (scripts/local-slurm.sh), then a job killed with scancel mid-run and the study
# completed through the profile's retries. Usage: scripts/ci-slurm.sh (from the repo root,
# after `make .venv/.installed`).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$REPO/.venv/bin"
WORK="$(mktemp -d /tmp/mirage-slurm-ci.XXXXXX)"
export MIRAGE_SLURM_DIR="$WORK/cluster" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

"$REPO/scripts/local-slurm.sh" start
trap '"$REPO/scripts/local-slurm.sh" stop' EXIT
export SLURM_CONF="$MIRAGE_SLURM_DIR/slurm.conf"

# `snakemake --profile slurm` as users type it: the profile installed where Snakemake
# looks a bare name up (make slurm-profile does the same in ~/.config/snakemake)
export XDG_CONFIG_HOME="$WORK/xdg"
make -C "$REPO" --no-print-directory slurm-profile
cp "$REPO/tests/smoke/config.yaml" "$WORK/smoke.yaml"
cp "$REPO/tests/smoke/slurm.yaml" "$WORK/slurm.yaml"
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

echo "== a training job cancelled mid-run, completed by the profile's retries"
# one run's outputs removed and its evaluation asked for by name (Snakemake does not redo
# a deleted intermediate whose consumers are up to date): training, evaluation and tables run again
rm -rf "$WORK/study/results/rl/toy_a/add/incorrect" "$WORK/study/results/samples/rl/toy_a/add/incorrect"
(timeout -s INT 1500 bash -c "$(declare -f run); $(declare -p BIN REPO WORK LOCAL); \
    run results/samples/rl/toy_a/add/incorrect/seed1.parquet all" \
    >"$WORK/run2.log" 2>&1; echo $? >"$WORK/run2.rc") &
victim=""
for _ in $(seq 1 600); do
    victim=$(squeue -h -t running -o '%i %k' | awk '/rule_train_claim/ {print $1; exit}')
    [ -n "$victim" ] && break
    sleep 0.5
done
[ -n "$victim" ] || { echo "no running training job to cancel" >&2; exit 1; }
sleep 1
scancel "$victim"
echo "cancelled SLURM job $victim"
wait
rc=$(cat "$WORK/run2.rc")
[ "$rc" -eq 0 ] || { tail -50 "$WORK/run2.log"; exit 1; }
grep -q "SLURM-job '$victim' failed, SLURM status is: 'CANCELLED'" "$WORK/run2.log"
test -s "$WORK/study/results/rl/toy_a/add/incorrect/seed1/curves.parquet"
echo "slurm CI step passed (work dir $WORK)"
