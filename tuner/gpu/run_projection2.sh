#!/usr/bin/env bash
# The factor projection on the GPU machine, second round (launch floor, split-K, prefetch), run from the
# repository root:   bash tuner/gpu/run_projection2.sh [BUILD]     (BUILD default build-gpu; DEPS as setup.sh)
# About 4-5 minutes on an H100. Stages, each announced with the seconds elapsed:
#   1. build (tuner/gpu/setup.sh), the projection self-test and `ctest -R projection` on the GPU;
#   2. `t6-bench projection` at full size with the defaults a user gets (built-in values under the shipped
#      vendor profile): T6 small/medium/large/xl × rows 1, 8, 64, 512, 4096, fused vs CLBlast, fp32 weights,
#      with the launch floor (an empty kernel's event time) and, per decode row, the achievable time
#      floor + weight bytes / copy bandwidth (ach_us) and the fraction of it reached (fused_%ach);
#      then more row counts on medium and xl, and bf16 / f16 weights;
#   3. short sweeps of the choices still open, fused only, one t6-bench process per regime (--variant: one
#      line per shape, rows and variant, the variant's tunables in the last column; '' or "defaults" = the
#      defaults): decode (rows kernel), mid sizes (split-K over C vs rows kernel vs smaller tiles), prefill
#      (prefetch, K chunk, tile shapes).
# CSV files go to $OUT if set, else BUILD. Every figure is a median of timed runs, each after an untimed fill
# that evicts the L2 (weights come from DRAM).
BUILD=${1:-${BUILD:-build-gpu}}
export BUILD
source tuner/gpu/setup.sh || exit 1
export T6_CACHE_DIR=$PWD/$BUILD/kernel-cache
bench=$BUILD/tuner/t6-bench
csv=${OUT:-$BUILD}
stage() { echo "== $* (${SECONDS}s)"; }
# Table rows only: t6-bench's header lines (device, ceilings, notes) once per table are enough.
rows_only() { awk 'NR > 4 || /^ceilings/'; }

stage "device"
$BUILD/tuner/t6-info | grep -E "^device|identity|compute units|local memory"
stage "correctness on the GPU"
$BUILD/tuner/t6-info --self-test 2>&1 | grep -E "self-test (projection|passed|FAILED)|failed"
(cd "$BUILD" && ctest -R projection --output-on-failure 2>&1 | tail -12)

stage "t6-bench projection, fp32 weights, defaults"
$bench projection --csv "$csv/projection2-f32.csv"
stage "more row counts, fp32 weights"
$bench projection --shapes medium,xl --rows 2,16,24,32,128,256,1024,2048 | rows_only
stage "bf16 weights"
$bench projection --weights bf16 --shapes medium,xl --rows 1,8,512,4096 | rows_only
stage "f16 weights, f16 cache"
$bench projection --weights f16 --cache f16 --shapes medium,xl --rows 1,8,512,4096 | rows_only

sweep() { $bench projection --method fused --runs 10 --csv "$csv/projection2-sweep-$1.csv" "${@:2}" | rows_only; }

stage "sweep: decode, rows kernel (LANES and VW are pinned by profiles/nvidia-generic.json unless set)"
sweep decode --shapes medium,xl --rows 1,8,16 \
  --variant "" \
  --variant "T6_PRJ_RW_COLS=2" \
  --variant "T6_PRJ_RW_VW=4" \
  --variant "T6_PRJ_RW_COLS=2,T6_PRJ_RW_VW=4" \
  --variant "T6_PRJ_RW_LANES=128,T6_PRJ_RW_COLS=2,T6_PRJ_RW_VW=4" \
  --variant "T6_PRJ_RW_LANES=128,T6_PRJ_RW_VW=4" \
  --variant "T6_PRJ_RW_COLS=8,T6_PRJ_RW_VW=4"

stage "sweep: mid sizes (defaults: rows kernel to 16 rows, then tiles split over C to 4 groups per CU)"
sweep mid --shapes medium,xl --rows 16,32,64,128,256,512,1024 \
  --variant "" \
  --variant "T6_PRJ_SPLIT_GROUPS=0" \
  --variant "T6_PRJ_SPLIT_GROUPS=2" \
  --variant "T6_PRJ_SPLIT_GROUPS=8" \
  --variant "T6_PRJ_SPLIT_K_MIN=64" \
  --variant "T6_PRJ_SPLIT_K_MIN=256" \
  --variant "T6_PRJ_PREFETCH=0" \
  --variant "T6_PRJ_KWG=16" \
  --variant "T6_PRJ_ROWS_MAX=8" \
  --variant "T6_PRJ_ROWS_MAX=64,T6_PRJ_RW_VW=4" \
  --variant "T6_PRJ_MWG=32,T6_PRJ_MDIMC=8" \
  --variant "T6_PRJ_MWG=32,T6_PRJ_MDIMC=8,T6_PRJ_SPLIT_K_MIN=64"

stage "sweep: prefill, tiles kernel (MWG, NWG, MDIMC, NDIMC are pinned by the vendor profile unless set)"
sweep prefill --shapes small,medium,large,xl --rows 4096 \
  --variant "" \
  --variant "T6_PRJ_PREFETCH=0" \
  --variant "T6_PRJ_KWG=16" \
  --variant "T6_PRJ_KWG=16,T6_PRJ_PREFETCH=0" \
  --variant "T6_PRJ_NWG=128,T6_PRJ_VWN=8" \
  --variant "T6_PRJ_NWG=128,T6_PRJ_VWN=8,T6_PRJ_PREFETCH=0" \
  --variant "T6_PRJ_NWG=128,T6_PRJ_NDIMC=32" \
  --variant "T6_PRJ_MWG=128" \
  --variant "T6_PRJ_MWG=128,T6_PRJ_NWG=128,T6_PRJ_VWN=8"
stage "done"
