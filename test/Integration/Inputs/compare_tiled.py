#!/usr/bin/env python3
"""Runs the reference and the tiled lowerings of every case and compares.

usage: compare_tiled.py --source=FILE.mlir --reference=REF.mlir
                        --workdir=DIR [--tessera-run=PATH | --in-process]
                        [--emulate=PATH --emulated=GPU.mlir...] TILED.mlir...

FILE.mlir is a tiled-*.mlir test (tiled-attention.mlir, tiled-grouped-matmul.mlir): chunks separated by
`// -----`, each with a `// case: NAME inputs: TYPES outputs: N` line.
REF.mlir and every TILED.mlir are that file after one tessera-opt pass with
--split-input-file (so no tessera op is left in them); they are split the
same way and matched to the cases by function name. For every case the
driver draws seeded inputs (floats in [-2, 2); kv_lens in [0, Skv] with 0 and
Skv among them when B > 1, and with B > 3 one past Skv and one negative),
runs the reference chunk and each tiled chunk through tessera-run on the
same .npy files, and compares all results (within a tolerance per element
type, or with --exact bit for bit).

With --in-process the chunks run through the tessera Python package
(tessera.Compiler().load_source, the CPU pipeline and JIT that tessera-run
uses) in --jobs worker processes instead of one tessera-run process each:
the same compilation, without a process start, a context and .npy files per
run. The package must be importable (PYTHONPATH; lit's %compare_tiled sets
it up when the build has the Python bindings).

Each --emulated file is a variant too, but after a tensor-core pass for a
GPU: its chunks run through the GPU emulator (--emulate, tessera-gpu-emulate,
which takes tessera-run's command line) instead of tessera-run. Cases whose
chunk launches no kernel (ops the pass leaves to the generic lowering) are
left out of that variant, and the summary counts the emulated ones; with
--only-emulated, cases that no emulated variant launches are not run at all.
"""

import argparse
import concurrent.futures
import multiprocessing
import os
import re
import subprocess
import sys
import zlib

import numpy as np

CASE_RE = re.compile(r"^// case: (\w+) inputs: (.*) outputs: (\d+)$", re.M)
FUNC_RE = re.compile(r"func\.func @(\w+)\(")
TYPE_RE = re.compile(r"tensor<([0-9x]+)x(\w+)>")
TOLERANCE = {"f32": 1e-4, "f16": 2e-3, "bf16": 1e-2}


def split_chunks(path):
    """{function name: chunk text} of a --split-input-file output."""
    with open(path) as f:
        text = f.read()
    chunks = {}
    for chunk in re.split(r"^// -----$", text, flags=re.M):
        match = FUNC_RE.search(chunk)
        if match:
            chunks[match.group(1)] = chunk
    return chunks


def make_inputs(name, types):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    seq_kv = None
    arrays = []
    for dims_text, dtype in types:
        shape = tuple(int(d) for d in dims_text.split("x"))
        if dtype == "i32":
            # kv_lens: the last float input with rank 4 or 3 is k/v or kv.
            lens = rng.integers(0, seq_kv + 1, size=shape).astype(np.int32)
            if shape[0] > 1:
                lens[0], lens[1] = seq_kv, 0
            if shape[0] > 3:
                # Outside [0, Skv]: a length past the cache, a negative one.
                lens[2] = seq_kv + rng.integers(1, seq_kv + 2)
                lens[3] = -rng.integers(1, 5)
            arrays.append(lens)
            continue
        if len(shape) == 4 and seq_kv is None and len(arrays) == 1:
            seq_kv = shape[2]  # k: [B, Hkv, Skv, D]
        if len(shape) == 3 and len(arrays) == 1:
            seq_kv = shape[1]  # latent kv: [B, Skv, L+R]
        arrays.append(rng.uniform(-2.0, 2.0, size=shape).astype(np.float32))
    return arrays


