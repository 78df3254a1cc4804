"""GPU benchmarks, Tessera vs the peers, in two phases (as test/GPU/gpu_suite.py).

usage:
  bench_gpu.py prepare --build BUILD --out DIR [--chip sm_90a]
                       [--pipeline-options OPTS] [--only NAME...]
  bench_gpu.py execute --dir DIR --launcher PATH [--runs N] [--json FILE]

`prepare` (compiler, no GPU) writes each benchmark's .mlir, compiles it with
tessera-compile --target=nvptx --emit=artifact and writes seeded inputs.
`execute` (GPU, PyTorch, no compiler) times the artifact with
tessera-gpu-launch --bench and the peer with CUDA events in the same run,
checks that both compute the same thing, and prints time, ratio and the
fraction of the H100's peak:
  attention   bf16 causal, B=1 H=32 S=8192 D=128   vs torch SDPA (flash);
              also with tensor-core-attention-wgmma=true (attention_wgmma)
  GQA decode  bf16, B=16 Hq=32 Hkv=8 Skv=8192 D=128 vs torch SDPA and the
              HBM bandwidth; also with tensor-core-attention-wgmma=true
              (gqa_decode_wgmma)
  *_wgmma_pv  attention, GQA decode and MLA decode with wgmma for P.V too
              (tensor-core-wgmma-values=true)
  *_q64       attention_wgmma and attention_wgmma_pv in 64-row blocks of
              one warpgroup (tensor-core-q-block=64: two blocks a
              multiprocessor)
  grouped GEMM bf16, Qwen1.5-MoE up projection     vs torch._grouped_mm;
              also in 192-row tiles of three warpgroups
              (tensor-core-wgmma-tile-m=192: grouped_gemm_m192)
  MLA decode  bf16, DeepSeek-V3 latent attention   vs the HBM bandwidth;
              also with tensor-core-latent-wgmma=true (mla_decode_wgmma)
  MoE layer   bf16, Qwen1.5-MoE routed experts      vs PyTorch: router,
              top-k, stable sort, two torch._grouped_mm, index_add;
              also compiled with fuse-moe=true (moe_layer_fused)
"""

import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

# H100 SXM dense peaks (datasheet) and HBM3 bandwidth; KINDS.md measured
# ~3.0 TB/s for a device-to-device copy.
PEAK_BF16_TFLOPS = 989.0
PEAK_HBM_TBS = 3.35


def attention_case():
    b, h, s, d = 1, 32, 8192, 128
    t = f"tensor<{b}x{h}x{s}x{d}xbf16>"
    mlir = f"""func.func @attention(%q: {t}, %k: {t}, %v: {t}) -> {t} {{
  %o = tessera.attention %q, %k, %v {{causal = true}} : ({t}, {t}, {t}) -> {t}
  return %o : {t}
}}
"""
    flops = 4 * b * h * s * s * d / 2  # causal: half the square
    return dict(name="attention", entry="attention", mlir=mlir,
                shapes=[(b, h, s, d)] * 3, flops=flops,
                params=dict(b=b, h=h, s=s, d=d))


def gqa_decode_case():
    # Llama-3-8B-like decode: 32 query heads over 8 KV heads, one query per
    # sequence, 16 sequences of 8192 cached tokens.
    b, hq, hkv, skv, d = 16, 32, 8, 8192, 128
    q = f"tensor<{b}x{hq}x1x{d}xbf16>"
    kv = f"tensor<{b}x{hkv}x{skv}x{d}xbf16>"
    mlir = f"""func.func @gqa_decode(%q: {q}, %k: {kv}, %v: {kv}) -> {q} {{
  %o = tessera.attention %q, %k, %v : ({q}, {kv}, {kv}) -> {q}
  return %o : {q}
}}
"""
    return dict(name="gqa_decode", entry="gqa_decode", mlir=mlir,
                bytes=2.0 * 2 * b * hkv * skv * d,
                params=dict(b=b, hq=hq, hkv=hkv, skv=skv, d=d))


