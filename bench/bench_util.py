"""What the PyTorch benchmarks (torch_dense.py, torch_surrogate.py) share: the
timing method, the JSON output and main.  The C side is bench/bench_util.h.

Timing: warm up (at least 2 calls, ~10% of the budget), then take samples of
`inner` back-to-back calls (inner chosen so a sample lasts >= 1 ms) until the
budget is spent (at least 5 samples); report the median of sample / inner.

A benchmark provides run_case(name, threads, budget), which runs the case and
returns True, or returns False when it does not know the name; then

    sys.exit(bench_util.main(__doc__, "torch_x.py", ["case_a", "case_b"], run_case))
"""
import argparse
import json
import math
import os
import sys
import time


def time_median(f, budget):
    """Median seconds per call of f(), spending about budget seconds."""
    t0 = time.perf_counter()
    warm = 0
    while True:
        f()
        warm += 1
        if warm >= 2 and (time.perf_counter() - t0 >= 0.1 * budget or warm >= 100000):
            break
    est = max((time.perf_counter() - t0) / warm, 1e-9)
    inner = 1 if est >= 1e-3 else int(math.ceil(1e-3 / est))
    n = min(max(int(budget / (est * inner)), 5), 2000)
    samples = []
    for _ in range(n):
        a = time.perf_counter()
        for _ in range(inner):
            f()
        samples.append((time.perf_counter() - a) / inner)
    samples.sort()
    return samples[n // 2] if n % 2 else 0.5 * (samples[n // 2 - 1] + samples[n // 2])


def emit(d):
    """One JSON line on stdout, compact, flushed (bench/run.sh reads it)."""
    print(json.dumps(d, separators=(",", ":")), flush=True)


def main(doc, name, default_cases, run_case):
    """[--threads N] [--time SECONDS] [CASE ...]: --threads defaults to
    $OMP_NUM_THREADS, else all cores; --time to 0.5 s; the cases to
    default_cases.  Returns the exit status: 0, or 1 if a case was unknown."""
    import torch

    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "0") or 0))
    p.add_argument("--time", type=float, default=0.5)
    p.add_argument("cases", nargs="*", default=list(default_cases))
    a = p.parse_args()
    threads = a.threads if a.threads > 0 else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    torch.set_grad_enabled(True)
    rc = 0
    for c in a.cases:
        if not run_case(c, torch.get_num_threads(), a.time if a.time > 0 else 0.5):
            print(f"{name}: unknown case '{c}'", file=sys.stderr)
            rc = 1
    return rc
