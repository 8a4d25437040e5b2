#!/usr/bin/env bash
# Data-parallel scaling on one machine (docs/distributed.md): the same
# training run on 1 rank x 1 thread and on 2 ranks x 1 thread (mpirun),
# at the same global batch, for the DCGAN step (`hadron gan train`, the
# seed's batch 256, the median step time its metrics.json reports) and the
# WGAN-GP epoch (`hadron gen train`, reduced showers, batch 128, the
# history's epoch times after the first).  Prints one JSON line per case:
# one_rank_s, two_ranks_s, speedup = one_rank_s / two_ranks_s (the goal:
# >= 1.7).
#
#   bash bench/mpi.sh
#
# Builds hadron with -DHADRON_MPI=ON in $HADRON_MPI_BUILD (default
# build-mpi/ beside the sources) when it is missing; needs Open MPI
# (libopenmpi-dev, openmpi-bin) and Debian's fashion-mnist.  PyTorch's
# scaling on the same machine comes from bench/run.sh: `bash bench/run.sh 1
# dcgan_step` and `bash bench/run.sh 2 dcgan_step` (threads, not processes).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${HADRON_MPI_BUILD:-$root/build-mpi}
if [ ! -x "$build/hadron" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHADRON_MPI=ON -DHADRON_TESTS=OFF >/dev/null
  cmake --build "$build" --target hadron -j "$(nproc)" >/dev/null
fi
hadron=$build/hadron
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 HADRON_LOG=warn
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN { exit !(l > 0.5) }' && echo "mpi.sh: warning: load average $load; measure on an idle machine" >&2

number() { sed -n "s/.*\"$2\": *\([0-9.e+-]*\).*/\1/p" "$1"; } # metrics.json key
epochs_after_first() { awk -F, 'NR > 2 { s += $NF; n++ } END { printf "%.4f", s / n }' "$1"; }
report() { # case, batch, one, two
  awk -v c="$1" -v b="$2" -v one="$3" -v two="$4" -v cpu="$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)" \
    'BEGIN { printf "{\"case\":\"%s\",\"batch\":%d,\"threads_per_rank\":1,\"one_rank_s\":%.4f,\"two_ranks_s\":%.4f,\"speedup\":%.3f,\"cpu\":\"%s\"}\n", c, b, one, two, one / two, cpu }'
}

# DCGAN: 2048 images, 8 steps at batch 256 per epoch, 2 epochs; the first
# run trains the Frechet-distance classifier, the second reuses it.
gan="gan train --n-train 2048 --epochs 2 --batch 256 --fd-samples 200 --grid 4 --threads 1"
"$hadron" $gan --out "$tmp/gan1" >/dev/null
mpirun --oversubscribe -np 2 "$hadron" $gan --classifier "$tmp/gan1/classifier.safetensors" --out "$tmp/gan2" >/dev/null
report dcgan_step 256 "$(number "$tmp/gan1/metrics.json" seconds_per_step)" "$(number "$tmp/gan2/metrics.json" seconds_per_step)"

# WGAN-GP: 4000 reduced showers (3000 trained), 5 critic steps per generator step, 4 epochs.
"$hadron" sim calo --n 4000 --out "$tmp/calo.h5" --threads 1 >/dev/null
gen="gen train --model wgan-gp --data $tmp/calo.h5 --heldout-fraction 0.25 --epochs 4 --batch 128 --no-eval --threads 1"
"$hadron" $gen --out "$tmp/gen1" >/dev/null
mpirun --oversubscribe -np 2 "$hadron" $gen --out "$tmp/gen2" >/dev/null
report wgan_gp_epoch 128 "$(epochs_after_first "$tmp/gen1/history.csv")" "$(epochs_after_first "$tmp/gen2/history.csv")"