def compare(label, got, want, tol, row_relative=False, exact=False,
            allow_nan=False):
    if got.shape != want.shape:
        return f"{label}: shape {got.shape}, expected {want.shape}"
    if exact:
        if got.dtype != want.dtype:
            return f"{label}: dtype {got.dtype}, expected {want.dtype}"
        differ = ~((got == want) | (np.isnan(got) & np.isnan(want))) \
            if got.dtype.kind == "f" else got != want
        if np.any(differ):
            i = tuple(np.argwhere(differ)[0])
            return (f"{label}: {np.count_nonzero(differ)} elements differ, "
                    f"first at {i}: {got[i]} vs {want[i]}")
        return None
    if allow_nan and got.dtype.kind == "f":
        # NaN exactly where the reference has NaN; the rest as below.
        nan = np.isnan(want)
        if np.any(np.isnan(got) != nan):
            i = tuple(np.argwhere(np.isnan(got) != nan)[0])
            return f"{label}: NaN mismatch at {i}: {got[i]} vs {want[i]}"
        got, want = got[~nan], want[~nan]
    if np.isnan(got).any() or np.isnan(want).any():
        return f"{label}: NaN"
    inf = np.isinf(want) | np.isinf(got)
    if np.any(got[inf] != want[inf]):
        i = tuple(np.argwhere(inf & (got != want))[0])
        return f"{label}: infinity mismatch at {i}: {got[i]} vs {want[i]}"
    magnitude = np.abs(want)
    if row_relative and want.ndim > 0:
        # Relative to the largest magnitude of the row: for results that are
        # sums of terms rounded differently by the two variants, the
        # difference scales with the terms, not with their (cancelling) sum.
        magnitude = np.broadcast_to(
            np.abs(np.where(inf, 0, want)).max(axis=-1, keepdims=True),
            want.shape)
    err = np.abs(got[~inf] - want[~inf])
    limit = tol + tol * magnitude[~inf]
    if np.any(err > limit):
        worst = np.argmax(err - limit)
        return (f"{label}: max abs err {err.max():.3g} exceeds {tol} + {tol}"
                f"*|want| (got {got[~inf][worst]}, want {want[~inf][worst]})")
    return None


def run(tessera_run, chunk, path, entry, inputs, outputs):
    with open(path, "w") as f:
        f.write(chunk)
    cmd = [tessera_run, path, f"--entry={entry}"]
    cmd += [f"--input={p}" for p in inputs] + [f"--output={p}" for p in outputs]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return " ".join(cmd) + "\n" + proc.stdout + proc.stderr
    return None


# The compiler of an --in-process worker (start_worker).
_compiler = None
# What the workers of main's pool share: (args, variants), set before they
# are forked so that no task carries the chunks.
_shared = None


def start_worker():
    global _compiler
    import tessera
    _compiler = tessera.Compiler()


def describe_error(error):
    """What the tessera package reported: its diagnostics as a tool would
    print them, or the exception's message."""
    rendered = [d["rendered"]
                for d in getattr(error, "diagnostics", None) or []]
    return "\n".join(rendered) if rendered else str(error)


def run_in_process(compiler, chunk, entry, arrays):
    """The results of `entry` in `chunk` on `arrays` (compiled by the
    tessera.Compiler `compiler`), or an error."""
    import tessera
    try:
        results = compiler.load_source(chunk, entry)(*arrays)
    except (tessera.CompilerError, ValueError, TypeError) as error:
        return None, describe_error(error)
    if not isinstance(results, tuple):
        results = (results,)
    return [np.array(r) for r in results], None


def check_shared_case(name, types, num_outputs):
    return check_case(*_shared, name, types, num_outputs)


