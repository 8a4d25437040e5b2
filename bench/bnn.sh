#!/usr/bin/env bash
# hadron bnn vs the same Bayesian network in PyTorch (bench/torch_bnn.py),
# same data, same thread count, one run: seconds per training epoch and the
# test metrics of both.
#
#   bash bench/bnn.sh [threads] [epochs]
#
# threads defaults to $(nproc), epochs to 200 (the default run).  Uses
# $HADRON (default build/hadron) and $TORCH_PYTHON (default /usr/bin/python3).
# Data: hadron sim amplitudes, 30000 events per split, in $BNN_BENCH_DIR
# (default build-bench/bnn).  Prints one JSON line with both sides and
# epoch_ratio = torch seconds per epoch / hadron seconds per epoch.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
threads=${1:-$(nproc)}
epochs=${2:-200}
hadron=${HADRON:-$root/build/hadron}
torch_py=${TORCH_PYTHON:-/usr/bin/python3}
dir=${BNN_BENCH_DIR:-$root/build-bench/bnn}
[ -x "$hadron" ] || { echo "bnn.sh: $hadron not found: build it first (scripts/setup.sh)" >&2; exit 1; }
read -r load1 _ < /proc/loadavg 2>/dev/null || load1=0
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "bnn.sh: warning: load average $load1: other jobs are running, timings will be noisy" >&2
fi

mkdir -p "$dir"
"$hadron" sim amplitudes --out "$dir/data" >/dev/null
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
"$hadron" bnn --data "$dir/data" --out "$dir/hadron" --epochs "$epochs" --threads "$threads" --print-every 100000 >/dev/null
torch_json=null
if "$torch_py" -c 'import torch' 2>/dev/null; then
    torch_json=$("$torch_py" "$here/torch_bnn.py" --data "$dir/data" --epochs "$epochs" --hidden 20 --lr 1e-3 \
        --lr-final 1e-4 --threads "$threads" | tail -1)
else
    echo "bnn.sh: note: $torch_py cannot import torch (Debian: apt-get install python3-torch)" >&2
fi

HADRON_JSON="$dir/hadron/metrics.json" TORCH_JSON=$torch_json THREADS=$threads "$torch_py" - <<'PY'
import json, os
h = json.load(open(os.environ["HADRON_JSON"]))
t = json.loads(os.environ["TORCH_JSON"])
keys = ("seconds_per_epoch", "rel_err_median", "rel_err_p90", "pull_mean", "pull_std", "test_mse")
row = {"case": "bnn_epoch", "threads": int(os.environ["THREADS"]), "epochs": h["epochs"]}
row["hadron"] = {k: round(h[k], 5) for k in keys}
row["torch"] = {k: round(t[{"seconds_per_epoch": "sec_per_epoch"}.get(k, k)], 5) for k in keys} if t else None
row["epoch_ratio"] = round(t["sec_per_epoch"] / h["seconds_per_epoch"], 2) if t else None
print(json.dumps(row))
PY
