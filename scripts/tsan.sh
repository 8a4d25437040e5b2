#!/usr/bin/env bash
# The ThreadSanitizer check of the thread-shared model API: builds
# test_model_ctx with -fsanitize=thread in its own build directory and runs
# it (8 threads on one model, each with its own context); any report of a
# data race fails.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${HADRON_BUILD_DIR:-build-tsan}
CFLAGS="-fsanitize=thread -g -O1" LDFLAGS="-fsanitize=thread" \
  cmake -S . -B "$build" -DHADRON_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target test_model_ctx >/dev/null
TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$build/tests/test_model_ctx"
