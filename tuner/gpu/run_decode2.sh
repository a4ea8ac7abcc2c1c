#!/usr/bin/env bash
# Decode kernel 3 (kernels_cl/attention_decode.cl) on the GPU machine, about 6 minutes on an H100:
#   1. builds t6 (tuner/gpu/setup.sh) and runs the attention suite on the GPU (kernel 3 on tensor cores where
#      the probe passes, in fp32, with both merges; the other kernels as before);
#   2. what the driver says: whether inline PTX and mma.sync build, and kernel 3's registers and spills per shape
#      (NVIDIA's -cl-nv-verbose), with and without the register cap the library passes; and what the library
#      decided (tensor cores or not, the options it built);
#   3. one line per variant of device time (µs, median) on the target rows — paper shape (H=32 D=64 ranks 16,1,1)
#      and T6-medium (H=47 D=64 ranks 6,2,2), fp16 cache, decode: the old kernel, kernel 3 as shipped, its
#      tunables swept one at a time, then kernel 3 with its loads only / arithmetic only / no positions.
# Targets: paper 1 × 524288 ≤ 80 µs (and ≤ 97 µs = MHA/15), 8 × 524288 ≤ 600 µs (≤ 759), 1 × 4096 and 1 × 65536
# ≤ 15 µs. CSV files go to $OUT if set.
set -e
source tuner/gpu/setup.sh
BENCH="$BUILD/tuner/t6-bench"
[ -x "$BENCH" ] || { echo "no $BENCH: is the t6-bench target built?"; exit 1; }
CSV_DIR=${OUT:-/tmp}
set +e

if [ -z "${SKIP_TESTS:-}" ]; then # SKIP_TESTS=1: the suites ran already (tuner/gpu/run_benchmarks.sh)
  echo "=== 1. ctest -R attention on the GPU ==="
  (cd "$BUILD" && ctest -R 'attention|runtime' --output-on-failure 2>&1 | tail -n 25)
fi

echo "=== 2. driver: inline PTX / tensor cores, kernel 3 registers (per work-item; 128 lets 2 groups of 256 share a unit) ==="
gcc -std=c11 -O1 -o /tmp/t6_decode_build tuner/gpu/decode_build.c -lOpenCL || echo "(decode_build did not build)"
PAPER="-DT6_HEADS=32 -DT6_HEAD_DIM=64 -DT6_RANK_Q=16 -DT6_RANK_K=1 -DT6_RANK_V=1 -DT6_CACHE_DTYPE=1 -DT6_S1_RANKS=2"
PAPER="$PAPER -DT6_SCORE_T=2 -DT6_SCORE_H=2 -DT6_DEC_TILE=32"
MEDIUM="-DT6_HEADS=47 -DT6_HEAD_DIM=64 -DT6_RANK_Q=6 -DT6_RANK_K=2 -DT6_RANK_V=2 -DT6_CACHE_DTYPE=1 -DT6_S1_RANKS=1"
MEDIUM="$MEDIUM -DT6_SCORE_T=2 -DT6_SCORE_H=2 -DT6_DEC_TILE=16"
KB=/tmp/t6_decode_build
$KB kernels_cl "paper fp32, no cap" $PAPER -DT6_ACC_HEADS=16
$KB kernels_cl "paper fp32, cap 128" $PAPER -DT6_ACC_HEADS=16 -cl-nv-maxrregcount=128
$KB kernels_cl "paper tensor cores, no cap" $PAPER -DT6_MMA=1 -DT6_ACC_HEADS=4
$KB kernels_cl "paper tensor cores, cap 128" $PAPER -DT6_MMA=1 -DT6_ACC_HEADS=4 -cl-nv-maxrregcount=128
$KB kernels_cl "medium fp32, cap 128" $MEDIUM -DT6_ACC_HEADS=12 -cl-nv-maxrregcount=128
$KB kernels_cl "medium tensor cores, cap 128" $MEDIUM -DT6_MMA=1 -DT6_ACC_HEADS=4 -cl-nv-maxrregcount=128
echo "--- what the library decided (paper and medium, 1 slot, M = 4096):"
"$BENCH" attention --models paper,medium --caches f16 --baselines none --prefill none --slots 1 --lengths 4096 \
  --runs 1 --warmup 0 --verbose 2>&1 | grep -E "tensor cores|attention_decode (built|loaded)|kernel 3" \
  | sed 's/-cl-std=CL1.2 //' \
  | cut -c1-250 | sort -u

