#!/usr/bin/env bash
# The tensor-core kernels (kernels_cl/attention_mma.cl, decode and prefill kernel 4) on a GPU machine, in the order
# the GPU run needs them, each step under its own time limit (one device call of under 10 minutes):
#   bash tuner/gpu/run_tensor_cores.sh            (tables and logs go to $OUT, default gpu-out)
# 1. what the driver makes of the kernel: build log (registers, spills, PTX version and target) for fp16 and
#    bf16, strict and fast, paper shape and T6-medium, decode and prefill;
# 2. the library's probe (t6-info --verbose logs "tensor cores (mma.sync m16n8k16 ...) in use" or why not) and the
#    self-test on the GPU;
# 3. the suites that run kernel 4 itself there (check_decode_mma's tensor_cores_on_the_device: both precision
#    modes, flat and peaked inputs, 65536 positions) and the attention suite;
# 4. t6-bench attention with the defaults, strict then fast (fp16), and the prefill of 65536 tokens from an empty
#    cache.
# Tuning (tuner/gpu/run_tune.sh) and the model (tuner/gpu/bench_model.sh) are separate calls.
set -uo pipefail
source tuner/gpu/setup.sh || exit 1
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
BENCH=$BUILD/tuner/t6-bench
gcc -std=c11 -O1 -o /tmp/t6_decode_build tuner/gpu/decode_build.c -lOpenCL || echo "(decode_build did not build)"
paper="-DT6_HEADS=32 -DT6_HEAD_DIM=64 -DT6_RANK_Q=16 -DT6_RANK_K=1 -DT6_RANK_V=1"
medium="-DT6_HEADS=47 -DT6_HEAD_DIM=64 -DT6_RANK_Q=6 -DT6_RANK_K=2 -DT6_RANK_V=2"
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null
  for dtype in 1 2; do
    for terms in "2 2 strict" "2 1 fast"; do
      set -- $terms
      qterms=$1
      [[ $dtype == 2 && $3 == strict ]] && qterms=3
      for shape in "paper 32" "medium 16"; do
        set -- $shape $terms
        opts=$([[ $1 == paper ]] && echo "$paper" || echo "$medium")
        PROGRAM=attention_mma /tmp/t6_decode_build kernels_cl "decode $1 dtype=$dtype $5" $opts \
          -DT6_CACHE_DTYPE=$dtype -DT6_MMA=1 -DT6_QTERMS=$qterms -DT6_PTERMS=$4 -DT6_DEC_STAGE=$2 -DT6_DEC_STAGES=3
      done
    done
    PROGRAM=attention_mma /tmp/t6_decode_build kernels_cl "prefill paper dtype=$dtype strict" $paper \
      -DT6_PREFILL=1 -DT6_CACHE_DTYPE=$dtype -DT6_MMA=1 -DT6_QTERMS=$((dtype == 1 ? 2 : 3)) -DT6_PTERMS=2 \
      -DT6_PRE_QUERIES=4
    PROGRAM=mha_mma /tmp/t6_decode_build kernels_cl "mha prefill d64 dtype=$dtype strict" -DT6_HEAD_DIM=64 \
      -DT6_CACHE_DTYPE=$dtype -DT6_MMA=1 -DT6_QTERMS=$((dtype == 1 ? 2 : 3)) -DT6_PTERMS=2
  done
  step "probe and self-test" 120 "$BUILD/tuner/t6-info" --verbose --self-test
  step "GPU tests" 150 ctest --test-dir "$BUILD" -j4 -R '^(decode_mma|attention|mha)[.]' --output-on-failure
} 2>&1 | tee "$OUT/tensor-cores.txt" | tail -n 60
# Each step under its own limit, the most wanted first, so that the whole fits one 10-minute call.
prefill_long() { # mode seconds
  step "t6-bench prefill of 65536 from an empty cache, $1" "$2" "$BENCH" attention --runs 5 --precision "$1" \
    --caches f16 --slots 1 --lengths 4096 --baselines "$([[ $1 == strict ]] && echo mha || echo none)" \
    --prefill 65536,0 2>&1 | tee "$OUT/prefill-65536-$1.txt"
}
step "t6-bench attention, strict" 110 "$BENCH" attention --runs 10 --csv "$OUT/attention-strict.csv" 2>&1 \
  | tee "$OUT/attention-strict.txt"
prefill_long strict 60
step "t6-bench attention, fast" 80 "$BENCH" attention --runs 10 --precision fast --caches f16 --baselines none \
  --csv "$OUT/attention-fast.csv" 2>&1 | tee "$OUT/attention-fast.txt"
prefill_long fast 45
