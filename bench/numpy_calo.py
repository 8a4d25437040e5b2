"""NumPy side of bench_calo: the high-level features of a ds2 shower file.

  BENCH_CALO_DIR=DIR /usr/bin/python3 bench/numpy_calo.py [--threads N] [--chunk ROWS] [CASE ...]

CASE is calo_features_ds2[:N] (N showers, default 20000): read DIR/ds2_N_1.h5
with h5py, ROWS showers at a time (default: 16 MiB of them, as hadron;
0: the whole file at once, as CaloChallenge's HighLevelFeatures), and
compute CaloChallenge's high-level features as docs/metrics.md states them:
E_tot / E_inc, then per layer E_layer, EC_eta, EC_phi, width_eta, width_phi,
EC_r, width_r and sparsity (1 - the fraction of voxels with e > 0), with
eta = r_c cos alpha_c and phi = r_c sin alpha_c, alpha_c the midpoints of
linspace(-pi, pi, 17) and r_c those of ds2's radial edges (4.65 mm bins out
to 41.85 mm); an empty layer has centres and widths 0.  The per-layer
moments are one float64 matmul of the voxels with the columns (1, eta, phi,
r, eta^2, phi^2, r^2).  One JSON line per case: the time per shower (read
and features apart), the peak RSS (resource.getrusage) and the check against
hadron's features of the same file (DIR/ds2_N_1.features.npz, written by
bench_calo): every column of those rows within 1e-5 of the column's scale
(its largest |value| among them).  bench/run.sh runs bench_calo first.
"""
import argparse
import json
import os
import resource
import sys
import time

N_LAYERS, N_ALPHA, N_R, DR = 45, 16, 9, 4.65  # CaloChallenge dataset 2
CHUNK_BYTES = 16 << 20
TOLERANCE = 1e-5


def geometry(np):
    """[voxels of a layer, 7]: 1, eta, phi, r, eta^2, phi^2, r^2 of each (alpha, r) voxel, r fastest."""
    r_edges = DR * np.arange(N_R + 1)
    r_c = 0.5 * (r_edges[:-1] + r_edges[1:])
    a_edges = np.linspace(-np.pi, np.pi, N_ALPHA + 1)
    a_c = 0.5 * (a_edges[:-1] + a_edges[1:])
    r = np.tile(r_c, N_ALPHA)
    alpha = np.repeat(a_c, N_R)
    eta, phi = r * np.cos(alpha), r * np.sin(alpha)
    return np.stack([np.ones_like(r), eta, phi, r, eta * eta, phi * phi, r * r], axis=1)


def features(np, showers, e_inc, q):
    """[n, 1 + 8 * 45] float32 from showers [n, 6480] float32 and e_inc [n]."""
    n = len(showers)
    x = showers.reshape(n, N_LAYERS, N_ALPHA * N_R)
    m = x.astype(np.float64) @ q  # [n, layers, 7]
    e = m[..., 0]
    full = e != 0
    safe = np.where(full, e, 1.0)[..., None]
    mean = np.where(full[..., None], m[..., 1:4] / safe, 0.0)
    second = np.where(full[..., None], m[..., 4:7] / safe, 0.0)
    width = np.sqrt(np.clip(second - mean * mean, 0.0, None))
    sparsity = 1.0 - (x > 0).mean(-1)
    ratio = e.sum(-1) / e_inc.astype(np.float64)
    cols = [ratio[:, None], e, mean[..., 0], mean[..., 1], width[..., 0], width[..., 1], mean[..., 2], width[..., 2],
            sparsity]
    return np.concatenate(cols, axis=1).astype(np.float32)


def check(np, path, out):
    """The largest deviation from hadron's rows, in units of each column's scale, and a sentence."""
    if not os.path.exists(path):
        return None, f"no {path} (bench_calo writes it): not checked"
    h = np.load(path)
    rows, theirs = h["rows"], h["features"].astype(np.float64)
    ours = out[rows].astype(np.float64)
    scale = np.abs(theirs).max(0)
    scale[scale == 0] = 1.0
    dev = float((np.abs(ours - theirs) / scale).max())
    verdict = "agree" if dev <= TOLERANCE else "DISAGREE"
    return dev, (f"hadron and numpy {verdict} on {len(rows)} rows x {out.shape[1]} columns: largest deviation "
                 f"{dev:.2g} of the column's scale (tolerance {TOLERANCE:g})")


def run_case(np, h5py, name, threads, chunk_arg):
    kind, _, count = name.partition(":")
    if kind != "calo_features_ds2" or (count and not count.isdigit()):
        return False
    n_want = int(count) if count else 20000
    d = os.environ.get("BENCH_CALO_DIR") or "."
    path = os.path.join(d, f"ds2_{n_want}_1.h5")
    if not os.path.exists(path):
        sys.exit(f"numpy_calo.py: no {path}; make it with: hadron sim calo --geometry ds2 --n {n_want} --seed 1 "
                 f"--out {path}")
    q = geometry(np)
    t_read = t_feat = 0.0
    with h5py.File(path, "r") as f:
        es, xs = f["incident_energies"], f["showers"]
        n, v = xs.shape
        chunk = chunk_arg if chunk_arg > 0 else n if chunk_arg == 0 else max(1, CHUNK_BYTES // (4 * v))
        out = np.empty((n, 1 + 8 * N_LAYERS), dtype=np.float32)
        for first in range(0, n, chunk):
            t0 = time.perf_counter()
            e = es[first:first + chunk].reshape(-1)
            x = xs[first:first + chunk]
            t1 = time.perf_counter()
            out[first:first + len(x)] = features(np, x, e, q)
            t_feat += time.perf_counter() - t1
            t_read += t1 - t0
            del x
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    dev, verdict = check(np, os.path.join(d, f"ds2_{n_want}_1.features.npz"), out)
    print(verdict, file=sys.stderr)
    total = t_read + t_feat
    print(json.dumps({"case": kind, "showers": n, "threads": threads, "numpy_us": round(1e6 * total / n, 3),
                      "numpy_read_us": round(1e6 * t_read / n, 3), "numpy_features_us": round(1e6 * t_feat / n, 3),
                      "numpy_s": round(total, 3), "numpy_chunk": chunk, "numpy_peak_rss_mb": round(rss, 1),
                      "numpy_max_dev": dev, "check": verdict}, separators=(",", ":")), flush=True)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "0") or 0))
    p.add_argument("--time", type=float, default=0.5, help="ignored: each case is timed once")
    p.add_argument("--chunk", type=int, default=-1, help="showers read at a time (0: all; default 16 MiB of them)")
    p.add_argument("cases", nargs="*", default=["calo_features_ds2"])
    a = p.parse_args()
    threads = a.threads if a.threads > 0 else (os.cpu_count() or 1)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # before numpy loads OpenBLAS
        os.environ[var] = str(threads)
    import h5py
    import numpy as np

    rc = 0
    for c in a.cases:
        if not run_case(np, h5py, c, threads, a.chunk):
            print(f"numpy_calo.py: unknown case '{c}'", file=sys.stderr)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
