"""hadron export --format onnx, checked by independent runtimes: the ONNX
checker (with shape inference) accepts each exported file, and OpenCV's DNN
module computes from the same raw inputs what `hadron predict` computes,
within 1e-5.  Models: a surrogate (log pT and a cyclic phi, the scaler, a
sigmoid), a fit MLP (tanh), a Bayesian network's mean network (the
momentum scale and the affine back to log amplitude), and a VAE's decoder
given the same noise as `hadron gen sample --noise` (the showers in MeV,
within 1e-5 of the largest voxel).  Needs Debian's python3-onnx and
python3-opencv (scripts/setup.sh installs them); run by ctest as
/usr/bin/python3 tests/onnx_check.py path/to/hadron."""
import os
import subprocess
import sys
import tempfile

import cv2
import h5py
import numpy as np
import onnx


def sh(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s%s" % (" ".join(args), r.stdout, r.stderr))


def check(hadron, model, x, tmp, tag):
    path = os.path.join(tmp, tag + ".onnx")
    sh(hadron, "export", "--model", model, "--format", "onnx", "--out", path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    np.save(os.path.join(tmp, "x.npy"), x)
    sh(hadron, "predict", "--model", model, "--input", os.path.join(tmp, "x.npy"), "--output", os.path.join(tmp, "y.npy"))
    want = np.load(os.path.join(tmp, "y.npy")).reshape(len(x), -1)
    net = cv2.dnn.readNetFromONNX(path)
    net.setInput(x)
    got = net.forward().reshape(want.shape)
    diff = np.max(np.abs(got - want) / np.maximum(1, np.abs(want)))
    print("%-10s %d rows: largest difference OpenCV DNN vs hadron %.2e" % (tag, len(x), diff))
    if not diff < 1e-5:
        sys.exit("%s: OpenCV DNN and hadron differ by %g" % (tag, diff))


def check_generator(hadron, tmp, rng):
    showers = os.path.join(tmp, "r.h5")
    sh(hadron, "sim", "calo", "--n", "2000", "--out", showers, "--threads", "1")
    sh(hadron, "gen", "train", "--model", "vae", "--data", showers, "--out", os.path.join(tmp, "v"), "--epochs", "2",
       "--no-eval", "--threads", "1")
    model, path = os.path.join(tmp, "v", "checkpoint.safetensors"), os.path.join(tmp, "vae.onnx")
    sh(hadron, "export", "--model", model, "--format", "onnx", "--out", path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    n, latent = 300, onnx.load(path).graph.input[0].type.tensor_type.shape.dim[1].dim_value
    np.save(os.path.join(tmp, "z.npy"), rng.standard_normal((n, latent)).astype(np.float32))
    sample = os.path.join(tmp, "s.h5")
    sh(hadron, "gen", "sample", "--model", model, "--n", str(n), "--noise", os.path.join(tmp, "z.npy"), "--out", sample)
    with h5py.File(sample, "r") as f:
        cond = f["incident_energies"][:].reshape(n, 1).astype(np.float32)
        want = f["showers"][:].reshape(n, -1)
    net = cv2.dnn.readNetFromONNX(path)
    net.setInput(np.load(os.path.join(tmp, "z.npy")), "noise")
    net.setInput(cond, "cond")
    got = net.forward().reshape(want.shape)
    diff = np.max(np.abs(got - want)) / np.max(np.abs(want))
    flips = np.mean((got == 0) != (want == 0))  # the threshold: the same voxels empty
    big = want > 1.0
    rel = np.max(np.abs(got[big] - want[big]) / want[big])
    print("%-10s %d showers: largest difference OpenCV DNN vs hadron %.2e of the largest voxel, %.2e relative "
          "above 1 MeV; %d of %d voxels empty in one only" % ("vae", n, diff, rel, int(flips * want.size), want.size))
    if not (diff < 1e-5 and rel < 1e-4 and flips < 1e-4 and np.mean(want == 0) > 0.01):
        sys.exit("vae: OpenCV DNN and hadron differ (%g of the largest voxel, %g relative, %g flipped)" % (diff, rel, flips))
    # the same generator as C source, compiled and run shower by shower
    stem = os.path.join(tmp, "vae_c")
    sh(hadron, "export", "--model", model, "--out", stem, "--name", "vae")
    driver = os.path.join(tmp, "drive_vae.c")
    with open(driver, "w") as f:
        f.write('#include <stdio.h>\n#include "vae_c.h"\nint main(int c, char **v) {\n'
                '    FILE *fc = fopen(v[1], "rb"), *fz = fopen(v[2], "rb"), *fo = fopen(v[3], "wb");\n'
                '    float cond[VAE_N_IN], z[VAE_N_NOISE], out[VAE_N_OUT];\n    (void)c;\n'
                '    while (fread(cond, sizeof cond, 1, fc) == 1 && fread(z, sizeof z, 1, fz) == 1)\n'
                '        fwrite(vae(out, cond, z), sizeof out, 1, fo);\n    return fclose(fo) != 0;\n}\n')
    sh("cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-I", tmp, "-o", os.path.join(tmp, "vae_run"),
       driver, stem + ".c", "-lm")
    cond.tofile(os.path.join(tmp, "cond.bin"))
    np.load(os.path.join(tmp, "z.npy")).tofile(os.path.join(tmp, "z.bin"))
    sh(os.path.join(tmp, "vae_run"), os.path.join(tmp, "cond.bin"), os.path.join(tmp, "z.bin"), os.path.join(tmp, "c.bin"))
    got = np.fromfile(os.path.join(tmp, "c.bin"), np.float32).reshape(want.shape)
    diff = np.max(np.abs(got - want)) / np.max(np.abs(want))
    flips = np.mean((got == 0) != (want == 0))
    print("%-10s %d showers: largest difference exported C vs hadron %.2e of the largest voxel; %d voxels empty in "
          "one only" % ("vae", n, diff, int(flips * want.size)))
    if not (diff < 1e-5 and flips < 1e-4):
        sys.exit("vae: the exported C and hadron differ (%g of the largest voxel, %g flipped)" % (diff, flips))


def main():
    hadron = sys.argv[1]
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        hist = os.path.join(tmp, "hist.npz")
        sh(hadron, "sim", "tracking", "--out", hist)
        sh(hadron, "surrogate", "--input", hist, "--out", os.path.join(tmp, "s"), "--epochs", "3", "--threads", "1")
        x = np.stack([rng.uniform(2, 5, 500), rng.uniform(200, 20000, 500), rng.uniform(-np.pi, np.pi, 500)], 1)
        check(hadron, os.path.join(tmp, "s", "model.safetensors"), x.astype(np.float32), tmp, "surrogate")
        sh(hadron, "fit", "--epochs", "5", "--activation", "tanh", "--out", os.path.join(tmp, "f"), "--threads", "1")
        x = rng.uniform(-1, 1, (500, 2)).astype(np.float32)
        check(hadron, os.path.join(tmp, "f", "model.safetensors"), x, tmp, "fit")
        amp = os.path.join(tmp, "amp")
        sh(hadron, "sim", "amplitudes", "--out", amp, "--train", "3000", "--val", "500", "--test", "500")
        sh(hadron, "bnn", "--data", amp, "--out", os.path.join(tmp, "b"), "--epochs", "3", "--threads", "1")
        x = np.load(os.path.join(amp, "tst_dat.npy")).reshape(-1, 20).astype(np.float32)
        check(hadron, os.path.join(tmp, "b", "model.safetensors"), x, tmp, "bnn")
        check_generator(hadron, tmp, rng)


if __name__ == "__main__":
    main()
