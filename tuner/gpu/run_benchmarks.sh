#!/usr/bin/env bash
# The figures of docs/BENCHMARKS.md on the GPU machine, in one command of under 10 minutes:
#   bash tuner/gpu/run_benchmarks.sh
# Builds with tuner/gpu/setup.sh, runs the GPU-relevant test suites on the GPU, then t6-bench attention,
# projection and model with their default shapes. Each step has its own time limit so that a slow one cannot
# take the others with it. Tables and CSV rows go to $OUT (default gpu-out).
set -uo pipefail
source tuner/gpu/setup.sh || exit 1
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
BENCH=$BUILD/tuner/t6-bench
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null
  "$BUILD/tuner/t6-info"
  step "GPU tests" 170 ctest --test-dir "$BUILD" -R '^(runtime|attention|projection|mha|materialized)$' \
    --output-on-failure
} 2>&1 | tee "$OUT/gpu-tests.txt" | tail -n 40
step "t6-bench attention" 170 "$BENCH" attention --runs 10 --csv "$OUT/attention.csv" 2>&1 \
  | tee "$OUT/attention.txt"
step "t6-bench projection" 90 "$BENCH" projection --runs 10 --csv "$OUT/projection.csv" 2>&1 \
  | tee "$OUT/projection.txt"
step "t6-bench model" 100 "$BENCH" model --cache f16 --runs 10 --csv "$OUT/model.csv" 2>&1 | tee "$OUT/model.txt"
