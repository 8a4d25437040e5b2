#!/usr/bin/env bash
# hadron vs PyTorch (and NumPy) on the same machine, same thread count, one run.
#
#   bash bench/run.sh [threads] [case ...]
#
# threads defaults to $(nproc); cases default to all (see bench/README.md).
# Builds bench_dense, bench_surrogate, bench_gan, bench_wgan, bench_gen,
# bench_calo and hadron in $HADRON_BENCH_BUILD (default build-bench/ beside
# the sources) when needed, runs each configuration in hadron (bench_dense;
# bench_surrogate for the surrogate_* cases, bench_gan for the dcgan_* cases,
# bench_wgan for the wgan_* cases, bench_gen for the gen_* cases, bench_calo
# for the calo_* cases) and then in PyTorch (bench/torch_dense.py,
# torch_surrogate.py, torch_gan.py, torch_wgan.py or torch_gen.py, with
# /usr/bin/python3, Debian's python3-torch) or NumPy (the
# calo_features_* cases: bench/numpy_calo.py, numpy and h5py), and prints one
# JSON line per configuration with hadron_us, torch_us (numpy_us) and ratio =
# torch_us / hadron_us (> 1: hadron is faster).  Without torch, torch_us and
# ratio are null and a note goes to stderr.  $BENCH_TIME sets the seconds
# spent per case and side (default 0.5; the calo cases run once);
# $TORCH_PYTHON the interpreter with torch (default /usr/bin/python3).  The
# calo cases' shower files (ds2, N showers, seeds 1 and 2) are made with
# hadron sim calo in $BENCH_CALO_DIR (default $build/calo) when missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${HADRON_BENCH_BUILD:-$root/build-bench}
threads=${1:-$(nproc)}
[ $# -gt 0 ] && shift
budget=${BENCH_TIME:-0.5}
case $threads in '' | *[!0-9]* | 0)
    echo "usage: bash bench/run.sh [threads] [case ...]" >&2
    exit 2 ;;
esac

# Configure (benchmarks on, tests off; again each run, so that targets added
# since the last one exist), then let the build tool decide what is out of
# date.  Other work in the tree may break the build for a while: then the
# existing programs are used, with a warning.
mkdir -p "$build"
log=$build/bench-build.log
if cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHADRON_BENCH=ON -DHADRON_TESTS=OFF >"$log" 2>&1 &&
   cmake --build "$build" --target bench_dense bench_surrogate bench_gan bench_wgan bench_gen bench_calo hadron \
       -j "$(nproc)" >>"$log" 2>&1; then
    :
elif [ -x "$build/bench/bench_dense" ] && [ -x "$build/bench/bench_surrogate" ] && [ -x "$build/bench/bench_gan" ] &&
     [ -x "$build/bench/bench_wgan" ] && [ -x "$build/bench/bench_gen" ] && [ -x "$build/bench/bench_calo" ] &&
     [ -x "$build/hadron" ]; then
    echo "run.sh: warning: build failed (see $log); using the existing programs in $build/bench" >&2
else
    cat "$log" >&2
    echo "run.sh: build failed" >&2
    exit 1
fi

export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
# Both sides get the OpenBLAS kernels the hadron command picks (src/cli/blas_kernels.c:
# on a processor OpenBLAS does not know it names them by the processor's features);
# the benchmark programs link the library and would get OpenBLAS's fallback.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    core=$(OPENBLAS_VERBOSE=2 "$build/hadron" --version 2>&1 | awk '/^Core:/ { c = $2 } END { print c }')
    [ -n "$core" ] && export OPENBLAS_CORETYPE=$core
fi
echo "run.sh: OpenBLAS kernels ${OPENBLAS_CORETYPE:-as detected}" >&2

# Timings are only meaningful on an otherwise idle machine.
read -r load1 _ < /proc/loadavg 2>/dev/null || load1=0
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "run.sh: warning: load average $load1: other jobs are running, timings will be noisy" >&2
fi

torch_py=${TORCH_PYTHON:-/usr/bin/python3}
have_torch=0
if [ -x "$torch_py" ] && "$torch_py" -c 'import torch' 2>/dev/null; then
    have_torch=1
else
    echo "run.sh: note: $torch_py cannot import torch (Debian: apt-get install python3-torch); torch_us is null" >&2
