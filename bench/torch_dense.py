#!/usr/bin/python3
"""PyTorch side of bench/bench_dense.c: the same cases, the same timing method.

    /usr/bin/python3 bench/torch_dense.py [--threads N] [--time SECONDS] [CASE ...]

CASE is "dense_fwd_bwd" (batch 10, 256, 4096 x units 128, 1024), one
configuration "dense_fwd_bwd:BATCH:UNITS", or "mlp_infer"; all by default.
Prints one JSON line per case with "torch_us" (median microseconds per call).

Timing: warm up (at least 2 calls, ~10% of the budget), then take samples of
`inner` back-to-back calls (inner chosen so a sample lasts >= 1 ms) until the
budget is spent (at least 5 samples); report the median of sample / inner.
"""
import argparse
import json
import math
import os
import sys
import time

import torch

DENSE_BATCHES = (10, 256, 4096)
DENSE_UNITS = (128, 1024)


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
    print(json.dumps(d, separators=(",", ":")), flush=True)


def bench_dense(batch, units, threads, budget):
    torch.manual_seed(0)
    lin = torch.nn.Linear(units, units)  # float32, with bias, as hd_dense
    x = torch.randn(batch, units)

    def step():
        lin.zero_grad()  # torch 1.13 default: zero in place (set_to_none=False)
        y = lin(x)
        y.sum().backward()

    t = time_median(step, budget)
    flop = 2.0 * 2.0 * batch * units * units  # y = x W^T + b, dW = dy^T x (x needs no grad)
    emit({"case": "dense_fwd_bwd", "batch": batch, "units": units, "threads": threads,
          "torch_us": round(t * 1e6, 3), "torch_gflops": round(flop / t * 1e-9, 2)})


def bench_mlp_infer(threads, budget):
    batch, n_in, h, n_out = 4096, 3, 128, 1
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(n_in, h), torch.nn.ReLU(),
        torch.nn.Linear(h, h), torch.nn.ReLU(),
        torch.nn.Linear(h, h), torch.nn.ReLU(),
        torch.nn.Linear(h, n_out))
    model.eval()
    x = torch.randn(batch, n_in)

    def fwd():
        with torch.no_grad():
            model(x)

    t = time_median(fwd, budget)
    flop = 2.0 * batch * (n_in * h + h * h + h * h + h * n_out)
    emit({"case": "mlp_infer", "batch": batch, "units": h, "threads": threads,
          "torch_us": round(t * 1e6, 3), "torch_gflops": round(flop / t * 1e-9, 2)})


def run_case(name, threads, budget):
    if name == "dense_fwd_bwd":
        for b in DENSE_BATCHES:
            for u in DENSE_UNITS:
                bench_dense(b, u, threads, budget)
    elif name.startswith("dense_fwd_bwd:"):
        _, b, u = name.split(":")
        bench_dense(int(b), int(u), threads, budget)
    elif name == "mlp_infer":
        bench_mlp_infer(threads, budget)
    else:
        print(f"torch_dense.py: unknown case '{name}'", file=sys.stderr)
        return 1
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "0") or 0))
    p.add_argument("--time", type=float, default=0.5)
    p.add_argument("cases", nargs="*", default=["dense_fwd_bwd", "mlp_infer"])
    a = p.parse_args()
    threads = a.threads if a.threads > 0 else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    torch.set_grad_enabled(True)
    rc = 0
    for c in a.cases:
        rc |= run_case(c, torch.get_num_threads(), a.time if a.time > 0 else 0.5)
    return rc


if __name__ == "__main__":
    sys.exit(main())
