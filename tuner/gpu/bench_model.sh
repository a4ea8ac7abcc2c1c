#!/usr/bin/env bash
# GPU measurement of `t6-bench model` (T6-medium TPA against MHA 16x64, random weights, batch 1, contexts 1K to
# 64K), run from the repository root on the GPU machine:  bash tuner/gpu/bench_model.sh
# Builds with tuner/gpu/setup.sh, checks the model end to end on the GPU (the CTest model_e2e, if python3 has
# numpy there), then prints the table for an fp16 cache and for a bf16 cache, and the CSV rows to
# $OUT/bench_model.csv when OUT is set.
set -uo pipefail
# shellcheck source=tuner/gpu/setup.sh
source tuner/gpu/setup.sh || exit 1
csv=()
[[ -n ${OUT:-} ]] && csv=(--csv "$OUT/bench_model.csv")
echo "== model_e2e on the GPU"
ctest --test-dir "$BUILD" -R '^model_e2e$' --output-on-failure | tail -12
echo "== t6-bench model, fp16 cache"
"$BUILD/tuner/t6-bench" model --cache f16 "${csv[@]}"
echo "== t6-bench model, bf16 cache"
"$BUILD/tuner/t6-bench" model --cache bf16 --runs 10
