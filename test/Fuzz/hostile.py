"""Hostile input to every tessera op, through both CPU pipelines and the runner.

  hostile.py --opt TESSERA_OPT --run TESSERA_RUN [--jobs N] [--list]

Each op starts from a small valid function; every case changes one thing:
a size set to 0, to 2^40 or to 2^62 (for all operands that share it), one
operand's size, rank or element type, or an attribute set to 0, -1, a huge
value or NaN/infinity. Every case is compiled with `tessera-cpu-pipeline`
and its `reference=true` form; those that compile and are small enough are
run by `tessera-run --random-inputs --check` (the ops whose operands are
indices, offsets or permutations are only compiled: random data is not a
valid input for them).

A case passes when each tool either succeeds or fails with exit code 1 and
error lines that name a location or the tool; never a signal, an abort, an
assertion or an LLVM fatal error. A run that succeeds must pass --check. The
script prints one line per op with its count of cases and of rejected ones,
and one line per broken case.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HUGE = 1 << 40
OVERFLOW = 1 << 62
NAN = "0x7FC00000 : f32"
INF = "0x7F800000 : f32"


class Op:
    """A function @f around one op: operands and results as (name, layout,
    element type), layouts made of size symbols, and a format for the op."""

    def __init__(self, name, sizes, operands, results, body, attrs, runnable):
        self.name = name
        self.sizes = sizes
        self.operands = operands
        self.results = results
        self.body = body
        self.attrs = attrs
        self.runnable = runnable

    def text(self, sizes=None, attrs=None, operand_change=None):
        sizes = dict(self.sizes, **(sizes or {}))
        attrs = dict(self.attrs, **(attrs or {}))

        def type_of(name, layout, element):
            dims = [sizes[s] if isinstance(s, str) else s for s in layout]
            if operand_change and operand_change[0] == name:
                dims, element = operand_change[1](list(dims), element)
            return "tensor<%s%s>" % ("".join("%dx" % d for d in dims), element)

        operand_types = [type_of(*o) for o in self.operands]
        result_types = [type_of(*r) for r in self.results]
        arguments = ", ".join("%%%s: %s" % (o[0], t)
                              for o, t in zip(self.operands, operand_types))
        attr_text = ", ".join("%s = %s" % kv for kv in attrs.items())
        names = ", ".join("%%r%d" % i for i in range(len(self.results)))
        return (
            "func.func @f(%s) -> (%s) {\n"
            "  %s = %s {%s}\n"
            "      : (%s) -> (%s)\n"
            "  return %s : %s\n"
            "}\n" % (arguments, ", ".join(result_types), names,
                     self.body, attr_text, ", ".join(operand_types),
                     ", ".join(result_types), names, ", ".join(result_types)))


def i64(value):
    return "%d : i64" % value


OPS = [
    Op("attention", dict(B=1, Hq=4, Hkv=2, Sq=3, Skv=5, D=8, Dv=8),
       [("q", "B Hq Sq D".split(), "f32"), ("k", "B Hkv Skv D".split(), "f32"),
        ("v", "B Hkv Skv Dv".split(), "f32")],
       [("out", "B Hq Sq Dv".split(), "f32")],
       "tessera.attention %q, %k, %v",
       {"causal": "true"}, runnable=True),
    Op("latent_attention", dict(B=1, H=4, Sq=2, W=12, Skv=5, L=8),
       [("q", "B H Sq W".split(), "f32"), ("kv", "B Skv W".split(), "f32")],
       [("out", "B H Sq L".split(), "f32")],
       "tessera.latent_attention %q, %kv",
       {"latent_dim": i64(8)}, runnable=True),
    Op("route", dict(T=6, E=8, K=2),
       [("logits", "T E".split(), "f32")],
       [("w", "T K".split(), "f32"), ("ids", "T K".split(), "i32")],
       "tessera.route %logits",
       {"top_k": i64(2), "n_group": i64(2), "topk_group": i64(1),
        "normalize": "true"}, runnable=True),
    Op("dispatch", dict(T=6, K=2, d=8, M=24, E1=5),
       [("x", "T d".split(), "f32"), ("ids", "T K".split(), "i32")],
       [("rows", "M d".split(), "f32"), ("offsets", ["E1"], "i32"),
        ("perm", ["M"], "i32")],
       "tessera.dispatch %x, %ids",
       {"num_experts": i64(4), "block": i64(4)}, runnable=True),
    Op("grouped_matmul", dict(M=12, K=8, E=4, E1=5, N=16, N2=8),
       [("rows", "M K".split(), "f32"), ("w", "E K N".split(), "f32"),
        ("offsets", ["E1"], "i32")],
       [("out", "M N2".split(), "f32")],
       "tessera.grouped_matmul %rows, %w, %offsets",
       {"epilogue": "#tessera.epilogue<swiglu>"}, runnable=False),
    Op("combine", dict(M=12, d=8, T=6, K=2),
       [("y", "M d".split(), "f32"), ("perm", ["M"], "i32"),
        ("w", "T K".split(), "f32")],
       [("out", "T d".split(), "f32")],
       "tessera.combine %y, %perm, %w", {}, runnable=False),
    Op("moe", dict(T=5, d=8, E=4, F=4, F2=8),
       [("x", "T d".split(), "f32"), ("gate", "E d".split(), "f32"),
        ("up", "E d F2".split(), "f32"), ("down", "E F d".split(), "f32")],
       [("out", "T d".split(), "f32")],
       "tessera.moe %x, %gate, %up, %down",
       {"top_k": i64(2), "block": i64(2)}, runnable=True),
]

# Attribute values to try, per attribute name.
HOSTILE_ATTRS = {
    "window": [i64(-1), i64(OVERFLOW)],
    "softcap": ["-1.0 : f32", NAN, INF],
    "scale": [NAN, INF, "0.0 : f32", "-1.0 : f32"],
    "latent_dim": [i64(0), i64(-1), i64(13), i64(OVERFLOW)],
    "top_k": [i64(0), i64(-1), i64(9), i64(OVERFLOW)],
    "n_group": [i64(0), i64(3), i64(OVERFLOW)],
    "topk_group": [i64(0), i64(3), i64(OVERFLOW)],
    "num_experts": [i64(0), i64(-1), i64(1), i64(HUGE), i64(OVERFLOW)],
    "block": [i64(0), i64(-1), i64(HUGE), i64(OVERFLOW)],
    "epilogue": ["#tessera.epilogue<none>"],
}
# Attributes added to each op's function for these cases.
EXTRA_ATTRS = {
    "attention": ["window", "softcap", "scale"],
    "latent_attention": ["scale"],
    "route": ["scale"],
    "moe": ["top_k", "n_group", "topk_group", "scale"],
}


def cases(op):
    """(label, text, runnable) for each hostile variant of `op`."""
    for symbol in op.sizes:
        for value, label in [(0, "0"), (HUGE, "2^40"), (OVERFLOW, "2^62")]:
            yield ("%s=%s" % (symbol, label), op.text(sizes={symbol: value}),
                   op.runnable and value == 0)
    for name, layout, _ in op.operands:
        changes = [
            ("%s: size+1" % name,
             lambda dims, e: (dims[:-1] + [dims[-1] + 1], e)),
            ("%s: rank-1" % name, lambda dims, e: (dims[:-1], e)),
            ("%s: rank+1" % name, lambda dims, e: (dims + [1], e)),
            ("%s: i64" % name, lambda dims, e: (dims, "i64")),
            ("%s: f16" % name, lambda dims, e: (dims, "f16")),
        ]
        for label, change in changes:
            yield label, op.text(operand_change=(name, change)), False
    for name in list(op.attrs) + EXTRA_ATTRS.get(op.name, []):
        for value in HOSTILE_ATTRS.get(name, []):
            small = all(abs(int(n)) <= 64
                        for n in re.findall(r"-?\d+(?= : i64)", value))
            yield ("%s = %s" % (name, value), op.text(attrs={name: value}),
                   op.runnable and small)


CRASH = re.compile(r"LLVM ERROR|Assertion|PLEASE submit|Stack dump|"
                   r"AddressSanitizer|runtime error:|Segmentation")


def judge(command, result, must_pass_check=False):
    """None when `result` is an acceptable outcome, else what is wrong."""
    output = result.stdout + result.stderr
    if result.returncode not in (0, 1):
        return "exit code %d" % result.returncode
    if CRASH.search(output):
        return "crash output: " + CRASH.search(output).group(0)
    if result.returncode == 1 and "error" not in result.stderr:
        return "exit 1 without an error message"
    if result.returncode == 0 and must_pass_check and (
            "FAIL" in output or "PASS" not in output):
        return "--check did not pass"
    return None


def run_case(tools, directory, index, op, label, text, runnable):
    path = os.path.join(directory, "%s-%d.mlir" % (op.name, index))
    with open(path, "w") as f:
        f.write(text)
    problems, rejected = [], False
    for options in ["", "{reference=true}"]:
        command = [tools.opt, path,
                   "--pass-pipeline=builtin.module(tessera-cpu-pipeline%s)" %
                   options, "-o", os.devnull]
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=600)
        problem = judge(command, result)
        if problem:
            problems.append("tessera-opt %s: %s" % (options or "", problem))
        rejected |= result.returncode != 0
    if runnable and not rejected:
        command = [tools.run, path, "--entry=f", "--random-inputs=1",
                   "--check"]
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=600)
        problem = judge(command, result, must_pass_check=True)
        if problem:
            problems.append("tessera-run --check: %s" % problem)
    return op.name, label, rejected, problems, path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opt", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--list", action="store_true",
                        help="print the cases and exit")
    parser.add_argument("--keep", help="write the cases into this directory")
    tools = parser.parse_args()

    work = [(op, label, text, runnable) for op in OPS
            for label, text, runnable in cases(op)]
    if tools.list:
        for op, label, _, runnable in work:
            print("%s: %s%s" % (op.name, label, " (run)" if runnable else ""))
        return 0
    directory = tools.keep or tempfile.mkdtemp(prefix="tessera-hostile-")
    os.makedirs(directory, exist_ok=True)
    with ThreadPoolExecutor(max_workers=tools.jobs) as pool:
        outcomes = list(pool.map(
            lambda item: run_case(tools, directory, *item),
            [(i,) + w for i, w in enumerate(work)]))
    broken = 0
    for op in OPS:
        mine = [o for o in outcomes if o[0] == op.name]
        print("%s: %d cases, %d rejected with a diagnostic" % (
            op.name, len(mine), sum(o[2] for o in mine)))
        for _, label, _, problems, path in mine:
            for problem in problems:
                broken += 1
                print("BROKEN %s [%s] (%s): %s" % (op.name, label, path,
                                                   problem))
    print("hostile: %d cases, %d broken" % (len(outcomes), broken))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
