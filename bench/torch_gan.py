#!/usr/bin/python3
"""PyTorch side of bench/bench_gan.c: the same cases, the same timing method.

    /usr/bin/python3 bench/torch_gan.py [--threads N] [--time SECONDS] [CASE ...]

CASE is "dcgan_step" (one DCGAN training step at batch 256, as hadron's
hd_gan_net_step takes it), "dcgan_layers" (forward + backward of each of the
five convolutions on its own, one line per layer) or one layer
"dcgan_layers:G1" (G1, G2, G3, D1, D2); both cases by default.  Prints one
JSON line per configuration with "torch_us" (median microseconds per call).

The networks are seed 002's (a Keras model) in idiomatic PyTorch:

- generator: Linear(100, 7*7*256, bias=False), BatchNorm1d, LeakyReLU(0.3),
  view as [B, 256, 7, 7], ConvTranspose2d(256, 128, 5, stride 1, padding 2),
  BatchNorm2d, LeakyReLU, ConvTranspose2d(128, 64, 5, stride 2, padding 2,
  output_padding 1), BatchNorm2d, LeakyReLU, ConvTranspose2d(64, 1, ...),
  tanh; no biases; batch norm with Keras's momentum 0.99 (PyTorch's 0.01) and
  eps 1e-3.  padding 2 / output_padding 1 gives TensorFlow's 'same' output
  sizes (the crop is one pixel off TensorFlow's, which costs the same).
- discriminator: Conv2d(1, 64, 5, stride 2, padding 2), LeakyReLU(0.3),
  Dropout(0.3), Conv2d(64, 128, 5, stride 2, padding 2), LeakyReLU,
  Dropout, flatten, Linear(6272, 1).  padding 2 gives 'same' output sizes
  without the asymmetric F.pad copy TensorFlow's split would need.
- LeakyReLU is in place (as in PyTorch's DCGAN example); the default
  NCHW (contiguous) memory format.

One step is the seed's train_step: G(z), D(real), D(fake) once; the
discriminator loss BCE(D(real), 1) + BCE(D(fake), 0) and the non-saturating
generator loss BCE(D(fake), 1), both from logits; then the discriminator
loss's gradient with respect to D's parameters only
(backward(inputs=D params, retain_graph=True)) and the generator loss's
with respect to G's parameters only (backward(inputs=G params)), so
autograd does the same work as hadron's two group backward passes (no dW of
D for the generator loss, no pass into G for the discriminator loss); then
Adam(lr=1e-4, betas=(0.5, 0.999), foreach=True) on each network.  Gradients
are cleared with zero_grad(set_to_none=True).

"torch_detach_us" times the step most PyTorch DCGAN code takes instead
(PyTorch's examples/dcgan): D on fake.detach() for the discriminator's
update, then D again on the fake batch for the generator's (one more
forward of D, and the generator sees the updated D), for reference.

Timing, the JSON output and the command line: bench_util.py.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench_util import emit, main, time_median

BATCH, LATENT, LR, BETAS, SLOPE, DROPOUT = 256, 100, 1e-4, (0.5, 0.999), 0.3, 0.3


def generator():
    def bn(n, d2):
        return (nn.BatchNorm2d if d2 else nn.BatchNorm1d)(n, momentum=0.01, eps=1e-3)

    return nn.Sequential(
        nn.Linear(LATENT, 7 * 7 * 256, bias=False), bn(7 * 7 * 256, False), nn.LeakyReLU(SLOPE, inplace=True),
        nn.Unflatten(1, (256, 7, 7)),
        nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False), bn(128, True),
        nn.LeakyReLU(SLOPE, inplace=True),
        nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False), bn(64, True),
        nn.LeakyReLU(SLOPE, inplace=True),
        nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False), nn.Tanh())


def discriminator():
    return nn.Sequential(
        nn.Conv2d(1, 64, 5, stride=2, padding=2), nn.LeakyReLU(SLOPE, inplace=True), nn.Dropout(DROPOUT),
        nn.Conv2d(64, 128, 5, stride=2, padding=2), nn.LeakyReLU(SLOPE, inplace=True), nn.Dropout(DROPOUT),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))


def make_nets():
    torch.manual_seed(1)
    G, D = generator(), discriminator()
    G.train()
    D.train()
    opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS, foreach=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS, foreach=True)
    g = torch.Generator().manual_seed(3)
    real = torch.rand(BATCH, 1, 28, 28, generator=g) * 2 - 1  # images scaled to [-1, 1]
    z = torch.randn(BATCH, LATENT, generator=g)
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)
    return G, D, opt_g, opt_d, real, z, ones, zeros


def bench_step(threads, budget):
    G, D, opt_g, opt_d, real, z, ones, zeros = make_nets()
    g_params, d_params = list(G.parameters()), list(D.parameters())
    bce = F.binary_cross_entropy_with_logits
    last = {}

    def step():
        opt_d.zero_grad(set_to_none=True)
        opt_g.zero_grad(set_to_none=True)
        fake = G(z)
        d_real, d_fake = D(real), D(fake)
        d_loss = bce(d_real, ones) + bce(d_fake, zeros)
        g_loss = bce(d_fake, ones)
        d_loss.backward(inputs=d_params, retain_graph=True)
        g_loss.backward(inputs=g_params)
        opt_d.step()
        opt_g.step()
        last["d"], last["g"] = d_loss, g_loss

    t = time_median(step, budget)
    d_loss, g_loss = last["d"].item(), last["g"].item()

    G2, D2, opt_g2, opt_d2, real2, z2, _, _ = make_nets()

    def step_detach():
        fake = G2(z2)
        opt_d2.zero_grad(set_to_none=True)
        d_loss = bce(D2(real2), ones) + bce(D2(fake.detach()), zeros)
        d_loss.backward()
        opt_d2.step()
        opt_g2.zero_grad(set_to_none=True)
        g_loss = bce(D2(fake), ones)
        g_loss.backward()
        opt_g2.step()

    t_detach = time_median(step_detach, budget)
    emit({"case": "dcgan_step", "batch": BATCH, "threads": threads, "torch_us": round(t * 1e6, 1),
          "torch_ms": round(t * 1e3, 2), "torch_detach_us": round(t_detach * 1e6, 1),
          "torch_params_g": sum(p.numel() for p in g_params), "torch_params_d": sum(p.numel() for p in d_params),
          "torch_d_loss": round(d_loss, 4), "torch_g_loss": round(g_loss, 4)})


# id, transpose, in, out, input side, stride, bias (as bench_gan.c)
LAYERS = [("G1", True, 256, 128, 7, 1, False), ("G2", True, 128, 64, 7, 2, False),
          ("G3", True, 64, 1, 14, 2, False), ("D1", False, 1, 64, 28, 2, True),
          ("D2", False, 64, 128, 14, 2, True)]


def bench_layer(spec, threads, budget):
    lid, transpose, cin, cout, side, stride, bias = spec
    torch.manual_seed(1)
    if transpose:
        m = nn.ConvTranspose2d(cin, cout, 5, stride=stride, padding=2, output_padding=stride - 1, bias=bias)
    else:
        m = nn.Conv2d(cin, cout, 5, stride=stride, padding=2, bias=bias)
    x = torch.randn(BATCH, cin, side, side, requires_grad=True)
    with torch.no_grad():
        dy = torch.randn_like(m(x))

    def run():  # forward, then backward with dy: dx, dW (and db)
        m.zero_grad(set_to_none=True)
        x.grad = None
        m(x).backward(dy)

    def fwd():  # the same forward, recording the graph as in training
        m(x)

    t = time_median(run, budget)
    t_fwd = time_median(fwd, budget / 2)
    emit({"case": "dcgan_layers", "layer": lid, "batch": BATCH, "threads": threads, "torch_us": round(t * 1e6, 1),
          "torch_fwd_us": round(t_fwd * 1e6, 1), "torch_bwd_us": round((t - t_fwd) * 1e6, 1)})


def run_case(name, threads, budget):
    if name == "dcgan_step":
        bench_step(threads, budget)
        return True
    case, _, only = name.partition(":")
    if case != "dcgan_layers":
        return False
    specs = [s for s in LAYERS if not only or s[0] == only]
    for s in specs:
        bench_layer(s, threads, budget)
    return bool(specs)


if __name__ == "__main__":
    sys.exit(main(__doc__, "torch_gan.py", ["dcgan_step", "dcgan_layers"], run_case))
