# REQUIRES: torch
# RUN: %tessera_python %s %tessera_src_root/examples/pytorch 2>&1 | FileCheck %s
# RUN: %tessera_python %tessera_src_root/examples/pytorch/demo.py \
# RUN:     --width-divisor 16 --tokens 24 --repeat 1 \
# RUN:   | FileCheck %s --check-prefix=DEMO
#
# The PyTorch example (examples/pytorch): the MoE and attention layers whose
# forward runs a Tessera kernel against the same layers in plain PyTorch with
# the same state_dict, for every routing and attention variant they expose,
# f32/bf16/f16, token counts and KV-cache lengths that one compiled (dynamic)
# kernel serves; then the failure modes: backward, wrong dtype, wrong device.

import sys

import torch

sys.path.insert(0, sys.argv[1])
from tessera_torch import Attention, MoE, TesseraAttention, TesseraMoE  # noqa

torch.manual_seed(0)
# Tolerances relative to the largest |output|: f32 rounding, and one rounding
# of intermediates (SwiGLU activations, attention probabilities) for f16/bf16.
TOLERANCE = {torch.float32: 1e-5, torch.float16: 4e-3, torch.bfloat16: 3e-2}
NAMES = {torch.float32: "f32", torch.bfloat16: "bf16", torch.float16: "f16"}


def close(expected, got, dtype):
    """max |expected - got| <= tolerance * max |expected|, shapes equal."""
    expected, got = expected.float(), got.float()
    if expected.shape != got.shape:
        return "shape %s != %s" % (tuple(got.shape), tuple(expected.shape))
    scale = expected.abs().max().item()
    error = (expected - got).abs().max().item()
    return error <= TOLERANCE[dtype] * scale and scale > 0


# CHECK-LABEL: MoE layers
# Mixtral routing; Qwen-MoE routing with a shared expert; sigmoid scores.
# CHECK-NEXT: softmax top-2 of 8, normalized f32: True True True True compiled 1
# CHECK-NEXT: softmax top-2 of 8, normalized bf16: True True True True compiled 1
# CHECK-NEXT: softmax top-2 of 8, normalized f16: True True True True compiled 1
# CHECK-NEXT: softmax top-4 of 12, shared f32: True True True True compiled 1
# CHECK-NEXT: softmax top-4 of 12, shared bf16: True True True True compiled 1
# CHECK-NEXT: softmax top-4 of 12, shared f16: True True True True compiled 1
# CHECK-NEXT: sigmoid top-3 of 16, normalized f32: True True True True compiled 1
# CHECK-NEXT: sigmoid top-3 of 16, normalized bf16: True True True True compiled 1
# CHECK-NEXT: sigmoid top-3 of 16, normalized f16: True True True True compiled 1
print("MoE layers")
configurations = [
    ("softmax top-2 of 8, normalized", (64, 48, 8, 2), dict(normalize=True)),
    ("softmax top-4 of 12, shared", (64, 32, 12, 4),
     dict(shared_intermediate_size=80)),
    ("sigmoid top-3 of 16, normalized", (32, 16, 16, 3),
     dict(scoring="sigmoid", normalize=True)),
]
for label, args, kwargs in configurations:
    for dtype in [torch.float32, torch.bfloat16, torch.float16]:
        reference = MoE(*args, dtype=dtype, **kwargs)
        layer = TesseraMoE(*args, dtype=dtype, compiler_options={"threads": 2},
                           **kwargs)
        layer.load_state_dict(reference.state_dict())
        results = []
        # One token (decode), a ragged count, a batch of sequences [B, S, d].
        for shape in [(1, args[0]), (37, args[0]), (3, 11, args[0])]:
            x = torch.randn(*shape).to(dtype)
            with torch.inference_mode():
                results.append(close(reference(x), layer(x), dtype))
        # A token whose experts are all one expert's rows: 40 copies of a row.
        x = torch.randn(1, args[0]).to(dtype).expand(40, -1)
        with torch.inference_mode():
            results.append(close(reference(x), layer(x), dtype))
        print("%s %s: %s compiled %d" % (
            label, NAMES[dtype], " ".join(str(r) for r in results), layer.kernel.compilations))

