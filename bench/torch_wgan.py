#!/usr/bin/python3
"""PyTorch side of bench/bench_wgan.c: the same cases, the same timing method.

    /usr/bin/python3 bench/torch_wgan.py [--threads N] [--time SECONDS] [CASE ...]

CASE is "wgan_critic_step" (both critics, the default) or one of them,
"wgan_critic_step:mlp" or "wgan_critic_step:conv".  Prints one JSON line per
configuration with "torch_us" (median microseconds per call).

The critics (Gulrajani et al.'s), in idiomatic PyTorch:

- mlp: Linear(2, 512), ReLU, Linear(512, 512), ReLU, Linear(512, 512), ReLU,
  Linear(512, 1); batch 256, real and fake ~ N(0, 1).
- conv: [B, 1, 28, 28] -> ZeroPad2d((1, 2, 1, 2)) (F.pad), Conv2d(1, 64, 5,
  stride 2), LeakyReLU(0.2), ZeroPad2d((1, 2, 1, 2)), Conv2d(64, 128, 5,
  stride 2), LeakyReLU(0.2), Flatten, Linear(6272, 1); batch 64, real and
  fake ~ U(-1, 1).  The pads are Keras's 'same' for 28 -> 14 and 14 -> 7
  (total 3: 1 top/left, 2 bottom/right), as hadron's HD_PAD_SAME.
- ReLU and LeakyReLU in place (double backward handles them); the default
  initialisation and NCHW memory format.

One step is the critic's alone (real, fake and eps ~ U(0, 1) per row are
fixed tensors): x_hat = real + eps (fake - real) with requires_grad,
g = autograd.grad(D(x_hat).sum(), x_hat, create_graph=True),
gp = mean((|g| - 1)^2) over rows, loss = D(fake).mean() - D(real).mean()
+ 10 gp; zero_grad(set_to_none=True), loss.backward() and
Adam(lr=1e-4, betas=(0.5, 0.9), foreach=True).

Timing, the JSON output and the command line: bench_util.py.
"""
import sys

import torch
import torch.nn as nn

from bench_util import emit, main, time_median

LAMBDA, LR, BETAS = 10.0, 1e-4, (0.5, 0.9)
SAME = (1, 2, 1, 2)  # F.pad order: left, right, top, bottom


def mlp_critic():
    return nn.Sequential(nn.Linear(2, 512), nn.ReLU(True), nn.Linear(512, 512), nn.ReLU(True), nn.Linear(512, 512),
                         nn.ReLU(True), nn.Linear(512, 1))


def conv_critic():
    return nn.Sequential(
        nn.ZeroPad2d(SAME), nn.Conv2d(1, 64, 5, stride=2), nn.LeakyReLU(0.2, True),
        nn.ZeroPad2d(SAME), nn.Conv2d(64, 128, 5, stride=2), nn.LeakyReLU(0.2, True),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))


# id, critic, batch, sample shape, real/fake distribution (as bench_wgan.c)
CRITICS = [("mlp", mlp_critic, 256, (2,), "normal"), ("conv", conv_critic, 64, (1, 28, 28), "uniform")]


def bench_critic(spec, threads, budget):
    cid, make, batch, shape, dist = spec
    torch.manual_seed(1)
    D = make()
    D.train()
    opt = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS, foreach=True)
    gen = torch.Generator().manual_seed(3)
    if dist == "normal":
        real, fake = torch.randn(batch, *shape, generator=gen), torch.randn(batch, *shape, generator=gen)
    else:
        real, fake = (torch.rand(batch, *shape, generator=gen) * 2 - 1 for _ in range(2))
    eps = torch.rand(batch, *(1 for _ in shape), generator=gen)
    last = {}

    def step():
        opt.zero_grad(set_to_none=True)
        x_hat = (real + eps * (fake - real)).requires_grad_(True)
        (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        gp = ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
        loss = D(fake).mean() - D(real).mean() + LAMBDA * gp
        loss.backward()
        opt.step()
        last["loss"], last["gp"] = loss, gp

    t = time_median(step, budget)
    emit({"case": "wgan_critic_step", "layer": cid, "batch": batch, "threads": threads,
          "torch_us": round(t * 1e6, 1), "torch_ms": round(t * 1e3, 2),
          "torch_params": sum(p.numel() for p in D.parameters()),
          "torch_loss": float(f"{last['loss'].item():.4g}"), "torch_gp": float(f"{last['gp'].item():.4g}")})


def run_case(name, threads, budget):
    case, _, only = name.partition(":")
    if case != "wgan_critic_step":
        return False
    specs = [s for s in CRITICS if not only or s[0] == only]
    for s in specs:
        bench_critic(s, threads, budget)
    return bool(specs)


if __name__ == "__main__":
    sys.exit(main(__doc__, "torch_wgan.py", ["wgan_critic_step"], run_case))