def check_case(args, variants, name, types, num_outputs):
    """The errors of case `name` and the labels of the variants it ran."""
    work = os.path.join(args.workdir, name)
    arrays = make_inputs(name, types)
    inputs = []
    if not args.in_process or any(emulated for _, _, emulated in variants):
        os.makedirs(work, exist_ok=True)
        for i, array in enumerate(arrays):
            inputs.append(os.path.join(work, f"in{i}.npy"))
            np.save(inputs[-1], array)
    results, errors = {}, []
    for label, chunks, emulated in variants:
        if name not in chunks:
            errors.append(f"{name}: no function in the {label} file")
            continue
        if emulated and "gpu.launch_func" not in chunks[name]:
            continue
        if args.in_process and not emulated:
            got, error = run_in_process(_compiler, chunks[name], name,
                                        arrays)
            if error:
                errors.append(f"{name} ({label}): tessera failed\n{error}")
            else:
                results[label] = got
            continue
        outs = [os.path.join(work, f"{label}.out{i}.npy")
                for i in range(num_outputs)]
        runner = args.emulate if emulated else args.tessera_run
        error = run(runner, chunks[name],
                    os.path.join(work, f"{label}.mlir"), name, inputs, outs)
        if error:
            tool = os.path.basename(runner)
            errors.append(f"{name} ({label}): {tool} failed\n{error}")
            continue
        results[label] = [np.load(p) for p in outs]
    if errors:
        return errors, []
    reference = results.pop("reference")
    # Outputs round to the element type of q; lse is always f32.
    out_dtype = types[0][1]
    for label, got in results.items():
        for i, (g, w) in enumerate(zip(got, reference)):
            tol = TOLERANCE[out_dtype if i == 0 else "f32"]
            error = compare(f"{name} result #{i} ({label})", g, w, tol,
                            args.row_relative, args.exact, args.allow_nan)
            if error:
                errors.append(error)
    return errors, list(results)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--tessera-run", default="tessera-run")
    parser.add_argument("--in-process", action="store_true",
                        help="run the CPU variants with the tessera Python "
                             "package instead of tessera-run")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--row-relative", action="store_true",
                        help="relative tolerance against the largest "
                             "magnitude of each result row")
    parser.add_argument("--exact", action="store_true",
                        help="require every result to equal the "
                             "reference's bit for bit")
    parser.add_argument("--allow-nan", action="store_true",
                        help="results may hold NaN where the reference's "
                             "do (elsewhere, NaN fails)")
    parser.add_argument("--emulate", default="tessera-gpu-emulate",
                        help="the GPU emulator for the --emulated files")
    parser.add_argument("--emulated", action="append", default=[],
                        help="a variant lowered for a GPU, run emulated")
    parser.add_argument("--only-emulated", action="store_true",
                        help="check only the cases an emulated variant "
                             "launches kernels for")
    parser.add_argument("tiled", nargs="*")
    args = parser.parse_args()

    with open(args.source) as f:
        cases = [(m.group(1), TYPE_RE.findall(m.group(2)), int(m.group(3)))
                 for m in CASE_RE.finditer(f.read())]
    variants = [("reference", split_chunks(args.reference), False)]
    for path in args.tiled + args.emulated:
        label = os.path.basename(path).rsplit(".", 2)[-2]
        variants.append((label, split_chunks(path), path in args.emulated))

    if args.only_emulated:
        cases = [case for case in cases
                 if any(is_emulated and case[0] in chunks and
                        "gpu.launch_func" in chunks[case[0]]
                        for _, chunks, is_emulated in variants)]

    failures = 0
    emulated = {label: 0 for label, _, is_emulated in variants if is_emulated}
    global _shared
    _shared = (args, variants)
    if args.in_process:
        # Worker processes (one compiler each) forked after the chunks were
        # read; the package is imported in the workers only.
        pool = concurrent.futures.ProcessPoolExecutor(
            args.jobs, mp_context=multiprocessing.get_context("fork"),
            initializer=start_worker)
    else:
        pool = concurrent.futures.ThreadPoolExecutor(args.jobs)
    with pool:
        futures = [pool.submit(check_shared_case, *case) for case in cases]
        for (name, _, _), future in zip(cases, futures):
            try:
                errors, ran = future.result()
            except concurrent.futures.process.BrokenProcessPool:
                errors, ran = [f"{name}: a worker process died (a crash in "
                               f"this case or one running beside it)"], []
            for error in errors:
                print("FAIL " + error)
            if not errors:
                print(f"PASS {name}")
            failures += bool(errors)
            for label in ran:
                if label in emulated:
                    emulated[label] += 1
    print(f"{len(cases) - failures} of {len(cases)} cases passed "
          f"({len(variants) - 1} tile configurations)")
    for label, count in emulated.items():
        print(f"{label}: {count} cases emulated")
    return 1 if failures or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