def grouped_gemm_case():
    # Qwen1.5-MoE-A2.7B: 60 experts, top 4, hidden 2048, expert
    # intermediate 1408 (gate and up side by side: N = 2816); 4096 tokens.
    experts, tokens, top_k, hidden, n = 60, 4096, 4, 2048, 2 * 1408
    rows = tokens * top_k
    rx = f"tensor<{rows}x{hidden}xbf16>"
    w = f"tensor<{experts}x{hidden}x{n}xbf16>"
    off = f"tensor<{experts + 1}xi32>"
    y = f"tensor<{rows}x{n}xbf16>"
    mlir = f"""func.func @grouped_gemm(%x: {rx}, %w: {w}, %o: {off}) -> {y} {{
  %y = tessera.grouped_matmul %x, %w, %o : ({rx}, {w}, {off}) -> {y}
  return %y : {y}
}}
"""
    return dict(name="grouped_gemm", entry="grouped_gemm", mlir=mlir,
                flops=2.0 * rows * hidden * n,
                params=dict(experts=experts, rows=rows, k=hidden, n=n))


def grouped_gemm_m192_case():
    # The same GEMM in 192 x 256 tiles (three warpgroups a block): each
    # K step's weight tile feeds 192 rows instead of 128, 22% fewer bytes
    # read from L2 per product, at 168 registers a thread (a 40-byte
    # spill) instead of 206.
    case = grouped_gemm_case()
    case.update(name="grouped_gemm_m192", kind="grouped_gemm",
                pipeline_options="tensor-core-wgmma-tile-m=192")
    return case


def mla_decode_case():
    # DeepSeek-V3 MLA decode: 128 heads, latent 512 + rope 64, batch 16,
    # 4096 cached tokens, one query per sequence.
    b, h, skv, latent, rope = 16, 128, 4096, 512, 64
    q = f"tensor<{b}x{h}x1x{latent + rope}xbf16>"
    kv = f"tensor<{b}x{skv}x{latent + rope}xbf16>"
    o = f"tensor<{b}x{h}x1x{latent}xbf16>"
    mlir = f"""func.func @mla_decode(%q: {q}, %kv: {kv}) -> {o} {{
  %o = tessera.latent_attention %q, %kv {{latent_dim = {latent} : i64}}
      : ({q}, {kv}) -> {o}
  return %o : {o}
}}
"""
    return dict(name="mla_decode", entry="mla_decode", mlir=mlir,
                bytes=2.0 * b * skv * (latent + rope),
                params=dict(b=b, h=h, skv=skv, latent=latent, rope=rope))


def mla_decode_wgmma_case():
    # The same decode with tensor-core-latent-wgmma=true: each column group
    # (a warpgroup) computes its 64 rows' scores with wgmma from swizzled
    # shared memory instead of per-warp ldmatrix + mma.sync.
    case = mla_decode_case()
    case.update(name="mla_decode_wgmma",
                pipeline_options="tensor-core-latent-wgmma=true")
    return case


def attention_wgmma_case():
    # The same attention with tensor-core-attention-wgmma=true: warps of 16
    # rows, each warpgroup's scores by wgmma from swizzled shared memory.
    case = attention_case()
    case.update(name="attention_wgmma", kind="attention",
                pipeline_options="tensor-core-attention-wgmma=true")
    return case


def gqa_decode_wgmma_case():
    case = gqa_decode_case()
    case.update(name="gqa_decode_wgmma", kind="gqa_decode",
                pipeline_options="tensor-core-attention-wgmma=true")
    return case


def wgmma_values_case(make, option):
    # `make`'s wgmma variant with P.V by wgmma too (P through shared memory).
    case = make()
    case.setdefault("kind", case["name"])
    case.update(name=case["name"].replace("_wgmma", "") + "_wgmma_pv",
                pipeline_options=f"{option}=true "
                                 "tensor-core-wgmma-values=true")
    return case


def attention_wgmma_pv_case():
    return wgmma_values_case(attention_case, "tensor-core-attention-wgmma")


def gqa_decode_wgmma_pv_case():
    return wgmma_values_case(gqa_decode_case, "tensor-core-attention-wgmma")


def mla_decode_wgmma_pv_case():
    return wgmma_values_case(mla_decode_case, "tensor-core-latent-wgmma")


