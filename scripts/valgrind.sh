#!/usr/bin/env bash
# Runs every test program under valgrind memcheck; fails on any error or leak.
set -euo pipefail
cd "$(dirname "$0")/.."
# valgrind cannot run AVX-512 code: use a portable build of its own.
build=${HADRON_BUILD_DIR:-build-valgrind}
HADRON_BUILD_DIR=$build HADRON_CMAKE_ARGS="-DHADRON_MARCH= -DHADRON_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo" \
  scripts/setup.sh
status=0
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  printf '%-40s ' "$(basename "$t")"
  if OMP_NUM_THREADS=1 HADRON_LOG=warn valgrind -q --error-exitcode=9 --leak-check=full \
       --errors-for-leak-kinds=definite,indirect "$t" >/tmp/hd_valgrind.log 2>&1; then
    echo ok
  else
    echo FAILED; status=1; tail -30 /tmp/hd_valgrind.log
  fi
done
exit $status
