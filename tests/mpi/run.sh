#!/usr/bin/env bash
# Data-parallel training under mpirun (docs/distributed.md): 2 ranks against
# one process at the same global batch, for the trainer's workflows (fit,
# surrogate, bnn), the calorimeter generators (wgan-gp, cramer, vae, mdn), AVO
# and the DCGAN;
# resume under MPI bit for bit; a rank that fails ends the job, naming itself.
# Usage: run.sh path/to/hadron path/to/compare_weights   (an -DHADRON_MPI=ON build)
#
# Tolerances.  Summing the gradients of two half batches instead of one
# batch changes the order of float additions, so weights and losses agree to
# rounding, not bits: 1e-4 of each tensor's (each column's) largest value
# after a few dozen steps.  The comparisons use plain SGD: Adam's step
# m / sqrt(v) is blind to the scale of the gradient (a sum of the ranks'
# gradients instead of their mean would pass) and turns rounding in a
# component whose gradient is nearly 0 into a whole step of the learning rate.
set -uo pipefail
hadron=$1 compare=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpi() { timeout 300 mpirun --oversubscribe -np 2 "$@"; }

check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@" >"$tmp/out" 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what"; sed 's/^/  | /' "$tmp/out"; fi
}
# history.csv files agree within a relative tolerance, column by column (not the timings).
same_history() { # A.csv B.csv TOL
  awk -F, -v tol="$3" '
    FNR == 1 { next }
    NR == FNR { for (i = 1; i <= NF; i++) a[FNR, i] = $i; rows = FNR; next }
    { for (i = 1; i <= NF; i++) { b[FNR, i] = $i; v = $i < 0 ? -$i : $i; if (v > scale[i]) scale[i] = v } n = NF; brows = FNR }
    END {
      if (rows != brows) { print "rows " rows " and " brows; exit 1 }
      getline header < ARGV[1]; split(header, name, ",")
      for (r = 2; r <= rows; r++) for (i = 1; i <= n; i++) {
        if (name[i] == "seconds") continue
        d = a[r, i] - b[r, i]; if (d < 0) d = -d
        if (d > tol * scale[i]) { print name[i] " at row " r ": " a[r, i] " and " b[r, i]; bad = 1 }
      }
      exit bad
    }' "$1" "$2"
}
# One process and 2 ranks, then both comparisons.  OUT1 OUT2 weights-file command...
one_and_two() {
  local what=$1 one=$2 two=$3 weights=$4; shift 4
  check "$what: one process" "$@" --out "$one"
  check "$what: 2 ranks" mpi "$@" --out "$two"
  check "$what: history, 2 ranks as one process" same_history "$one/history.csv" "$two/history.csv" 1e-4
  check "$what: weights, 2 ranks as one process" "$compare" "$one/$weights" "$two/$weights" 1e-4
  echo "$what: $(tail -1 "$tmp/out")"
}

sgd="--optimizer sgd --lr 0.01"
one_and_two "fit" "$tmp/fit1" "$tmp/fit2" model.safetensors \
  "$hadron" fit --points 512 --epochs 6 --batch 32 --threads 1 $sgd
# A global batch of 33 on 2 ranks: 17 rows and 16, the means weighted by their rows.
one_and_two "fit, an odd batch" "$tmp/odd1" "$tmp/odd2" model.safetensors \
  "$hadron" fit --points 300 --epochs 4 --batch 33 --threads 1 $sgd

check "sim tracking" "$hadron" sim tracking --out "$tmp/hist.npz" --particles 50000 --truth-particles 50000 \
  --eta-bins 3 --pt-bins 10 --phi-bins 4 --threads 1
one_and_two "surrogate" "$tmp/sur1" "$tmp/sur2" model.safetensors \
  "$hadron" surrogate --input "$tmp/hist.npz" --epochs 5 --batch 16 --layers 32,32 --threads 1 $sgd

check "sim amplitudes" "$hadron" sim amplitudes --out "$tmp/amp" --train 2000 --val 500 --test 500
one_and_two "bnn" "$tmp/bnn1" "$tmp/bnn2" model.safetensors \
  "$hadron" bnn --data "$tmp/amp" --epochs 3 --batch 64 --samples 5 --threads 1 $sgd

check "sim calo" "$hadron" sim calo --n 800 --out "$tmp/calo.h5" --threads 1
gen="--data $tmp/calo.h5 --heldout-fraction 0.25 --epochs 2 --batch 32 --no-eval --threads 1
     --gen-layers 64,64 --critic-layers 64,64 --latent 16 --optimizer sgd --optimizer-critic sgd --lr 1e-3 --lr-critic 1e-3"
for model in wgan-gp cramer vae mdn; do
  one_and_two "gen $model" "$tmp/${model}1" "$tmp/${model}2" checkpoint.safetensors \
    "$hadron" gen train --model "$model" $gen
done

# AVO: each rank simulates a block of the draws, the discriminator trains data-parallel,
# the proposal (its means and widths in the history) takes the same steps.
avo="avo --simulator weinberg --truth 42,0.9 --iterations 10 --pretrain-samples 4096 --disc-samples 2048
     --threads 1 --optimizer-disc sgd --lr-disc 0.01"
check "avo: one process" "$hadron" $avo --out "$tmp/avo1"
check "avo: 2 ranks" mpi "$hadron" $avo --out "$tmp/avo2"
check "avo: history, 2 ranks as one process" same_history "$tmp/avo1/history.csv" "$tmp/avo2/history.csv" 1e-4

