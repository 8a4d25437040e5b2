#!/usr/bin/env bash
# The command line as a user meets it: help, version, exit codes, error
# messages that name the file and the problem, short runs whose outputs are
# complete, and the embedding example.  Usage: run.sh path/to/hadron path/to/efficiency path/to/fast_sim
set -uo pipefail
hadron=$1 example=$2 fast_sim=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@" >"$tmp/out" 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what"; sed 's/^/  | /' "$tmp/out"; fi
}
expect() { # description, expected exit code, text expected in the output, command...
  local what=$1 code=$2 text=$3; shift 3
  "$@" >"$tmp/out" 2>&1
  local rc=$?
  if [ "$rc" -eq "$code" ] && grep -qF -- "$text" "$tmp/out"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what (exit $rc, wanted $code and '$text')"; sed 's/^/  | /' "$tmp/out"; fi
}

expect "version" 0 "hadron 0.1.0" "$hadron" --version
# Address-space limits (ulimit -v): sanitizer builds reserve terabytes of shadow memory first and
# cannot run under one at all, so they run those cases without the limit or skip them.
limit="ulimit -v"
grep -q __asan_init "$hadron" && limit=": no limit under ASan"
# A limit too small to start is refused at once (OpenBLAS would hang while loading).
if [ "$limit" = "ulimit -v" ]; then
  expect "address-space limit too small" 2 "address-space limit (ulimit -v) is 256 MiB" \
    timeout 5 bash -c "ulimit -v 262144; OMP_NUM_THREADS=2 exec '$hadron' --version"
  # One that starts but that the data then fill: refused before OpenBLAS's next buffer, not hung in it.
  if [ -d /usr/share/datasets/fashion-mnist ]; then
    expect "address space filled by a workflow's data" 1 "OpenBLAS may still reserve" \
      timeout 30 bash -c "ulimit -v 409600; OMP_NUM_THREADS=1 exec '$hadron' gan train --threads 1 --n-train 2000 \
        --epochs 1 --fd-samples 500 --out '$tmp/gan_as'"
  fi
fi
expect "top-level help lists commands" 0 "fit" "$hadron" --help
expect "no command is a usage error" 2 "usage: hadron" "$hadron"
expect "unknown command" 2 "unknown command 'nope'" "$hadron" nope
for cmd in demo fit info sim surrogate predict bnn gan gen avo calo-eval study export; do
  expect "$cmd --help" 0 "usage: hadron $cmd" "$hadron" "$cmd" --help
done
expect "bad number" 2 "--epochs: 'ten' is not a valid integer" "$hadron" fit --epochs ten
expect "unknown option" 2 "unknown option '--bogus'" "$hadron" fit --bogus
expect "bad layers" 2 "layers '3,x'" "$hadron" fit --layers 3,x
expect "bad activation" 2 "unknown activation 'swish'" "$hadron" fit --activation swish
expect "bad learning rate, before the summary" 2 "learning rate -1" "$hadron" fit --lr -1
expect "unwritable output" 1 "$tmp/file/sub" bash -c "touch '$tmp/file' && '$hadron' fit --epochs 1 --out '$tmp/file/sub'"

expect "short fit" 0 "x lower" "$hadron" fit --epochs 5 --print-every 5 --out "$tmp/fit"
for f in history.csv loss.gp model.safetensors; do check "fit wrote $f" test -s "$tmp/fit/$f"; done
check "history has a row per epoch" test "$(wc -l < "$tmp/fit/history.csv")" -eq 6
expect "info describes the model" 0 "mlp.dense0.weight" "$hadron" info --model "$tmp/fit/model.safetensors"