fi

# One configuration at a time, hadron then PyTorch, so that both sides of a
# ratio are measured close together in time (this VM's speed drifts).
# The surrogate_* cases belong to bench_surrogate / torch_surrogate.py, the
# dcgan_* cases to bench_gan / torch_gan.py, the wgan_* cases to bench_wgan /
# torch_wgan.py, the gen_* cases to bench_gen / torch_gen.py, the calo_* cases
# to bench_calo / numpy_calo.py, the others to bench_dense / torch_dense.py.
dense_cases=() surrogate_cases=() gan_cases=() wgan_cases=() gen_cases=() calo_cases=()
if [ $# -eq 0 ]; then
    dense_cases=(dense_fwd_bwd mlp_infer)
    surrogate_cases=(surrogate_epoch surrogate_infer)
    gan_cases=(dcgan_step dcgan_layers)
    wgan_cases=(wgan_critic_step)
    gen_cases=(gen_wgan_iteration gen_sample)
    calo_cases=(calo_features_ds2)
fi
for c in "$@"; do
    case $c in
    surrogate_*) surrogate_cases+=("$c") ;;
    dcgan_*) gan_cases+=("$c") ;;
    wgan_*) wgan_cases+=("$c") ;;
    gen_*) gen_cases+=("$c") ;;
    calo_*) calo_cases+=("$c") ;;
    *) dense_cases+=("$c") ;;
    esac
