#!/usr/bin/env bash
# The factor projection's GPU measurements (issue 4), run from the repository root on a GPU machine:
#   bash tuner/gpu/run_projection.sh [BUILD]        (BUILD default build-gpu; DEPS as for setup.sh)
# 1. builds t6 with tuner/gpu/setup.sh;
# 2. checks correctness on the GPU: the projection part of t6-info --self-test and the projection test suite;
# 3. t6-bench projection at full size: the T6 small/medium/large/xl layers × rows 1, 8, 64, 512, 4096, fused
#    vs CLBlast, fp32 weights (CSV in BUILD/projection-f32.csv), then bf16 and f16 weights for decode and 4096;
# 4. with SWEEP=1 (default), a short sweep of the tunables on medium and xl, one line per setting, to pick the
#    built-in defaults: decode (rows 1 and 8) for the rows kernel, prefill (512, 4096) for the tiles kernel.
# Every figure is a median of 20 runs, each after an untimed fill that evicts the L2 (weights come from DRAM).
BUILD=${1:-${BUILD:-build-gpu}}
export BUILD
source tuner/gpu/setup.sh || exit 1
export T6_CACHE_DIR=$PWD/$BUILD/kernel-cache
bench=$BUILD/tuner/t6-bench

echo "== device"
$BUILD/tuner/t6-info | grep -E "^device|identity|compute units|local memory"
echo "== correctness on the GPU"
$BUILD/tuner/t6-info --self-test 2>&1 | grep -E "self-test (projection|passed|FAILED)|failed"
(cd "$BUILD" && ctest -R projection --output-on-failure 2>&1 | tail -15)

echo "== t6-bench projection, fp32 weights"
$bench projection --csv "$BUILD/projection-f32.csv"
echo "== t6-bench projection, bf16 weights"
$bench projection --weights bf16 --rows 1,8,4096 | tail -n +5
echo "== t6-bench projection, f16 weights, f16 cache"
$bench projection --weights f16 --cache f16 --rows 1,8,4096 | tail -n +5

if [ "${SWEEP:-1}" = 1 ]; then
  # One t6-bench run per setting; prints its data rows prefixed by the setting.
  sweep() {
    local rows=$1 label params=()
    shift
    label="${*:-defaults}"
    for p in "$@"; do params+=(--param "$p"); done
    $bench projection --shapes "${SHAPES:-medium,xl}" --rows "$rows" --method fused --runs 10 "${params[@]}" 2>&1 |
      awk -v l="$label" '/^ *(small|medium|large|xl) /{printf "%-62s %s\n", l, $0} /t6-bench:/{print l ": " $0}'
  }
  echo "== sweep: rows kernel (decode), columns: setting, shape, rows, fused_us, GB/s, GFLOP/s, %copy, spread"
  sweep 1,8
  sweep 1,8 T6_PRJ_RW_VW=4
  sweep 1,8 T6_PRJ_RW_LANES=128
  sweep 1,8 T6_PRJ_RW_LANES=32 T6_PRJ_RW_COLS=2
  sweep 1,8 T6_PRJ_RW_COLS=2
  sweep 1,8 T6_PRJ_RW_COLS=8
  sweep 1,8 T6_PRJ_RW_LANES=128 T6_PRJ_RW_COLS=2 T6_PRJ_RW_VW=4
  sweep 1,8 T6_PRJ_RW_LANES=256 T6_PRJ_RW_COLS=2 T6_PRJ_RW_VW=4
  sweep 1,8 T6_PRJ_RW_VACC=0
  echo "== sweep: the switch between the kernels (16 and 64 rows: rows kernel up to T6_PRJ_ROWS_MAX, then tiles)"
  sweep 16,64
  sweep 16,64 T6_PRJ_ROWS_MAX=64 T6_PRJ_RW_VW=4
  sweep 16,64 T6_PRJ_ROWS_MAX=64 T6_PRJ_RW_BLOCK=8 T6_PRJ_RW_VW=4
  sweep 16,64 T6_PRJ_ROWS_MAX=0 T6_PRJ_MWG=32 T6_PRJ_NWG=32 T6_PRJ_MDIMC=8 T6_PRJ_NDIMC=8
  sweep 16,64 T6_PRJ_ROWS_MAX=0 T6_PRJ_MWG=16 T6_PRJ_NWG=64 T6_PRJ_MDIMC=4 T6_PRJ_NDIMC=16
  echo "== sweep: tiles kernel (prefill), columns: setting, shape, rows, fused_us, GB/s, GFLOP/s, %sgemm, spread"
  sweep 512,4096
  sweep 512,4096 T6_PRJ_KWG=32
  sweep 512,4096 T6_PRJ_KWG=8
  sweep 512,4096 T6_PRJ_MWG=128 T6_PRJ_VWM=8
  sweep 512,4096 T6_PRJ_NWG=128 T6_PRJ_VWN=8
  sweep 512,4096 T6_PRJ_MWG=128 T6_PRJ_NWG=128 T6_PRJ_VWM=8 T6_PRJ_VWN=8
  sweep 512,4096 T6_PRJ_MWG=128 T6_PRJ_NWG=128 T6_PRJ_VWM=8 T6_PRJ_VWN=8 T6_PRJ_KWG=8
  sweep 512,4096 T6_PRJ_MWG=128 T6_PRJ_NWG=64 T6_PRJ_MDIMC=16 T6_PRJ_NDIMC=8 T6_PRJ_VWM=8 T6_PRJ_VWN=8
  sweep 512,4096 T6_PRJ_MWG=32 T6_PRJ_NWG=32 T6_PRJ_MDIMC=8 T6_PRJ_NDIMC=8
  sweep 512,4096 T6_PRJ_SA=0
  sweep 512,4096 T6_PRJ_SB=0
fi