echo "=== 3. device time, µs (median; fp16 cache; MHA: 1459 µs for 1 × 512K, 11388 µs for 8 × 512K) ==="
printf "%-34s | %7s %7s %7s %7s %7s %7s | %7s %7s %7s %7s | %5s %5s\n" variant "P1x4K" "P1x64K" "P1x512K" \
  "P8x4K" "P8x64K" "P8x512K" "M1x64K" "M1x512K" "M8x64K" "M8x512K" "xMHA1" "xMHA8"
row() { # label, then t6-bench options (T6_KERNEL_DIR, when exported, points the library at other kernels)
  local label=$1 csv="$CSV_DIR/decode2_$(echo "$1" | tr -c 'A-Za-z0-9' '_').csv"
  shift
  rm -f "$csv"
  "$BENCH" attention --models paper,medium --caches f16 --baselines none --prefill none --slots 1,8 \
    --lengths 4096,65536,524288 --csv "$csv" "$@" >/dev/null 2>/tmp/decode2_err.txt
  if [ ! -s "$csv" ]; then printf "%-34s | failed: %s\n" "$label" "$(head -c 150 /tmp/decode2_err.txt)"; return; fi
  awk -F, -v label="$label" 'NR > 1 && $1 == "decode" { us[$2 ":" $5 ":" $6] = $8 }
    END {
      split("paper:1:4096 paper:1:65536 paper:1:524288 paper:8:4096 paper:8:65536 paper:8:524288 medium:1:65536 medium:1:524288 medium:8:65536 medium:8:524288", keys, " ")
      line = sprintf("%-34s |", label)
      for (i = 1; i <= 10; i++) line = line sprintf(" %7s", (keys[i] in us) ? us[keys[i]] : "-") (i == 6 ? " |" : "")
      r1 = us["paper:1:524288"] > 0 ? sprintf("%.1f", 1459 / us["paper:1:524288"]) : "-"
      r8 = us["paper:8:524288"] > 0 ? sprintf("%.1f", 11388 / us["paper:8:524288"]) : "-"
      print line sprintf(" | %5s %5s", r1, r8)
    }' "$csv"
}
SWEEP="--runs 5 --warmup 1"
row "old kernel (KERNEL=1)" --param T6_DEC_KERNEL=1 --runs 10
row "kernel 3 as shipped" --runs 10
row "kernel 3 fp32 FMAs (MMA=0)" --param T6_DEC_MMA=0 --runs 10
row "  CU_GROUPS=1 (no register cap)" --param T6_DEC_CU_GROUPS=1 $SWEEP
row "  CU_GROUPS=3 (cap 80)" --param T6_DEC_CU_GROUPS=3 $SWEEP
row "  REGISTERS=255 (no cap)" --param T6_DEC_REGISTERS=255 $SWEEP
row "  WG_SIZE=128, CU_GROUPS=4" --param T6_DEC_WG_SIZE=128 --param T6_DEC_CU_GROUPS=4 $SWEEP
row "  WG_SIZE=512, CU_GROUPS=1" --param T6_DEC_WG_SIZE=512 --param T6_DEC_CU_GROUPS=1 $SWEEP
row "  TILE=16" --param T6_DEC_TILE=16 $SWEEP
row "  TILE=64" --param T6_DEC_TILE=64 $SWEEP
row "  MIN_SPLIT=32" --param T6_DEC_MIN_SPLIT=32 $SWEEP
row "  MIN_SPLIT=256" --param T6_DEC_MIN_SPLIT=256 $SWEEP
row "  VECTOR=4" --param T6_DEC_VECTOR=4 $SWEEP
row "  fp32: CU_GROUPS=1 (no cap)" --param T6_DEC_MMA=0 --param T6_DEC_CU_GROUPS=1 $SWEEP
row "  fp32: REGISTERS=168" --param T6_DEC_MMA=0 --param T6_DEC_REGISTERS=168 $SWEEP
row "  fp32: ACC_HEADS=8" --param T6_DEC_MMA=0 --param T6_DEC_ACC_HEADS=8 $SWEEP
# Kernel 3's profiling variants (T6_ATT_PROFILE, loads only / arithmetic only / no positions) left the shipped
# source with kernel 4; docs/benchmarks/2026-12-04-h200/decode-profile.txt keeps what they measured.
