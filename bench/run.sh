#!/usr/bin/env bash
# hadron vs PyTorch on the same machine, same thread count, one run.
#
#   bash bench/run.sh [threads] [case ...]
#
# threads defaults to $(nproc); cases default to all (see bench/README.md).
# Builds bench_dense, bench_surrogate, bench_gan and bench_wgan in
# $HADRON_BENCH_BUILD (default build-bench/ beside the sources) when needed,
# runs each configuration in hadron (bench_dense; bench_surrogate for the
# surrogate_* cases, bench_gan for the dcgan_* cases, bench_wgan for the
# wgan_* cases) and then in PyTorch (bench/torch_dense.py,
# torch_surrogate.py, torch_gan.py or torch_wgan.py, with
# /usr/bin/python3, Debian's python3-torch), and prints one JSON line per
# configuration with hadron_us, torch_us and ratio = torch_us / hadron_us (> 1: hadron is
# faster).  Without torch, torch_us and ratio are null and a note goes to
# stderr.  $BENCH_TIME sets the seconds spent per case and side (default 0.5);
# $TORCH_PYTHON the interpreter with torch (default /usr/bin/python3).
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

# Configure once (benchmarks on, tests off), then let the build tool decide
# what is out of date.  Other work in the tree may break the build for a
# while: then the existing programs are used, with a warning.
mkdir -p "$build"
log=$build/bench-build.log
if { [ -f "$build/CMakeCache.txt" ] ||
     cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHADRON_BENCH=ON -DHADRON_TESTS=OFF; } >"$log" 2>&1 &&
   cmake --build "$build" --target bench_dense bench_surrogate bench_gan bench_wgan -j "$(nproc)" >>"$log" 2>&1; then
    :
elif [ -x "$build/bench/bench_dense" ] && [ -x "$build/bench/bench_surrogate" ] && [ -x "$build/bench/bench_gan" ] &&
     [ -x "$build/bench/bench_wgan" ]; then
    echo "run.sh: warning: build failed (see $log); using the existing programs in $build/bench" >&2
else
    cat "$log" >&2
    echo "run.sh: build failed" >&2
    exit 1
fi

export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads

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
# torch_wgan.py, the others to bench_dense / torch_dense.py.
dense_cases=() surrogate_cases=() gan_cases=() wgan_cases=()
if [ $# -eq 0 ]; then
    dense_cases=(dense_fwd_bwd mlp_infer)
    surrogate_cases=(surrogate_epoch surrogate_infer)
    gan_cases=(dcgan_step dcgan_layers)
    wgan_cases=(wgan_critic_step)
fi
for c in "$@"; do
    case $c in
    surrogate_*) surrogate_cases+=("$c") ;;
    dcgan_*) gan_cases+=("$c") ;;
    wgan_*) wgan_cases+=("$c") ;;
    *) dense_cases+=("$c") ;;
    esac
done
configs=""
if [ ${#dense_cases[@]} -gt 0 ]; then configs+=$("$build/bench/bench_dense" --list "${dense_cases[@]}")$'\n'; fi
if [ ${#surrogate_cases[@]} -gt 0 ]; then configs+=$("$build/bench/bench_surrogate" --list "${surrogate_cases[@]}")$'\n'; fi
if [ ${#gan_cases[@]} -gt 0 ]; then configs+=$("$build/bench/bench_gan" --list "${gan_cases[@]}")$'\n'; fi
if [ ${#wgan_cases[@]} -gt 0 ]; then configs+=$("$build/bench/bench_wgan" --list "${wgan_cases[@]}")$'\n'; fi
hadron_out="" torch_out=""
for c in $configs; do
    case $c in
    surrogate_*) bin=$build/bench/bench_surrogate py=torch_surrogate.py ;;
    dcgan_*) bin=$build/bench/bench_gan py=torch_gan.py ;;
    wgan_*) bin=$build/bench/bench_wgan py=torch_wgan.py ;;
    *) bin=$build/bench/bench_dense py=torch_dense.py ;;
    esac
    hadron_out+=$("$bin" --threads "$threads" --time "$budget" "$c")$'\n'
    if [ "$have_torch" = 1 ]; then
        if t=$("$torch_py" "$here/$py" --threads "$threads" --time "$budget" "$c"); then
            torch_out+=$t$'\n'
        else
            echo "run.sh: note: $py failed on $c; torch_us is null there" >&2
        fi
    fi
done

# Join on (case, layer, batch, units, threads) with any python3; without one, print
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

key = lambda d: (d.get("case"), d.get("layer"), d.get("batch"), d.get("units"), d.get("threads"))
torch = {key(d): d for d in lines("TORCH_OUT")}
for h in lines("HADRON_OUT"):
    t = torch.get(key(h), {})
    hu, tu = h.get("hadron_us"), t.get("torch_us")
    row = {k: h[k] for k in ("case", "layer", "batch", "units", "threads") if k in h}
    row.update(hadron_us=hu, torch_us=tu, ratio=round(tu / hu, 3) if hu and tu else None)
    for d in (h, t):
        for k, v in d.items():
            row.setdefault(k, v)
    print(json.dumps(row, separators=(",", ":")))
EOF
