"""Benchmark shapes, FLOP/byte formulas and the seeded routing, shared by
the orchestrator (bench.py), the MLIR generator (gen_mlir.py) and the Python
peers (peers/py_peers.py). Shapes follow ../shared/models/*.json."""

import os

import numpy as np

# Attention (GQA as in Qwen3-30B-A3B / Mixtral-8x7B: 32 query heads, 8 KV
# heads, head dim 128).
PREFILL = dict(B=1, Hq=32, Hkv=8, S=2048, D=128, causal=True)
DECODE = [dict(B=1, Hq=32, Hkv=8, Skv=skv, D=128) for skv in (4096, 32768)]
# DeepSeek-V3 MLA, absorbed decode: 128 heads, latent 512, rope 64.
MLA = dict(B=1, H=128, L=512, R=64, Skv=4096)
# MoE layers (routed experts only; Qwen's shared expert is not included).
MOE = {
    "qwen": dict(name="Qwen1.5-MoE", T=1024, d=2048, f=1408, E=60, k=4,
                 normalize=False),
    # Mixtral routing (8 experts, top 2, renormalized) at d/4 and f/4.
    "mixtral": dict(name="Mixtral-8x7B routing, d/4 f/4", T=1024, d=1024,
                    f=3584, E=8, k=2, normalize=True),
}

ROUTING_SEED = 0

# `run.sh --quick` (smoke test): the same ops at smaller sizes, so that the
# whole harness runs in a few minutes. Quick results are not comparable with
# full ones and never go to docs/performance.md.
QUICK = os.environ.get("TESSERA_BENCH_QUICK") == "1"
if QUICK:
    PREFILL = dict(PREFILL, S=512)
    DECODE = [dict(DECODE[0], Skv=4096)]
    MLA = dict(MLA, Skv=1024)
    MOE = {"qwen": dict(MOE["qwen"], T=256, E=15),
           "mixtral": dict(MOE["mixtral"], T=256, d=512, f=1024)}


def prefill_flop(p):
    # 4*B*Hq*D per visible (query, key) pair; causal: S*(S+1)/2 pairs per head.
    s = p["S"]
    pairs = s * (s + 1) // 2 if p["causal"] else s * s
    return 4.0 * p["B"] * p["Hq"] * p["D"] * pairs


def decode_flop(p):
    return 4.0 * p["B"] * p["Hq"] * p["Skv"] * p["D"]


def decode_bytes(p, elem=4):
    # K and V once (q and out are negligible).
    return 2.0 * p["B"] * p["Hkv"] * p["Skv"] * p["D"] * elem


def mla_flop(p):
    # scores over L+R columns, values over L columns.
    return 2.0 * p["B"] * p["H"] * p["Skv"] * (2 * p["L"] + p["R"])


def mla_bytes(p, elem=4):
    return float(p["B"] * p["Skv"] * (p["L"] + p["R"]) * elem)


def expert_flop(m):
    return 2.0 * m["T"] * m["k"] * (m["d"] * 2 * m["f"] + m["f"] * m["d"])


def moe_flop(m):
    # expert GEMMs + router GEMM (SwiGLU, softmax, top-k, combine ignored).
    return expert_flop(m) + 2.0 * m["T"] * m["d"] * m["E"]


def routing_counts(m, seed=ROUTING_SEED):
    """Rows per expert from a seeded softmax top-k routing of uniform [-1, 1)
    tokens through a uniform [-1, 1) gate (the same distribution as
    `tessera-run --random-inputs`)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (m["T"], m["d"])).astype(np.float32)
    gate = rng.uniform(-1, 1, (m["E"], m["d"])).astype(np.float32)
    logits = x @ gate.T
    ids = np.argsort(-logits, axis=1, kind="stable")[:, :m["k"]]
    return np.bincount(ids.ravel(), minlength=m["E"]).astype(int).tolist()
