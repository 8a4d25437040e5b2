#!/usr/bin/python3
"""PyTorch side of bench/bench_gen.c: the same cases, the same timing method.

    /usr/bin/python3 bench/torch_gen.py [--threads N] [--time SECONDS] [CASE ...]

CASE is "gen_wgan_iteration[:reduced]" or "gen_sample[:reduced]" (both by
default).  Prints one JSON line per configuration with "torch_us" (median
microseconds per call).

The networks of `hadron gen train --model wgan-gp` with the default options
on the reduced layout (288 voxels, 1 condition), in idiomatic PyTorch:

- generator G(z, c): cat(z[64], c[1]) -> Linear 256 -> LeakyReLU(0.2) ->
  Linear 512 -> LeakyReLU -> Linear 512 -> LeakyReLU -> Linear 288 (linear
  output);
- critic D(x, c): cat(x[288], c[1]) -> for each width in 512, 512, 256:
  Linear -> LayerNorm(width, eps 1e-5, affine) -> LeakyReLU(0.2); then
  Linear -> 1;
- LeakyReLU in place, default initialisation, Adam(lr=1e-4, betas=(0.5,
  0.9), eps=1e-8, foreach=True), one optimiser per network.

gen_wgan_iteration: one generator iteration at batch 128, as hadron's 5
gen_net_step calls: 5 critic steps, each z ~ N(0, 1), fake = G(z, c) under
no_grad (hadron feeds the generator's output back as an input), eps ~ U(0, 1)
per row, x_hat = real + eps (fake - real) with requires_grad,
g = autograd.grad(D(x_hat, c).sum(), x_hat, create_graph=True),
loss = D(fake, c).mean() - D(real, c).mean() + 10 mean((|g| - 1)^2),
zero_grad(set_to_none=True), backward, step; then the generator step: a new
z, loss = -D(G(z, c), c).mean(), backward(inputs=G's parameters) (no critic
weight gradients, as hadron's backward into the generator's group), step.
The real batch and conditions are fixed N(0, 1) tensors.

gen_sample: 4 batches of 4096 showers per call under no_grad and eval(),
each as hd_model_generate makes them: z = randn(4096, 64), the condition
feature (log E - mean) / std, G, then the inverse transform to MeV:
f = y std_v + mean_v, u = exp(min(f, 0)) - 1e-6, e = u E, 0 where
e < 0.01515 MeV (the threshold) or e <= 0.  torch_us is that whole call;
torch_net_us is G alone on fixed inputs, 4 times.  The weights are
untrained and the transform's mean_v / std_v synthetic (per voxel in
[-14, -2] and [0.5, 3]); neither changes the amount of work.

Timing, the JSON output and the command line: bench_util.py.
"""
import sys

import torch
import torch.nn as nn

from bench_util import emit, main, time_median

LR, BETAS, EPS = 1e-4, (0.5, 0.9), 1e-8
SLOPE, LAMBDA = 0.2, 10.0
BATCH, LATENT, N_CRITIC = 128, 64, 5
GEN_HIDDEN, CRITIC_HIDDEN = (256, 512, 512), (512, 512, 256)
SAMPLE_BATCH, SAMPLE_CHUNKS = 4096, 4
DELTA, THRESHOLD = 1e-6, 0.01515
E_LO, E_HI = 1e3, 1e5  # MeV: the reduced layout's default simulated range

# layout: (voxels, conditions)
LAYOUTS = {"reduced": (288, 1)}


def generator(n_vox, n_cond):
    layers, i = [], LATENT + n_cond
    for w in GEN_HIDDEN:
        layers += [nn.Linear(i, w), nn.LeakyReLU(SLOPE, True)]
        i = w
    return nn.Sequential(*layers, nn.Linear(i, n_vox))


def critic(n_vox, n_cond):
    layers, i = [], n_vox + n_cond
    for w in CRITIC_HIDDEN:
        layers += [nn.Linear(i, w), nn.LayerNorm(w, eps=1e-5), nn.LeakyReLU(SLOPE, True)]
        i = w
    return nn.Sequential(*layers, nn.Linear(i, 1))


