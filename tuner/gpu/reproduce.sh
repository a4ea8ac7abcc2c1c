#!/usr/bin/env bash
# shellcheck disable=SC2317 # the step functions are called by name, from the STEPS table
# reproduce.sh — builds t6 on a clean GPU machine and measures what docs/benchmarks/<date>-<device>/ holds, as
# named steps, each under its own time limit and writing its own files under $OUT:
#
#   bash tuner/gpu/reproduce.sh [options] [step ...]     (from the repository root; default: every step in order)
#
# options:
#   --list      the steps, their time limits and the files they write, then stop
#   --dry-run   print what each step would run without running it (also DRY_RUN=1)
#   --help      this text
#
# steps (file under $OUT; limit in seconds):
#   build          configure and build into $BUILD (build.txt; 600). Every other step builds first if $BUILD
#                  has no programs yet, so one call on a fresh machine may name any steps.
#   tests          the suites that run kernels on the device: runtime, attention, projection, mha, materialized,
#                  decode_mma, model (gpu-tests.txt; 400)
#   ceilings       the device, its self-test and the probes every table is measured against: copy bandwidth,
#                  fp32 FMA rate, CLBlast SGEMM, launch floor (ceilings.txt; 120)
#   attention      t6-bench attention, built-in defaults: decode and prefill, TPA against MHA and GQA
#                  (attention.txt, attention.csv; 240)
#   projection     t6-bench projection: fused factor projection against CLBlast (projection.txt, projection.csv;
#                  150)
#   model          t6-bench model: per-token decode of T6-medium TPA against MHA of the same width, fp16 and bf16
#                  caches, fp32 and bf16 weights (model.txt, model.csv; 300)
#   gemv           the dense products of a decode step alone: CLBlast SGEMV against t6_model_gemv
#                  (gemv_probe.c; model-gemv.txt; 120)
#   kernel-builds  what the driver makes of the decode kernels (kernel_build_report.c): builds, registers,
#                  spills, PTX target, for kernel 3 and the tensor-core kernels (kernel-builds.txt; 180)
#   decode-variants  decode device time on the target rows for kernel 1, kernel 3 as shipped and with its
#                  tunables changed one at a time, and kernel 1 with its loads only / arithmetic only / no walk
#                  over the positions (decode-profile.txt; 540)
#   tune-device    t6-tune of the whole device (presets medium and paper, default strategy and budget), then
#                  t6-tune --check of the profile (tune-device.txt, tuned/<device>.json; TUNE_SECONDS + 120)
#   tune-decode    t6-tune of the decode op alone (tune-decode.txt, tuned-decode/<device>.json; 300)
#   bench-tuned    t6-bench attention and projection under the tuned profile of tune-device (or of
#                  TUNED_PROFILES) (bench-tuned.txt; 420)
#   tune-space     the paper's decode space measured exhaustively, then the default strategy with 10% of its
#                  evaluations, on its own and replayed for ten seeds on the exhaustive measurements
#                  (tune-space.txt, tune-space-logs.tar.gz; 580)
#
# One command on the GPU machine may run for 10 minutes: run the steps in groups, e.g.
#   build tests ceilings attention projection | model gemv kernel-builds | decode-variants |
#   tune-device bench-tuned | tune-decode | tune-space
# $OUT/steps.txt gets one line per step: its name, exit status and seconds.
#
# environment:
#   OUT          where the files go (default gpu-out)
#   BUILD        the build folder (default build-gpu)
#   DEPS         a folder of Debian packages unpacked into /tmp/deps and used from there when the machine has
#                no network (default .deps, git-ignored; fetch them elsewhere with `apt-get download libclblast1
#                libclblast-dev libcjson1 libcjson-dev check libsubunit0 libsubunit-dev`). Without it the
#                system's packages are used.
#   T6_DEVICE    the device the programs use (default: the first GPU); QUICK=1 passes --quick to t6-bench and
#                t6-tune, for a CPU device such as PoCL's (T6_DEVICE=pthread QUICK=1 checks the script there)
#   TUNE_SECONDS the time limit of tune-device (default 270)
#   TUNED_PROFILES  a folder of profiles for bench-tuned (default $OUT/tuned, which tune-device writes)
#   EXHAUSTIVE_LOG  tune-space: an earlier exhaustive log of the same device and kernels, reused instead of
#                measuring the space again
#   JOBS         build jobs (default: the number of CPUs)
#
# A machine whose NVIDIA driver ships libnvidia-opencl.so.1 but no ICD file gets /etc/OpenCL/vendors/nvidia.icd
# (the OpenCL loader finds no platform without it).
set -uo pipefail

