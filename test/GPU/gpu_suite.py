"""The GPU execution suite, in two phases that may run on different machines.

usage:
  gpu_suite.py prepare --build BUILD --out DIR [--target nvptx] [--chip sm_90]
                       [--pipeline-options OPTS] [--only REGEX]
                       [--compile-only | --emulate] [--sample N]
                       [--in-process]
  gpu_suite.py execute --dir DIR (--launcher PATH [--platform cuda]
                                  | --emulate PATH)

`prepare` needs the compiler and no GPU. It compiles each case to a GPU
artifact (tessera-compile --emit=artifact) and stores its seeded inputs and
expected outputs:
- every execution case of test/Integration/check.py whose entry function has
  static shapes; expected values from the numpy reference (reference.py),
  independent of the compiler;
- every random case of the tiled-attention, tiled-grouped-matmul,
  fused-route and parallel-scatter tests (the CPU issue's edge cases:
  ragged segments, empty experts, decode, GQA 1/4/8, windows, kv_lens,
  ties; ids outside the experts, combine's hostile permutations;
  f32/f16/bf16);
  expected values from the CPU reference lowering (tessera-run
  reference=true), tolerances as in compare_tiled.py.
`--compile-only` compiles the same cases and stores nothing else: the check
that every case compiles for a target, on machines that cannot run it (the
random cases' reference runs would repeat those of the Integration tests).
`--inputs-on-device` stores no inputs, only their digests: `execute` makes
them again from the same seeds (check.py and compare_tiled.py travel with
the tree) and fails a case whose inputs come out different. The inputs are
two thirds of a prepared suite, which is then small enough (18 MB) to be
carried to the lent GPU machine in one piece.
`execute` needs the GPU and no compiler: it runs each artifact with
tessera-gpu-launch and compares every output with check.py's tolerances.
The lent GPU machine has no LLVM, so the two phases run apart there; a
machine with both runs them back to back (test/GPU/execution.test).
`prepare --emulate` stores each case's IR before the kernels' lowering
(the target's pipeline with stop-before-kernel-lowering) instead of an
artifact, and `execute --emulate PATH` runs it in tessera-gpu-emulate on
the host: the same cases and expected values where no GPU is
(test/GPU/emulated-amdgpu.test).
`prepare --in-process` does prepare's compilations and reference runs with
the tessera Python package (which must be importable) in this process, as
lit's %{in_process} asks for where the build has the bindings: the same
compiler, without a tool process per case (half the time of a compile
sweep, a tenth of the lowering for --emulate).
"""

import argparse
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(HERE, "..", "Integration")
sys.path.insert(0, INTEGRATION)
sys.path.insert(0, os.path.join(INTEGRATION, "Inputs"))
import check  # noqa: E402
import compare_tiled  # noqa: E402

GENERATED = ["tiled-attention.mlir", "tiled-grouped-matmul.mlir",
             "fused-route.mlir", "parallel-scatter.mlir"]


def find_function(entry):
    """The text of `func.func @entry` in test/Integration/*.mlir."""
    for path in sorted(glob.glob(os.path.join(INTEGRATION, "*.mlir"))):
        text = open(path).read()
        m = re.search(r"^func\.func @" + re.escape(entry) + r"\(", text, re.M)
        if not m:
            continue
        end = text.index("\n}\n", m.start()) + 3
        return text[m.start():end]
    return None


