#!/usr/bin/python3
"""PyTorch side of bench/bench_surrogate.c: the same cases, the same timing method.

    /usr/bin/python3 bench/torch_surrogate.py [--threads N] [--time SECONDS] [CASE ...]

CASE is "surrogate_epoch" (one training epoch: 960 rows of 4 features,
shuffled, batches of 10, MLP 4 -> 128 -> 128 -> 128 -> 1 with ReLU, binomial
NLL from logits, NAdam with decoupled weight decay) or "surrogate_infer" (the
same MLP on 4096 raw (eta, pT, phi) rows: log, cos/sin, scaling, sigmoid);
both by default.  Prints one JSON line per case with "torch_us" (median
microseconds per call).

torch 1.13 has no decoupled-decay NAdam (NAdamW); the step is NAdam(lr=1e-3)
plus p.mul_(1 - lr * wd) on every parameter under no_grad, the same work as
hadron's NAdamW step.  "torch_foreach_us" is the same epoch with
NAdam(foreach=True) and torch._foreach_mul_ for the decay (fewer Python-level
calls per step), for reference.

Timing, the JSON output and the command line: bench_util.py.
"""
import math
import sys

import torch
import torch.nn.functional as F

from bench_util import emit, main, time_median

ROWS, BATCH, N_FEAT, HIDDEN = 960, 10, 4, 128
INFER_ROWS = 4096
LR, WD = 1e-3, 1e-4


def mlp(n_in):
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, HIDDEN), torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN, 1))


def epoch_data():
    """Scaled features ~ N(0,1), n ~ U{500..1500}, k ~ Binomial(n, p(x))."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(ROWS, N_FEAT, generator=g)
    p = torch.sigmoid(0.8 * x[:, 1] - 0.5 * x[:, 0] ** 2 + 0.2 * x[:, 2] + 1.0)
    n = torch.randint(500, 1501, (ROWS,), generator=g).float()
    k = torch.binomial(n, p, generator=g)
    return x, k.unsqueeze(1), n.unsqueeze(1)


def make_epoch(foreach):
    torch.manual_seed(1)
    model = mlp(N_FEAT)
    params = list(model.parameters())
    opt = torch.optim.NAdam(params, lr=LR, foreach=foreach)
    x, k, n = epoch_data()
    decay = 1.0 - LR * WD
    steps = [0]

    def epoch():
        perm = torch.randperm(ROWS)
        for i in range(0, ROWS, BATCH):
            idx = perm[i:i + BATCH]
            xb, kb, nb = x[idx], k[idx], n[idx]
            opt.zero_grad()  # torch 1.13 default: zero in place (set_to_none=False)
            z = model(xb)
            loss = -(kb * F.logsigmoid(z) + (nb - kb) * F.logsigmoid(-z)).mean()
            loss.backward()
            with torch.no_grad():  # decoupled weight decay (NAdamW), before the NAdam update
                if foreach:
                    torch._foreach_mul_(params, decay)
                else:
                    for p in params:
                        p.mul_(decay)
            opt.step()
            steps[0] += 1
        return loss

    return epoch, model, x, k, n


def bench_epoch(threads, budget):
    epoch, model, x, k, n = make_epoch(False)
    t = time_median(epoch, budget)
    with torch.no_grad():
        z = model(x)
        loss = -(k * F.logsigmoid(z) + (n - k) * F.logsigmoid(-z)).mean().item()
    epoch_fe, _, _, _, _ = make_epoch(True)
    t_fe = time_median(epoch_fe, budget)
    steps = (ROWS + BATCH - 1) // BATCH
    emit({"case": "surrogate_epoch", "batch": BATCH, "units": HIDDEN, "threads": threads,
          "torch_us": round(t * 1e6, 3), "torch_us_per_step": round(t * 1e6 / steps, 3),
          "torch_foreach_us": round(t_fe * 1e6, 3), "torch_loss": round(loss, 6)})


def raw_particles(rows):
    g = torch.Generator().manual_seed(11)
    u = torch.rand(rows, 3, generator=g)
    eta = -2.5 + 5.0 * u[:, 0]
    pt = 100.0 * 1000.0 ** u[:, 1]
    phi = -math.pi + 2 * math.pi * u[:, 2]
    return torch.stack([eta, pt, phi], 1).contiguous()


def features(raw):
    return torch.stack([raw[:, 0], torch.log(raw[:, 1]), torch.cos(raw[:, 2]), torch.sin(raw[:, 2])], 1)


def bench_infer(threads, budget):
    torch.manual_seed(3)
    model = mlp(N_FEAT)
    model.eval()
    raw = raw_particles(INFER_ROWS)
    f = features(raw)
    mean, std = f.mean(0), f.std(0, unbiased=False)

    def predict():
        with torch.no_grad():
            return torch.sigmoid(model((features(raw) - mean) / std))

    t = time_median(predict, budget)
    flop = 2.0 * INFER_ROWS * (N_FEAT * HIDDEN + HIDDEN * HIDDEN * 2 + HIDDEN)
    emit({"case": "surrogate_infer", "batch": INFER_ROWS, "units": HIDDEN, "threads": threads,
          "torch_us": round(t * 1e6, 3), "torch_ns_per_particle": round(t * 1e9 / INFER_ROWS, 3),
          "torch_gflops": round(flop / t * 1e-9, 2)})


def run_case(name, threads, budget):
    if name == "surrogate_epoch":
        bench_epoch(threads, budget)
    elif name == "surrogate_infer":
        bench_infer(threads, budget)
    else:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main(__doc__, "torch_surrogate.py", ["surrogate_epoch", "surrogate_infer"], run_case))
