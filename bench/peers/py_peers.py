#!/usr/bin/env python3
"""numpy and PyTorch peers for bench/bench.py.

    py_peers.py --lib=numpy|torch --case=CASE [--reps=N] [--threads=N]

Prints one JSON object: {"ms_median", "ms_min", "reps", "info"}. The settings
that matter (BLAS, threads, allocator) come from the environment that
bench.py sets; "info" reports what was actually in effect.

Cases (shapes from bench/shapes.py):
  attn_prefill          causal GQA, matmul + masked softmax + matmul per KV head
  attn_decode_<Skv>     one query token against the KV cache
  mla_decode            DeepSeek MLA absorbed decode
  experts_<moe>_<dtype> the expert GEMMs (up [m_e,d].[d,2f], down [m_e,f].[f,d])
                        summed over experts with the seeded routing counts
  dense_<moe>_<dtype>   the same FLOPs as one GEMM pair with T*k rows
  moe_<moe>             the whole routed MoE layer: router, softmax, top-k,
                        per-expert loop (gather, SwiGLU FFN, weighted scatter)
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import shapes  # noqa: E402

import numpy as np  # noqa: E402


def make_evictor():
    """Reads 128 MiB (4x a Zen 4/5 CCD's L3) so that the next timed run finds
    its operands in memory, not in cache; reading leaves clean lines (nothing
    for the timed run to write back). Same as tessera-run --bench-cold."""
    buf = np.ones((128 << 20) // 8, dtype=np.int64)

    def evict():
        return int(buf[::8].sum())
    return evict


def timeit(fn, reps, warmup=1, cold=False):
    evict = make_evictor() if cold else (lambda: None)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        evict()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times)), float(min(times))


def loaded_libs(words):
    out = set()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1]
                if path.startswith("/") and any(w in path for w in words):
                    out.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(out)


# ---------------------------------------------------------------- numpy

class NumpyPeer:
    name = "numpy"

    def __init__(self, threads):
        self.rng = np.random.default_rng(1)

    def rand(self, *shape, dtype="f32"):
        if dtype != "f32":
            raise NotImplementedError("numpy has no bf16")
        a = self.rng.random(shape, dtype=np.float32)
        a *= 2
        a -= 1
        return a

    def attn_prefill(self, p):
        B, Hq, Hkv, S, D = p["B"], p["Hq"], p["Hkv"], p["S"], p["D"]
        g = Hq // Hkv
        q, k, v = self.rand(B, Hq, S, D), self.rand(B, Hkv, S, D), self.rand(B, Hkv, S, D)
        out = np.empty((B, Hq, S, D), np.float32)
        scale = np.float32(1 / np.sqrt(D))
        mask = np.triu(np.full((S, S), -np.inf, np.float32), 1)
        s = np.empty((S, S), np.float32)
        m = np.empty((S, 1), np.float32)

        def run():
            for b in range(B):
                for h in range(Hq):
                    kh = h // g
                    np.matmul(q[b, h], k[b, kh].T, out=s)
                    np.multiply(s, scale, out=s)
                    np.add(s, mask, out=s)
                    np.max(s, axis=1, keepdims=True, out=m)
                    np.subtract(s, m, out=s)
                    np.exp(s, out=s)
                    l = s.sum(axis=1, keepdims=True)
                    np.matmul(s, v[b, kh], out=out[b, h])
                    out[b, h] /= l
        return run

    def attn_decode(self, p):
        B, Hq, Hkv, Skv, D = p["B"], p["Hq"], p["Hkv"], p["Skv"], p["D"]
        g = Hq // Hkv
        q, k, v = self.rand(B, Hq, 1, D), self.rand(B, Hkv, Skv, D), self.rand(B, Hkv, Skv, D)
        scale = np.float32(1 / np.sqrt(D))
        out = np.empty((B, Hkv, g, D), np.float32)

        def run():
            for b in range(B):
                qg = q[b].reshape(Hkv, g, D)
                s = np.matmul(qg, k[b].transpose(0, 2, 1))  # [Hkv, g, Skv]
                s *= scale
                s -= s.max(axis=2, keepdims=True)
                np.exp(s, out=s)
                s /= s.sum(axis=2, keepdims=True)
                np.matmul(s, v[b], out=out[b])
        return run

    def mla_decode(self, p):
        B, H, L, R, Skv = p["B"], p["H"], p["L"], p["R"], p["Skv"]
        q, kv = self.rand(B, H, 1, L + R), self.rand(B, Skv, L + R)
        scale = np.float32(1 / np.sqrt(L + R))
        out = np.empty((B, H, L), np.float32)
        s = np.empty((H, Skv), np.float32)

        def run():
            for b in range(B):
                np.matmul(q[b, :, 0], kv[b].T, out=s)
                np.multiply(s, scale, out=s)
                np.subtract(s, s.max(axis=1, keepdims=True), out=s)
                np.exp(s, out=s)
                np.divide(s, s.sum(axis=1, keepdims=True), out=s)
                np.matmul(s, kv[b, :, :L], out=out[b])
        return run

    def experts(self, m, counts, dtype):
        d, f = m["d"], m["f"]
        ws = [(self.rand(d, 2 * f, dtype=dtype), self.rand(f, d, dtype=dtype))
              for _ in counts]
        xs = [(self.rand(c, d, dtype=dtype), self.rand(c, f, dtype=dtype)) for c in counts]
        outs = [(np.empty((c, 2 * f), np.float32), np.empty((c, d), np.float32))
                for c in counts]

        def run():
            for (wu, wd), (x, h), (ou, od) in zip(ws, xs, outs):
                if x.shape[0]:
                    np.matmul(x, wu, out=ou)
                    np.matmul(h, wd, out=od)
        return run

    def moe(self, m):
        T, d, f, E, k = m["T"], m["d"], m["f"], m["E"], m["k"]
        x, gate = self.rand(T, d), self.rand(E, d)
        w_up, w_down = self.rand(E, d, 2 * f), self.rand(E, f, d)
        normalize = m["normalize"]

        def run():
            logits = x @ gate.T
            z = np.exp(logits - logits.max(axis=1, keepdims=True))
            scores = z / z.sum(axis=1, keepdims=True)
            ids = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            w = np.take_along_axis(scores, ids, axis=1)
            if normalize:
                w /= w.sum(axis=1, keepdims=True)
            out = np.zeros((T, d), np.float32)
            flat = ids.ravel()
            order = np.argsort(flat, kind="stable")
            bounds = np.searchsorted(flat[order], np.arange(E + 1))
            tok_all, wt_all = order // k, w.ravel()[order]
            for e in range(E):
                lo, hi = bounds[e], bounds[e + 1]
                if lo == hi:
                    continue
                tok = tok_all[lo:hi]
                a = x[tok] @ w_up[e]
                g = a[:, :f]
                h = g / (1 + np.exp(-g)) * a[:, f:]
                y = h @ w_down[e]
                y *= wt_all[lo:hi, None]
                out[tok] += y  # tokens are distinct within one expert
            return out
        return run

    def info(self):
        libs = loaded_libs(["blas", "lapack", "jemalloc"])
        return {"numpy": np.__version__, "libs": libs,
                "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")}


# ---------------------------------------------------------------- torch

class TorchPeer:
    name = "torch"

    def __init__(self, threads):
        import torch
        self.torch = torch
        torch.set_num_threads(threads)
        torch.set_grad_enabled(False)
        self.gen = torch.Generator().manual_seed(1)

    def rand(self, *shape, dtype="f32"):
        t = self.torch.rand(*shape, generator=self.gen).mul_(2).sub_(1)
        return t.to(self.torch.bfloat16) if dtype == "bf16" else t

    def attn_prefill(self, p):
        torch = self.torch
        B, Hq, Hkv, S, D = p["B"], p["Hq"], p["Hkv"], p["S"], p["D"]
        g = Hq // Hkv
        q, k, v = self.rand(B, Hq, S, D), self.rand(B, Hkv, S, D), self.rand(B, Hkv, S, D)
        mask = torch.triu(torch.full((S, S), float("-inf")), 1)
        scale = 1 / D ** 0.5
        out = torch.empty(B, Hq, S, D)

        def run():
            # One KV head (its g query heads) at a time: scores g x S x S.
            for b in range(B):
                for kh in range(Hkv):
                    qg = q[b, kh * g:(kh + 1) * g]
                    s = torch.baddbmm(mask.expand(g, S, S), qg,
                                      k[b, kh].t().expand(g, D, S), alpha=scale)
                    s = torch.softmax(s, dim=-1)
                    torch.matmul(s, v[b, kh], out=out[b, kh * g:(kh + 1) * g])
        return run

    def attn_decode(self, p):
        torch = self.torch
        B, Hq, Hkv, Skv, D = p["B"], p["Hq"], p["Hkv"], p["Skv"], p["D"]
        g = Hq // Hkv
        q, k, v = self.rand(B, Hq, 1, D), self.rand(B, Hkv, Skv, D), self.rand(B, Hkv, Skv, D)
        scale = 1 / D ** 0.5

        def run():
            qg = q.view(B, Hkv, g, D)
            s = torch.matmul(qg, k.transpose(2, 3)) * scale  # [B,Hkv,g,Skv]
            s = torch.softmax(s, dim=-1)
            return torch.matmul(s, v)
        return run

    def mla_decode(self, p):
        torch = self.torch
        B, H, L, R, Skv = p["B"], p["H"], p["L"], p["R"], p["Skv"]
        q, kv = self.rand(B, H, 1, L + R), self.rand(B, Skv, L + R)
        scale = 1 / (L + R) ** 0.5

        def run():
            s = torch.matmul(q[:, :, 0], kv.transpose(1, 2)) * scale  # [B,H,Skv]
            s = torch.softmax(s, dim=-1)
            return torch.matmul(s, kv[:, :, :L])
        return run

    def experts(self, m, counts, dtype):
        torch = self.torch
        d, f = m["d"], m["f"]
        ws = [(self.rand(d, 2 * f, dtype=dtype), self.rand(f, d, dtype=dtype))
              for _ in counts]
        xs = [(self.rand(c, d, dtype=dtype), self.rand(c, f, dtype=dtype)) for c in counts]
        odt = torch.bfloat16 if dtype == "bf16" else torch.float32
        outs = [(torch.empty(c, 2 * f, dtype=odt), torch.empty(c, d, dtype=odt))
                for c in counts]

        def run():
            for (wu, wd), (x, h), (ou, od) in zip(ws, xs, outs):
                if x.shape[0]:
                    torch.matmul(x, wu, out=ou)
                    torch.matmul(h, wd, out=od)
        return run

    def moe(self, m):
        torch = self.torch
        T, d, f, E, k = m["T"], m["d"], m["f"], m["E"], m["k"]
        x, gate = self.rand(T, d), self.rand(E, d)
        w_up, w_down = self.rand(E, d, 2 * f), self.rand(E, f, d)
        normalize = m["normalize"]
        F = torch.nn.functional

        def run():
            scores = torch.softmax(x @ gate.t(), dim=-1)
            w, ids = torch.topk(scores, k, dim=-1)
            if normalize:
                w = w / w.sum(dim=-1, keepdim=True)
            out = torch.zeros(T, d)
            flat = ids.reshape(-1)
            order = torch.argsort(flat, stable=True)
            counts = torch.bincount(flat, minlength=E).tolist()
            tok_all, wt_all = order // k, w.reshape(-1)[order]
            lo = 0
            for e in range(E):
                hi = lo + counts[e]
                if hi > lo:
                    tok = tok_all[lo:hi]
                    a = x[tok] @ w_up[e]
                    h = F.silu(a[:, :f]) * a[:, f:]
                    y = (h @ w_down[e]) * wt_all[lo:hi, None]
                    out.index_add_(0, tok, y)
                lo = hi
            return out
        return run

    def info(self):
        torch = self.torch
        return {"torch": torch.__version__, "threads": torch.get_num_threads(),
                "mkldnn": torch.backends.mkldnn.is_available(),
                "libs": loaded_libs(["blas", "dnnl", "mkl", "jemalloc", "gomp"]),
                "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", choices=["numpy", "torch"], required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cold", action="store_true",
                    help="evict the caches before every timed run")
    args = ap.parse_args()

    peer = (NumpyPeer if args.lib == "numpy" else TorchPeer)(args.threads)
    case = args.case
    if case == "attn_prefill":
        run = peer.attn_prefill(shapes.PREFILL)
    elif case.startswith("attn_decode_"):
        skv = int(case.rsplit("_", 1)[1])
        run = peer.attn_decode(next(p for p in shapes.DECODE if p["Skv"] == skv))
    elif case == "mla_decode":
        run = peer.mla_decode(shapes.MLA)
    elif case.startswith(("experts_", "dense_")):
        kind, key, dtype = case.split("_")
        m = shapes.MOE[key]
        counts = (shapes.routing_counts(m) if kind == "experts"
                  else [m["T"] * m["k"]])
        run = peer.experts(m, counts, dtype)
    elif case.startswith("moe_"):
        run = peer.moe(shapes.MOE[case[4:]])
    else:
        sys.exit(f"unknown case {case}")
    med, mn = timeit(run, args.reps, cold=args.cold)
    print(json.dumps({"ms_median": med, "ms_min": mn, "reps": args.reps,
                      "info": peer.info()}))


if __name__ == "__main__":
    main()
