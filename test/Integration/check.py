"""Runs one execution case through tessera-run and compares with numpy.

usage: check.py FILE.mlir WORKDIR CASE [--tessera-run=PATH]

A case names the entry function of FILE, builds its inputs (seeded), and
computes the expected outputs with reference.py, which is independent of the
compiler. Some cases also carry hand-computed expected values. The inputs are
written as .npy, tessera-run executes the entry on the CPU, and every output
is compared elementwise; any mismatch exits 1 with a report.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402


def bf16(a):
    """Rounds float32 values to bfloat16 (nearest even), kept as float32."""
    bits = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32)


def f16(a):
    return np.asarray(a, dtype=np.float16).astype(np.float32)


class Case:
    """inputs: list of arrays; expected: list of arrays (or None to skip a
    result); tol: (atol, rtol) per result or one pair for all."""

    def __init__(self, entry, inputs, expected, tol=(1e-5, 1e-5)):
        self.entry, self.inputs, self.expected, self.tol = (
            entry, inputs, expected, tol)


CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def rand(rng, *shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


# --------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------

@case
def attention_mha():
    rng = np.random.default_rng(1)
    q, k, v = rand(rng, 2, 2, 5, 8), rand(rng, 2, 2, 7, 8), rand(rng, 2, 2, 7, 6)
    out, lse = ref.attention(q, k, v)
    return Case("attention_mha", [q, k, v], [out, lse])


@case
def attention_gqa_causal():
    # Sq != Skv: bottom-right aligned causal mask.
    rng = np.random.default_rng(2)
    q, k, v = rand(rng, 1, 8, 5, 16), rand(rng, 1, 2, 9, 16), rand(rng, 1, 2, 9, 16)
    out, lse = ref.attention(q, k, v, causal=True)
    return Case("attention_gqa_causal", [q, k, v], [out, lse])


@case
def attention_causal_more_queries():
    # Sq > Skv: the first Sq - Skv query rows see no key: zeros, lse = -inf.
    rng = np.random.default_rng(3)
    q, k, v = rand(rng, 1, 2, 6, 8), rand(rng, 1, 2, 4, 8), rand(rng, 1, 2, 4, 8)
    out, lse = ref.attention(q, k, v, causal=True)
    assert np.all(out[:, :, :2] == 0) and np.all(np.isneginf(lse[:, :, :2]))
    return Case("attention_causal_more_queries", [q, k, v], [out, lse])


@case
def attention_window():
    rng = np.random.default_rng(4)
    q, k, v = rand(rng, 1, 4, 7, 8), rand(rng, 1, 1, 10, 8), rand(rng, 1, 1, 10, 8)
    out, lse = ref.attention(q, k, v, causal=True, window=3)
    return Case("attention_window", [q, k, v], [out, lse])


@case
def attention_kv_lens():
    # Batch 1 has no keys at all (fully masked rows); batch 2 is shorter
    # than Sq, so causal hides keys from the early queries.
    rng = np.random.default_rng(5)
    q, k, v = rand(rng, 3, 4, 4, 8), rand(rng, 3, 2, 8, 8), rand(rng, 3, 2, 8, 8)
    lens = np.array([8, 0, 2], dtype=np.int32)
    out, lse = ref.attention(q, k, v, kv_lens=lens, causal=True)
    assert np.all(out[1] == 0) and np.all(np.isneginf(lse[1]))
    return Case("attention_kv_lens", [q, k, v, lens], [out, lse])


@case
def attention_bias_softcap():
    rng = np.random.default_rng(6)
    q, k, v = (rand(rng, 2, 4, 5, 8, lo=-3, hi=3), rand(rng, 2, 2, 6, 8, lo=-3, hi=3),
               rand(rng, 2, 2, 6, 8))
    bias = rand(rng, 1, 4, 5, 6)
    out, lse = ref.attention(q, k, v, bias=bias, scale=0.5, softcap=2.0)
    return Case("attention_bias_softcap", [q, k, v, bias], [out, lse])


@case
def attention_mqa_decode_f16():
    rng = np.random.default_rng(7)
    q, k, v = f16(rand(rng, 2, 8, 1, 16)), f16(rand(rng, 2, 1, 33, 16)), f16(rand(rng, 2, 1, 33, 16))
    lens = np.array([33, 17], dtype=np.int32)
    out, _ = ref.attention(q, k, v, kv_lens=lens)
    return Case("attention_mqa_decode_f16", [q, k, v, lens], [out], tol=(2e-3, 2e-3))


@case
def attention_bf16():
    rng = np.random.default_rng(8)
    q, k, v = bf16(rand(rng, 1, 4, 6, 16)), bf16(rand(rng, 1, 2, 6, 16)), bf16(rand(rng, 1, 2, 6, 16))
    out, _ = ref.attention(q, k, v, causal=True)
    return Case("attention_bf16", [q, k, v], [out], tol=(1e-2, 1e-2))


@case
def attention_dynamic():
    rng = np.random.default_rng(9)
    q, k, v = rand(rng, 2, 4, 3, 8), rand(rng, 2, 2, 11, 8), rand(rng, 2, 2, 11, 8)
    out, _ = ref.attention(q, k, v, causal=True, window=5)
    return Case("attention_dynamic", [q, k, v], [out])


@case
def attention_hand():
    # Hand-computed: one query, two keys with scores 0 and ln 3 (scale 1),
    # so the probabilities are 1/4 and 3/4 and the lse is ln 4.
    q = np.array([[[[1.0, 0.0]]]], dtype=np.float32)
    k = np.array([[[[0.0, 1.0], [np.log(3.0), 0.0]]]], dtype=np.float32)
    v = np.array([[[[4.0], [8.0]]]], dtype=np.float32)
    return Case("attention_hand", [q, k, v],
                [np.array([[[[7.0]]]]), np.array([[[np.log(4.0)]]])])


@case
def latent_attention_decode():
    rng = np.random.default_rng(10)
    q, kv = rand(rng, 2, 4, 3, 40), rand(rng, 2, 12, 40)
    lens = np.array([12, 5], dtype=np.int32)
    out = ref.latent_attention(q, kv, latent_dim=32, kv_lens=lens, causal=True)
    return Case("latent_attention_decode", [q, kv, lens], [out])


@case
def latent_attention_bf16():
    rng = np.random.default_rng(11)
    q, kv = bf16(rand(rng, 1, 8, 1, 72)), bf16(rand(rng, 1, 20, 72))
    out = ref.latent_attention(q, kv, latent_dim=64, scale=0.1)
    return Case("latent_attention_bf16", [q, kv], [out], tol=(1e-2, 1e-2))


# --------------------------------------------------------------------------
# MoE
# --------------------------------------------------------------------------

@case
def route_softmax():
    rng = np.random.default_rng(20)
    logits = rand(rng, 16, 8, lo=-2, hi=2)
    w, ids = ref.route(logits, top_k=2)
    return Case("route_softmax", [logits], [w, ids])


@case
def route_normalize_scale():
    rng = np.random.default_rng(21)
    logits = rand(rng, 9, 60, lo=-2, hi=2)
    w, ids = ref.route(logits, top_k=4, normalize=True, scale=1.5)
    return Case("route_normalize_scale", [logits], [w, ids])


@case
def route_sigmoid_groups_ties():
    # Hand-computed. E = 8 in 4 groups of 2, keep 2 groups, top 3, sigmoid,
    # bias = [0, 0, 1, 0, .5, .5, 0, 0].
    # Token 0: logits 0 -> s = 0.5 everywhere,
    #   sel = [.5, .5, 1.5, .5, 1, 1, .5, .5]; group sums [1, 2, 2, 1]
    #   -> keep groups 1, 2; experts 2 (1.5), then 4 and 5 tie at 1.0 and
    #   go in index order: ids [2, 4, 5]; weights .5 each, normalized 1/3,
    #   times 3 -> 1.
    # Token 1: logits -50 on experts 2, 4, 5 (s ~ 2e-22) -> sel =
    #   [.5, .5, 1, .5, .5, .5, .5, .5]; group sums [1, 1.5, 1, 1] -> keep
    #   group 1, then the three-way tie keeps the lowest, group 0. Experts:
    #   2 (1.0), then 0 and 1 (0.5, ties by index): ids [2, 0, 1];
    #   weights s = [~0, .5, .5] normalized by their sum 1, times 3.
    logits = np.zeros((2, 8), dtype=np.float32)
    logits[1, [2, 4, 5]] = -50.0
    bias = np.array([0, 0, 1, 0, 0.5, 0.5, 0, 0], dtype=np.float32)
    expected_ids = np.array([[2, 4, 5], [2, 0, 1]], dtype=np.int32)
    expected_w = np.array([[1, 1, 1], [0, 1.5, 1.5]], dtype=np.float32)
    w, ids = ref.route(logits, top_k=3, scoring="sigmoid", bias=bias,
                       n_group=4, topk_group=2, normalize=True, scale=3.0)
    assert np.array_equal(ids, expected_ids) and np.allclose(w, expected_w)
    return Case("route_sigmoid_groups_ties", [logits, bias],
                [expected_w, expected_ids])


@case
def route_ties_no_bias():
    # Hand-computed: equal logits everywhere -> ids 0..k-1 in order; a group
    # tie keeps the lower groups.
    logits = np.array([[1, 1, 1, 1, 1, 1],
                       [0, 2, 2, 0, 2, 1]], dtype=np.float32)
    expected_ids = np.array([[0, 1, 2], [1, 2, 4]], dtype=np.int32)
    w, ids = ref.route(logits, top_k=3, scoring="softmax")
    assert np.array_equal(ids, expected_ids)
    return Case("route_ties_no_bias", [logits], [w, expected_ids])


@case
def route_deepseek_like():
    rng = np.random.default_rng(22)
    logits = rand(rng, 12, 64, lo=-3, hi=3)
    bias = rand(rng, 64, lo=-0.1, hi=0.1)
    w, ids = ref.route(logits, top_k=6, scoring="sigmoid", bias=bias,
                       n_group=8, topk_group=3, normalize=True, scale=2.5)
    return Case("route_deepseek_like", [logits, bias], [w, ids])


@case
def dispatch_block_padding():
    # Hand-computed. T = 3, k = 2, E = 4, block = 2; expert 3 has no token.
    # pairs (t, slot) -> expert: (0,0)->2 (0,1)->0 (1,0)->0 (1,1)->1
    #                            (2,0)->2 (2,1)->1
    # expert 0: pairs 1, 2 -> rows 0, 1          (2 rows, no padding)
    # expert 1: pairs 3, 5 -> rows 2, 3          (2 rows)
    # expert 2: pairs 0, 4 -> rows 4, 5          (2 rows)
    # expert 3: none                             offsets = [0, 2, 4, 6, 6]
    # M = T*k + E*(block-1) = 10; rows 6..9 are zero with perm -1.
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    ids = np.array([[2, 0], [0, 1], [2, 1]], dtype=np.int32)
    perm = np.array([1, 2, 3, 5, 0, 4, -1, -1, -1, -1], dtype=np.int32)
    offsets = np.array([0, 2, 4, 6, 6], dtype=np.int32)
    rows = np.zeros((10, 4), dtype=np.float32)
    for r, p in enumerate(perm):
        if p >= 0:
            rows[r] = x[p // 2]
    got = ref.dispatch(x, ids, 4, block=2)
    assert all(np.array_equal(a, b) for a, b in zip(got, (rows, offsets, perm)))
    return Case("dispatch_block_padding", [x, ids], [rows, offsets, perm])


@case
def dispatch_block4_random():
    rng = np.random.default_rng(23)
    x = rand(rng, 10, 6)
    ids = np.stack([rng.choice(5, size=3, replace=False) for _ in range(10)]).astype(np.int32)
    ids[ids == 3] = 4  # expert 3 gets no token
    rows, offsets, perm = ref.dispatch(x, ids, 5, block=4)
    return Case("dispatch_block4_random", [x, ids], [rows, offsets, perm])


@case
def dispatch_plain():
    rng = np.random.default_rng(24)
    x = rand(rng, 7, 5)
    ids = rng.integers(0, 3, size=(7, 2)).astype(np.int32)
    rows, offsets, perm = ref.dispatch(x, ids, 3)
    return Case("dispatch_plain", [x, ids], [rows, offsets, perm])


@case
def grouped_matmul_segments():
    # An empty segment (expert 1) and trailing rows outside every segment.
    rng = np.random.default_rng(25)
    rows, w = rand(rng, 12, 8), rand(rng, 3, 8, 5)
    offsets = np.array([0, 4, 4, 9], dtype=np.int32)
    out = ref.grouped_matmul(rows, w, offsets)
    assert np.all(out[9:] == 0)
    return Case("grouped_matmul_segments", [rows, w, offsets], [out])


@case
def grouped_matmul_swiglu():
    rng = np.random.default_rng(26)
    rows, w = rand(rng, 10, 8), rand(rng, 3, 8, 12)
    offsets = np.array([0, 2, 7, 10], dtype=np.int32)
    out = ref.grouped_matmul(rows, w, offsets, epilogue="swiglu")
    return Case("grouped_matmul_swiglu", [rows, w, offsets], [out])


@case
def grouped_matmul_f16_dynamic():
    rng = np.random.default_rng(27)
    rows, w = f16(rand(rng, 9, 16)), f16(rand(rng, 2, 16, 8))
    offsets = np.array([0, 5, 8], dtype=np.int32)
    out = ref.grouped_matmul(rows, w, offsets)
    return Case("grouped_matmul_f16_dynamic", [rows, w, offsets], [out],
                tol=(5e-3, 5e-3))


@case
def combine_hand():
    # Hand-computed: T = 2, k = 2. perm puts pair 3 (t1,s1) in row 0, pair 0
    # (t0,s0) in row 1, pair 2 (t1,s0) in row 3, pair 1 (t0,s1) in row 4;
    # row 2 is padding.
    y = np.array([[1, 2], [3, 4], [100, 100], [5, 6], [7, 8]], dtype=np.float32)
    perm = np.array([3, 0, -1, 2, 1], dtype=np.int32)
    w = np.array([[0.5, 0.25], [2.0, -1.0]], dtype=np.float32)
    # t0 = 0.5*[3,4] + 0.25*[7,8] = [3.25, 4];  t1 = 2*[5,6] - [1,2] = [9, 10]
    expected = np.array([[3.25, 4.0], [9.0, 10.0]], dtype=np.float32)
    assert np.allclose(ref.combine(y, perm, w), expected)
    return Case("combine_hand", [y, perm, w], [expected])


@case
def combine_random():
    rng = np.random.default_rng(28)
    x = rand(rng, 6, 4)
    ids = np.stack([rng.choice(4, size=2, replace=False) for _ in range(6)]).astype(np.int32)
    _, _, perm = ref.dispatch(x, ids, 4, block=3)
    y = rand(rng, perm.shape[0], 4)
    w = rand(rng, 6, 2)
    return Case("combine_random", [y, perm, w], [ref.combine(y, perm, w)])


def moe_inputs(rng, t, d, f, e, shared_f=0, bias=False):
    x = rand(rng, t, d)
    gate = rand(rng, e, d)
    up = rand(rng, e, d, 2 * f, lo=-0.3, hi=0.3)
    down = rand(rng, e, f, d, lo=-0.3, hi=0.3)
    extra = []
    if bias:
        extra.append(rand(rng, e, lo=-0.05, hi=0.05))
    if shared_f:
        extra += [rand(rng, d, 2 * shared_f, lo=-0.3, hi=0.3),
                  rand(rng, shared_f, d, lo=-0.3, hi=0.3)]
    return [x, gate, up, down] + extra


@case
def moe_mixtral_like():
    rng = np.random.default_rng(30)
    ins = moe_inputs(rng, 12, 32, 24, 8)
    out = ref.moe(*ins, top_k=2, normalize=True)
    return Case("moe_mixtral_like", ins, [out], tol=(1e-4, 1e-4))


@case
def moe_qwen_like_shared():
    rng = np.random.default_rng(31)
    x, gate, up, down, su, sd = moe_inputs(rng, 10, 32, 16, 12, shared_f=24)
    out = ref.moe(x, gate, up, down, shared_up=su, shared_down=sd, top_k=4)
    return Case("moe_qwen_like_shared", [x, gate, up, down, su, sd], [out],
                tol=(1e-4, 1e-4))


@case
def moe_deepseek_like():
    rng = np.random.default_rng(32)
    x, gate, up, down, bias, su, sd = moe_inputs(rng, 9, 32, 8, 16, shared_f=8, bias=True)
    out = ref.moe(x, gate, up, down, bias=bias, shared_up=su, shared_down=sd,
                  top_k=4, scoring="sigmoid", n_group=4, topk_group=2,
                  normalize=True, scale=2.5)
    return Case("moe_deepseek_like", [x, gate, up, down, bias, su, sd], [out],
                tol=(1e-4, 1e-4))


@case
def moe_bf16_dynamic():
    rng = np.random.default_rng(33)
    ins = [bf16(a) for a in moe_inputs(rng, 7, 16, 8, 4)]
    out = ref.moe(*ins, top_k=2, normalize=True)
    return Case("moe_bf16_dynamic", ins, [out], tol=(2e-2, 2e-2))


@case
def moe_bf16_tensor_cores():
    # Shapes the GPU's tensor-core grouped GEMMs take (K and N multiples of
    # 64): the up projections with the fused SwiGLU, the down projections
    # with the routing weights as row scales.
    rng = np.random.default_rng(34)
    ins = [bf16(a) for a in moe_inputs(rng, 40, 64, 64, 8, shared_f=64)]
    x, gate, up, down, su, sd = ins
    out = ref.moe(x, gate, up, down, shared_up=su, shared_down=sd, top_k=2,
                  normalize=True)
    return Case("moe_bf16_tensor_cores", ins, [out], tol=(2e-2, 2e-2))


def compare(name, got, want, tol):
    atol, rtol = tol
    want = np.asarray(want)
    if got.shape != want.shape:
        return f"{name}: shape {got.shape}, expected {want.shape}"
    if np.issubdtype(want.dtype, np.integer):
        bad = np.argwhere(got != want)
        if bad.size:
            i = tuple(bad[0])
            return f"{name}: {len(bad)} mismatches, first at {i}: {got[i]} != {want[i]}"
        return None
    # -inf must match exactly (fully masked rows); finite values by tolerance.
    inf_mismatch = np.isinf(want) != np.isinf(got)
    if inf_mismatch.any() or np.any(np.isinf(want) & (got != want)):
        i = tuple(np.argwhere(inf_mismatch | (np.isinf(want) & (got != want)))[0])
        return f"{name}: infinity mismatch at {i}: {got[i]} vs {want[i]}"
    # NaN exactly where the expected values have NaN (route over NaN logits).
    nan_mismatch = np.isnan(got) != np.isnan(want)
    if nan_mismatch.any():
        i = tuple(np.argwhere(nan_mismatch)[0])
        return f"{name}: NaN mismatch at {i}: {got[i]} vs {want[i]}"
    finite = np.isfinite(want)
    err = np.abs(got[finite] - want[finite])
    limit = atol + rtol * np.abs(want[finite])
    if np.any(err > limit):
        worst = np.argmax(err - limit)
        return (f"{name}: max abs err {err.max():.3g} exceeds atol {atol} + "
                f"rtol {rtol} (worst got {got[finite][worst]}, want "
                f"{want[finite][worst]})")
    print(f"{name}: max abs err {err.max() if err.size else 0:.3g} ok")
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mlir")
    parser.add_argument("workdir")
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--tessera-run", default="tessera-run")
    args = parser.parse_args()

    c = CASES[args.case]()
    os.makedirs(args.workdir, exist_ok=True)
    cmd = [args.tessera_run, args.mlir, f"--entry={c.entry}"]
    for i, a in enumerate(c.inputs):
        path = os.path.join(args.workdir, f"{args.case}.in{i}.npy")
        np.save(path, a)
        cmd.append(f"--input={path}")
    outs = []
    for i in range(len(c.expected)):
        path = os.path.join(args.workdir, f"{args.case}.out{i}.npy")
        if os.path.exists(path):
            os.remove(path)
        outs.append(path)
        cmd.append(f"--output={path}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(" ".join(cmd))
        print(proc.stdout + proc.stderr)
        print(f"FAIL {args.case}: tessera-run exited {proc.returncode}")
        return 1
    tols = c.tol if isinstance(c.tol, list) else [c.tol] * len(c.expected)
    errors = []
    for i, (path, want) in enumerate(zip(outs, c.expected)):
        got = np.load(path)
        err = compare(f"{args.case} result #{i}", got, want, tols[i])
        if err:
            errors.append(err)
    for e in errors:
        print("FAIL " + e)
    if not errors:
        print(f"PASS {args.case}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
