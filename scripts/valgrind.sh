#!/usr/bin/env bash
# Runs every unit-test program under valgrind memcheck, then a tiny
# sim -> surrogate -> predict pipeline through the CLI; fails on any error or
# leak.  The end-to-end tests (test_e2e_*) take too long under valgrind; the
# ASan/UBSan build runs them (README, Tests).
set -euo pipefail
cd "$(dirname "$0")/.."
# valgrind cannot run AVX-512 code: use a portable build of its own.
build=${HADRON_BUILD_DIR:-build-valgrind}
HADRON_BUILD_DIR=$build HADRON_CMAKE_ARGS="-DHADRON_MARCH= -DHADRON_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo" \
  scripts/setup.sh
status=0
vg() { OMP_NUM_THREADS=1 HADRON_LOG=warn valgrind -q --error-exitcode=9 --leak-check=full \
       --errors-for-leak-kinds=definite,indirect "$@" >/tmp/hd_valgrind.log 2>&1; }
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  case $(basename "$t") in test_e2e_*) continue ;; esac
  printf '%-40s ' "$(basename "$t")"
  if vg "$t"; then
    echo ok
  else
    echo FAILED; status=1; tail -30 /tmp/hd_valgrind.log
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pipeline=("sim tracking --out $tmp/h.npz --particles 20000 --truth-particles 20000 --eta-bins 3 --pt-bins 8 --phi-bins 2"
          "surrogate --input $tmp/h.npz --out $tmp/m --epochs 2 --batch 16"
          "info --model $tmp/m/model.safetensors")
for args in "${pipeline[@]}"; do
  printf '%-40s ' "hadron ${args%% --*}"
  # shellcheck disable=SC2086
  if vg "$build/hadron" $args; then echo ok; else echo FAILED; status=1; tail -30 /tmp/hd_valgrind.log; fi
done
exit $status