def q64_case(make):
    # `make`'s wgmma attention in 64-row blocks: one warpgroup a block
    # (155 / 135 registers, 84 / 90 KiB of shared memory), so two blocks
    # share a multiprocessor and one's softmax overlaps the other's wgmma.
    case = make()
    case.update(name=case["name"] + "_q64",
                pipeline_options=case["pipeline_options"] +
                " tensor-core-q-block=64")
    return case


def attention_wgmma_q64_case():
    return q64_case(attention_wgmma_case)


def attention_wgmma_pv_q64_case():
    return q64_case(attention_wgmma_pv_case)


def moe_layer_fused_case():
    # The same layer through tessera-fuse-moe: the up projection gathers its
    # rows from the tokens (no dispatched copy), the down projection scales
    # its rows by the routing weights.
    case = moe_layer_case()
    case.update(name="moe_layer_fused", pipeline_options="fuse-moe=true")
    return case


def moe_layer_case():
    # Qwen1.5-MoE-A2.7B's routed experts (../shared/models): 60 experts, top
    # 4 of a softmax, not renormalized, hidden 2048, SwiGLU intermediate
    # 1408; 4096 tokens. The whole layer: router GEMM, routing, dispatch,
    # both grouped GEMMs, combine (no shared expert: Qwen gates it with a
    # sigmoid that tessera.moe does not model).
    experts, tokens, top_k, hidden, f = 60, 4096, 4, 2048, 1408
    x = f"tensor<{tokens}x{hidden}xbf16>"
    g = f"tensor<{experts}x{hidden}xbf16>"
    up = f"tensor<{experts}x{hidden}x{2 * f}xbf16>"
    down = f"tensor<{experts}x{f}x{hidden}xbf16>"
    mlir = f"""func.func @moe_layer(%x: {x}, %g: {g}, %up: {up}, %down: {down}) -> {x} {{
  %y = tessera.moe %x, %g, %up, %down
      {{top_k = {top_k} : i64, scoring = #tessera.scoring<softmax>}}
      : ({x}, {g}, {up}, {down}) -> {x}
  return %y : {x}
}}
"""
    rows = tokens * top_k
    flops = 2.0 * rows * (hidden * 2 * f + f * hidden) \
        + 2.0 * tokens * hidden * experts
    return dict(name="moe_layer", entry="moe_layer", mlir=mlir, flops=flops,
                params=dict(experts=experts, tokens=tokens, top_k=top_k,
                            hidden=hidden, f=f))


CASES = [attention_case, gqa_decode_case, grouped_gemm_case, mla_decode_case,
         moe_layer_case, moe_layer_fused_case, mla_decode_wgmma_case,
         attention_wgmma_case, gqa_decode_wgmma_case, attention_wgmma_pv_case,
         gqa_decode_wgmma_pv_case, mla_decode_wgmma_pv_case,
         grouped_gemm_m192_case, attention_wgmma_q64_case,
         attention_wgmma_pv_q64_case]


def get_kind(case):
    """The benchmark whose inputs and peer a case shares (a variant's
    `kind`), else its own name."""
    return case.get("kind", case["name"])


def make_inputs(case, rng):
    p = case["params"]
    kind = get_kind(case)
    if kind == "attention":
        return [rng.standard_normal((p["b"], p["h"], p["s"], p["d"]),
                                    dtype=np.float32) for _ in range(3)]
    if kind == "gqa_decode":
        q = rng.standard_normal((p["b"], p["hq"], 1, p["d"]), dtype=np.float32)
        kv = [rng.standard_normal((p["b"], p["hkv"], p["skv"], p["d"]),
                                  dtype=np.float32) for _ in range(2)]
        return [q] + kv
    if kind == "grouped_gemm":
        x = rng.standard_normal((p["rows"], p["k"]), dtype=np.float32)
        w = (rng.standard_normal((p["experts"], p["k"], p["n"]),
                                 dtype=np.float32) / np.sqrt(p["k"]))
        # Ragged segments from a random routing of the rows.
        counts = np.bincount(rng.integers(0, p["experts"], p["rows"]),
                             minlength=p["experts"])
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return [x, w.astype(np.float32), offsets]
    if kind.startswith("moe_layer"):
        e, d, f = p["experts"], p["hidden"], p["f"]
        return [rng.standard_normal((p["tokens"], d), dtype=np.float32),
                rng.standard_normal((e, d), dtype=np.float32) / np.sqrt(d),
                rng.standard_normal((e, d, 2 * f), dtype=np.float32)
                / np.sqrt(d),
                rng.standard_normal((e, f, d), dtype=np.float32)
                / np.sqrt(f)]
    q = rng.standard_normal((p["b"], p["h"], 1, p["latent"] + p["rope"]),
                            dtype=np.float32)
    kv = rng.standard_normal((p["b"], p["skv"], p["latent"] + p["rope"]),
                             dtype=np.float32)
    return [q, kv]


