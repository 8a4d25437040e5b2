#!/usr/bin/env bash
# Direct stride-1 convolutions against im2col + sgemm (bench/conv_direct.c)
# at the AVO discriminator's shapes (batch 32: 16 simulated + 16 observed)
# and a few larger ones, on THREADS threads (default 1).  Run on an idle
# machine; prints one JSON line per shape and kernels, then a table.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}
out=${HADRON_BENCH_BUILD:-build-bench}/conv_direct
mkdir -p "$out"
flags=(-std=c11 -O3 -march=native -fno-math-errno -fno-trapping-math -fopenmp -Wall -Wextra -D_POSIX_C_SOURCE=200809L
       -Iinclude -Isrc $(pkg-config --cflags openblas))
srcs=(bench/conv_direct.c src/graph/ops/conv_kernels.c src/graph/ops/conv_direct.c)
cc "${flags[@]}" "${srcs[@]}" -o "$out/direct" $(pkg-config --libs openblas) -lm
cc "${flags[@]}" -DHD_CONV_DIRECT_MAX_K=0 "${srcs[@]}" -o "$out/im2col" $(pkg-config --libs openblas) -lm
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
hadron=${HADRON:-build/hadron}
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -x "$hadron" ]; then
  core=$(OPENBLAS_VERBOSE=2 "$hadron" --version 2>&1 | awk '/^Core:/ { c = $2 } END { print c }')
  [ -n "$core" ] && export OPENBLAS_CORETYPE=$core
fi
shapes=("32 1 32 8 3" "32 8 16 12 3" "32 12 8 16 3" "32 16 4 24 3" "64 16 16 16 3" "64 28 8 28 3")
for s in "${shapes[@]}"; do
  for k in direct im2col; do "$out/$k" "$k" $s; done
done | tee "$out/results_$threads.jsonl"
/usr/bin/python3 - "$out/results_$threads.jsonl" "$threads" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
t = {}
for r in rows: t.setdefault((r["B"], r["C"], r["H"], r["G"], r["k"]), {})[r["kernels"]] = r
print(f"\n{sys.argv[2]} thread(s), µs | B C H G k | direct fwd / bwd | im2col fwd / bwd | used")
for (B, C, H, G, k), d in t.items():
    a, b = d["direct"], d["im2col"]
    print(f"| {B}×{C}×{H}² → {G}, {k}×{k} | {a['fwd_us']:.0f} / {a['bwd_us']:.0f} | {b['fwd_us']:.0f} / {b['bwd_us']:.0f} | {'direct' if a['direct'] else 'im2col'} |")
PY
