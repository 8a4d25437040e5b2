#!/usr/bin/env bash
# The calibration table of docs/bnn.md: hadron bnn over network sizes and
# seeds, each without and with --calibrate, on one data set.
#
#   scripts/bnn_calibration.sh DATA_DIR [LAYERS...]
#
# LAYERS defaults to "20,20 32,32 64,64"; SEEDS (environment) to "1 2 3",
# THREADS to 1, HADRON to build/hadron.  DATA_DIR holds
# {trn,val,tst}_{dat,amp}.npy (hadron sim amplitudes).  Outputs go to
# $OUT (default build-bench/bnn_calibration/<data dir's name>); prints one
# markdown row per run: median relative error, pull mean and std, the
# fractions with |pull| < 1 and < 2, and the validation set's offset and
# scale with their errors.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${1:?usage: bnn_calibration.sh DATA_DIR [LAYERS...]}
shift
layers=${*:-"20,20 32,32 64,64"}
seeds=${SEEDS:-"1 2 3"}
hadron=${HADRON:-$root/build/hadron}
out=${OUT:-$root/build-bench/bnn_calibration/$(basename "$data")}
mkdir -p "$out"
field() { sed -n "s/.*\"$2\": \([^,}]*\).*/\1/p" "$1" | head -1; }
echo "| hidden | seed | --calibrate | rel. error (median) | pull mean | pull std | \|pull\| < 1 | \|pull\| < 2 | val offset | val scale |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
for l in $layers; do
  for s in $seeds; do
    for cal in no yes; do
      dir=$out/${l/,/-}_s${s}_$cal
      flag=""; [ "$cal" = yes ] && flag=--calibrate
      "$hadron" bnn --data "$data" --out "$dir" --layers "$l" --seed "$s" --threads "${THREADS:-1}" $flag \
        > "$dir.log" 2>&1 || { echo "bnn failed: see $dir.log" >&2; exit 1; }
      m=$dir/metrics.json
      printf '| %s | %s | %s | %.4f | %+.3f | %.3f | %.3f | %.3f | %+.4f ± %.4f | %.3f ± %.3f |\n' "${l/,/, }" "$s" "$cal" \
        "$(field "$m" rel_err_median)" "$(field "$m" pull_mean)" "$(field "$m" pull_std)" \
        "$(field "$m" coverage_1sigma)" "$(field "$m" coverage_2sigma)" "$(field "$m" offset)" \
        "$(field "$m" offset_err)" "$(field "$m" scale)" "$(field "$m" scale_err)"
    done
  done
done
