#!/usr/bin/env bash
# Measures MHA/GQA decode at the paper's shape on the GPU machine: built-in defaults and a sweep of the decode
# tunables (tuner/gpu/mha_sweep.c), as GB/s of K+V read against the device's copy bandwidth. Run from the
# repository root: `bash tuner/gpu/run_mha.sh [--quick] [--lengths M,..] [--slots S,..]`. Needs the packages
# setup.sh installs (DEPS, default .deps). The TPA-vs-MHA comparison itself is `t6-bench attention`.
set -e
source tuner/gpu/setup.sh
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 -Ilib/include tuner/gpu/mha_sweep.c \
  -o "$BUILD/mha_sweep" -L"$BUILD/lib" -lt6 -lOpenCL -Wl,-rpath,"$PWD/$BUILD/lib"
"$BUILD/mha_sweep" "$@"