head -c 100 "$tmp/fit/model.safetensors" > "$tmp/cut.safetensors"
expect "truncated checkpoint refused with its name" 1 "cut.safetensors" "$hadron" info --model "$tmp/cut.safetensors"
expect "missing checkpoint" 1 "missing.safetensors" "$hadron" info --model "$tmp/missing.safetensors"
expect "info needs --model" 2 "--model FILE is required" "$hadron" info
# A file's strings reach the terminal without their escapes: OSC (retitle) and BEL in the
# metadata, a C1 CSI (U+009B) and ESC [2J (clear screen) in a tensor name, in info and in errors.
st_file() { # path, JSON header[, data as a printf format; default: 4 zero bytes]: a safetensors file
  local n=${#2}
  { printf "\\x$(printf %02x $((n % 256)))\\x$(printf %02x $((n / 256)))\\0\\0\\0\\0\\0\\0"; printf '%s' "$2"
    printf "${3:-\\0\\0\\0\\0}"; } > "$1"
}
st_file "$tmp/esc.safetensors" '{"__metadata__":{"title":"\u001b]0;pwned\u0007","csi":"\u009b2J"},"w\u001b[2J":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
expect "info shows hostile names" 0 "w?[2J" "$hadron" info --model "$tmp/esc.safetensors"
cp "$tmp/out" "$tmp/esc.out"
check "info prints no escapes" bash -c "! LC_ALL=C grep -q \$'[\\x07\\x1b\\x9b]' '$tmp/esc.out'"
st_file "$tmp/esc2.safetensors" '{"w\u001b[2J":{"dtype":"F32","data_offsets":[0,4]}}'
expect "an error names the hostile tensor" 1 "tensor 'w?[2J'" "$hadron" info --model "$tmp/esc2.safetensors"
cp "$tmp/out" "$tmp/esc2.out"
check "errors print no escapes" bash -c "! LC_ALL=C grep -q \$'[\\x07\\x1b]' '$tmp/esc2.out'"

# the surrogate path: simulate, train, look; then predict and embed
expect "sim tracking" 0 "wrote $tmp/s/hist.npz" "$hadron" sim tracking --out "$tmp/s/hist.npz" --particles 50000 \
  --truth-particles 50000 --eta-bins 3 --pt-bins 10 --phi-bins 4
expect "sim tracking --help" 0 "--particles" "$hadron" sim tracking --help
expect "sim tracking: bad options refused before anything is made" 2 "n_eta = 0 must be in" \
  "$hadron" sim tracking --eta-bins 0 --out "$tmp/s0/hist.npz"
check "sim tracking: no directory for refused options" test ! -e "$tmp/s0"
expect "unknown simulator" 2 "usage: hadron sim" "$hadron" sim nope
expect "an unknown subcommand is named" 2 "hadron sim: unknown simulator 'foo'" "$hadron" sim foo
expect "sim --help lists the simulators" 0 "amplitudes" "$hadron" sim --help
expect "surrogate" 0 "against the true efficiency" "$hadron" surrogate --input "$tmp/s/hist.npz" --out "$tmp/s/m" --epochs 3 --batch 32
for f in model.safetensors metrics.json history.csv loss.gp efficiency.gp eff_points.csv eff_model.csv; do
  check "surrogate wrote $f" test -s "$tmp/s/m/$f"
done
check "metrics.json has mae_truth" grep -q '"mae_truth": [0-9]' "$tmp/s/m/metrics.json"
expect "surrogate needs --input" 2 "--input FILE.npz is required" "$hadron" surrogate
expect "surrogate bad loss" 2 "unknown loss 'l3'" "$hadron" surrogate --input "$tmp/s/hist.npz" --loss l3
expect "an enum is refused with its choices" 2 "--loss: unknown loss 'foo' (l2, sigmoid-l2 or binomial)" \
  "$hadron" surrogate --input "$tmp/s/hist.npz" --loss foo
expect "a list is refused at its bad item" 2 "--layers '12,x': item 2 ('x') is not a positive integer" \
  "$hadron" surrogate --input "$tmp/s/hist.npz" --layers 12,x
expect "options are checked before the summary" 2 "epochs and batch must be positive" \
  "$hadron" surrogate --input x.npz --epochs -3 --out "$tmp/s/neg"
cp "$tmp/out" "$tmp/neg.out"
check "no summary for refused options" bash -c "! grep -q 'up to' '$tmp/neg.out'"
check "no output directory for refused options" test ! -e "$tmp/s/neg"
expect "surrogate --optimizer adam, the summary counts 4 inputs" 0 "MLP 4-8-8-1 (relu), loss binomial, adam lr 0.001" \
  "$hadron" surrogate --input "$tmp/s/hist.npz" --out "$tmp/s/adam" --epochs 2 --batch 32 --layers 8,8 --optimizer adam
expect "surrogate --phi linear has 3 inputs" 0 "MLP 3-8-1" \
  "$hadron" surrogate --input "$tmp/s/hist.npz" --out "$tmp/s/lin" --epochs 1 --batch 32 --layers 8 --phi linear
expect "surrogate --help: the optimiser block, its default by name" 0 "default nadamw" "$hadron" surrogate --help
expect "surrogate --help: checkpoints" 0 "--checkpoint-every N" "$hadron" surrogate --help
expect "surrogate --help: resume" 0 "--resume" "$hadron" surrogate --help
expect "bnn --help: checkpoints" 0 "--checkpoint-every N" "$hadron" bnn --help
expect "bnn --help: resume" 0 "--resume" "$hadron" bnn --help
expect "surrogate on a file that is not a histogram" 1 "$tmp/fit/model.safetensors" "$hadron" surrogate --input "$tmp/fit/model.safetensors" --out "$tmp/s/bad"
# inputs as a NumPy user writes them: (N, 3) float64 rows of eta, pT [MeV], phi
write_inputs() { # a (2, 3) float64 .npy as np.save writes it: rows (3.5, 1000, 1) and (4, 10, 2)
  local hdr="{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
  { printf '\x93NUMPY\x01\x00\x76\x00'; printf '%-117s\n' "$hdr"  # header padded to 128 bytes
    printf '\x00\x00\x00\x00\x00\x00\x0c\x40\x00\x00\x00\x00\x00\x40\x8f\x40\x00\x00\x00\x00\x00\x00\xf0\x3f'
    printf '\x00\x00\x00\x00\x00\x00\x10\x40\x00\x00\x00\x00\x00\x00\x24\x40\x00\x00\x00\x00\x00\x00\x00\x40'
  } > "$1"
}
write_inputs "$tmp/x.npy"
expect "predict" 0 "2 predictions" "$hadron" predict --model "$tmp/s/m/model.safetensors" --input "$tmp/x.npy" --output "$tmp/y.npy"
check "predictions written" test -s "$tmp/y.npy"
expect "export the surrogate as C" 0 "float *eff(float *out /* [1] */, const float *in /* [3] raw */)" \
  "$hadron" export --model "$tmp/s/m/model.safetensors" --out "$tmp/c/eff"
check "the exported C compiles" cc -std=c11 -Wall -Wextra -Werror -pedantic -O2 -c "$tmp/c/eff.c" -o "$tmp/c/eff.o"
expect "export needs --model" 2 "--model FILE and --out PATH are required" "$hadron" export --out "$tmp/c/x"
expect "export: unknown format" 2 "unknown format 'tflite'" "$hadron" export --model "$tmp/s/m/model.safetensors" --out "$tmp/c/x" --format tflite
expect "export as ONNX" 0 "ONNX opset 13, input \"in\" [N, 3] raw" \
  "$hadron" export --model "$tmp/s/m/model.safetensors" --format onnx --out "$tmp/c/eff.onnx"
check "the ONNX file is there" test -s "$tmp/c/eff.onnx"
expect "export: a bad name" 1 "not a C identifier" "$hadron" export --model "$tmp/s/m/model.safetensors" --out "$tmp/c/x" --name 1x
expect "predict: wrong input width" 1 "the model wants (N, 3)" "$hadron" predict --model "$tmp/s/m/model.safetensors" --input "$tmp/y.npy" --output "$tmp/z.npy"
expect "embedding example" 0 "ns per particle" "$example" "$tmp/s/m/model.safetensors"
# values: a NaN input is refused by row and column (a ReLU would pass it as 0) unless allowed
write_inputs "$tmp/nan.npy"
printf '\x00\x00\x00\x00\x00\x00\xf8\x7f' | dd of="$tmp/nan.npy" bs=1 seek=160 conv=notrunc 2>/dev/null
expect "predict refuses a NaN input" 1 "row 1, column 1 is NaN" "$hadron" predict --model "$tmp/s/m/model.safetensors" --input "$tmp/nan.npy" --output "$tmp/z.npy"
expect "predict --allow-nonfinite" 0 "2 predictions" "$hadron" predict --allow-nonfinite --model "$tmp/s/m/model.safetensors" --input "$tmp/nan.npy" --output "$tmp/z.npy"
# a 2-1-1 model as hadron writes it, with a NaN weight, and with a hidden size of 1.5
mlp_header() { # hidden size
  printf '{"__metadata__":{"model":"mlp","mlp":"{\\"hidden\\":[%s],\\"n_in\\":2,\\"n_out\\":1,\\"activation\\":\\"tanh\\",\\"output_activation\\":\\"none\\"}","prefix":"mlp"},"mlp.dense0.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"mlp.dense0.bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"mlp.dense1.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[12,16]},"mlp.dense1.bias":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}}' "$1"
}
st_file "$tmp/nanw.safetensors" "$(mlp_header 1)" '\0\0\xc0\x7f\0\0\x80\x3f\0\0\0\0\0\0\x80\x3f\0\0\0\0'
expect "a checkpoint with a NaN weight is refused" 1 "tensor 'mlp.dense0.weight' element 0 is NaN: a model's weights must be finite" "$hadron" predict --model "$tmp/nanw.safetensors" --input "$tmp/x.npy" --output "$tmp/z.npy"
st_file "$tmp/half.safetensors" "$(mlp_header 1.5)" '\0\0\0\0\0\0\x80\x3f\0\0\0\0\0\0\x80\x3f\0\0\0\0'
expect "a hidden size of 1.5 is refused" 1 "hidden size 0 is not an integer" "$hadron" predict --model "$tmp/half.safetensors" --input "$tmp/x.npy" --output "$tmp/z.npy"
st_file "$tmp/huge.safetensors" "$(mlp_header 16777216)" '\0\0\0\0\0\0\x80\x3f\0\0\0\0\0\0\x80\x3f\0\0\0\0'
expect "layers the file does not hold are refused before any allocation" 1 \
  "tensor 'mlp.dense0.weight' has shape [1, 2] but the param has shape [16777216, 2]" \
  timeout 5 bash -c "$limit 1048576; exec '$hadron' predict --model '$tmp/huge.safetensors' --input '$tmp/x.npy' --output '$tmp/z.npy'"
st_file "$tmp/ok.safetensors" "$(mlp_header 1)" '\0\0\0\0\0\0\x80\x3f\0\0\0\0\0\0\x80\x3f\0\0\0\0'
expect "the same model with finite weights loads (and wants 2 inputs)" 1 "the model wants (N, 2)" "$hadron" predict --model "$tmp/ok.safetensors" --input "$tmp/x.npy" --output "$tmp/z.npy"

# the bnn path: amplitudes, then a Bayesian network on them
expect "sim amplitudes" 0 "tst_amp.npy" "$hadron" sim amplitudes --out "$tmp/a" --train 600 --val 300 --test 300
expect "sim amplitudes --help" 0 "--sqrt-s" "$hadron" sim amplitudes --help
expect "sim amplitudes --help shows the processes" 0 "(qqbar-aag, ee-qqg; default qqbar-aag)" "$hadron" sim amplitudes --help
expect "sim amplitudes --process ee-qqg" 0 "e+e- -> gamma* -> q qbar g" \
  "$hadron" sim amplitudes --process ee-qqg --out "$tmp/ee" --train 200 --val 100 --test 100
for f in trn_dat trn_amp val_dat val_amp tst_dat tst_amp; do check "sim amplitudes --process ee-qqg wrote $f.npy" test -s "$tmp/ee/$f.npy"; done
expect "sim amplitudes: an unknown process is refused" 2 "--process: unknown process 'ee-qqq' (qqbar-aag or ee-qqg)" \
  "$hadron" sim amplitudes --process ee-qqq --out "$tmp/ee0"
check "sim amplitudes: no directory for an unknown process" test ! -e "$tmp/ee0"
expect "bnn" 0 "pulls: mean" "$hadron" bnn --data "$tmp/a" --out "$tmp/a/m" --epochs 3 --samples 4
for f in model.safetensors metrics.json history.csv loss.gp amplitudes.gp deviation.gp pulls.gp calibration.gp; do
  check "bnn wrote $f" test -s "$tmp/a/m/$f"
done
check "bnn history has a row per epoch" test "$(wc -l < "$tmp/a/m/history.csv")" -eq 4
check "bnn metrics.json has the pulls" grep -q '"pull_std": [0-9]' "$tmp/a/m/metrics.json"
expect "bnn needs --data" 2 "--data DIR is required" "$hadron" bnn
expect "bnn --init from another network" 1 "model.safetensors: missing tensor 'bnn.bayes0.weight_mean'" \
  "$hadron" bnn --data "$tmp/a" --out "$tmp/a/m3" --epochs 1 --init "$tmp/s/m/model.safetensors"
expect "bnn --init from its own model" 0 "pulls: mean" \
  "$hadron" bnn --data "$tmp/a" --out "$tmp/a/m3" --epochs 1 --samples 4 --init "$tmp/a/m/model.safetensors"
cp "$tmp/a/val_dat.npy" "$tmp/a/val_amp.npy"
expect "bnn: momenta given as amplitudes" 1 "$tmp/a/val_amp.npy: shape (300, 5, 4) but amplitudes must be (N,)" \
  "$hadron" bnn --data "$tmp/a" --out "$tmp/a/m2" --epochs 1

# the event generator: HepMC3 files, the same for any thread count
expect "sim events" 0 "wrote $tmp/e/events.hepmc3: 300 events" "$hadron" sim events --n 300 --seed 5 --out "$tmp/e/events.hepmc3"
expect "sim events --help" 0 "--sqrt-s" "$hadron" sim events --help
check "events file is HepMC3" grep -qx "HepMC::Asciiv3-START_EVENT_LISTING" "$tmp/e/events.hepmc3"
check "events file is complete" test "$(tail -n 2 "$tmp/e/events.hepmc3" | head -n 1)" = "HepMC::Asciiv3-END_EVENT_LISTING"
check "one E line per event" test "$(grep -c '^E ' "$tmp/e/events.hepmc3")" -eq 300
check "same seed, one thread: the same file" bash -c "'$hadron' sim events --n 300 --seed 5 --threads 1 \
  --out '$tmp/e/again.hepmc3' >/dev/null && cmp -s '$tmp/e/events.hepmc3' '$tmp/e/again.hepmc3'"
expect "sim events needs events" 2 "--n 0: need at least 1 event" "$hadron" sim events --n 0 --out "$tmp/e/x.hepmc3"
expect "sim events: energy out of range" 2 "sqrt_s = 5 GeV" "$hadron" sim events --n 10 --sqrt-s 5 --out "$tmp/e/x.hepmc3"
expect "sim events: bad number" 2 "--sqrt-s: 'z' is not a valid number" "$hadron" sim events --sqrt-s z
check "no file left by a failed run" test ! -e "$tmp/e/x.hepmc3"
expect "sim events: unwritable output" 1 "$tmp/file" "$hadron" sim events --n 10 --out "$tmp/file/ev.hepmc3"

# gan: the commands and their refusals (training itself: tests/test_gan.c)
expect "gan train --help" 0 "usage: hadron gan train" "$hadron" gan train --help
expect "gan sample --help" 0 "usage: hadron gan sample" "$hadron" gan sample --help
expect "gan: no subcommand" 2 "usage: hadron gan <train|sample>" "$hadron" gan
expect "gan: an unknown subcommand" 2 "hadron gan: unknown command 'foo'" "$hadron" gan foo
expect "gan sample needs a model" 2 "--model CHECKPOINT is required" "$hadron" gan sample --out "$tmp/g"
expect "gan: missing data" 1 "/nonexistent/train-images-idx3-ubyte" "$hadron" gan train --data /nonexistent --out "$tmp/g"

# avo: a short Weinberg run, and the refusals
fix=$(cd "$(dirname "$0")/../fixtures" && pwd)
expect "avo weinberg" 0 "c = " "$hadron" avo --simulator weinberg --truth 42,0.9 --iterations 5 --pretrain-samples 0 \
  --out "$tmp/avo"
for f in history.csv metrics.json convergence_E_beam.gp convergence_c.gp hist.gp; do check "avo wrote $f" test -s "$tmp/avo/$f"; done
check "avo history: header, start, 5 iterations" test "$(wc -l < "$tmp/avo/history.csv")" -eq 7
expect "avo: unknown simulator" 2 "--simulator: unknown simulator 'pythia' (tracker or weinberg)" "$hadron" avo \
  --simulator pythia --truth 1
expect "avo: truth needs two numbers" 2 "--truth: 1 number for the weinberg simulator's 2 parameters (E_beam, G_f)" \
  "$hadron" avo --simulator weinberg --truth 42
expect "avo: truth outside the box" 2 "truth E_beam = 60 lies outside [40, 50]" "$hadron" avo --simulator weinberg \
  --truth 60,1 --out "$tmp/avo2"
check "avo: nothing made for refused options" test ! -e "$tmp/avo2"
expect "avo --help: both optimisers, --lr-disc kept" 0 "--lr-disc X" "$hadron" avo --help
expect "avo --help: the proposal's optimiser" 0 "--optimizer-proposal NAME" "$hadron" avo --help
expect "avo --help: a default that depends on the simulator" 0 "(default tracker 0.05, weinberg 0)" "$hadron" avo --help
expect "avo: no data" 2 "give --observed FILE.npy or --truth" "$hadron" avo
expect "avo: observed of the wrong shape" 1 \
  "$tmp/a/val_dat.npy: shape (300, 5, 4): the weinberg simulator's observations need shape (N, 1) or (N,)" \
  "$hadron" avo --simulator weinberg --observed "$tmp/a/val_dat.npy"
h="{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
{ printf '\x93NUMPY\x01\x00\x76\x00%-117s\n' "$h"; printf '\x00\x00\x80\x3f\x00\x00\xc0\x7f'; } > "$tmp/nan.npy"
expect "avo: a NaN observation" 1 "$tmp/nan.npy: entry 1 (row 1) is nan" "$hadron" avo --simulator weinberg --observed "$tmp/nan.npy"
h="{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }"
{ printf '\x93NUMPY\x01\x00\x76\x00%-117s\n' "$h"; printf '\x01\x00\x00\x00\x02\x00\x00\x00'; } > "$tmp/int.npy"
expect "avo: integer observations" 1 "$tmp/int.npy: dtype int32: observations must be float32 or float64" \
  "$hadron" avo --simulator weinberg --observed "$tmp/int.npy"
expect "avo: broken HepMC3 events" 1 "missing_vertex.hepmc3:" "$hadron" avo --truth 1 --events "$fix/hepmc3/missing_vertex.hepmc3"

# sim calo: CaloChallenge-style shower files, the same for any thread count, and the refusals
expect "sim calo --help" 0 "--geometry NAME" "$hadron" sim calo --help
expect "sim calo" 0 "wrote $tmp/c/r.h5 (HDF5): 300 showers simulated" "$hadron" sim calo --n 300 --out "$tmp/c/r.h5"
check "sim calo: an HDF5 file" bash -c "head -c 8 '$tmp/c/r.h5' | od -An -c | grep -q 'H   D   F'"
expect "sim calo ecal30 npz" 0 "30 x 30 cells of 4.65 mm" "$hadron" sim calo --geometry ecal30 --particle photon \
  --n 100 --e-min 2GeV --e-max 50GeV --slope-x 0.1 --seed 3 --out "$tmp/c/g.npz"
check "sim calo: same seed, one thread: the same file" bash -c "'$hadron' sim calo --geometry ecal30 --particle photon \
  --n 100 --e-min 2GeV --e-max 50GeV --slope-x 0.1 --seed 3 --threads 1 --out '$tmp/c/g1.npz' >/dev/null \
  && cmp -s '$tmp/c/g.npz' '$tmp/c/g1.npz'"
expect "sim calo: energy out of range" 2 "e_min = 50 MeV must be in [100, 1e+07] MeV" "$hadron" sim calo \
  --e-min 50MeV --out "$tmp/c0/x.h5"
expect "sim calo: energies the wrong way round" 2 "e_min = 5000 MeV is above e_max = 2000 MeV" "$hadron" sim calo \
  --e-min 5GeV --e-max 2GeV --out "$tmp/c0/x.h5"
expect "sim calo: bad energy" 2 "--e-min: '1 PeV' is not a valid energy" "$hadron" sim calo --e-min "1 PeV"
expect "sim calo: unknown geometry" 2 "--geometry: unknown" "$hadron" sim calo --geometry ds4
expect "sim calo: unknown particle" 2 "--particle: unknown" "$hadron" sim calo --particle muon
expect "sim calo: bad slopes" 2 "slope_x = [0.5, 0.2]" "$hadron" sim calo --geometry ecal30 --slope-x 0.5,0.2 \
  --out "$tmp/c0/x.h5"
check "sim calo: no directory for refused options" test ! -e "$tmp/c0"
check "sim calo: the same seed on one thread writes the same HDF5 bytes" bash -c "'$hadron' sim calo --n 50 --seed 9 \
  --out '$tmp/c/h1.h5' >/dev/null && '$hadron' sim calo --n 50 --seed 9 --threads 1 --out '$tmp/c/h2.h5' >/dev/null \
  && cmp -s '$tmp/c/h1.h5' '$tmp/c/h2.h5'"

# calo-eval: the judge, on two small samples of the simulator, and its refusals
"$hadron" sim calo --n 400 --seed 2 --out "$tmp/c/r2.h5" >/dev/null
expect "calo-eval --help" 0 "--reference2" "$hadron" calo-eval --help
expect "calo-eval" 0 "the voxel classifier: 100, 100, 100" "$hadron" calo-eval --reference "$tmp/c/r.h5" \
  --generated "$tmp/c/r2.h5" --epochs 2 --voxel-showers 100 --out "$tmp/ce"
for f in metrics.json report.md features_E_ratio.png features_E_layer.gp; do check "calo-eval wrote $f" test -s "$tmp/ce/$f"; done
check "calo-eval metrics: the keys and the floor" bash -c "grep -q '\"auc_high\"' '$tmp/ce/metrics.json' && \
  grep -q '\"floor\": {' '$tmp/ce/metrics.json' && grep -q '\"E_ratio\"' '$tmp/ce/metrics.json' && \
  grep -q '\"n_voxel_reference\": 100' '$tmp/ce/metrics.json'"
expect "calo-eval: files needed" 2 "--reference A.h5 and --generated B.h5 are required" "$hadron" calo-eval
expect "calo-eval: missing file" 1 "$tmp/none.h5" "$hadron" calo-eval --reference "$tmp/none.h5" \
  --generated "$tmp/c/r2.h5" --out "$tmp/ce0"
expect "calo-eval: layouts differ" 1 "voxels" "$hadron" calo-eval --reference "$tmp/c/r.h5" --generated "$tmp/c/g.npz" \
  --out "$tmp/ce0"
expect "calo-eval: negative voxel showers" 2 "voxel showers -1" "$hadron" calo-eval --reference "$tmp/c/r.h5" \
  --generated "$tmp/c/r2.h5" --voxel-showers -1 --out "$tmp/ce0"
expect "calo-eval: unknown geometry" 2 "unknown calorimeter layout 'ds9'" "$hadron" calo-eval --reference "$tmp/c/r.h5" \
  --generated "$tmp/c/r2.h5" --geometry ds9 --out "$tmp/ce0"

# gen: a generator trained, sampled and refused (the library: no training time)
expect "gen train --help" 0 "--enforce LIST" "$hadron" gen train --help
expect "gen train --help: the gmm's transform" 0 "(log, frac; default frac)" "$hadron" gen train --model gmm --help
expect "gen train: data needed" 2 "--data FILE is required" "$hadron" gen train --model library
expect "gen train: unknown model" 2 "unknown" "$hadron" gen train --model flow --data "$tmp/c/r.h5"
expect "gen train: bad enforce" 2 "--enforce" "$hadron" gen train --enforce speed --data "$tmp/c/r.h5"
expect "gen train: nothing to resume" 2 "nothing to resume" "$hadron" gen train --model gmm --resume \
  --data "$tmp/c/r.h5" --out "$tmp/gen0"
expect "gen train: a critic without layer norm" 0 "trained in" "$hadron" gen train --critic-no-norm --epochs 1 \
  --batch 64 --gen-layers 32 --critic-layers 32 --latent 8 --no-eval --data "$tmp/c/r.h5" --out "$tmp/gnn"
expect "gen train: resume refuses another critic" 1 "trained with --critic-layers 32,no-norm" "$hadron" gen train --resume --epochs 2 \
  --batch 64 --gen-layers 32 --critic-layers 32 --latent 8 --no-eval --data "$tmp/c/r.h5" --out "$tmp/gnn"
expect "gen train library" 0 "held-out showers" "$hadron" gen train --model library --data "$tmp/c/r.h5" --heldout-fraction 0.5 \
  --eval-epochs 2 --out "$tmp/gl"
for f in checkpoint.safetensors metrics.json showers.png heldout.h5 generated.h5 eval/report.md; do
  check "gen train wrote $f" test -s "$tmp/gl/$f"
done
check "gen metrics: calo-eval keys, the floor, the times" bash -c "grep -q '\"auc_high\"' '$tmp/gl/metrics.json' && \
  grep -q '\"floor\": {' '$tmp/gl/metrics.json' && grep -q '\"sample_showers_per_s\"' '$tmp/gl/metrics.json'"
expect "gen sample" 0 "wrote 50 showers" "$hadron" gen sample --model "$tmp/gl/checkpoint.safetensors" --n 50 \
  --e-min 5GeV --e-max 6GeV --out "$tmp/gs.h5"
expect "export: the library is not exported" 1 "a library generator: only dense network generators are exported" \
  "$hadron" export --model "$tmp/gl/checkpoint.safetensors" --format onnx --out "$tmp/gl.onnx"
expect "export: the library is not exported as C either" 1 "a library generator: only dense network generators" \
  "$hadron" export --model "$tmp/gl/checkpoint.safetensors" --out "$tmp/gl_c"
expect "gen sample --noise: a wrong shape" 1 "x.npy: the noise must have shape (50, " "$hadron" gen sample \
  --model "$tmp/gl/checkpoint.safetensors" --n 50 --noise "$tmp/x.npy" --out "$tmp/gz.h5"
expect "fast_sim example embeds the generator" 0 "library model: 1000 showers of 288 voxels" "$fast_sim" \
  "$tmp/gl/checkpoint.safetensors"
expect "gen sample: outside the training range" 1 "outside the training range" "$hadron" gen sample \
  --model "$tmp/gl/checkpoint.safetensors" --n 5 --e-min 2TeV --e-max 3TeV --out "$tmp/gs2.h5"
expect "gen sample: --extrapolate" 0 "wrote 5 showers" "$hadron" gen sample --extrapolate \
  --model "$tmp/gl/checkpoint.safetensors" --n 5 --e-min 2TeV --e-max 3TeV --out "$tmp/gs2.h5"
expect "gen sample: not a generator" 1 "not a shower generator" "$hadron" gen sample --model "$tmp/fit/model.safetensors" \
  --n 5 --out "$tmp/gs3.h5"
expect "gen train --help: the mdn's options" 0 "--mdn-k" "$hadron" gen train --model mdn --help
expect "gen train mdn" 0 "held-out NLL" "$hadron" gen train --model mdn --epochs 1 --batch 32 --gen-layers 32 \
  --energy-layers 16 --no-eval --data "$tmp/c/r.h5" --out "$tmp/gm"
check "gen train mdn wrote its training state" test -s "$tmp/gm/train.safetensors"
expect "gen train mdn: resume refuses another mdn-k" 1 "trained with --mdn-k 5" "$hadron" gen train --model mdn \
  --resume --epochs 2 --batch 32 --gen-layers 32 --energy-layers 16 --mdn-k 3 --no-eval --data "$tmp/c/r.h5" --out "$tmp/gm"
expect "gen train mdn: resume refuses other showers" 1 "trained with --data of fingerprint" "$hadron" gen train \
  --model mdn --resume --epochs 2 --batch 32 --gen-layers 32 --energy-layers 16 --no-eval --data "$tmp/c/r2.h5" \
  --max-showers 300 --out "$tmp/gm"
expect "gen sample mdn" 0 "wrote 50 showers" "$hadron" gen sample --model "$tmp/gm/checkpoint.safetensors" --n 50 \
  --e-min 5GeV --e-max 6GeV --out "$tmp/gms.h5"
expect "gen sample mdn: outside the training range" 1 "outside the training range" "$hadron" gen sample \
  --model "$tmp/gm/checkpoint.safetensors" --n 5 --e-min 2TeV --e-max 3TeV --out "$tmp/gms2.h5"
expect "export: the mdn is not exported" 1 "mdn generator: only dense network generators are exported" \
  "$hadron" export --model "$tmp/gm/checkpoint.safetensors" --format onnx --out "$tmp/gm.onnx"
expect "calo-eval reads gen sample" 0 "AUC" "$hadron" calo-eval --reference "$tmp/c/r2.h5" --generated "$tmp/gs.h5" \
  --epochs 2 --out "$tmp/gse"

# hadron study
expect "study lists its studies" 0 "amplify" "$hadron" study --help
expect "study toy-lognormal --help" 0 "--gan-resamplings N" "$hadron" study toy-lognormal --help
expect "study toy-lognormal: bad size" 2 "n-train 7000" "$hadron" study toy-lognormal --n-train 7000
expect "study toy-lognormal small" 0 "lognormal-fit" "$hadron" study toy-lognormal --n-train 100 --resamplings 4 \
  --gmm-resamplings 2 --gan-resamplings 0 --n-target 5000 --n-check 10000 --out "$tmp/st"
check "study toy-lognormal wrote metrics.json" test -s "$tmp/st/metrics.json"
expect "study decompose: too few showers" 2 "at least 10 events" "$hadron" study decompose --n-train 100
expect "study enforce: not a GAN" 2 "wgan-gp or cramer" "$hadron" study enforce --model vae
expect "study amplify: bad models" 2 "--models" "$hadron" study amplify --models flow
expect "study amplify: sizes must increase" 2 "sizes must increase" "$hadron" study amplify --sizes 4000,1000

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