done
configs=""
if [ ${#dense_cases[@]} -gt 0 ]; then configs+=$("$build/bench/bench_dense" --list "${dense_cases[@]}")$'\n'; fi
if [ ${#surrogate_cases[@]} -gt 0 ]; then configs+=$("$build/bench/bench_surrogate" --list "${surrogate_cases[@]}")$'\n'; fi
if [ ${#gan_cases[@]} -gt 0 ]; then configs+=$("$build/bench/bench_gan" --list "${gan_cases[@]}")$'\n'; fi
if [ ${#wgan_cases[@]} -gt 0 ]; then configs+=$("$build/bench/bench_wgan" --list "${wgan_cases[@]}")$'\n'; fi
if [ ${#gen_cases[@]} -gt 0 ]; then configs+=$("$build/bench/bench_gen" --list "${gen_cases[@]}")$'\n'; fi
if [ ${#calo_cases[@]} -gt 0 ]; then configs+=$("$build/bench/bench_calo" --list "${calo_cases[@]}")$'\n'; fi

# The calo cases' files: ds2 showers made by hadron sim calo, kept for the next run.
calo_dir=${BENCH_CALO_DIR:-$build/calo}
export BENCH_CALO_DIR=$calo_dir
calo_files() { # case:N
    local n=${1##*:} seeds=1 s
    case $1 in calo_eval_*) seeds="1 2" ;; esac
    mkdir -p "$calo_dir"
    for s in $seeds; do
        [ -f "$calo_dir/ds2_${n}_$s.h5" ] ||
            "$build/hadron" sim calo --geometry ds2 --n "$n" --seed "$s" --out "$calo_dir/ds2_${n}_$s.h5" >&2
    done
}
numpy_py=/usr/bin/python3
have_numpy=0
if [ ${#calo_cases[@]} -gt 0 ]; then
    if "$numpy_py" -c 'import numpy, h5py' 2>/dev/null; then
        have_numpy=1
    else
        echo "run.sh: note: $numpy_py cannot import numpy and h5py (Debian: python3-numpy python3-h5py);" \
            "numpy_us is null" >&2
    fi
fi
# Peak RSS of each process (GNU time's %M), added to its JSON lines as
# FIELD; without /usr/bin/time the lines go out as they are.
rss_file=$(mktemp)
trap 'rm -f "$rss_file"' EXIT
with_rss() { # FIELD command ...
    local field=$1 out kb
    shift
    if [ ! -x /usr/bin/time ]; then "$@"; return; fi
    out=$(/usr/bin/time -f %M -o "$rss_file" "$@") || return
    kb=$(tail -n 1 "$rss_file")
    printf '%s\n' "$out" | sed "/^{/ s/}\$/,\"$field\":$((kb / 1024))}/"
}
hadron_out="" torch_out=""
for c in $configs; do
    case $c in
    surrogate_*) bin=$build/bench/bench_surrogate py=torch_surrogate.py ;;
    dcgan_*) bin=$build/bench/bench_gan py=torch_gan.py ;;
    wgan_*) bin=$build/bench/bench_wgan py=torch_wgan.py ;;
    gen_*) bin=$build/bench/bench_gen py=torch_gen.py ;;
    calo_*) bin=$build/bench/bench_calo py=numpy_calo.py ;;
    *) bin=$build/bench/bench_dense py=torch_dense.py ;;
    esac
    case $c in calo_*) calo_files "$c" ;; esac
    hadron_out+=$(with_rss hadron_rss_mb "$bin" --threads "$threads" --time "$budget" "$c")$'\n'
    if [ "$py" = numpy_calo.py ]; then
        case $c in
        calo_features_*)
            if [ "$have_numpy" = 1 ]; then
                if t=$("$numpy_py" "$here/$py" --threads "$threads" "$c"); then
                    torch_out+=$t$'\n'
                else
                    echo "run.sh: note: $py failed on $c; numpy_us is null there" >&2
                fi
            fi ;;
        esac
    elif [ "$have_torch" = 1 ]; then
        # PyTorch with torch.set_num_threads($threads) and OpenBLAS on 1 thread and on
        # $threads (its ops and its BLAS calls thread separately); the join keeps the faster.
        for ob in $(printf '%s\n' 1 "$threads" | sort -u); do
            if t=$(OPENBLAS_NUM_THREADS=$ob with_rss torch_rss_mb "$torch_py" "$here/$py" --threads "$threads" --time "$budget" "$c"); then
                torch_out+=$(printf '%s\n' "$t" | sed "s/}\$/,\"openblas_threads\":$ob}/")$'\n'
            else
                echo "run.sh: note: $py failed on $c with OPENBLAS_NUM_THREADS=$ob" >&2
            fi
        done
    fi
done

# Join on (case, layer, layout, batch, units, showers, threads) with any python3; without one, print
# the hadron lines with null torch fields.
joiner=""
for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1; then joiner=$p; break; fi
done
if [ -z "$joiner" ]; then
    echo "run.sh: note: no python3 to join the lines; printing hadron lines only" >&2
    printf '%s' "$hadron_out" | sed 's/}$/,"torch_us":null,"ratio":null}/'
    exit 0
fi

HADRON_OUT=$hadron_out TORCH_OUT=$torch_out "$joiner" - <<'EOF'
import json, os

def lines(name):
    out = []
    for s in os.environ.get(name, "").splitlines():
        s = s.strip()
        if s.startswith("{"):
            try:
                out.append(json.loads(s))
            except ValueError:
                pass
    return out

fields = ("case", "layer", "layout", "batch", "units", "showers", "threads")
key = lambda d: tuple(d.get(k) for k in fields)
torch, tried = {}, {}  # PyTorch: the faster of its OpenBLAS thread counts, and each one's time
for d in lines("TORCH_OUT"):
    k, us = key(d), d.get("torch_us", d.get("numpy_us"))
    if "openblas_threads" in d:
        tried.setdefault(k, {})["torch_us_openblas%d" % d["openblas_threads"]] = us
    if k not in torch or (us is not None and us < torch[k].get("torch_us", float("inf"))):
        torch[k] = d
for h in lines("HADRON_OUT"):
    t = torch.get(key(h), {})
    other = "numpy_us" if h.get("case", "").startswith("calo_") else "torch_us"  # the calo cases run in NumPy
    hu, tu = h.get("hadron_us"), t.get(other)
    row = {k: h[k] for k in fields if k in h}
    row.update({"hadron_us": hu, other: tu, "ratio": round(tu / hu, 3) if hu and tu else None})
    row.update(tried.get(key(h), {}))
    if "hadron_net_us" in h:  # gen_sample: the network alone, beside the whole generate call
        hn, tn = h.get("hadron_net_us"), t.get("torch_net_us")
        row["net_ratio"] = round(tn / hn, 3) if hn and tn else None
    for d in (h, t):
        for k, v in d.items():
            row.setdefault(k, v)
    print(json.dumps(row, separators=(",", ":")))
EOF
