#!/usr/bin/env bash
# Packaging test: installs the build into a temporary prefix, checks what landed there (the soname, the exact
# export list, no path into the build machine's source tree), then builds samples/minimal out of tree against
# the installed copy four times — with find_package(t6) and with pkg-config, on the shared and on the static
# library — runs each build, and checks that all four print the same checksum.
#   packaging_test.sh BUILD_DIR SOURCE_DIR C_COMPILER LIBDIR "PROGRAMS"
# LIBDIR is CMAKE_INSTALL_LIBDIR; PROGRAMS lists the tuner programs this build has (t6-info t6-bench t6-tune).
# The build must have both libraries (T6_BUILD_SHARED and T6_BUILD_STATIC, the defaults).
set -euo pipefail
build=$1 source=$2 compiler=$3 libdir=$4 programs=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

fail() {
  echo "packaging: $*" >&2
  exit 1
}

cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "install failed"; }

header=$source/lib/include/t6.h
major=$(sed -n 's/^#define T6_VERSION_MAJOR \([0-9]*\)$/\1/p' "$header")
minor=$(sed -n 's/^#define T6_VERSION_MINOR \([0-9]*\)$/\1/p' "$header")
# The soname names what stays compatible: the major from 1.0 on, 0.MINOR before (t6.h, "Compatibility").
if [[ $major == 0 ]]; then soname=libt6.so.0.$minor; else soname=libt6.so.$major; fi
shared=$prefix/$libdir/libt6.so static=$prefix/$libdir/libt6.a
expected=(include/t6.h "$libdir/libt6.so" "$libdir/$soname" "$libdir/libt6.a" "$libdir/pkgconfig/t6.pc"
          "$libdir/cmake/t6/t6Config.cmake" "$libdir/cmake/t6/t6ConfigVersion.cmake" "$libdir/cmake/t6/t6Targets.cmake"
          share/licenses/t6/LICENSE)
for program in $programs; do expected+=("bin/$program"); done
for file in "${expected[@]}"; do
  [[ -e $prefix/$file ]] || fail "$file was not installed"
done
[[ -d $prefix/share/t6/profiles ]] || fail "share/t6/profiles was not installed"
objdump -p "$shared" | grep -q "SONAME *${soname//./\\.}\$" || fail "libt6.so has no SONAME $soname"
# Exactly the T6_API functions of t6.h are exported: nothing private (t6i_), nothing undeclared, none missing.
grep -o '^T6_API [^(]*(' "$header" | sed 's/($//; s/.*[ *]//' | sort >"$work/declared"
nm -D --defined-only "$shared" | awk '$2 == "T" { print $3 }' | sort >"$work/exported"
diff "$work/declared" "$work/exported" >"$work/exports.diff" ||
  { cat "$work/exports.diff"; fail "the exports differ from t6.h's T6_API functions (<: declared, >: exported)"; }
[[ -s $work/declared ]] || fail "no T6_API declaration found in t6.h"
# The installed libraries do not look into the build machine's source tree (the build tree's library does). Their
# debug information names the sources, as any build with -g does: the check reads a copy without it. (grep reads
# the whole list: with `grep -q`, strings could die of SIGPIPE and pipefail would hide a match.)
for library in "$shared" "$static"; do
  objcopy --strip-debug "$library" "$work/no-debug" || fail "objcopy --strip-debug $library failed"
  if [[ $(strings "$work/no-debug" | grep -cF "$source") != 0 ]]; then
    fail "$(basename "$library") names the source tree $source"
  fi
done

run() { # run NAME PROGRAM: runs the build and keeps its checksum line
  "$2" | tee "$work/$1.log"
  grep -q checksum "$work/$1.log" || fail "the $1 build printed no checksum"
}

echo "packaging: find_package(t6), shared"
cmake -S "$source/samples/minimal" -B "$work/with-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_C_COMPILER="$compiler" >"$work/configure.log" || { cat "$work/configure.log"; fail "configure failed"; }
cmake --build "$work/with-cmake" >"$work/build.log" || { cat "$work/build.log"; fail "build failed"; }
run cmake-shared "$work/with-cmake/t6-minimal"

echo "packaging: find_package(t6), static (t6::t6_static)"
mkdir -p "$work/static-project"
cat >"$work/static-project/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(t6_minimal_static LANGUAGES C)
find_package(t6 REQUIRED)
add_executable(t6-minimal-static "$source/samples/minimal/minimal.c")
target_link_libraries(t6-minimal-static PRIVATE t6::t6_static m)
CMAKE
cmake -S "$work/static-project" -B "$work/with-cmake-static" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_C_COMPILER="$compiler" >"$work/configure-static.log" ||
  { cat "$work/configure-static.log"; fail "configure (static) failed"; }
cmake --build "$work/with-cmake-static" >"$work/build-static.log" ||
  { cat "$work/build-static.log"; fail "build (static) failed"; }
if objdump -p "$work/with-cmake-static/t6-minimal-static" | grep -q 'NEEDED *libt6'; then
  fail "the t6::t6_static build loads libt6.so"
fi
run cmake-static "$work/with-cmake-static/t6-minimal-static"

echo "packaging: pkg-config, shared"
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
[[ $(pkg-config --modversion t6) == "$(grep -o 'T6_VERSION_STRING "[^"]*"' "$prefix/include/t6.h" | cut -d'"' -f2)" ]] ||
  fail "t6.pc's version differs from t6.h's"
# shellcheck disable=SC2046  # pkg-config prints several words on purpose
"$compiler" -std=c11 -o "$work/t6-minimal-pc" "$source/samples/minimal/minimal.c" $(pkg-config --cflags t6) \
  $(pkg-config --libs t6) -lm -Wl,-rpath,"$(pkg-config --variable=libdir t6)"
run pc-shared "$work/t6-minimal-pc"

echo "packaging: pkg-config --static"
# -lt6 would pick libt6.so beside libt6.a: name the archive itself, with the libraries it needs after it.
# shellcheck disable=SC2046
"$compiler" -std=c11 -o "$work/t6-minimal-pc-static" "$source/samples/minimal/minimal.c" $(pkg-config --cflags t6) \
  $(pkg-config --static --libs t6 | sed 's/-lt6\b/-l:libt6.a/') -lm
if objdump -p "$work/t6-minimal-pc-static" | grep -q 'NEEDED *libt6'; then fail "the static build loads libt6.so"; fi
run pc-static "$work/t6-minimal-pc-static"

for other in cmake-static pc-shared pc-static; do
  cmp <(grep checksum "$work/cmake-shared.log") <(grep checksum "$work/$other.log") ||
    fail "the cmake-shared and $other builds disagree"
done
echo "packaging: ok"
