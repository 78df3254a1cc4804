"""Compiles and runs the sample workloads on the CPU with tessera-run.

For each example: seeded inputs are written as .npy, tessera-run executes
the entry function (JIT), its output is compared with the independent numpy
reference (test/Integration/reference.py), and tessera-run --check compares
it with the reference lowering. Prints the max error and the time.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "test", "Integration"))
import reference as ref  # noqa: E402


def moe_example(rng):
    t, d, f, e, fs = 64, 256, 128, 16, 512
    x = rng.uniform(-1, 1, (t, d)).astype(np.float32)
    gate = rng.uniform(-0.1, 0.1, (e, d)).astype(np.float32)
    up = rng.uniform(-0.06, 0.06, (e, d, 2 * f)).astype(np.float32)
    down = rng.uniform(-0.09, 0.09, (e, f, d)).astype(np.float32)
    su = rng.uniform(-0.06, 0.06, (d, 2 * fs)).astype(np.float32)
    sd = rng.uniform(-0.04, 0.04, (fs, d)).astype(np.float32)
    inputs = [x, gate, up, down, su, sd]
    expected = ref.moe(*inputs[:4], shared_up=su, shared_down=sd, top_k=4)
    return ("MoE layer (T=64, d=256, E=16, top-4, f=128, shared f=512)",
            "moe_layer.mlir", "moe_layer", inputs, expected)


def attention_example(rng):
    q = rng.uniform(-1, 1, (1, 16, 128, 64)).astype(np.float32)
    k = rng.uniform(-1, 1, (1, 4, 128, 64)).astype(np.float32)
    v = rng.uniform(-1, 1, (1, 4, 128, 64)).astype(np.float32)
    expected, _ = ref.attention(q, k, v, causal=True)
    return ("GQA causal attention (Hq=16, Hkv=4, S=128, D=64)",
            "gqa_attention.mlir", "gqa_attention", [q, k, v], expected)


def run(tessera_run, title, mlir, entry, inputs, expected, workdir):
    paths = []
    for i, a in enumerate(inputs):
        paths.append(os.path.join(workdir, f"{entry}.in{i}.npy"))
        np.save(paths[-1], a)
    out = os.path.join(workdir, f"{entry}.out.npy")
    cmd = [tessera_run, os.path.join(root, "examples", mlir), f"--entry={entry}"]
    cmd += [f"--input={p}" for p in paths]
    proc = subprocess.run(cmd + [f"--output={out}", "--check", "--bench=5"],
                          capture_output=True, text=True)
    print(f"== {title}")
    print("   $ " + " ".join(os.path.relpath(c, root) if c.startswith(root) else c
                             for c in cmd[:3]) + " --input=... --check --bench=5")
    for line in (proc.stdout + proc.stderr).strip().splitlines():
        print("   " + line)
    if proc.returncode != 0:
        print(f"   FAILED: tessera-run exited {proc.returncode}")
        return False
    got = np.load(out)
    err = float(np.max(np.abs(got - expected)))
    rel = err / float(np.max(np.abs(expected)))
    ok = err <= 1e-4 + 1e-4 * float(np.max(np.abs(expected)))
    print(f"   max abs error vs numpy: {err:.3g} (relative to max |out|: {rel:.3g}) "
          f"{'PASS' if ok else 'FAIL'}")
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(root, "build"))
    args = parser.parse_args()
    tessera_run = os.path.join(args.build, "bin", "tessera-run")
    rng = np.random.default_rng(2026)
    ok = True
    with tempfile.TemporaryDirectory() as workdir:
        for example in (moe_example(rng), attention_example(rng)):
            ok &= run(tessera_run, *example, workdir)
    print("tessera demo: " + ("all results match" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