OUT=${OUT:-gpu-out}
BUILD=${BUILD:-build-gpu}
DEPS=${DEPS:-.deps}
DRY_RUN=${DRY_RUN:-}
QUICK=${QUICK:-}
TUNE_SECONDS=${TUNE_SECONDS:-270}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
SCRIPT=$(realpath "$0")

# name|seconds|files|function — the order of a run without arguments.
STEPS=(
  "build|600|build.txt|step_build"
  "tests|400|gpu-tests.txt|step_tests"
  "ceilings|120|ceilings.txt|step_ceilings"
  "attention|240|attention.txt attention.csv|step_attention"
  "projection|150|projection.txt projection.csv|step_projection"
  "model|300|model.txt model.csv|step_model"
  "gemv|120|model-gemv.txt|step_gemv"
  "kernel-builds|180|kernel-builds.txt|step_kernel_builds"
  "decode-variants|540|decode-profile.txt|step_decode_variants"
  "tune-device|$((TUNE_SECONDS + 120))|tune-device.txt tuned/|step_tune_device"
  "tune-decode|300|tune-decode.txt tuned-decode/|step_tune_decode"
  "bench-tuned|420|bench-tuned.txt|step_bench_tuned"
  "tune-space|580|tune-space.txt tune-space-logs.tar.gz|step_tune_space"
)

usage() { sed -n '3,/^set -uo/p' "$SCRIPT" | sed '$d' | sed 's/^# \{0,1\}//'; }

list_steps() {
  local entry name limit files
  for entry in "${STEPS[@]}"; do
    IFS='|' read -r name limit files _ <<<"$entry"
    printf "%-16s %4s s  %s\n" "$name" "$limit" "$files"
  done
}

# run COMMAND...: runs it, or prints it under --dry-run.
run() {
  echo "+ $*" >&2
  [[ -n $DRY_RUN ]] || "$@"
}

quick=()
[[ -n $QUICK ]] && quick=(--quick)

# ---- the machine and the build ----