def compile_case(args, case_dir, func):
    """Writes func to case_dir/case.mlir and compiles it; None or an error.
    With --emulate: the target's pipeline up to the kernels' lowering
    (tessera-opt, stop-before-kernel-lowering) into case.emu.mlir, for
    tessera-gpu-emulate, instead of an artifact. With --in-process the
    tessera package does the same in this process."""
    os.makedirs(case_dir, exist_ok=True)
    source = os.path.join(case_dir, "case.mlir")
    with open(source, "w") as f:
        f.write(func)
    if args.emulate:
        options = ["stop-before-kernel-lowering=true"]
        if args.chip:
            options.append(f"chip={args.chip}")
        if args.pipeline_options:
            options.append(args.pipeline_options)
        output = os.path.join(case_dir, "case.emu.mlir")
        if args.in_process:
            pipeline = (f"builtin.module(tessera-{args.target}-pipeline"
                        f"{{{' '.join(options)}}})")
            return compile_in_process(args, func, source, pipeline, output)
        cmd = [os.path.join(args.build, "bin", "tessera-opt"), source,
               f"--tessera-{args.target}-pipeline={' '.join(options)}",
               "-o", output]
    else:
        output = os.path.join(case_dir, "case.tgpu")
        if args.in_process:
            return compile_in_process(args, func, source, None, output)
        cmd = [os.path.join(args.build, "bin", "tessera-compile"), source,
               f"--target={args.target}", "--emit=artifact", "-o", output]
        if args.chip:
            cmd.append(f"--chip={args.chip}")
        if args.pipeline_options:
            cmd.append(f"--pipeline-options={args.pipeline_options}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return None if proc.returncode == 0 else (
        f"{os.path.basename(cmd[0])} failed:\n{proc.stderr}")


def package(args):
    """The tessera package's compilers of --in-process, made once: for the
    GPU target's artifacts, for pass pipelines, and the CPU reference
    lowering."""
    if not hasattr(args, "package"):
        import tessera
        args.package = SimpleNamespace(
            error=tessera.CompilerError,
            gpu=tessera.Compiler(target=args.target, emit="artifact",
                                 chip=args.chip,
                                 pipeline_options=args.pipeline_options),
            passes=tessera.Compiler(),
            reference=tessera.Compiler(pipeline_options="reference=true"))
    return args.package


def compile_in_process(args, func, source, pipeline, output):
    """compile_case's work with the package: the IR after `pipeline`, or
    without one the GPU artifact, into `output`; None or an error."""
    compilers = package(args)
    try:
        if pipeline:
            module = compilers.passes.parse(func, source)
            compilers.passes.run_pipeline(module, pipeline)
            content, mode = str(module), "w"
        else:
            content, mode = compilers.gpu.compile_source(func, source), "wb"
    except (compilers.error, ValueError, TypeError) as error:
        return "tessera failed:\n" + compare_tiled.describe_error(error)
    with open(output, mode) as f:
        f.write(content)
    return None


def digest(array):
    """A digest of an input: its dtype, shape and bytes."""
    a = np.ascontiguousarray(array)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def save_case(args, case_dir, entry, inputs, expected, tols, source):
    """`source` says how execute makes the inputs again (`check` or
    `generated`, with what that needs) when they are not stored."""
    for i, a in enumerate(inputs):
        path = os.path.join(case_dir, f"in{i}.npy")
        if args.inputs_on_device:
            if os.path.exists(path):
                os.remove(path)
        else:
            np.save(path, a)
    for i, want in enumerate(expected):
        np.save(os.path.join(case_dir, f"want{i}.npy"), np.asarray(want))
    with open(os.path.join(case_dir, "case.json"), "w") as f:
        json.dump({"entry": entry, "inputs": len(inputs),
                   "outputs": len(expected),
                   "tol": [list(t) for t in tols],
                   "source": source,
                   "input_digests": [digest(a) for a in inputs]}, f)


def make_inputs(name, meta):
    """The inputs of a case prepared with --inputs-on-device, or an error."""
    source = meta.get("source") or {}
    if source.get("kind") == "check":
        inputs = check.CASES[source["name"]]().inputs
    elif source.get("kind") == "generated":
        inputs = compare_tiled.make_inputs(
            source["name"], [tuple(t) for t in source["types"]])
    else:
        return None, f"{name}: no inputs and no way to make them"
    if [digest(a) for a in inputs] != meta["input_digests"]:
        return None, (f"{name}: the inputs made here differ from the "
                      f"prepared ones (numpy {np.__version__})")
    return inputs, None


