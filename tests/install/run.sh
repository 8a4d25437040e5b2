#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds and runs the
# example program against it twice: with find_package(hadron) and with
# pkg-config; a program that uses libhdf5 and zlib through hadron against
# the static library both ways; and the multi-threaded C++ event loop
# (examples/event_loop.cpp).  Usage: run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
for f in include/hadron/hadron.h lib/libhadron.a lib/cmake/hadron/hadronConfig.cmake lib/pkgconfig/hadron.pc bin/hadron; do
  ls "$tmp/prefix/"$f* >/dev/null 2>&1 || { echo "install: missing $f"; exit 1; }
done
"$tmp/prefix/bin/hadron" --version

cmake -S "$src/tests/install" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
      -DEXAMPLE="$src/examples/train_mlp.c" -DSTATIC_EXAMPLE="$src/tests/install/static_h5.c" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/cmake/consumer_shared" | tail -1
"$tmp/cmake/consumer_static" "$tmp"
echo "find_package(hadron): ok"

PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" \
  cc -std=c11 "$src/examples/train_mlp.c" -o "$tmp/consumer_pc" \
     $(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs hadron)
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/consumer_pc" | tail -1
echo "pkg-config hadron: ok"

# the C++ event loop: one surrogate shared by 4 threads, each with its own context
"$tmp/prefix/bin/hadron" sim tracking --out "$tmp/hist.npz" >/dev/null
"$tmp/prefix/bin/hadron" surrogate --input "$tmp/hist.npz" --out "$tmp/s" --epochs 2 --layers 16,16 >/dev/null
# shellcheck disable=SC2046
c++ -std=c++17 -Wall -Wextra -O2 "$src/examples/event_loop.cpp" -o "$tmp/event_loop" \
    $(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs hadron) -pthread
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/event_loop" "$tmp/s/model.safetensors" 4 500
echo "C++ event loop: ok"

# the static library by name, its dependencies from Libs.private and Requires.private
pc_static=$(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --static --cflags --libs hadron)
# shellcheck disable=SC2086
cc -std=c11 "$src/tests/install/static_h5.c" -o "$tmp/consumer_pc_static" \
   ${pc_static/-lhadron/-l:libhadron.a}
"$tmp/consumer_pc_static" "$tmp"
echo "pkg-config --static hadron: ok"
