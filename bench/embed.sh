#!/usr/bin/env bash
# Nanoseconds per row of one model through each embedding path, on one
# thread, in one run: hadron's API (hd_model_predict, hd_model_run), the
# exported C source, and OpenCV's DNN module on the exported ONNX file, at
# batch 1 and 4096.  One JSON line per case.
#
#   bash bench/embed.sh [MODEL.safetensors] [SECONDS]
#
# Without a model it trains the default surrogate (hadron sim tracking,
# hadron surrogate, 20 epochs) in $EMBED_DIR (default build-bench/embed).
# SECONDS (default 0.5) per case.  Uses $HADRON_BUILD (default build/: its
# hadron and libhadron), cc -O2, and /usr/bin/python3 with python3-opencv.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${HADRON_BUILD:-$root/build}
dir=${EMBED_DIR:-$root/build-bench/embed}
secs=${2:-0.5}
hadron=$build/hadron
[ -x "$hadron" ] || { echo "embed.sh: $hadron not found: build it first (scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$dir"
model=${1:-}
if [ -z "$model" ]; then
  model=$dir/surrogate/model.safetensors
  if [ ! -s "$model" ]; then
    "$hadron" sim tracking --out "$dir/hist.npz" >/dev/null
    "$hadron" surrogate --input "$dir/hist.npz" --out "$dir/surrogate" --epochs 20 >/dev/null
  fi
fi
"$hadron" export --model "$model" --format c --name model --out "$dir/model" >/dev/null
"$hadron" export --model "$model" --format onnx --out "$dir/model.onnx" >/dev/null
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -I"$root/include" -I"$dir" -o "$dir/bench_embed" "$here/bench_embed.c" \
  "$dir/model.c" -L"$build" -lhadron -Wl,-rpath,"$build" -lm
"$dir/bench_embed" "$model" "$secs"
/usr/bin/python3 - "$dir/model.onnx" "$secs" <<'PY'
import json, statistics, sys, time
import cv2
import numpy as np
cv2.setNumThreads(1)
net = cv2.dnn.readNetFromONNX(sys.argv[1])
budget = float(sys.argv[2])
rng = np.random.default_rng(1)
x = np.stack([rng.uniform(2, 5, 4096), rng.uniform(200, 20000, 4096), rng.uniform(-np.pi, np.pi, 4096)], 1).astype(np.float32)
def per_row(batch):
    times, start = [], time.perf_counter()
    rows = [x[i:i + batch] for i in range(0, 4096, batch)]
    while len(times) < 5 or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        for r in rows:
            net.setInput(r)
            net.forward()
        times.append((time.perf_counter() - t0) / 4096 * 1e9)
        if len(times) >= 64: break
    return statistics.median(times)
for b in (1, 4096):
    print(json.dumps({"case": "opencv_dnn_onnx_batch%d" % b, "threads": 1, "ns_per_row": round(per_row(b), 1)}))
PY
