#!/usr/bin/env bash
# Prepares a bare GPU machine (Ubuntu with the vendor's OpenCL driver but no ICD file and no CLBlast, cJSON or
# Check) and builds t6 into BUILD (default build-gpu). Debian packages come from DEPS (default .deps), fetched
# beforehand with: apt-get download libclblast1 libclblast-dev libcjson1 libcjson-dev check libsubunit0
# libsubunit-dev. Source it: `source tuner/gpu/setup.sh` leaves LD_LIBRARY_PATH etc. set for the caller, and the
# function `step` that the run scripts use.
set -e
DEPS=${DEPS:-.deps}
BUILD=${BUILD:-build-gpu}
mkdir -p /etc/OpenCL/vendors
[ -f /etc/OpenCL/vendors/nvidia.icd ] || echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd
mkdir -p /tmp/deps
for f in "$DEPS"/*.deb; do dpkg -x "$f" /tmp/deps; done
export PKG_CONFIG_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=/tmp/deps
export LD_LIBRARY_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=/tmp/deps/usr >"$BUILD.configure.log" 2>&1 \
  || { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" -j16 >"$BUILD.build.log" 2>&1 || { tail -50 "$BUILD.build.log"; exit 1; }
set +e

# step NAME SECONDS COMMAND...: runs one step of a GPU script under its own time limit, saying how it ended.
step() { # name, seconds, command...
  local name=$1 limit=$2 start
  shift 2
  start=$(date +%s)
  echo "== $name (limit ${limit} s): $*"
  timeout "$limit" "$@"
  echo "== $name: exit $? after $(( $(date +%s) - start )) s"
}
