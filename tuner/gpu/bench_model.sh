#!/usr/bin/env bash
# GPU measurement of `t6-bench model` (T6-medium TPA against MHA 16x64, random weights, batches 1, 8 and 32,
# contexts 1K to 64K, commands and host time per step, fp32 and bf16 weights), run from the repository root on
# the GPU machine:  bash tuner/gpu/bench_model.sh
# Builds with tuner/gpu/setup.sh, probes the dense products, checks the model on the GPU (the CTests model and
# model_e2e, the latter if python3 has numpy there), then prints the table for an fp16 cache and for a bf16 cache, and the CSV rows to
# $OUT/bench_model.csv when OUT is set. PROBE_ONLY=1 runs only the probe of the dense products (gemv_probe.c:
# CLBlast's SGEMV at the model's shapes against the library's t6_model_gemv).
set -uo pipefail
# shellcheck source=tuner/gpu/setup.sh
source tuner/gpu/setup.sh || exit 1
echo "== the dense products of a decode step: CLBlast SGEMV against t6_model_gemv (gemv_probe.c)"
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 -I/tmp/deps/usr/include \
  tuner/gpu/gemv_probe.c -o /tmp/gemv_probe -L/tmp/deps/usr/lib/x86_64-linux-gnu -lclblast -lOpenCL &&
  { /tmp/gemv_probe; echo "-- the same with buffers made by CL_MEM_COPY_HOST_PTR"; /tmp/gemv_probe copy; }
[[ -n ${PROBE_ONLY:-} ]] && exit 0
csv=()
[[ -n ${OUT:-} ]] && csv=(--csv "$OUT/bench_model.csv")
echo "== the model's tests on the GPU (model, model_e2e)"
ctest --test-dir "$BUILD" -R '^model' --output-on-failure | tail -12
echo "== t6-bench model, fp16 cache"
"$BUILD/tuner/t6-bench" model --cache f16 --runs 10 "${csv[@]}"
echo "== t6-bench model, bf16 cache"
"$BUILD/tuner/t6-bench" model --cache bf16 --runs 10 --batches 1
echo "== t6-bench model, bf16 weights, fp16 cache"
"$BUILD/tuner/t6-bench" model --weights bf16 --cache f16 --runs 10