# The DCGAN (Fashion-MNIST, from scripts/setup.sh): its generator's batch norm takes the
# statistics of the whole global batch over the ranks.  Its zero-initialised biases see
# gradients near 0, so they are held to 1e-3 of their largest value.
fashion=/usr/share/datasets/fashion-mnist
if [ -d "$fashion" ]; then
  dcgan="gan train --data $fashion --n-train 512 --epochs 2 --batch 64 --fd-samples 100 --grid 4 --threads 1 $sgd"
  check "dcgan: one process" "$hadron" $dcgan --out "$tmp/dc1"
  check "dcgan: 2 ranks" mpi "$hadron" $dcgan --classifier "$tmp/dc1/classifier.safetensors" --out "$tmp/dc2"
  check "dcgan: history, 2 ranks as one process" same_history "$tmp/dc1/history.csv" "$tmp/dc2/history.csv" 1e-4
  check "dcgan: weights, 2 ranks as one process" "$compare" "$tmp/dc1/checkpoint.safetensors" \
    "$tmp/dc2/checkpoint.safetensors" 1e-3
  check "dcgan: 2 ranks, 1 epoch" mpi "$hadron" $dcgan --classifier "$tmp/dc1/classifier.safetensors" --epochs 1 \
    --out "$tmp/dcpart"
  check "dcgan: 2 ranks, resumed to 2" mpi "$hadron" $dcgan --classifier "$tmp/dc1/classifier.safetensors" \
    --out "$tmp/dcpart" --resume
  check "dcgan resumed: weights bit for bit" "$compare" "$tmp/dcpart/checkpoint.safetensors" \
    "$tmp/dc2/checkpoint.safetensors" 0
  check "dcgan: rank 0 drew the sample grids" test -s "$tmp/dc2/samples/epoch_002.png"
else
  echo "mpi: no $fashion (scripts/setup.sh installs it); the DCGAN cases are skipped"
fi

# --enforce takes batch moments, which would be each rank's: refused, not run differently.
mpi "$hadron" gen train --model wgan-gp $gen --enforce energy --out "$tmp/enf" >"$tmp/enf.out" 2>&1
rc=$?
check "gen --enforce on 2 ranks is refused" test "$rc" -ne 0 -a "$rc" -ne 124
check "and says why" grep -q "enforce is not available under mpirun" "$tmp/enf.out"

# Resume under MPI: rank 0 writes the checkpoint, every rank reads it, and
# the run goes on as if never stopped (Adam here: its moments resume too).
check "surrogate, 2 ranks, 6 epochs" mpi "$hadron" surrogate --input "$tmp/hist.npz" --epochs 6 --batch 16 \
  --layers 32,32 --threads 1 --checkpoint-every 3 --out "$tmp/whole"
check "surrogate, 2 ranks, 3 epochs" mpi "$hadron" surrogate --input "$tmp/hist.npz" --epochs 3 --batch 16 \
  --layers 32,32 --threads 1 --checkpoint-every 3 --out "$tmp/part"
check "surrogate, 2 ranks, resumed to 6" mpi "$hadron" surrogate --input "$tmp/hist.npz" --epochs 6 --batch 16 \
  --layers 32,32 --threads 1 --checkpoint-every 3 --out "$tmp/part" --resume
check "surrogate resumed: weights bit for bit" "$compare" "$tmp/part/model.safetensors" "$tmp/whole/model.safetensors" 0
check "surrogate resumed: history" same_history "$tmp/part/history.csv" "$tmp/whole/history.csv" 0
check "wgan-gp, 2 ranks, 4 epochs" mpi "$hadron" gen train --model wgan-gp $gen --epochs 4 --checkpoint-every 2 \
  --out "$tmp/gwhole"
check "wgan-gp, 2 ranks, 2 epochs" mpi "$hadron" gen train --model wgan-gp $gen --epochs 2 --checkpoint-every 2 \
  --out "$tmp/gpart"
check "wgan-gp, 2 ranks, resumed to 4" mpi "$hadron" gen train --model wgan-gp $gen --epochs 4 --checkpoint-every 2 \
  --out "$tmp/gpart" --resume
check "wgan-gp resumed: weights bit for bit" "$compare" "$tmp/gpart/checkpoint.safetensors" \
  "$tmp/gwhole/checkpoint.safetensors" 0

# A rank that fails (its data file missing on its node) ends every rank,
# naming itself and the file; rank 0, waiting in the first allreduce, does not hang.
cat > "$tmp/one_rank_missing.sh" <<EOS
#!/bin/sh
data="$tmp/hist.npz"
[ "\$OMPI_COMM_WORLD_RANK" = 1 ] && data="$tmp/missing/hist.npz"
exec "$hadron" surrogate --input "\$data" --epochs 50 --batch 16 --threads 1 --out "$tmp/fail"
EOS
chmod +x "$tmp/one_rank_missing.sh"
mpi "$tmp/one_rank_missing.sh" >"$tmp/fail.out" 2>&1
rc=$?
check "a failing rank fails the job, not by the timeout" test "$rc" -ne 0 -a "$rc" -ne 124
check "the error names the rank and the file" grep -q "rank 1 of 2.*missing/hist.npz" "$tmp/fail.out"
check "and says every rank is ended" grep -q "rank 1 of 2 failed" "$tmp/fail.out"
check "no model was written" test ! -e "$tmp/fail/model.safetensors"

echo "mpi: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
