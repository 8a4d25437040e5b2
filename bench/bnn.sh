#!/usr/bin/env bash
# hadron bnn vs the same Bayesian network in PyTorch (bench/torch_bnn.py),
# same data, same thread count, one run: seconds per training epoch and the
# test metrics of both, over several seeds.
#
#   bash bench/bnn.sh [threads] [epochs] [seeds]
#
# threads defaults to $(nproc), epochs to 200 (the default run), seeds to 5.
# For each seed PyTorch draws the initial weights (--save-init) and hadron
# starts from the same ones (--init): the final error depends on the
# initial draw more than on anything else (bench/README.md), so comparing
# runs from different draws needs many seeds, and from the same draw few.
# Uses $HADRON (default build/hadron) and $TORCH_PYTHON (default
# /usr/bin/python3).  Data: hadron sim amplitudes, 30000 events per split,
# in $BNN_BENCH_DIR (default build-bench/bnn).  Prints one JSON line per
# seed and a summary line with the means, the mean paired difference of
# rel_err_median (hadron - torch) and its standard error, and epoch_ratio
# = torch seconds per epoch / hadron seconds per epoch (medians).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
threads=${1:-$(nproc)}
epochs=${2:-200}
seeds=${3:-5}
hadron=${HADRON:-$root/build/hadron}
torch_py=${TORCH_PYTHON:-/usr/bin/python3}
dir=${BNN_BENCH_DIR:-$root/build-bench/bnn}
[ -x "$hadron" ] || { echo "bnn.sh: $hadron not found: build it first (scripts/setup.sh)" >&2; exit 1; }
"$torch_py" -c 'import torch' 2>/dev/null ||
    { echo "bnn.sh: $torch_py cannot import torch (Debian: apt-get install python3-torch)" >&2; exit 1; }
read -r load1 _ < /proc/loadavg 2>/dev/null || load1=0
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "bnn.sh: warning: load average $load1: other jobs are running, timings will be noisy" >&2
fi

mkdir -p "$dir"
"$hadron" sim amplitudes --out "$dir/data" >/dev/null
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
for s in $(seq 1 "$seeds"); do
    "$torch_py" "$here/torch_bnn.py" --data "$dir/data" --epochs "$epochs" --hidden 20 --lr 1e-3 --lr-final 1e-4 \
        --threads "$threads" --seed "$s" --save-init "$dir/init_$s.safetensors" | tail -1 > "$dir/torch_$s.json"
    "$hadron" bnn --data "$dir/data" --out "$dir/hadron_$s" --epochs "$epochs" --threads "$threads" --seed "$s" \
        --init "$dir/init_$s.safetensors" --print-every 100000 >/dev/null
done

DIR=$dir SEEDS=$seeds THREADS=$threads "$torch_py" - <<'PY'
import json, os, statistics as st
d, n = os.environ["DIR"], int(os.environ["SEEDS"])
keys = ("seconds_per_epoch", "rel_err_median", "rel_err_p90", "pull_mean", "pull_std", "test_mse")
rows = []
for s in range(1, n + 1):
    h = json.load(open(f"{d}/hadron_{s}/metrics.json"))
    t = json.load(open(f"{d}/torch_{s}.json"))
    t["seconds_per_epoch"] = t["sec_per_epoch"]
    row = {"case": "bnn_seed", "seed": s, "hadron": {k: round(h[k], 5) for k in keys},
           "torch": {k: round(t[k], 5) for k in keys}}
    rows.append(row)
    print(json.dumps(row))
diff = [r["hadron"]["rel_err_median"] - r["torch"]["rel_err_median"] for r in rows]
mean = lambda side, k: round(st.mean(r[side][k] for r in rows), 5)
print(json.dumps({"case": "bnn_epoch", "threads": int(os.environ["THREADS"]), "seeds": n,
                  "hadron": {k: mean("hadron", k) for k in keys}, "torch": {k: mean("torch", k) for k in keys},
                  "rel_err_median_diff": round(st.mean(diff), 5),
                  "rel_err_median_diff_se": round(st.stdev(diff) / n ** 0.5, 5) if n > 1 else None,
                  "epoch_ratio": round(st.median(r["torch"]["seconds_per_epoch"] for r in rows) /
                                       st.median(r["hadron"]["seconds_per_epoch"] for r in rows), 2)}))
PY
