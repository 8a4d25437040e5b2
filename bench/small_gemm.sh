#!/usr/bin/env bash
# Small GEMMs at the seeds' shapes on one thread: OpenBLAS (as hadron links
# it), BLIS, libxsmm and a direct kernel, built from bench/small_gemm.c.
# Needs libblis-dev and libxsmm-dev (apt-get install); a library that is
# missing is skipped.  Prints one JSON line per library, shape and
# transpose, then a table of microseconds.  Run on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${HADRON_BENCH_BUILD:-build-bench}/small_gemm
mkdir -p "$out"
flags=(-std=c11 -O3 -march=native -Wall -Wextra)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 BLIS_NUM_THREADS=1
# the OpenBLAS kernels the hadron command picks (as bench/run.sh does)
hadron=${HADRON:-build/hadron}
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -x "$hadron" ]; then
  core=$(OPENBLAS_VERBOSE=2 "$hadron" --version 2>&1 | awk '/^Core:/ { c = $2 } END { print c }')
  [ -n "$core" ] && export OPENBLAS_CORETYPE=$core
fi
echo "small_gemm.sh: OpenBLAS kernels ${OPENBLAS_CORETYPE:-as detected}" >&2
cc "${flags[@]}" bench/small_gemm.c -o "$out/openblas" $(pkg-config --cflags --libs openblas)
cc "${flags[@]}" -DUSE_DIRECT bench/small_gemm.c -o "$out/direct"
libs=(openblas direct)
if [ -e /usr/lib/x86_64-linux-gnu/libblis.so ]; then
  cc "${flags[@]}" bench/small_gemm.c -o "$out/blis" $(pkg-config --cflags openblas) -L/usr/lib/x86_64-linux-gnu -l:libblis.so.4 -lm
  libs+=(blis)
fi
if pkg-config --exists libxsmmext 2>/dev/null || [ -e /usr/lib/libxsmm.a ]; then
  cc "${flags[@]}" -DUSE_XSMM bench/small_gemm.c -o "$out/libxsmm" -fopenmp -L/usr/lib -lxsmmext -lxsmm $(pkg-config --libs openblas) -lm -ldl -lpthread
  libs+=(libxsmm)
fi
for l in "${libs[@]}"; do "$out/$l" "$l"; done | tee "$out/results.jsonl"
/usr/bin/python3 - "$out/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
libs = list(dict.fromkeys(r["lib"] for r in rows))
cases = list(dict.fromkeys((r["m"], r["n"], r["k"], r["op"]) for r in rows))
t = {(r["lib"], r["m"], r["n"], r["k"], r["op"]): r["us"] for r in rows}
print("\n| m×n×k op | " + " | ".join(libs) + " | fastest |")
print("|---" * (len(libs) + 2) + "|")
for c in cases:
    v = [t.get((l,) + c) for l in libs]
    best = libs[min(range(len(libs)), key=lambda i: v[i] if v[i] is not None else 1e30)]
    print(f"| {c[0]}×{c[1]}×{c[2]} {c[3]} | " + " | ".join(f"{x:.2f}" if x is not None else "—" for x in v) + f" | {best} |")
PY