def prepare_generated(args, prepared, failures):
    """The random cases of the generated Integration tests (GENERATED)."""
    for file_name in GENERATED:
        text = open(os.path.join(INTEGRATION, file_name)).read()
        chunks = compare_tiled.split_chunks(os.path.join(INTEGRATION,
                                                         file_name))
        for m in compare_tiled.CASE_RE.finditer(text):
            name, types = m.group(1), compare_tiled.TYPE_RE.findall(m.group(2))
            outputs = int(m.group(3))
            chunk = chunks.get(name)
            if chunk is None:
                failures.append(f"{name}: no function in {file_name}")
                continue
            func = chunk[chunk.index("func.func @"):]
            if "?" in func.split("{", 1)[0] or not selected(args, name):
                continue
            case_dir = os.path.join(args.out, name)
            error = compile_case(args, case_dir, func)
            if error:
                failures.append(f"{name}: {error}")
                continue
            if args.compile_only:
                record(args, prepared, name)
                continue
            inputs = compare_tiled.make_inputs(name, types)
            expected, error = reference_run(args, case_dir, func, name,
                                            inputs, outputs)
            if error:
                failures.append(f"{name}: reference run failed:\n{error}")
                continue
            out_dtype = types[0][1]
            tols = [(compare_tiled.TOLERANCE[out_dtype if i == 0 else "f32"],)
                    * 2 for i in range(outputs)]
            save_case(args, case_dir, name, inputs, expected, tols,
                      {"kind": "generated", "name": name,
                       "types": [list(t) for t in types]})
            record(args, prepared, name)


def reference_run(args, case_dir, func, name, inputs, outputs):
    """The results of `name` under the CPU reference lowering (tessera-run
    reference=true, or the package with --in-process), or an error."""
    if args.in_process:
        return compare_tiled.run_in_process(package(args).reference, func,
                                            name, inputs)
    paths = [os.path.join(case_dir, f"in{i}.npy") for i in range(len(inputs))]
    for path, a in zip(paths, inputs):
        np.save(path, a)
    wants = [os.path.join(case_dir, f"ref{i}.npy") for i in range(outputs)]
    cmd = [os.path.join(args.build, "bin", "tessera-run"),
           os.path.join(case_dir, "case.mlir"), f"--entry={name}",
           "--pipeline-options=reference=true"]
    cmd += [f"--input={p}" for p in paths]
    cmd += [f"--output={p}" for p in wants]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return None, proc.stderr
    expected = [np.load(w) for w in wants]
    for want in wants:  # Saved again as want<i>.npy.
        os.remove(want)
    return expected, None


def record(args, prepared, name):
    prepared.append(name)
    print(f"{'compiled' if args.compile_only else 'prepared'} {name}")


def selected(args, name):
    """Whether `name` matches --only and, with --sample N, is the Nth of the
    cases that do (in the order prepare meets them)."""
    if args.only and not re.search(args.only, name):
        return False
    args.seen = getattr(args, "seen", 0) + 1
    return (args.seen - 1) % args.sample == 0


def prepare(args):
    os.makedirs(args.out, exist_ok=True)
    prepared, failures = [], []
    for name in sorted(check.CASES):
        if not selected(args, name):
            continue
        c = check.CASES[name]()
        func = find_function(c.entry)
        if func is None:
            failures.append(f"{name}: no function @{c.entry}")
            continue
        signature = func.split("{", 1)[0]
        if "?" in signature:
            print(f"skip {name}: dynamic shapes")
            continue
        if any(want is None for want in c.expected):
            print(f"skip {name}: results without expected values")
            continue
        case_dir = os.path.join(args.out, name)
        error = compile_case(args, case_dir, func)
        if error:
            failures.append(f"{name}: {error}")
            continue
        if args.compile_only:
            record(args, prepared, name)
            continue
        tols = c.tol if isinstance(c.tol, list) else [c.tol] * len(c.expected)
        save_case(args, case_dir, c.entry, c.inputs, c.expected, tols,
                  {"kind": "check", "name": name})
        record(args, prepared, name)
    prepare_generated(args, prepared, failures)
    for failure in failures:
        print("FAIL " + failure)
    verb = "compiled" if args.compile_only else "prepared"
    print(f"{verb} {len(prepared)} cases, {len(failures)} failed")
    return 1 if failures or not prepared else 0