# The NVIDIA ICD file, the packages of $DEPS, and the variables that let CMake and the programs find them.
prepare_machine() {
  if [[ ! -e /etc/OpenCL/vendors/nvidia.icd ]] && ldconfig -p 2>/dev/null | grep -q 'libnvidia-opencl\.so\.1'; then
    run mkdir -p /etc/OpenCL/vendors
    [[ -n $DRY_RUN ]] || echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd ||
      echo "could not write /etc/OpenCL/vendors/nvidia.icd: the OpenCL loader may find no NVIDIA platform"
  fi
  prefix=()
  if compgen -G "$DEPS/*.deb" >/dev/null; then
    mkdir -p /tmp/deps
    local deb
    for deb in "$DEPS"/*.deb; do dpkg -x "$deb" /tmp/deps; done
    export PKG_CONFIG_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu/pkgconfig
    export PKG_CONFIG_SYSROOT_DIR=/tmp/deps
    export LD_LIBRARY_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export CPATH=/tmp/deps/usr/include${CPATH:+:$CPATH}
    export LIBRARY_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu${LIBRARY_PATH:+:$LIBRARY_PATH}
    prefix=(-DCMAKE_PREFIX_PATH=/tmp/deps/usr)
  fi
}

TUNE=$BUILD/tuner/t6-tune
BENCH=$BUILD/tuner/t6-bench
INFO=$BUILD/tuner/t6-info

step_build() {
  run cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "${prefix[@]}" &&
    run cmake --build "$BUILD" -j"$JOBS"
}

ensure_built() {
  [[ -x $BENCH && -x $TUNE && -x $INFO ]] && return 0
  echo "== $BUILD has no programs yet: building (build.txt)"
  step_build >"$OUT/build.txt" 2>&1 || { tail -n 40 "$OUT/build.txt"; return 1; }
}

identity() {
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null
  run "$INFO"
}

# ---- measurements ----

step_tests() {
  identity
  run ctest --test-dir "$BUILD" -j4 --output-on-failure \
    -R '^(runtime|attention|projection|mha|materialized|decode_mma|model)([.].*)?$'
}

step_ceilings() {
  identity
  run "$INFO" --profile
  run "$INFO" --self-test
  # Every t6-bench table starts with the probes; the smallest projection shows all four.
  run "$BENCH" projection "${quick[@]}" --shapes small --rows 1 --runs 1 --warmup 0
}

step_attention() { run "$BENCH" attention "${quick[@]}" --runs 10 --csv "$OUT/attention.csv"; }

step_projection() { run "$BENCH" projection "${quick[@]}" --runs 10 --csv "$OUT/projection.csv"; }

step_model() {
  echo "== fp16 cache, fp32 weights"
  run "$BENCH" model "${quick[@]}" --cache f16 --runs 10 --csv "$OUT/model.csv"
  echo "== bf16 cache, batch 1"
  run "$BENCH" model "${quick[@]}" --cache bf16 --runs 10 --batches 1
  echo "== bf16 weights, fp16 cache"
  run "$BENCH" model "${quick[@]}" --weights bf16 --cache f16 --runs 10
}

# gemv_probe reads kernels_cl/model.cl from the working directory and needs CLBlast.
step_gemv() {
  run cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 tuner/gpu/gemv_probe.c \
    -o "$BUILD/gemv_probe" -lclblast -lOpenCL || return 1
  echo "== buffers written through the queue"
  run "$BUILD/gemv_probe"
  echo "== buffers made with CL_MEM_COPY_HOST_PTR"
  run "$BUILD/gemv_probe" copy
}

# The shapes of TPA.md's targets: the paper's (H=32 D=64 ranks 16/1/1) and T6-medium (H=47 D=64 ranks 6/2/2).
PAPER="-DT6_HEADS=32 -DT6_HEAD_DIM=64 -DT6_RANK_Q=16 -DT6_RANK_K=1 -DT6_RANK_V=1"
MEDIUM="-DT6_HEADS=47 -DT6_HEAD_DIM=64 -DT6_RANK_Q=6 -DT6_RANK_K=2 -DT6_RANK_V=2"

step_kernel_builds() {
  local report=$BUILD/kernel_build_report
  run cc -std=c11 -O1 tuner/gpu/kernel_build_report.c -o "$report" -lOpenCL ||
    return 1
  # shellcheck disable=SC2086 # the option lists split into words on purpose
  {
    echo "== decode kernel 3 (attention_decode): fp32 accumulation and tensor cores, with the register cap of 128"
    echo "   per work-item (two groups of 256 on one unit) and without"
    local paper3="$PAPER -DT6_CACHE_DTYPE=1 -DT6_S1_RANKS=2 -DT6_SCORE_T=2 -DT6_SCORE_H=2 -DT6_DEC_TILE=32"
    local medium3="$MEDIUM -DT6_CACHE_DTYPE=1 -DT6_S1_RANKS=1 -DT6_SCORE_T=2 -DT6_SCORE_H=2 -DT6_DEC_TILE=16"
    run "$report" kernels_cl "paper fp32, no cap" $paper3 -DT6_ACC_HEADS=16
    run "$report" kernels_cl "paper fp32, cap 128" $paper3 -DT6_ACC_HEADS=16 -cl-nv-maxrregcount=128
    run "$report" kernels_cl "paper tensor cores, no cap" $paper3 -DT6_MMA=1 -DT6_ACC_HEADS=4
    run "$report" kernels_cl "paper tensor cores, cap 128" $paper3 -DT6_MMA=1 -DT6_ACC_HEADS=4 -cl-nv-maxrregcount=128
    run "$report" kernels_cl "medium fp32, cap 128" $medium3 -DT6_ACC_HEADS=12 -cl-nv-maxrregcount=128
    run "$report" kernels_cl "medium tensor cores, cap 128" $medium3 -DT6_MMA=1 -DT6_ACC_HEADS=4 \
      -cl-nv-maxrregcount=128
    echo "== decode and prefill kernel 4 and MHA prefill on tensor cores (attention_mma, mha_mma): fp16 (1) and"
    echo "   bf16 (2) caches, strict and fast precision"
    local dtype qterms mode pterms name options stage
    for dtype in 1 2; do
      for mode in strict fast; do
        pterms=$([[ $mode == strict ]] && echo 2 || echo 1)
        qterms=$([[ $dtype == 2 && $mode == strict ]] && echo 3 || echo 2)
        for name in paper medium; do
          options=$([[ $name == paper ]] && echo "$PAPER" || echo "$MEDIUM")
          stage=$([[ $name == paper ]] && echo 32 || echo 16)
          PROGRAM=attention_mma run "$report" kernels_cl "decode $name dtype=$dtype $mode" $options \
            -DT6_CACHE_DTYPE=$dtype -DT6_MMA=1 -DT6_QTERMS=$qterms -DT6_PTERMS=$pterms -DT6_DEC_STAGE=$stage \
            -DT6_DEC_STAGES=3
        done
      done
      qterms=$((dtype == 1 ? 2 : 3))
      PROGRAM=attention_mma run "$report" kernels_cl "prefill paper dtype=$dtype strict" $PAPER -DT6_PREFILL=1 \
        -DT6_CACHE_DTYPE=$dtype -DT6_MMA=1 -DT6_QTERMS=$qterms -DT6_PTERMS=2 -DT6_PRE_QUERIES=4
      PROGRAM=mha_mma run "$report" kernels_cl "mha prefill d64 dtype=$dtype strict" -DT6_HEAD_DIM=64 \
        -DT6_CACHE_DTYPE=$dtype -DT6_MMA=1 -DT6_QTERMS=$qterms -DT6_PTERMS=2
    done
  }
  echo "== what the library decided (paper and medium, 1 slot, M = 4096)"
  [[ -n $DRY_RUN ]] && return 0
  "$BENCH" attention --models paper,medium --caches f16 --baselines none --prefill none --slots 1 --lengths 4096 \
    --runs 1 --warmup 0 --verbose 2>&1 | grep -E "tensor cores|attention_decode (built|loaded)|kernel 3" |
    sed 's/-cl-std=CL1.2 //' | cut -c1-250 | sort -u || echo "(the library logged nothing about the decode kernels)"
}

# decode-variants: one line per variant, device µs (median) on the target rows, and how many times faster
# than MHA at the same shape the longest context runs.
if [[ -n $QUICK ]]; then LENGTHS=${LENGTHS:-1024,8192}; else LENGTHS=${LENGTHS:-4096,65536,524288}; fi
VARIANT_CSV=/tmp/t6-decode-variants

variant_row() { # label, then t6-bench options (T6_KERNEL_DIR, when set, points the library at other kernels)
  local label=$1 csv
  csv="$VARIANT_CSV/$(echo "$label" | tr -c 'A-Za-z0-9' '_').csv"
  shift
  if [[ -n $DRY_RUN ]]; then
    echo >&2 "+ $BENCH attention ${quick[*]} --models paper,medium --caches f16 --baselines none --prefill none" \
      "--slots 1,8 --lengths $LENGTHS --csv $csv $*"
    return 0
  fi
  rm -f "$csv"
  "$BENCH" attention "${quick[@]}" --models paper,medium --caches f16 --baselines none --prefill none \
    --slots 1,8 --lengths "$LENGTHS" --csv "$csv" "$@" >/dev/null 2>"$VARIANT_CSV/error.txt"
  if [[ ! -s $csv ]]; then
    printf "%-40s | failed: %s\n" "$label" "$(head -c 150 "$VARIANT_CSV/error.txt")"
    return 0
  fi
  awk -F, -v label="$label" -v lengths="$LENGTHS" -v mha="$VARIANT_CSV/mha.csv" '
    function cells(model,   i, s, line) {
      line = ""
      for (s = 1; s <= 8; s *= 8)
        for (i = 1; i <= n; i++) line = line sprintf(" %8s", ((model ":" s ":" m[i]) in us) ? us[model ":" s ":" m[i]] : "-")
      return line " |"
    }
    BEGIN {
      n = split(lengths, m, ",")
      while ((getline row < mha) > 0) {
        split(row, f, ",")
        if (f[1] == "decode" && f[3] ~ /^mha/) base[f[2] ":" f[5] ":" f[6]] = f[8]
      }
    }
    NR > 1 && $1 == "decode" && $3 == "tpa" { us[$2 ":" $5 ":" $6] = $8 }
    END {
      line = sprintf("%-40s |", label) cells("paper") cells("medium")
      for (s = 1; s <= 8; s *= 8) {
        k = "paper:" s ":" m[n]
        line = line sprintf(" %6s", (k in us) && us[k] > 0 && (k in base) ? sprintf("%.1f", base[k] / us[k]) : "-")
      }
      print line
    }' "$csv"
}

step_decode_variants() {
  mkdir -p "$VARIANT_CSV"
  echo "== MHA at the paper shape, the reference of the x_MHA columns"
  run "$BENCH" attention "${quick[@]}" --models paper --caches f16 --baselines mha --prefill none --slots 1,8 \
    --lengths "${LENGTHS##*,}" --runs 10 --csv "$VARIANT_CSV/mha.csv" | tail -n +3
  echo "== decode device time, µs (median; fp16 cache), M = $LENGTHS; x_MHA: MHA's time over this one at the"
  echo "   longest context (1 and 8 slots)"
  local m header=""
  for m in ${LENGTHS//,/ }; do header+=$(printf " %8s" "1x$m"); done
  for m in ${LENGTHS//,/ }; do header+=$(printf " %8s" "8x$m"); done
  printf "%-40s |%s |%s | %6s %6s\n" "variant (paper | medium)" "$header" "$header" "x_MHA1" "x_MHA8"
  local sweep=(--runs 5 --warmup 1)
  variant_row "kernel 1 (KERNEL=1)" --param T6_DEC_KERNEL=1 --runs 10
  variant_row "defaults (kernel 3 on a GPU)" --runs 10
  variant_row "defaults, fp32 FMAs (MMA=0)" --param T6_DEC_MMA=0 --runs 10
  variant_row "  CU_GROUPS=1 (no register cap)" --param T6_DEC_CU_GROUPS=1 "${sweep[@]}"
  variant_row "  CU_GROUPS=3 (cap 80)" --param T6_DEC_CU_GROUPS=3 "${sweep[@]}"
  variant_row "  REGISTERS=255 (no cap)" --param T6_DEC_REGISTERS=255 "${sweep[@]}"
  variant_row "  WG_SIZE=128, CU_GROUPS=4" --param T6_DEC_WG_SIZE=128 --param T6_DEC_CU_GROUPS=4 "${sweep[@]}"
  variant_row "  TILE=16" --param T6_DEC_TILE=16 "${sweep[@]}"
  variant_row "  TILE=64" --param T6_DEC_TILE=64 "${sweep[@]}"
  variant_row "  MIN_SPLIT=32" --param T6_DEC_MIN_SPLIT=32 "${sweep[@]}"
  variant_row "  MIN_SPLIT=256" --param T6_DEC_MIN_SPLIT=256 "${sweep[@]}"
  variant_row "  VECTOR=4" --param T6_DEC_VECTOR=4 "${sweep[@]}"
  variant_row "  fp32: REGISTERS=168" --param T6_DEC_MMA=0 --param T6_DEC_REGISTERS=168 "${sweep[@]}"
  variant_row "  fp32: ACC_HEADS=8" --param T6_DEC_MMA=0 --param T6_DEC_ACC_HEADS=8 "${sweep[@]}"
  # Kernel 1 with parts removed (kernels_cl/attention.cl, T6_ATT_PROFILE; NVIDIA's profilers do not see OpenCL
  # kernels): copies of kernels_cl/ with the macro set, through T6_KERNEL_DIR.
  local variant label dir
  for variant in 2 1 3; do
    case $variant in
      1) label="  kernel 1: arithmetic only" ;;
      2) label="  kernel 1: loads only" ;;
      3) label="  kernel 1: no positions (launch+merge)" ;;
    esac
    dir=$VARIANT_CSV/kernels-$variant
    rm -rf "$dir" && mkdir -p "$dir" && cp kernels_cl/*.cl kernels_cl/programs.txt "$dir"/ &&
      sed -i "1i #define T6_ATT_PROFILE $variant" "$dir/attention.cl"
    T6_KERNEL_DIR=$dir variant_row "$label" --param T6_DEC_KERNEL=1 "${sweep[@]}"
  done
}

# ---- tuning ----

tune_profiles() { # folder: t6-tune --check of every profile in it, then t6-info's view of them
  local profile
  for profile in "$1"/*.json; do
    [[ -e $profile ]] || continue
    run "$TUNE" --check "$profile" "${quick[@]}"
  done
  T6_PROFILE_PATH=$1 run "$INFO" --profile
}

step_tune_device() {
  mkdir -p "$OUT/tuned"
  run "$TUNE" "${quick[@]}" --time-limit "$TUNE_SECONDS" --log "$OUT/tuned/device.jsonl" --output "$OUT/tuned"
  tune_profiles "$OUT/tuned"
}

step_tune_decode() {
  mkdir -p "$OUT/tuned-decode"
  run "$TUNE" "${quick[@]}" --ops decode --budget 40 --time-limit 200 --log "$OUT/tuned-decode/decode.jsonl" \
    --output "$OUT/tuned-decode"
  tune_profiles "$OUT/tuned-decode"
}

step_bench_tuned() {
  local profiles=${TUNED_PROFILES:-$OUT/tuned}
  if [[ -z $DRY_RUN ]] && ! compgen -G "$profiles/*.json" >/dev/null; then
    echo "no profile in $profiles: run tune-device first (in the same command), or set TUNED_PROFILES"
    return 1
  fi
  export T6_PROFILE_PATH=$profiles
  run "$INFO" --profile
  run "$BENCH" attention "${quick[@]}" --runs 10
  run "$BENCH" projection "${quick[@]}" --runs 10
}

step_tune_space() {
  local logs=$BUILD/tune-space shape size budget seed
  # The paper's decode shape (TPA.md): H=32, D=64, ranks 16/1/1, fp16 cache, one sequence of 64K positions.
  shape=decode:heads=32,head_dim=64,ranks=16/1/1,dtype=f16,batch=1,length=$([[ -n $QUICK ]] && echo 4096 || echo 65536)
  run rm -rf "$logs"
  mkdir -p "$logs"
  export T6_CACHE_DIR=$logs/kernel-cache
  echo "== the space"
  run "$TUNE" --shape "$shape" --plan | tee "$logs/plan.txt"
  size=$(awk '$1 == "shape" && $2 == "1" { print $5 }' "$logs/plan.txt" 2>/dev/null)
  size=${size:-10}
  budget=$((size / 10 > 0 ? size / 10 : 1)) # 10% of the exhaustive run's evaluations
  if [[ -n ${EXHAUSTIVE_LOG:-} ]]; then
    echo "== exhaustive: the measurements of $EXHAUSTIVE_LOG"
    run cp "$EXHAUSTIVE_LOG" "$logs/exhaustive.jsonl"
  else
    echo "== exhaustive, $size configurations"
    run "$TUNE" --shape "$shape" --strategy exhaustive --log "$logs/exhaustive.jsonl" \
      --output "$logs/exhaustive.json"
  fi
  echo "== the default strategy, budget $budget (10%), a run of its own"
  run "$TUNE" --shape "$shape" --budget "$budget" --log "$logs/local.jsonl" --output "$logs/local.json"
  # The default strategy on the exhaustive run's measurements, for ten seeds: each replay answers every
  # evaluation from a copy of the exhaustive log (no device time), so its choice is judged against the optimum
  # of the very same measurements.
  echo "== the default strategy replayed on the exhaustive measurements, seeds 1 to 10"
  for seed in 1 2 3 4 5 6 7 8 9 10; do
    run cp "$logs/exhaustive.jsonl" "$logs/replay.jsonl"
    run "$TUNE" --shape "$shape" --budget "$budget" --seed "$seed" --retime 0 --resume --log "$logs/replay.jsonl" \
      --output "$logs/replay-$seed.json" >"$logs/replay-$seed.txt" 2>&1
  done
  run rm -f "$logs/replay.jsonl"
  echo "== comparison"
  run python3 tuner/gpu/compare_space.py "$logs"
  run tar -czf "$OUT/tune-space-logs.tar.gz" -C "$logs" --exclude=kernel-cache .
}

# ---- driver ----

# --run-step NAME: one step's function, in a process of its own (so that timeout can stop it).
if [[ ${1:-} == --run-step ]]; then
  prepare_machine
  for entry in "${STEPS[@]}"; do
    IFS='|' read -r name _ _ function <<<"$entry"
    [[ $name == "$2" ]] && { "$function"; exit $?; }
  done
  exit 2
fi

selected=()
while (($#)); do
  case $1 in
    --list) list_steps; exit 0 ;;
    --help | -h) usage; exit 0 ;;
    --dry-run) DRY_RUN=1 ;;
    -*) echo "reproduce.sh: unknown option $1 (--help)" >&2; exit 2 ;;
    *)
      found=
      for entry in "${STEPS[@]}"; do [[ ${entry%%|*} == "$1" ]] && found=1; done
      [[ -n $found ]] || { echo "reproduce.sh: no step '$1' (--list)" >&2; exit 2; }
      selected+=("$1")
      ;;
  esac
  shift
done
if ((${#selected[@]} == 0)); then
  for entry in "${STEPS[@]}"; do selected+=("${entry%%|*}"); done
fi
[[ -f kernels_cl/programs.txt ]] || { echo "reproduce.sh: run it from the repository root" >&2; exit 2; }

mkdir -p "$OUT"
export OUT BUILD DEPS DRY_RUN QUICK TUNE_SECONDS JOBS
prepare_machine
if [[ -z $DRY_RUN && ${selected[0]} != build ]]; then ensure_built || exit 1; fi

failed=0
for step in "${selected[@]}"; do
  for entry in "${STEPS[@]}"; do
    IFS='|' read -r name limit files _ <<<"$entry"
    [[ $name == "$step" ]] || continue
    file=${files%% *}
    start=$(date +%s)
    echo "== $name (limit $limit s) -> $OUT/$file"
    timeout "$limit" bash "$SCRIPT" --run-step "$name" >"$OUT/$file" 2>&1
    code=$?
    seconds=$(($(date +%s) - start))
    [[ $code == 124 ]] && echo "stopped by the time limit of $limit s" >>"$OUT/$file"
    echo "== $name: exit $code after $seconds s" | tee -a "$OUT/$file"
    echo "$name $code $seconds" >>"$OUT/steps.txt"
    [[ $code == 0 ]] || failed=1
  done
done
exit $failed