def prepare(args):
    compiler = os.path.join(args.build, "bin", "tessera-compile")
    rng = np.random.default_rng(0)
    for make in CASES:
        if args.only and make().get("name") not in args.only:
            continue
        case = make()
        d = os.path.join(args.out, case["name"])
        os.makedirs(d, exist_ok=True)
        src = os.path.join(d, "bench.mlir")
        with open(src, "w") as f:
            f.write(case["mlir"])
        cmd = [compiler, src, "--target=nvptx", "--emit=artifact",
               f"--chip={args.chip}", "-o", os.path.join(d, "bench.tgpu")]
        options = " ".join(o for o in (args.pipeline_options,
                                       case.get("pipeline_options", "")) if o)
        if options:
            cmd.append(f"--pipeline-options={options}")
        subprocess.run(cmd, check=True)
        meta = {k: v for k, v in case.items() if k != "mlir"}
        meta["inputs"] = len(make_inputs(case, rng))
        with open(os.path.join(d, "bench.json"), "w") as f:
            json.dump(meta, f)
        print(f"prepared {case['name']}")
    return 0


def time_launcher(args, d, meta):
    cmd = [args.launcher, os.path.join(d, "bench.tgpu"),
           f"--entry={meta['entry']}", f"--bench={args.runs}"]
    cmd += [f"--input={os.path.join(d, f'in{i}.npy')}"
            for i in range(meta["inputs"])]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    m = re.search(r"median ([0-9.]+) ms, min ([0-9.]+) ms", out.stdout)
    # One more run for the outputs.
    got = os.path.join(d, "got0.npy")
    run = cmd[:3] + cmd[4:] + [f"--output={got}"]
    subprocess.run(run, check=True)
    return float(m.group(1)), float(m.group(2)), np.load(got)


def time_torch(fn, runs):
    import torch
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return float(np.median(times)), float(np.min(times))


def peer(meta, inputs):
    """(peer name, callable, result as float32 numpy) for a benchmark."""
    import torch
    import torch.nn.functional as F
    dev = "cuda"
    p = meta["params"]
    kind = get_kind(meta)
    if kind == "attention":
        q, k, v = (torch.from_numpy(a).to(dev, torch.bfloat16) for a in inputs)
        def fn():
            with torch.nn.attention.sdpa_kernel(
                    torch.nn.attention.SDPBackend.FLASH_ATTENTION):
                return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return "torch SDPA (flash)", fn, fn().float().cpu().numpy()
    if kind == "gqa_decode":
        q, k, v = (torch.from_numpy(a).to(dev, torch.bfloat16) for a in inputs)
        def fn():
            return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
        return "torch SDPA (GQA)", fn, fn().float().cpu().numpy()
    if kind == "grouped_gemm":
        x = torch.from_numpy(inputs[0]).to(dev, torch.bfloat16)
        w = torch.from_numpy(inputs[1]).to(dev, torch.bfloat16)
        offs = torch.from_numpy(inputs[2][1:].copy()).to(dev, torch.int32)
        if hasattr(torch, "_grouped_mm"):
            fn = lambda: torch._grouped_mm(x, w, offs=offs)  # noqa: E731
            name = "torch._grouped_mm"
        else:
            bounds = inputs[2].tolist()
            def fn():
                return torch.cat([x[bounds[e]:bounds[e + 1]] @ w[e]
                                  for e in range(w.shape[0])])
            name = "torch.matmul per expert"
        return name, fn, fn().float().cpu().numpy()
    if kind.startswith("moe_layer"):
        return moe_peer(p, inputs)
    # MLA decode: scores over the whole latent+rope vector, values = latent.
    q = torch.from_numpy(inputs[0]).to(dev, torch.bfloat16)
    kv = torch.from_numpy(inputs[1]).to(dev, torch.bfloat16)
    scale = 1.0 / np.sqrt(p["latent"] + p["rope"])
    def fn():
        s = torch.einsum("bhqd,bsd->bhqs", q.float(), kv.float()) * scale
        return torch.einsum("bhqs,bsd->bhqd", s.softmax(-1),
                            kv[..., :p["latent"]].float()).to(torch.bfloat16)
    return "torch einsum (eager)", fn, fn().float().cpu().numpy()


