#!/usr/bin/env bash
# Factorized attention on the GPU machine: builds t6 (tuner/gpu/setup.sh), then
#   table    `t6-bench attention` at full size: paper shape (H=32 D=64 ranks 16,1,1) and T6-medium (H=47 D=64
#            ranks 6,2,2), fp16 and bf16 caches, 1 and 8 slots, M = 4096 .. 524288, MHA and GQA(4) baselines,
#            prefill of T=4096 after M=61440 (factorized, materialized, MHA);
#   profile  the decode kernel with its arithmetic removed (loads only), its loads removed (arithmetic only) and
#            its walk over the positions removed (launch + setup + merge), through T6_KERNEL_DIR copies of
#            kernels_cl/ with T6_ATT_PROFILE set (NVIDIA's profilers do not see OpenCL kernels);
#   sweep    one decode tunable at a time around the defaults, on the target rows.
# Usage: tuner/gpu/run_attention.sh [table|profile|sweep|all] (default all; about 3, 2 and 3 minutes on an H100).
# CSV files go to $OUT if set.
set -e
STAGE=${1:-all}
source tuner/gpu/setup.sh
BENCH="$BUILD/tuner/t6-bench"
[ -x "$BENCH" ] || { echo "no $BENCH: is the t6-bench target built?"; exit 1; }
CSV_DIR=${OUT:-/tmp}
set +e

# The rows the targets are stated on: paper shape, fp16 cache, decode only.
TARGETS="--models paper --caches f16 --baselines none --prefill none"

if [ "$STAGE" = all ] || [ "$STAGE" = table ]; then
  echo "=== t6-bench attention (full) ==="
  "$BENCH" attention --csv "$CSV_DIR/attention.csv"
fi

if [ "$STAGE" = all ] || [ "$STAGE" = profile ]; then
  echo "=== profile: paper shape, fp16 cache (us; normal / loads only / arithmetic only / no positions) ==="
  for variant in 0 2 1 3; do
    dir=/tmp/t6-kernels-profile-$variant
    rm -rf "$dir" && mkdir -p "$dir" && cp kernels_cl/*.cl "$dir"/
    [ "$variant" = 0 ] || sed -i "1i #define T6_ATT_PROFILE $variant" "$dir/attention.cl"
    echo "--- T6_ATT_PROFILE=$variant"
    T6_KERNEL_DIR=$dir "$BENCH" attention $TARGETS --slots 1,8 --lengths 4096,65536,524288 | tail -n +3
  done
  # merge.cl walks the splits serially per output element (L2 latency per iteration); an experiment, not a
  # change to the tree: the same kernel with its two split loops unrolled 16 times, so loads overlap.
  dir=/tmp/t6-kernels-merge-unrolled
  rm -rf "$dir" && mkdir -p "$dir" && cp kernels_cl/*.cl "$dir"/
  sed -i 's|^    for (uint j = 0; j < splits; j++)|    _Pragma("unroll 16") for (uint j = 0; j < splits; j++)|' "$dir/merge.cl"
  for variant in 0 3; do
    [ "$variant" = 0 ] || sed -i "1i #define T6_ATT_PROFILE $variant" "$dir/attention.cl"
    echo "--- merge loops unrolled, T6_ATT_PROFILE=$variant"
    T6_KERNEL_DIR=$dir "$BENCH" attention $TARGETS --slots 1,8 --lengths 4096,65536,524288 | tail -n +3
  done
fi

if [ "$STAGE" = all ] || [ "$STAGE" = sweep ]; then
  echo "=== sweep: one tunable at a time (defaults: WG 256, TILE 32, VALUE_HEADS 4, TOKENS 2, VECTOR 8,"
  echo "    GROUPS_PER_CU 2, MIN_SPLIT 64, HEADS 64, STAGE_S1 1) ==="
  for setting in default T6_DEC_WG_SIZE=128 T6_DEC_WG_SIZE=512 T6_DEC_TILE=16 T6_DEC_TILE=64 \
                 T6_DEC_VALUE_HEADS=2 T6_DEC_VALUE_HEADS=8 T6_DEC_TOKENS=1 T6_DEC_TOKENS=4 T6_DEC_VECTOR=4 \
                 T6_DEC_GROUPS_PER_CU=1 T6_DEC_GROUPS_PER_CU=4 T6_DEC_MIN_SPLIT=256 T6_DEC_HEADS=16 \
                 T6_DEC_STAGE_S1=0; do
    params=""
    [ "$setting" = default ] || params="--param $setting"
    echo "--- $setting"
    "$BENCH" attention --models paper,medium --caches f16 --baselines none --prefill none --slots 1,8 \
      --lengths 4096,65536,524288 --runs 10 $params | tail -n +3
  done
fi
