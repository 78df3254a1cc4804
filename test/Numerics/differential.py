# REQUIRES: python-bindings
# RUN: %tessera_python %s --seed 20261123 --cases 4 | FileCheck %s
#
# Randomized differential test of the numerics: every op in f32, f16 and
# bf16 on random shapes and attributes, compiled twice in-process (the
# `tessera` package) -- by the default CPU pipeline (tiled, fused, vectorized,
# with random tile sizes that do not divide the shapes) and by the reference
# lowering (`reference=true`) -- and run on the same inputs. Every result must
# agree within its dtype's tolerance; integer results (expert ids, offsets,
# perm) exactly. Prints the worst error per op and dtype.
#
#   differential.py [--seed N] [--cases N] [--markdown]
#
# CI runs a fixed seed with 4 cases per op and dtype; the longer run and its
# table are in docs/Testing.md ("Numerics guard").
#
# CHECK: op{{ +}}dtype{{ +}}cases{{ +}}worst |diff|{{ +}}worst |diff| / max|ref|{{ +}}worst / tolerance
# CHECK-DAG: attention{{ +}}f32{{ +}}4{{ }}
# CHECK-DAG: attention{{ +}}bf16{{ +}}4{{ }}
# CHECK-DAG: latent_attention{{ +}}f16{{ +}}4{{ }}
# CHECK-DAG: route{{ +}}bf16{{ +}}4{{ }}
# CHECK-DAG: dispatch{{ +}}f32{{ +}}4{{ }}
# CHECK-DAG: grouped_matmul{{ +}}f16{{ +}}4{{ }}
# CHECK-DAG: combine{{ +}}bf16{{ +}}4{{ }}
# CHECK-DAG: moe{{ +}}bf16{{ +}}4{{ }}
# CHECK: all 84 cases within tolerance

import argparse
import sys

import numpy as np

import tessera

DTYPES = ["f32", "f16", "bf16"]
# |opt - ref| <= atol + rtol * |ref| elementwise. Both pipelines round the
# same f32 values to the result type; the f16/bf16 tolerances cover one
# rounding flip of an intermediate (attention probabilities, SwiGLU
# activations) and of the result.
TOLERANCE = {"f32": (1e-4, 1e-4), "f16": (4e-3, 4e-3), "bf16": (3e-2, 3e-2)}
NUMPY_TYPES = {"f32": np.float32, "f16": np.float16, "bf16": np.float32}


def tensor(shape, element_type):
    return "tensor<%s>" % "x".join([str(d) for d in shape] + [element_type])


def floats(rng, shape, dtype, scale=1.0):
    return (rng.uniform(-scale, scale, shape)).astype(NUMPY_TYPES[dtype])


def function(name, arguments, results, body):
    """A func.func with `arguments` [(name, type)] returning `results`."""
    signature = ", ".join("%%%s: %s" % a for a in arguments)
    return "func.func @%s(%s) -> (%s) {\n%s\n}\n" % (
        name, signature, ", ".join(results), body)


# Each generator returns (source, entry, inputs).


def gen_attention(rng, dtype):
    b = int(rng.integers(1, 3))
    hkv = int(rng.choice([1, 2]))
    group = int(rng.choice([1, 4, 8]))
    hq = hkv * group
    sq = int(rng.choice([1, int(rng.integers(2, 70))]))
    skv = int(rng.integers(1, 90))
    d = int(rng.choice([8, 16, 24, 64]))
    dv = int(rng.choice([d, 16]))
    attributes = []
    if rng.random() < 0.5:
        attributes.append("causal = true")
    if rng.random() < 0.3:
        attributes.append("window = %d : i64" % int(rng.integers(1, 20)))
    if rng.random() < 0.3:
        attributes.append("softcap = %.1f : f32" % rng.uniform(1, 10))
    use_lens = rng.random() < 0.4
    use_lse = rng.random() < 0.5
    q, k, v = (tensor([b, hq, sq, d], dtype), tensor([b, hkv, skv, d], dtype),
               tensor([b, hkv, skv, dv], dtype))
    o, lse = tensor([b, hq, sq, dv], dtype), tensor([b, hq, sq], "f32")
    arguments = [("q", q), ("k", k), ("v", v)]
    inputs = [floats(rng, [b, hq, sq, d], dtype, 2),
              floats(rng, [b, hkv, skv, d], dtype, 2),
              floats(rng, [b, hkv, skv, dv], dtype)]
    lens_clause, operand_types = "", [q, k, v]
    if use_lens:
        arguments.append(("lens", tensor([b], "i32")))
        # Lengths outside [0, Skv] too: every i32 is valid (docs/Dialect.md).
        inputs.append(rng.integers(-2, skv + 4, [b]).astype(np.int32))
        lens_clause, operand_types = " kv_lens %lens", operand_types + [
            tensor([b], "i32")]
    results = [o, lse] if use_lse else [o]
    names = "%o, %lse" if use_lse else "%o"
    body = "  %s = tessera.attention %%q, %%k, %%v%s {%s}\n      : (%s) -> (%s)\n" \
        "  return %s : %s" % (names, lens_clause, ", ".join(attributes),
                              ", ".join(operand_types), ", ".join(results),
                              names, ", ".join(results))
    return function("f", arguments, results, body), "f", inputs


