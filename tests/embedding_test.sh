#!/usr/bin/env bash
# Embedding test: t6 added to another CMake project with add_subdirectory configures with Check out of reach
# (pkg-config sees cJSON only) and gives the parent the library t6::t6 and nothing else to build: no tests,
# tools or samples. Configures only; packaging_test.sh builds and runs programs against t6.
#   embedding_test.sh SOURCE_DIR C_COMPILER
set -euo pipefail
source=$1 compiler=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "embedding: $*" >&2
  exit 1
}

mkdir "$work/pkgconfig" "$work/parent"
ln -s "$(pkg-config --variable=pcfiledir libcjson)/libcjson.pc" "$work/pkgconfig/libcjson.pc"
cat >"$work/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(parent LANGUAGES C)
add_subdirectory("$source" t6)
add_executable(app "$source/samples/minimal/minimal.c")
target_link_libraries(app PRIVATE t6::t6 m)
CMAKE
PKG_CONFIG_LIBDIR=$work/pkgconfig PKG_CONFIG_PATH='' \
  cmake -S "$work/parent" -B "$work/build" -DCMAKE_C_COMPILER="$compiler" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; fail "configure failed (with Check out of reach)"; }
cmake --build "$work/build" --target help >"$work/targets"
for target in t6 app; do
  grep -q "^\.\.\. $target\$" "$work/targets" || fail "the parent has no target $target"
done
for target in t6-info t6-bench t6-tune t6-minimal t6-generate check_runtime t6_static t6_installed; do
  if grep -q "^\.\.\. $target\$" "$work/targets"; then fail "t6 as a subproject builds $target"; fi
done
echo "embedding: ok"
