#!/usr/bin/env bash
# The ThreadSanitizer check of the thread-shared model API: builds
# test_model_ctx and test_gen_ctx with -fsanitize=thread in their own build
# directory and runs them (8 threads on one MLP model and on each kind of
# generator, predicting and generating at once, each thread with its own
# contexts); any report of a data race fails.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${HADRON_BUILD_DIR:-build-tsan}
CFLAGS="-fsanitize=thread -g -O1" LDFLAGS="-fsanitize=thread" \
  cmake -S . -B "$build" -DHADRON_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target test_model_ctx test_gen_ctx >/dev/null
for t in test_model_ctx test_gen_ctx; do
  TSAN_OPTIONS="halt_on_error=1 exitcode=66" OMP_NUM_THREADS=1 "$build/tests/$t"
done
