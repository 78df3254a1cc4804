"""Runs a model's MoE layer and attention in PyTorch with Tessera kernels.

    python3 examples/pytorch/demo.py [--model qwen3-30b-a3b] [--dtype bf16]

For each layer: the plain PyTorch version and the Tessera one with the same
weights, their largest difference and their median time per call. The
models' routing (experts, top-k, scoring) and attention heads are the real
ones; hidden and intermediate sizes are divided by --width-divisor so that
the demo runs in seconds on a laptop.
"""

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tessera_torch import MoE, TesseraMoE, Attention, TesseraAttention  # noqa

# From the models' published configurations (hidden size; MoE: experts,
# top-k, expert and shared-expert intermediate sizes, renormalized weights;
# attention: query heads, KV heads, head dimension).
MODELS = {
    "qwen3-30b-a3b": dict(name="Qwen3-30B-A3B", hidden=2048, experts=128,
                          top_k=8, intermediate=768, shared=0, normalize=True,
                          heads=32, kv_heads=4, head_dim=128),
    "qwen1.5-moe-a2.7b": dict(name="Qwen1.5-MoE-A2.7B", hidden=2048,
                              experts=60, top_k=4, intermediate=1408,
                              shared=5632, normalize=False, heads=16,
                              kv_heads=16, head_dim=128),
    "mixtral-8x7b": dict(name="Mixtral-8x7B", hidden=4096, experts=8, top_k=2,
                         intermediate=14336, shared=0, normalize=True,
                         heads=32, kv_heads=8, head_dim=128),
}
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}


def median_ms(function, repeat):
    function()  # warm up (and compile, for the Tessera layers)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


# Largest difference accepted, relative to the largest |output|.
TOLERANCE = {torch.float32: 1e-5, torch.float16: 4e-3, torch.bfloat16: 3e-2}


def compare(label, reference, tessera_fn, repeat):
    """Prints both versions' times and difference; False if they disagree."""
    expected, got = reference(), tessera_fn()
    difference = (expected.float() - got.float()).abs().max().item()
    scale = expected.float().abs().max().item()
    agree = difference <= TOLERANCE[expected.dtype] * scale
    torch_ms = median_ms(reference, repeat)
    tessera_ms = median_ms(tessera_fn, repeat)
    print("  %-44s torch %8.2f ms  tessera %8.2f ms  (%4.1fx)  max|diff| "
          "%.1e of max|y| %.1e %s" % (
              label, torch_ms, tessera_ms, torch_ms / tessera_ms, difference,
              scale, "ok" if agree else "MISMATCH"))
    return agree


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS),
                        default="qwen3-30b-a3b")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    parser.add_argument("--width-divisor", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=256,
                        help="MoE tokens and attention prompt length")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch and Tessera threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = MODELS[args.model]
    dtype = DTYPES[args.dtype]
    divisor = args.width_divisor
    hidden = model["hidden"] // divisor
    print("%s at 1/%d width, %s, %d threads" % (
        model["name"], divisor, args.dtype, torch.get_num_threads()))

    moe_args = (hidden, model["intermediate"] // divisor, model["experts"],
                model["top_k"])
    moe_kwargs = dict(normalize=model["normalize"], dtype=dtype,
                      shared_intermediate_size=model["shared"] // divisor)
    reference = MoE(*moe_args, **moe_kwargs)
    layer = TesseraMoE(*moe_args, **moe_kwargs)
    layer.load_state_dict(reference.state_dict())
    x = torch.randn(args.tokens, hidden).to(dtype)
    agree = []
    with torch.inference_mode():
        agree.append(compare("MoE layer (T=%d, d=%d, E=%d, k=%d, f=%d)" % (
            args.tokens, hidden, model["experts"], model["top_k"],
            model["intermediate"] // divisor),
            lambda: reference(x), lambda: layer(x), args.repeat))

    attention_args = (hidden, model["heads"], model["kv_heads"],
                      model["head_dim"])
    reference = Attention(*attention_args, dtype=dtype)
    layer = TesseraAttention(*attention_args, dtype=dtype)
    layer.load_state_dict(reference.state_dict())
    x = torch.randn(1, args.tokens, hidden).to(dtype)
    with torch.inference_mode():
        _, (k, v) = reference(x)
        q = torch.randn(1, model["heads"], args.tokens, model["head_dim"])
        q = q.to(dtype)
        heads = "%dq/%dkv x %d" % (model["heads"], model["kv_heads"],
                                   model["head_dim"])
        agree.append(compare(
            "attention prefill (S=%d, %s, causal)" % (args.tokens, heads),
            lambda: reference.attend(q, k, v), lambda: layer.attend(q, k, v),
            args.repeat))
        q1 = q[:, :, -1:].contiguous()
        agree.append(compare(
            "attention decode (1 query, %d keys)" % args.tokens,
            lambda: reference.attend(q1, k, v),
            lambda: layer.attend(q1, k, v), args.repeat))
        x1 = torch.randn(1, 1, hidden).to(dtype)
        agree.append(compare(
            "attention layer, one decode step with cache",
            lambda: reference(x1, (k, v))[0], lambda: layer(x1, (k, v))[0],
            args.repeat))
    return 0 if all(agree) else 1


if __name__ == "__main__":
    sys.exit(main())