def execute(args):
    cases = sorted(d for d in os.listdir(args.dir)
                   if os.path.exists(os.path.join(args.dir, d, "case.json")))
    failures = []
    for name in cases:
        case_dir = os.path.join(args.dir, name)
        meta = json.load(open(os.path.join(case_dir, "case.json")))
        if not os.path.exists(os.path.join(case_dir, "in0.npy")) and \
                meta["inputs"]:
            inputs, error = make_inputs(name, meta)
            if error:
                failures.append(error)
                continue
            for i, a in enumerate(inputs):
                np.save(os.path.join(case_dir, f"in{i}.npy"), a)
        if args.emulate:
            cmd = [args.emulate, os.path.join(case_dir, "case.emu.mlir"),
                   f"--entry={meta['entry']}"]
        else:
            cmd = [args.launcher, os.path.join(case_dir, "case.tgpu"),
                   f"--entry={meta['entry']}"]
        if args.platform:
            cmd.append(f"--platform={args.platform}")
        cmd += [f"--input={os.path.join(case_dir, f'in{i}.npy')}"
                for i in range(meta["inputs"])]
        outs = [os.path.join(case_dir, f"got{i}.npy")
                for i in range(meta["outputs"])]
        for out in outs:
            if os.path.exists(out):
                os.remove(out)
        cmd += [f"--output={out}" for out in outs]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            failures.append(f"{name}: {os.path.basename(cmd[0])} exited "
                            f"{proc.returncode}: {proc.stderr.strip()}")
            continue
        errors = []
        for i, out in enumerate(outs):
            want = np.load(os.path.join(case_dir, f"want{i}.npy"))
            error = check.compare(f"{name} result #{i}", np.load(out), want,
                                  tuple(meta["tol"][i]))
            if error:
                errors.append(error)
        if errors:
            failures += errors
        else:
            print(f"PASS {name}")
    for failure in failures:
        print("FAIL " + failure)
    print(f"gpu suite: {len(cases) - len({f.split(':')[0] for f in failures})}"
          f" of {len(cases)} cases passed")
    return 1 if failures or not cases else 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="phase", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--build", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--target", default="nvptx")
    p.add_argument("--chip", default="")
    p.add_argument("--pipeline-options", default="",
                   help="passed to tessera-compile (e.g. a kernel variant)")
    p.add_argument("--only", default="",
                   help="prepare only the cases whose name matches")
    p.add_argument("--compile-only", action="store_true",
                   help="compile every case, store no inputs or expected "
                        "outputs")
    p.add_argument("--sample", type=int, default=1,
                   help="prepare every Nth case only (a quicker sweep, for "
                        "the sanitizer builds' test stage)")
    p.add_argument("--inputs-on-device", action="store_true",
                   help="store the inputs' digests, not the inputs: "
                        "execute makes them again from their seeds")
    p.add_argument("--emulate", action="store_true",
                   help="store each case's IR before the kernels' "
                        "lowering instead of an artifact, for execute "
                        "--emulate")
    p.add_argument("--in-process", action="store_true",
                   help="compile, lower and run the references with the "
                        "tessera Python package (PYTHONPATH) instead of "
                        "one tool process per case")
    e = sub.add_parser("execute")
    e.add_argument("--dir", required=True)
    runner = e.add_mutually_exclusive_group(required=True)
    runner.add_argument("--launcher", help="tessera-gpu-launch")
    runner.add_argument("--emulate", metavar="PATH",
                        help="tessera-gpu-emulate: run the cases prepared "
                             "with --emulate on the host")
    e.add_argument("--platform", default="")
    args = parser.parse_args()
    if args.phase == "execute" and args.emulate and args.platform:
        parser.error("--platform is for --launcher")
    return prepare(args) if args.phase == "prepare" else execute(args)


if __name__ == "__main__":
    sys.exit(main())
