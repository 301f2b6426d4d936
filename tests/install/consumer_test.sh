#!/usr/bin/env bash
# Installs the built tree into a temporary prefix, then builds examples/train_and_predict.cpp as
# an outside program twice: with CMake's find_package(convkit) and with pkg-config. Each binary
# trains a small model and classifies PNG files (exit 0 only when every image gets its class).
#   tests/install/consumer_test.sh BUILD_DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "$1" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
echo "installed into $tmp/prefix"

cmake -S "$root/tests/install/consumer" -B "$tmp/cmake-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" -DEXAMPLE_SOURCE="$root/examples/train_and_predict.cpp" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
"$tmp/cmake-build/consumer" --out "$tmp/run-cmake"
echo "find_package(convkit): ok"

export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib64/pkgconfig:$(ls -d "$tmp"/prefix/lib/*/pkgconfig 2>/dev/null | tr '\n' ':')"
pkg-config --exists convkit
c++ -std=c++20 -O1 "$root/examples/train_and_predict.cpp" -o "$tmp/consumer-pc" $(pkg-config --cflags --libs convkit)
"$tmp/consumer-pc" --out "$tmp/run-pc"
echo "pkg-config convkit: ok"