def gen_latent_attention(rng, dtype):
    b, h = int(rng.integers(1, 3)), int(rng.choice([4, 16]))
    sq, skv = int(rng.choice([1, 3])), int(rng.integers(1, 70))
    latent, rope = int(rng.choice([16, 32])), int(rng.choice([8, 16]))
    attributes = ["latent_dim = %d : i64" % latent]
    if rng.random() < 0.5:
        attributes.append("causal = true")
    q, kv = tensor([b, h, sq, latent + rope], dtype), tensor(
        [b, skv, latent + rope], dtype)
    o = tensor([b, h, sq, latent], dtype)
    inputs = [floats(rng, [b, h, sq, latent + rope], dtype, 2),
              floats(rng, [b, skv, latent + rope], dtype)]
    body = "  %%o = tessera.latent_attention %%q, %%kv {%s}\n      : (%s, %s) " \
        "-> %s\n  return %%o : %s" % (", ".join(attributes), q, kv, o, o)
    return function("f", [("q", q), ("kv", kv)], [o], body), "f", inputs


def distinct_logits(rng, tokens, experts, dtype):
    """Logits whose scores cannot tie or nearly tie after rounding: a
    permutation of a grid 1/8 apart per token (exact in bf16)."""
    rows = [rng.permutation(experts) for _ in range(tokens)]
    return (np.array(rows, np.float32) / 8.0 - experts / 16.0).astype(
        NUMPY_TYPES[dtype])


