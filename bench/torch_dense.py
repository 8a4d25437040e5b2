#!/usr/bin/python3
"""PyTorch side of bench/bench_dense.c: the same cases, the same timing method.

    /usr/bin/python3 bench/torch_dense.py [--threads N] [--time SECONDS] [CASE ...]

CASE is "dense_fwd_bwd" (batch 10, 256, 4096 x units 128, 1024), one
configuration "dense_fwd_bwd:BATCH:UNITS", or "mlp_infer"; all by default.
Prints one JSON line per case with "torch_us" (median microseconds per call).

Timing, the JSON output and the command line: bench_util.py.
"""
import sys

import torch

from bench_util import emit, main, time_median

DENSE_BATCHES = (10, 256, 4096)
DENSE_UNITS = (128, 1024)


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
        return False
    return True


if __name__ == "__main__":
    sys.exit(main(__doc__, "torch_dense.py", ["dense_fwd_bwd", "mlp_infer"], run_case))