def bench_iteration(layout, threads, budget):
    n_vox, n_cond = LAYOUTS[layout]
    torch.manual_seed(1)
    G, D = generator(n_vox, n_cond), critic(n_vox, n_cond)
    G.train()
    D.train()
    g_params = list(G.parameters())
    opt_g = torch.optim.Adam(g_params, lr=LR, betas=BETAS, eps=EPS, foreach=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS, eps=EPS, foreach=True)
    gen = torch.Generator().manual_seed(3)
    real, cond = torch.randn(BATCH, n_vox, generator=gen), torch.randn(BATCH, n_cond, generator=gen)
    last = {}

    def critic_step():
        z = torch.randn(BATCH, LATENT)
        with torch.no_grad():
            fake = G(torch.cat([z, cond], 1))
        eps = torch.rand(BATCH, 1)
        x_hat = (real + eps * (fake - real)).requires_grad_(True)
        (g,) = torch.autograd.grad(D(torch.cat([x_hat, cond], 1)).sum(), x_hat, create_graph=True)
        gp = ((g.norm(dim=1) - 1) ** 2).mean()
        w = D(torch.cat([real, cond], 1)).mean() - D(torch.cat([fake, cond], 1)).mean()
        loss = -w + LAMBDA * gp
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()
        last["critic_loss"], last["w1"] = loss, w

    def gen_step():
        z = torch.randn(BATCH, LATENT)
        loss = -D(torch.cat([G(torch.cat([z, cond], 1)), cond], 1)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss.backward(inputs=g_params)
        opt_g.step()
        last["gen_loss"] = loss

    def iteration():
        for _ in range(N_CRITIC):
            critic_step()
        gen_step()

    t = time_median(iteration, budget)
    emit({"case": "gen_wgan_iteration", "layout": layout, "batch": BATCH, "threads": threads,
          "torch_us": round(t * 1e6, 1), "torch_ms": round(t * 1e3, 2),
          "torch_us_per_critic_step": round(t * 1e6 / N_CRITIC, 1),
          "torch_gen_params": sum(p.numel() for p in G.parameters()),
          "torch_critic_params": sum(p.numel() for p in D.parameters()),
          "torch_critic_loss": float(f"{last['critic_loss'].item():.4g}"),
          "torch_gen_loss": float(f"{last['gen_loss'].item():.4g}"),
          "torch_w1": float(f"{last['w1'].item():.4g}")})


def bench_sample(layout, threads, budget):
    n_vox, n_cond = LAYOUTS[layout]
    torch.manual_seed(1)
    G = generator(n_vox, n_cond)
    G.eval()
    gen = torch.Generator().manual_seed(5)
    n = SAMPLE_BATCH * SAMPLE_CHUNKS
    energy = E_LO * (E_HI / E_LO) ** torch.rand(n, generator=gen)
    log_e = energy.log()
    c_mean, c_std = log_e.mean().item(), log_e.std().item()
    v_mean = -14 + 12 * torch.rand(n_vox, generator=gen)
    v_std = 0.5 + 2.5 * torch.rand(n_vox, generator=gen)
    out = torch.empty(n, n_vox)

    def generate():
        with torch.no_grad():
            for s in range(0, n, SAMPLE_BATCH):
                e = energy[s:s + SAMPLE_BATCH].unsqueeze(1)
                z = torch.randn(SAMPLE_BATCH, LATENT)
                c = (e.log() - c_mean) / c_std
                y = G(torch.cat([z, c], 1))
                u = (y * v_std + v_mean).clamp_(max=0).exp_().sub_(DELTA)
                x = u.mul_(e)
                out[s:s + SAMPLE_BATCH] = torch.where((x >= THRESHOLD) & (x > 0), x, torch.zeros(()))

    zc = torch.randn(SAMPLE_BATCH, LATENT + n_cond, generator=gen)

    def net():
        with torch.no_grad():
            for _ in range(SAMPLE_CHUNKS):
                G(zc)

    t = time_median(generate, budget)
    tn = time_median(net, budget)
    dims = [LATENT + n_cond, *GEN_HIDDEN, n_vox]
    flop = SAMPLE_CHUNKS * sum(2.0 * SAMPLE_BATCH * a * b for a, b in zip(dims, dims[1:]))
    emit({"case": "gen_sample", "layout": layout, "batch": SAMPLE_BATCH, "showers": n, "threads": threads,
          "torch_us": round(t * 1e6, 1), "torch_showers_per_s": round(n / t),
          "torch_net_us": round(tn * 1e6, 1), "torch_net_showers_per_s": round(n / tn),
          "torch_net_gflops": round(flop / tn * 1e-9, 1),
          "torch_nonzero_frac": round((out > 0).float().mean().item(), 4)})


def run_case(name, threads, budget):
    case, _, only = name.partition(":")
    fn = {"gen_wgan_iteration": bench_iteration, "gen_sample": bench_sample}.get(case)
    if fn is None:
        return False
    layouts = [l for l in LAYOUTS if not only or l == only]
    for l in layouts:
        fn(l, threads, budget)
    return bool(layouts)


if __name__ == "__main__":
    sys.exit(main(__doc__, "torch_gen.py", ["gen_wgan_iteration", "gen_sample"], run_case))