def gen_route(rng, dtype):
    t = int(rng.integers(1, 40))
    n_group = int(rng.choice([1, 4]))
    e = n_group * int(rng.choice([4, 8, 16]))
    k = int(rng.integers(1, min(8, e) + 1))
    attributes = ["top_k = %d : i64" % k]
    sigmoid = rng.random() < 0.5
    if sigmoid:
        attributes.append("scoring = #tessera.scoring<sigmoid>")
    if n_group > 1:
        kept = int(rng.integers(1, n_group + 1))
        while kept * (e // n_group) < k:
            kept += 1
        attributes += ["n_group = %d : i64" % n_group,
                       "topk_group = %d : i64" % kept]
    if rng.random() < 0.5:
        attributes += ["normalize = true", "scale = 2.5 : f32"]
    logits = tensor([t, e], dtype)
    results = [tensor([t, k], "f32"), tensor([t, k], "i32")]
    body = "  %%w, %%ids = tessera.route %%l {%s}\n      : (%s) -> (%s)\n" \
        "  return %%w, %%ids : %s" % (", ".join(attributes), logits,
                                     ", ".join(results), ", ".join(results))
    # Sigmoid scores saturate: keep the logits small enough to stay distinct.
    inputs = [distinct_logits(rng, t, e, dtype) / (4 if sigmoid else 1)]
    return function("f", [("l", logits)], results, body), "f", inputs


def gen_dispatch(rng, dtype):
    t, d = int(rng.integers(1, 30)), int(rng.integers(1, 20))
    e = int(rng.integers(1, 9))
    k = int(rng.integers(1, e + 1))
    block = int(rng.choice([1, 2, 4, 16]))
    m = t * k if block == 1 else t * k + e * (block - 1)
    ids = np.array([rng.choice(e, k, replace=False) for _ in range(t)],
                   np.int32)
    results = [tensor([m, d], dtype), tensor([e + 1], "i32"),
               tensor([m], "i32")]
    x, idt = tensor([t, d], dtype), tensor([t, k], "i32")
    body = "  %%r, %%o, %%p = tessera.dispatch %%x, %%ids {num_experts = %d : " \
        "i64, block = %d : i64}\n      : (%s, %s) -> (%s)\n" \
        "  return %%r, %%o, %%p : %s" % (e, block, x, idt, ", ".join(results),
                                        ", ".join(results))
    inputs = [floats(rng, [t, d], dtype), ids]
    return function("f", [("x", x), ("ids", idt)], results, body), "f", inputs


def segments(rng, m, e):
    """Offsets [E+1] of E segments covering m rows, some empty."""
    cuts = np.sort(rng.integers(0, m + 1, e - 1))
    return np.concatenate([[0], cuts, [m]]).astype(np.int32)


def gen_grouped_matmul(rng, dtype):
    e = int(rng.integers(1, 7))
    m, kdim = int(rng.integers(1, 80)), int(rng.integers(1, 70))
    n = 2 * int(rng.integers(1, 40))
    swiglu = rng.random() < 0.5
    out = tensor([m, n // 2 if swiglu else n], dtype)
    rows, weights = tensor([m, kdim], dtype), tensor([e, kdim, n], dtype)
    offsets = tensor([e + 1], "i32")
    attribute = " {epilogue = #tessera.epilogue<swiglu>}" if swiglu else ""
    body = "  %%y = tessera.grouped_matmul %%r, %%w, %%o%s\n      : (%s, %s, %s)" \
        " -> %s\n  return %%y : %s" % (attribute, rows, weights, offsets, out,
                                       out)
    inputs = [floats(rng, [m, kdim], dtype), floats(rng, [e, kdim, n], dtype,
                                                    1 / np.sqrt(kdim)),
              segments(rng, m, e)]
    return function("f", [("r", rows), ("w", weights), ("o", offsets)], [out],
                    body), "f", inputs


def gen_combine(rng, dtype):
    t, k, d = int(rng.integers(1, 20)), int(rng.integers(1, 4)), int(
        rng.integers(1, 24))
    m = t * k + int(rng.integers(0, 6))
    perm = np.full(m, -1, np.int32)
    perm[rng.permutation(m)[:t * k]] = np.arange(t * k, dtype=np.int32)
    y, p, w = tensor([m, d], dtype), tensor([m], "i32"), tensor([t, k], "f32")
    out = tensor([t, d], dtype)
    body = "  %%o = tessera.combine %%y, %%p, %%w : (%s, %s, %s) -> %s\n" \
        "  return %%o : %s" % (y, p, w, out, out)
    inputs = [floats(rng, [m, d], dtype), perm,
              rng.uniform(0, 1, [t, k]).astype(np.float32)]
    return function("f", [("y", y), ("p", p), ("w", w)], [out], body), "f", \
        inputs


def gen_moe(rng, dtype):
    t, d = int(rng.integers(1, 40)), 8 * int(rng.integers(1, 9))
    f, e = 4 * int(rng.integers(1, 12)), int(rng.choice([4, 8, 12]))
    k = int(rng.integers(1, min(4, e) + 1))
    shared = rng.random() < 0.4
    fs = 4 * int(rng.integers(1, 8))
    attributes = ["top_k = %d : i64" % k, "block = %d : i64" % int(
        rng.choice([1, 4]))]
    if rng.random() < 0.5:
        attributes.append("normalize = true")
    types = [tensor([t, d], dtype), tensor([e, d], dtype),
             tensor([e, d, 2 * f], dtype), tensor([e, f, d], dtype)]
    inputs = [floats(rng, [t, d], dtype), floats(rng, [e, d], dtype, 2),
              floats(rng, [e, d, 2 * f], dtype, 1 / np.sqrt(d)),
              floats(rng, [e, f, d], dtype, 1 / np.sqrt(f))]
    names = ["x", "g", "up", "down"]
    clause = ""
    if shared:
        types += [tensor([d, 2 * fs], dtype), tensor([fs, d], dtype)]
        inputs += [floats(rng, [d, 2 * fs], dtype, 1 / np.sqrt(d)),
                   floats(rng, [fs, d], dtype, 1 / np.sqrt(fs))]
        names += ["su", "sd"]
        clause = " shared %su, %sd"
    body = "  %%y = tessera.moe %%x, %%g, %%up, %%down%s {%s}\n      : (%s) -> " \
        "%s\n  return %%y : %s" % (clause, ", ".join(attributes),
                                   ", ".join(types), types[0], types[0])
    return function("f", list(zip(names, types)), [types[0]], body), "f", \
        inputs


GENERATORS = [("attention", gen_attention),
              ("latent_attention", gen_latent_attention),
              ("route", gen_route), ("dispatch", gen_dispatch),
              ("grouped_matmul", gen_grouped_matmul),
              ("combine", gen_combine), ("moe", gen_moe)]


def compare(got, want, dtype):
    """(max |diff|, max |diff| / max|ref|, worst diff / tolerance)."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise AssertionError("shape %s != %s" % (got.shape, want.shape))
    if want.dtype.kind == "i":
        wrong = int(np.count_nonzero(got != want))
        return (float(wrong), float(wrong), float("inf") if wrong else 0.0)
    got, want = got.astype(np.float64), want.astype(np.float64)
    # Rows that see no key have lse = -inf in both; any other inf or a NaN
    # fails.
    same_inf = np.isinf(want) & (got == want)
    if np.isnan(got).any() or np.isnan(want).any():
        return (float("nan"),) * 3
    finite = ~same_inf
    got, want = np.where(finite, got, 0.0), np.where(finite, want, 0.0)
    diff = np.abs(got - want)
    if (np.isinf(diff)).any():
        return (float("inf"),) * 3
    atol, rtol = TOLERANCE[dtype]
    ratio = diff / (atol + rtol * np.abs(want))
    scale = np.abs(want).max() if want.size else 0.0
    worst = diff.max() if diff.size else 0.0
    return (worst, worst / scale if scale else worst,
            ratio.max() if ratio.size else 0.0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--cases", type=int, default=4,
                        help="cases per op and dtype")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    reference = tessera.Compiler(pipeline_options="reference=true", threads=1)
    stats, failures, total = {}, [], 0
    for op, generator in GENERATORS:
        for dtype in DTYPES:
            worst = stats.setdefault((op, dtype), [0, 0.0, 0.0, 0.0])
            for case in range(args.cases):
                source, entry, inputs = generator(rng, dtype)
                tiles = {"attention-q-block": int(rng.choice([1, 3, 8, 64])),
                         "attention-kv-block": int(rng.choice([5, 16, 64])),
                         "moe-column-block": int(rng.choice([8, 24, 64])),
                         "moe-k-block": int(rng.choice([16, 40, 256]))}
                optimized = tessera.Compiler(threads=2, tile_sizes=tiles)
                try:
                    got = optimized.load_source(source, entry)(*inputs)
                    want = reference.load_source(source, entry)(*inputs)
                except tessera.CompilerError as error:
                    failures.append("%s %s case %d: %s\n%s" % (
                        op, dtype, case, error, source))
                    continue
                if not isinstance(got, tuple):
                    got, want = (got,), (want,)
                total += 1
                worst[0] += 1
                for g, w in zip(got, want):
                    result = compare(g, w, dtype)
                    for i in range(3):
                        if not result[i] <= worst[i + 1]:
                            worst[i + 1] = result[i]
                    if not result[2] <= 1.0:
                        failures.append("%s %s case %d (tiles %s): %s\n%s" % (
                            op, dtype, case, tiles, result, source))
    header = ("op", "dtype", "cases", "worst |diff|", "worst |diff| / max|ref|",
              "worst / tolerance")
    rows = [(op, dtype, str(s[0]), "%.2e" % s[1], "%.2e" % s[2],
             "%.3f" % s[3]) for (op, dtype), s in stats.items()]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in rows + [header])
                  for i in range(len(header))]
        for row in [header] + rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    for failure in failures:
        print("FAILED:", failure)
    if failures:
        print("%d of %d cases out of tolerance" % (len(failures), total))
        return 1
    print("all %d cases within tolerance" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
