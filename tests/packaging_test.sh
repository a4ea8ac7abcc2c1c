#!/usr/bin/env bash
# Packaging test: installs the build into a temporary prefix, checks what landed there, then builds
# samples/minimal out of tree against the installed copy twice — with find_package(t6) and with pkg-config —
# and runs both builds.
#   packaging_test.sh BUILD_DIR SOURCE_DIR C_COMPILER LIBDIR "PROGRAMS"
# LIBDIR is CMAKE_INSTALL_LIBDIR; PROGRAMS lists the tuner programs this build has (t6-info t6-bench t6-tune).
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
expected=(include/t6.h "$libdir/libt6.so" "$libdir/$soname" "$libdir/pkgconfig/t6.pc"
          "$libdir/cmake/t6/t6Config.cmake" "$libdir/cmake/t6/t6ConfigVersion.cmake" "$libdir/cmake/t6/t6Targets.cmake")
for program in $programs; do expected+=("bin/$program"); done
for file in "${expected[@]}"; do
  [[ -e $prefix/$file ]] || fail "$file was not installed"
done
[[ -d $prefix/share/t6/profiles ]] || fail "share/t6/profiles was not installed"
# The soname is as above, and nothing private is exported.
objdump -p "$prefix/$libdir/libt6.so" | grep -q "SONAME *${soname//./\\.}\$" || fail "libt6.so has no SONAME $soname"
if nm -D --defined-only "$prefix/$libdir/libt6.so" | grep -q ' t6i_'; then fail "internal t6i_ symbols are exported"; fi

echo "packaging: find_package(t6)"
cmake -S "$source/samples/minimal" -B "$work/with-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_C_COMPILER="$compiler" >"$work/configure.log" || { cat "$work/configure.log"; fail "configure failed"; }
cmake --build "$work/with-cmake" >"$work/build.log" || { cat "$work/build.log"; fail "build failed"; }
"$work/with-cmake/t6-minimal" | tee "$work/cmake-run.log"
grep -q checksum "$work/cmake-run.log" || fail "the find_package build printed no checksum"

echo "packaging: pkg-config"
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
[[ $(pkg-config --modversion t6) == "$(grep -o 'T6_VERSION_STRING "[^"]*"' "$prefix/include/t6.h" | cut -d'"' -f2)" ]] ||
  fail "t6.pc's version differs from t6.h's"
# shellcheck disable=SC2046  # pkg-config prints several words on purpose
"$compiler" -std=c11 -o "$work/t6-minimal-pc" "$source/samples/minimal/minimal.c" $(pkg-config --cflags t6) \
  $(pkg-config --libs t6) -lm -Wl,-rpath,"$(pkg-config --variable=libdir t6)"
"$work/t6-minimal-pc" | tee "$work/pc-run.log"
grep -q checksum "$work/pc-run.log" || fail "the pkg-config build printed no checksum"
cmp <(grep checksum "$work/cmake-run.log") <(grep checksum "$work/pc-run.log") || fail "the two builds disagree"
echo "packaging: ok"
