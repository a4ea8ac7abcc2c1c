#!/usr/bin/env bash
# The second call of a GPU run, after tuner/gpu/run_tensor_cores.sh: t6-tune of the whole device (default
# strategy and budget, presets medium and paper, within TUNE_SECONDS), then t6-bench model and projection with the
# ceilings probes, so that every fraction has its ceiling from the same run. Run from the repository root:
#   OUT=dir bash tuner/gpu/run_tune_model.sh      (default OUT gpu-out; TUNE_SECONDS default 250)
# What comes back: tune.txt, the profile (<device>.json), model.txt, model.csv, projection.txt and raw.tar.gz
# (the tuning log and t6-info's view of the profile).
set -uo pipefail
source tuner/gpu/setup.sh || exit 1
OUT=${OUT:-gpu-out}
mkdir -p "$OUT" /tmp/tune
TUNE_SECONDS=${TUNE_SECONDS:-250}
{
  date -u
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null
  step "t6-tune, whole device" $((TUNE_SECONDS + 60)) "$BUILD/tuner/t6-tune" --time-limit "$TUNE_SECONDS" \
    --log /tmp/tune/device.jsonl --output /tmp/tune
  for profile in /tmp/tune/*.json; do
    step "t6-tune --check" 60 "$BUILD/tuner/t6-tune" --check "$profile"
    cp "$profile" "$OUT/"
  done
  T6_PROFILE_PATH=/tmp/tune "$BUILD/tuner/t6-info" --profile > /tmp/tune/t6-info.txt 2>&1
} 2>&1 | tee "$OUT/tune.txt" | tail -n 40
export T6_PROFILE_PATH=/tmp/tune
step "t6-bench model" 150 "$BUILD/tuner/t6-bench" model --cache f16 --runs 10 --csv "$OUT/model.csv" 2>&1 \
  | tee "$OUT/model.txt" | tail -n 30
step "t6-bench model, bf16 weights" 60 "$BUILD/tuner/t6-bench" model --weights bf16 --cache f16 --runs 10 \
  --batches 1 2>&1 | tee -a "$OUT/model.txt" | tail -n 12
step "t6-bench projection" 60 "$BUILD/tuner/t6-bench" projection --runs 10 2>&1 | tee "$OUT/projection.txt" \
  | tail -n 20
tar -czf "$OUT/raw.tar.gz" -C /tmp/tune .