# CHECK-LABEL: attention layers
# Prefill of two sequences, then two decode steps from the cache; the
# attention kernels and the whole layers.
# CHECK-NEXT: GQA 8q/2kv x 16 f32: prefill True True decode True True True True compiled 1
# CHECK-NEXT: GQA 8q/2kv x 16 bf16: prefill True True decode True True True True compiled 1
# CHECK-NEXT: GQA 8q/2kv x 16 f16: prefill True True decode True True True True compiled 1
# CHECK-NEXT: MHA 4q/4kv x 32 f32: prefill True True decode True True True True compiled 1
# CHECK-NEXT: MHA 4q/4kv x 32 bf16: prefill True True decode True True True True compiled 1
# CHECK-NEXT: MHA 4q/4kv x 32 f16: prefill True True decode True True True True compiled 1
# CHECK-NEXT: cache lengths: 13 14 15
print("attention layers")
for label, (heads, kv_heads, head_dim) in [("GQA", (8, 2, 16)),
                                            ("MHA", (4, 4, 32))]:
    for dtype in [torch.float32, torch.bfloat16, torch.float16]:
        args = (64, heads, kv_heads, head_dim)
        reference = Attention(*args, dtype=dtype)
        layer = TesseraAttention(*args, dtype=dtype,
                                 compiler_options={"threads": 2})
        layer.load_state_dict(reference.state_dict())
        x = torch.randn(2, 13, 64).to(dtype)
        with torch.inference_mode():
            expected, reference_cache = reference(x)
            got, cache = layer(x)
            # The kernel alone, on the layer's queries and keys.
            q = torch.randn(2, heads, 13, head_dim).to(dtype)
            prefill = [close(reference.attend(q, *cache),
                             layer.attend(q, *cache), dtype),
                       close(expected, got, dtype)]
            decode = []
            lengths = [cache[0].shape[2]]
            for _ in range(2):
                x = torch.randn(2, 1, 64).to(dtype)
                expected, reference_cache = reference(x, reference_cache)
                got, cache = layer(x, cache)
                q = torch.randn(2, heads, 1, head_dim).to(dtype)
                decode += [close(reference.attend(q, *cache),
                                 layer.attend(q, *cache), dtype),
                           close(expected, got, dtype)]
                lengths.append(cache[0].shape[2])
        print("%s %dq/%dkv x %d %s: prefill %s %s decode %s compiled %d" % (
            label, heads, kv_heads, head_dim, NAMES[dtype], *prefill,
            " ".join(str(r) for r in decode), layer.kernel.compilations))
print("cache lengths:", *lengths)

# CHECK-LABEL: failures
# CHECK-NEXT: RuntimeError: Tessera layers are inference-only: their kernels have no backward. Run them under torch.inference_mode() or torch.no_grad(), or train with the plain PyTorch layer (same state_dict).
# CHECK-NEXT: TypeError: Tessera layers take float32, bfloat16 or float16 tensors, got torch.float64
# CHECK-NEXT: ValueError: Tessera's CPU kernels take CPU tensors, got a tensor on 'meta'
# CHECK-NEXT: ValueError: argument #0 (tensor<?x64xf32>): got size 32 where the type has 64
print("failures")
layer = TesseraMoE(64, 32, 8, 2)
y = layer(torch.randn(4, 64))  # parameters require grad: a graph is built
try:
    y.sum().backward()
except RuntimeError as error:
    print("RuntimeError:", error)
for call in [lambda: layer.double()(torch.randn(4, 64).double()),
             lambda: layer.float()(torch.randn(4, 64, device="meta")),
             lambda: layer.kernel(torch.float32, torch.randn(4, 32),
                                  layer.gate, layer.w_up, layer.w_down)]:
    try:
        call()
    except (TypeError, ValueError) as error:
        print("%s: %s" % (type(error).__name__, error))

# The demo exits 1 when a difference exceeds its dtype's tolerance.
# DEMO: Qwen3-30B-A3B at 1/16 width, f32
# DEMO-NEXT: MoE layer (T=24, d=128, E=128, k=8, f=48) torch {{.*}} ms tessera {{.*}} ms {{.*}} ok
# DEMO-NEXT: attention prefill (S=24, 32q/4kv x 128, causal) torch {{.*}} ok
# DEMO-NEXT: attention decode (1 query, 24 keys) torch {{.*}} ok
# DEMO-NEXT: attention layer, one decode step with cache torch {{.*}} ok
