#!/usr/bin/python3
"""PyTorch reference for `hadron bnn`: Bayesian amplitude regression (seed 004).

    /usr/bin/python3 bench/torch_bnn.py --data DIR [--epochs N] [--hidden H] [--lr LR]
        [--lr-final LR] [--batch B] [--samples K] [--prior-std S] [--threads N] [--seed S]
        [--save-init FILE]

DIR holds {trn,val,tst}_dat.npy (N, 5, 4): (E, px, py, pz) of the two incoming
gluons, the two photons and the outgoing gluon, and {trn,val,tst}_amp.npy (N,):
the squared amplitudes.

Preprocessing (as the seed notebook, plus a standardised target): momenta
flattened to (N, 20) and divided by the mean gluon pT of the training set
(particle 4, pT = sqrt(px^2 + py^2)); y = log(amp), standardised with the
training mean and standard deviation.

Network: Bayesian MLP 20 -> H -> H -> 2 with ReLU, three Bayesian linear
layers.  Each weight is a Gaussian (mean mu, log-variance logsig2), sampled by
the reparameterisation trick once per forward pass (one draw shared by the
batch); biases are deterministic.  Init: mu and bias ~ U(-1/sqrt(fan_in),
1/sqrt(fan_in)), logsig2 = -9.  KL to a N(0, prior_std^2) prior per weight.
Outputs: mean and log-variance of the standardised log amplitude.

Loss per batch: mean over the batch of (y - m)^2 / (2 exp(logvar)) + logvar / 2,
plus KL / N_train.  Adam, batches of 64 reshuffled every epoch (the last one
smaller), learning rate decayed exponentially from --lr to --lr-final over
the epochs, as `hadron bnn` does (--lr-final equal to --lr: constant).

Output on stdout: one line per epoch,

    epoch=E train_loss= train_nll= train_kl= train_mse= val_loss= val_nll= val_kl= val_mse= seconds=

(train_*: running means over the epoch's batches, MSE of the mean output on
the standardised target; val_*: the whole validation set through one sampled
network; kl is the KL / N_train term; seconds: the training part of the epoch,
without validation), then one JSON line with the test-set metrics: K sampled
networks, each over the whole test set; predictive mean m = mean_k mu_k,
aleatoric = mean_k exp(logvar_k), epistemic = var_k mu_k, total = their sum;
test_mse = mean (m - y)^2 on the standardised target; log-amplitude prediction
m * std + mean with sigma sqrt(total) * std; rel_err = |pred / true - 1|; pull =
(log true - log pred) / sigma; sec_per_epoch: the median training time of an
epoch.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

N_PARTICLES, GLUON = 5, 4
LOGSIG2_INIT = -9.0


# ---- data -------------------------------------------------------------------------

def load_split(data_dir, name):
    try:
        dat = np.load(os.path.join(data_dir, f"{name}_dat.npy"))
        amp = np.load(os.path.join(data_dir, f"{name}_amp.npy"))
    except (OSError, ValueError) as e:
        sys.exit(f"torch_bnn.py: {e}")
    if dat.ndim != 3 or dat.shape[1:] != (N_PARTICLES, 4):
        sys.exit(f"torch_bnn.py: {name}_dat.npy has shape {dat.shape}, want (N, 5, 4)")
    if amp.shape != (dat.shape[0],):
        sys.exit(f"torch_bnn.py: {name}_amp.npy has shape {amp.shape}, want ({dat.shape[0]},)")
    if not (np.all(np.isfinite(dat)) and np.all(np.isfinite(amp)) and np.all(amp > 0)):
        sys.exit(f"torch_bnn.py: {name}: momenta must be finite and amplitudes finite and positive")
    return dat.astype(np.float64), amp.astype(np.float64)


class Transform:
    """Fitted on the training split: momentum scale and target mean/std."""

    def __init__(self, trn_dat, trn_amp):
        g = trn_dat[:, GLUON]
        self.pt_scale = float(np.mean(np.sqrt(g[:, 1] ** 2 + g[:, 2] ** 2)))
        if not self.pt_scale > 0:
            self.pt_scale = 1.0
        log_amp = np.log(trn_amp)
        self.y_mean = float(log_amp.mean())
        self.y_std = float(log_amp.std())  # population std, as hadron
        if not self.y_std > 0:
            self.y_std = 1.0

    def apply(self, dat, amp):
        """-> x (N, 20) float32, y (N,) float32 standardised, log amp (N,) float64."""
        x = dat.reshape(dat.shape[0], -1) / self.pt_scale
        log_amp = np.log(amp)
        y = (log_amp - self.y_mean) / self.y_std
        return (torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32)), log_amp)


# ---- network ----------------------------------------------------------------------

class BayesLinear(torch.nn.Module):
    """y = x w^T + b with w ~ N(mu, exp(logsig2)) drawn once per forward pass."""

    def __init__(self, n_in, n_out, prior_std):
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        self.mu = torch.nn.Parameter(torch.empty(n_out, n_in).uniform_(-bound, bound))
        self.logsig2 = torch.nn.Parameter(torch.full((n_out, n_in), LOGSIG2_INIT))
        self.bias = torch.nn.Parameter(torch.empty(n_out).uniform_(-bound, bound))
        self.prior_var = prior_std ** 2

    def forward(self, x):
        w = self.mu + torch.exp(0.5 * self.logsig2) * torch.randn_like(self.mu)
        return F.linear(x, w, self.bias)

    def kl(self):
        s2 = self.prior_var
        return 0.5 * torch.sum(self.mu ** 2 / s2 + torch.exp(self.logsig2) / s2 - self.logsig2
                               + math.log(s2) - 1.0)


class BayesMLP(torch.nn.Module):
    def __init__(self, n_in, hidden, prior_std):
        super().__init__()
        self.layers = torch.nn.ModuleList([BayesLinear(n_in, hidden, prior_std),
                                           BayesLinear(hidden, hidden, prior_std),
                                           BayesLinear(hidden, 2, prior_std)])

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i + 1 < len(self.layers):
                x = F.relu(x)
        return x[:, 0], x[:, 1]  # mean, log-variance

    def kl(self):
        return sum(layer.kl() for layer in self.layers)


def save_init(model, path):
    """The initial weights as safetensors under hadron's names, for
    `hadron bnn --init` (bnn.bayes<i>.weight_mean / weight_logvar / bias)."""
    tensors = {}
    for i, layer in enumerate(model.layers):
        for name, t in (("weight_mean", layer.mu), ("weight_logvar", layer.logsig2), ("bias", layer.bias)):
            tensors[f"bnn.bayes{i}.{name}"] = t.detach().numpy().astype("<f4")
    header, blobs, off = {}, [], 0
    for k, a in tensors.items():
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


def gauss_nll(mean, logvar, y):
    return torch.mean((y - mean) ** 2 / (2 * torch.exp(logvar)) + 0.5 * logvar)


# ---- training and evaluation ------------------------------------------------------

def train_epoch(model, opt, x, y, batch, n_train):
    """One pass over shuffled batches; running means of loss, nll, kl (the
    KL / N_train term) per batch and the MSE of the mean per row."""
    n = x.shape[0]
    perm = torch.randperm(n)
    sums = torch.zeros(3)
    sse = torch.zeros(())
    batches = 0
    for i in range(0, n, batch):
        idx = perm[i:i + batch]
        xb, yb = x[idx], y[idx]
        mean, logvar = model(xb)
        nll = gauss_nll(mean, logvar, yb)
        kl = model.kl() / n_train
        loss = nll + kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            sums += torch.stack((loss, nll, kl))
            sse += torch.sum((mean - yb) ** 2)
        batches += 1
    loss, nll, kl = (sums / batches).tolist()
    return {"loss": loss, "nll": nll, "kl": kl, "mse": sse.item() / n}


@torch.no_grad()
def eval_losses(model, x, y, n_train):
    """The whole split through one sampled network."""
    mean, logvar = model(x)
    nll = gauss_nll(mean, logvar, y).item()
    kl = (model.kl() / n_train).item()
    return {"loss": nll + kl, "nll": nll, "kl": kl, "mse": torch.mean((mean - y) ** 2).item()}


@torch.no_grad()
def predict(model, x, samples):
    """K sampled networks over the whole split -> mean, aleatoric, epistemic
    (float64 arrays, standardised units)."""
    mus, vars_ = [], []
    for _ in range(samples):
        mean, logvar = model(x)
        mus.append(mean.double())
        vars_.append(torch.exp(logvar.double()))
    mu = torch.stack(mus)
    m = mu.mean(0)
    aleatoric = torch.stack(vars_).mean(0)
    epistemic = mu.var(0, unbiased=False)
    return m.numpy(), aleatoric.numpy(), epistemic.numpy()


def judge(m, aleatoric, epistemic, y, log_amp, t):
    total = aleatoric + epistemic
    pred_log = m * t.y_std + t.y_mean
    sigma_log = np.sqrt(total) * t.y_std
    rel = np.abs(np.exp(pred_log - log_amp) - 1.0)  # |pred / true - 1|
    pull = (log_amp - pred_log) / sigma_log
    return {"test_mse": float(np.mean((m - y.double().numpy()) ** 2)),
            "rel_err_median": float(np.quantile(rel, 0.5)),
            "rel_err_p90": float(np.quantile(rel, 0.9)),
            "pull_mean": float(np.mean(pull)),
            "pull_std": float(np.std(pull)),
            "sigma_aleatoric_median": float(np.median(np.sqrt(aleatoric) * t.y_std)),
            "sigma_epistemic_median": float(np.median(np.sqrt(epistemic) * t.y_std))}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="directory with {trn,val,tst}_{dat,amp}.npy")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--hidden", type=int, default=20, help="width of the two hidden layers")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--lr-final", type=float, default=1e-4,
                   help="decay the learning rate exponentially to this by the last epoch (as hadron bnn)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--samples", type=int, default=50, help="sampled networks for the test-set prediction")
    p.add_argument("--prior-std", type=float, default=1.0, help="width of the Gaussian prior on the weights")
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "0") or 0),
                   help="torch threads (default: $OMP_NUM_THREADS, else all cores)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--save-init", metavar="FILE",
                   help="write the initial weights here (safetensors) for hadron bnn --init: both then start alike")
    a = p.parse_args()
    if a.epochs < 1 or a.hidden < 1 or a.batch < 1 or a.samples < 2 or not a.lr > 0 or not a.prior_std > 0 \
            or (a.lr_final is not None and not a.lr_final > 0):
        p.error("epochs, hidden, batch, lr, lr-final and prior-std must be positive, samples >= 2")

    threads = a.threads if a.threads > 0 else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    torch.manual_seed(a.seed)

    trn_dat, trn_amp = load_split(a.data, "trn")
    val_dat, val_amp = load_split(a.data, "val")
    tst_dat, tst_amp = load_split(a.data, "tst")
    t = Transform(trn_dat, trn_amp)
    x_trn, y_trn, _ = t.apply(trn_dat, trn_amp)
    x_val, y_val, _ = t.apply(val_dat, val_amp)
    x_tst, y_tst, log_tst = t.apply(tst_dat, tst_amp)
    n_train = x_trn.shape[0]

    model = BayesMLP(x_trn.shape[1], a.hidden, a.prior_std)
    if a.save_init:
        save_init(model, a.save_init)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    decay = 1.0
    if a.lr_final is not None:
        decay = (a.lr_final / a.lr) ** (1.0 / max(a.epochs - 1, 1))

    secs = []
    for e in range(1, a.epochs + 1):
        for g in opt.param_groups:
            g["lr"] = a.lr * decay ** (e - 1)
        model.train()
        t0 = time.perf_counter()
        tr = train_epoch(model, opt, x_trn, y_trn, a.batch, n_train)
        secs.append(time.perf_counter() - t0)
        va = eval_losses(model, x_val, y_val, n_train)
        print(f"epoch={e} train_loss={tr['loss']:.6g} train_nll={tr['nll']:.6g} train_kl={tr['kl']:.6g} "
              f"train_mse={tr['mse']:.6g} val_loss={va['loss']:.6g} val_nll={va['nll']:.6g} "
              f"val_kl={va['kl']:.6g} val_mse={va['mse']:.6g} seconds={secs[-1]:.4f}", flush=True)

    m, aleatoric, epistemic = predict(model, x_tst, a.samples)
    r = judge(m, aleatoric, epistemic, y_tst, log_tst, t)
    r.update(sec_per_epoch=float(np.median(secs)), threads=torch.get_num_threads(), epochs=a.epochs,
             hidden=a.hidden, samples=a.samples, batch=a.batch, lr=a.lr, lr_final=a.lr_final, seed=a.seed,
             n_train=n_train, n_val=int(x_val.shape[0]), n_test=int(x_tst.shape[0]))
    print(json.dumps(r, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