def moe_peer(p, inputs):
    """The MoE layer as an efficient eager PyTorch model writes it."""
    import torch
    import torch.nn.functional as F
    x, g, up, down = (torch.from_numpy(a).to("cuda", torch.bfloat16)
                      for a in inputs)
    k, f, e = p["top_k"], p["f"], p["experts"]

    def fn():
        # Router logits in f32, as tessera.moe computes them.
        scores = (x.float() @ g.float().T).softmax(-1)
        weights, ids = scores.topk(k, dim=-1)
        flat = ids.flatten()
        # Stable: inside an expert, pairs in (token, slot) order.
        order = flat.argsort(stable=True)
        offs = torch.bincount(flat, minlength=e).cumsum(0).to(torch.int32)
        tokens = order // k
        h = torch._grouped_mm(x[tokens], up, offs=offs)
        h = F.silu(h[:, :f]) * h[:, f:]
        y = torch._grouped_mm(h, down, offs=offs)
        y = y.float() * weights.flatten()[order, None]
        out = torch.zeros(x.shape, device=x.device, dtype=torch.float32)
        return out.index_add_(0, tokens, y).to(torch.bfloat16)
    name = "PyTorch (sort + torch._grouped_mm)"
    return name, fn, fn().float().cpu().numpy()


def execute(args):
    results = []
    for name in [c().get("name") for c in CASES]:
        d = os.path.join(args.dir, name)
        if not os.path.exists(os.path.join(d, "bench.json")):
            continue
        meta = json.load(open(os.path.join(d, "bench.json")))
        # Inputs are made where they are used: they are too large to carry.
        inputs = make_inputs(meta, np.random.default_rng(0))
        for i, a in enumerate(inputs):
            np.save(os.path.join(d, f"in{i}.npy"), a)
        ours_med, ours_min, got = time_launcher(args, d, meta)
        peer_name, fn, want = peer(meta, inputs)
        peer_med, peer_min = time_torch(fn, args.runs)
        err = float(np.max(np.abs(got - want)) / (np.max(np.abs(want)) + 1e-30))
        row = dict(name=name, ours_ms=ours_med, ours_min_ms=ours_min,
                   peer=peer_name, peer_ms=peer_med, peer_min_ms=peer_min,
                   speed_vs_peer=peer_med / ours_med, rel_err=err)
        if "flops" in meta:
            row["ours_tflops"] = meta["flops"] / ours_med / 1e9
            row["peer_tflops"] = meta["flops"] / peer_med / 1e9
            row["ours_peak_fraction"] = row["ours_tflops"] / PEAK_BF16_TFLOPS
        if "bytes" in meta:
            row["ours_tbs"] = meta["bytes"] / ours_med / 1e9
            row["ours_bandwidth_fraction"] = row["ours_tbs"] / PEAK_HBM_TBS
            row["peer_tbs"] = meta["bytes"] / peer_med / 1e9
        results.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="phase", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--build", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--only", nargs="*", default=[])
    # The H100's own target: sm_90a enables wgmma.
    p.add_argument("--chip", default="sm_90a")
    p.add_argument("--pipeline-options", default="")
    e = sub.add_parser("execute")
    e.add_argument("--dir", required=True)
    e.add_argument("--launcher", required=True)
    e.add_argument("--runs", type=int, default=5)
    e.add_argument("--json", default="")
    args = parser.parse_args()
    return prepare(args) if args.phase == "prepare" else execute(args)


if __name__ == "__main__":
    sys.exit(main())
