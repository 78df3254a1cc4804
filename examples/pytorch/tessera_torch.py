"""PyTorch layers whose forward runs a Tessera-compiled CPU kernel.

Two layers, each in two versions with the same parameters (and so the same
``state_dict``):

- ``MoE`` / ``TesseraMoE``: a mixture-of-experts layer with SwiGLU experts
  (Mixtral, Qwen-MoE, DeepSeek-style routing). ``TesseraMoE`` runs the whole
  layer -- router, top-k, dispatch, grouped expert GEMMs, combine and the
  shared expert -- as one ``tessera.moe`` op.
- ``Attention`` / ``TesseraAttention``: causal grouped-query self-attention
  with rotary embeddings and a KV cache (Llama, Qwen, Mixtral). The
  projections stay in PyTorch; ``TesseraAttention`` runs the attention itself
  as one ``tessera.attention`` op (flash-attention tiling, no score matrix).

The plain versions are the reference: written in ordinary PyTorch (1.13 has
no scaled_dot_product_attention), computed in float32.

A Tessera kernel is compiled on the first call, once per element type. Token,
batch and sequence dimensions are dynamic in the generated MLIR, so one
compiled function serves every batch, prompt length and decode step. Tensors
reach the kernel without a copy (bf16 as its bits); the layers are for
inference: calling backward through them raises an error rather than
returning a wrong gradient.

    layer = TesseraMoE(hidden_size=1024, intermediate_size=512,
                       num_experts=8, top_k=2)
    with torch.inference_mode():
        y = layer(x)             # x: [..., 1024], float32/bfloat16/float16
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import tessera

__all__ = ["MoE", "TesseraMoE", "Attention", "TesseraAttention"]

# The element types a Tessera kernel takes, by torch dtype.
_ELEMENT_TYPES = {torch.float32: "f32", torch.float16: "f16",
                  torch.bfloat16: "bf16"}


def _to_numpy(tensor):
    """A numpy view of a CPU tensor's data; bf16 as its uint16 bits."""
    tensor = tensor.detach()
    if tensor.device.type != "cpu":
        raise ValueError("Tessera's CPU kernels take CPU tensors, got a tensor "
                         "on '%s'" % tensor.device)
    tensor = tensor.contiguous()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(np.uint16)
    return tensor.numpy()


class _Kernel:
    """A generated MLIR function, compiled on first use per element type.

    ``source(element_type)`` returns the MLIR text of function ``entry`` for
    an element type ("f32", "bf16", "f16").
    """

    def __init__(self, source, entry, compiler_options):
        self._source = source
        self._entry = entry
        self._compiler_options = compiler_options
        self._compiler = None
        self._functions = {}
        self.compilations = 0

    def __call__(self, dtype, *tensors):
        element_type = _ELEMENT_TYPES.get(dtype)
        if element_type is None:
            raise TypeError("Tessera layers take float32, bfloat16 or float16 "
                            "tensors, got %s" % dtype)
        function = self._functions.get(element_type)
        if function is None:
            if self._compiler is None:
                self._compiler = tessera.Compiler(**self._compiler_options)
            function = self._compiler.load_source(
                self._source(element_type), self._entry)
            self._functions[element_type] = function
            self.compilations += 1
        results = function(*[_to_numpy(t) for t in tensors])
        if not isinstance(results, tuple):
            results = (results,)
        # bf16 results come back widened to float32.
        return tuple(torch.from_numpy(r).to(dtype) for r in results)


class _RunKernel(torch.autograd.Function):
    """Calls a kernel; forward only (the kernels have no backward)."""

    @staticmethod
    def forward(ctx, kernel, dtype, *tensors):
        results = kernel(dtype, *tensors)
        return results[0] if len(results) == 1 else results

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(
            "Tessera layers are inference-only: their kernels have no "
            "backward. Run them under torch.inference_mode() or "
            "torch.no_grad(), or train with the plain PyTorch layer (same "
            "state_dict).")


def _default_compiler_options(compiler_options):
    options = {"threads": torch.get_num_threads()}
    options.update(compiler_options or {})
    return options


#===----------------------------------------------------------------------===#
# Mixture of experts
#===----------------------------------------------------------------------===#


class MoE(nn.Module):
    """A mixture-of-experts layer with SwiGLU experts, in plain PyTorch.

    Parameters, in the layout of ``tessera.moe``:
      gate [E, d]          router: logits = x @ gate.T
      w_up [E, d, 2f]      each expert's gate and up projections (gate first)
      w_down [E, f, d]     each expert's down projection
      shared_up [d, 2fs], shared_down [fs, d]
                           an always-on shared expert (shared_intermediate_size)

    Routing: ``scoring`` "softmax" or "sigmoid" scores in float32, the
    ``top_k`` best experts per token, weights renormalized to sum 1 when
    ``normalize``. Each token's output is the routing-weighted sum of its
    experts' ``silu(x Wg) * (x Wu) @ Wd``, plus the shared expert.
    """

    def __init__(self, hidden_size, intermediate_size, num_experts, top_k, *,
                 scoring="softmax", normalize=False,
                 shared_intermediate_size=0, dtype=torch.float32):
        super().__init__()
        if scoring not in ("softmax", "sigmoid"):
            raise ValueError("scoring is 'softmax' or 'sigmoid', got %r"
                             % (scoring,))
        if not 0 < top_k <= num_experts:
            raise ValueError("top_k must be in [1, num_experts]")
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_experts = num_experts
        self.top_k = top_k
        self.scoring = scoring
        self.normalize = normalize
        self.shared_intermediate_size = shared_intermediate_size

        def parameter(*shape, fan_in):
            data = torch.randn(*shape) / math.sqrt(fan_in)
            return nn.Parameter(data.to(dtype))

        d, f, e = hidden_size, intermediate_size, num_experts
        self.gate = parameter(e, d, fan_in=d)
        self.w_up = parameter(e, d, 2 * f, fan_in=d)
        self.w_down = parameter(e, f, d, fan_in=f)
        if shared_intermediate_size:
            fs = shared_intermediate_size
            self.shared_up = parameter(d, 2 * fs, fan_in=d)
            self.shared_down = parameter(fs, d, fan_in=fs)

    def route(self, x):
        """Routing weights [T, top_k] (float32) and expert ids [T, top_k]."""
        logits = x.float() @ self.gate.float().t()
        scores = (logits.softmax(-1) if self.scoring == "softmax"
                  else logits.sigmoid())
        weights, ids = torch.topk(scores, self.top_k, dim=-1)
        if self.normalize:
            weights = weights / weights.sum(-1, keepdim=True)
        return weights, ids

    @staticmethod
    def _swiglu(x, w_up, w_down):
        h = x @ w_up.float()
        f = w_down.shape[0]
        return (F.silu(h[:, :f]) * h[:, f:]) @ w_down.float()

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, self.hidden_size)
        weights, ids = self.route(x)
        x32 = x.float()
        out = torch.zeros_like(x32)
        for expert in range(self.num_experts):
            token, slot = torch.nonzero(ids == expert, as_tuple=True)
            if token.numel() == 0:
                continue
            y = self._swiglu(x32[token], self.w_up[expert], self.w_down[expert])
            out.index_add_(0, token, y * weights[token, slot, None])
        if self.shared_intermediate_size:
            out += self._swiglu(x32, self.shared_up, self.shared_down)
        return out.to(x.dtype).reshape(shape)


class TesseraMoE(MoE):
    """``MoE`` whose forward is one Tessera-compiled ``tessera.moe`` kernel.

    ``compiler_options`` go to ``tessera.Compiler`` (default: ``threads`` =
    ``torch.get_num_threads()``, the host CPU).
    """

    def __init__(self, *args, compiler_options=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kernel = _Kernel(self.mlir_source, "moe",
                              _default_compiler_options(compiler_options))

    def mlir_source(self, element_type):
        """The kernel's MLIR for ``element_type``, with the token count dynamic."""
        d, f, e = self.hidden_size, self.intermediate_size, self.num_experts
        t = element_type
        types = ["tensor<?x%dx%s>" % (d, t), "tensor<%dx%dx%s>" % (e, d, t),
                 "tensor<%dx%dx%dx%s>" % (e, d, 2 * f, t),
                 "tensor<%dx%dx%dx%s>" % (e, f, d, t)]
        shared = ""
        if self.shared_intermediate_size:
            fs = self.shared_intermediate_size
            types += ["tensor<%dx%dx%s>" % (d, 2 * fs, t),
                      "tensor<%dx%dx%s>" % (fs, d, t)]
            shared = " shared %a4, %a5"
        arguments = ", ".join("%%a%d: %s" % (i, ty) for i, ty in enumerate(types))
        return """
func.func @moe({arguments}) -> {out} {{
  %y = tessera.moe %a0, %a1, %a2, %a3{shared}
      {{top_k = {top_k} : i64, scoring = #tessera.scoring<{scoring}>,
       normalize = {normalize}}}
      : ({types}) -> {out}
  return %y : {out}
}}
""".format(arguments=arguments, out=types[0], shared=shared, top_k=self.top_k,
           scoring=self.scoring, normalize=str(self.normalize).lower(),
           types=", ".join(types))

    def forward(self, x):
        shape = x.shape
        tensors = [x.reshape(-1, self.hidden_size), self.gate, self.w_up,
                   self.w_down]
        if self.shared_intermediate_size:
            tensors += [self.shared_up, self.shared_down]
        # The kernel takes one element type: the parameters' (x is converted).
        dtype = self.gate.dtype
        tensors[0] = tensors[0].to(dtype)
        y = _RunKernel.apply(self.kernel, dtype, *tensors)
        return y.to(x.dtype).reshape(shape)


#===----------------------------------------------------------------------===#
# Attention
#===----------------------------------------------------------------------===#


def _linear(x, layer):
    """``layer(x)`` computed in float32 (PyTorch 1.13 has no f16 GEMM on CPU)."""
    return F.linear(x.float(), layer.weight.float()).to(x.dtype)


class Attention(nn.Module):
    """Causal grouped-query self-attention with RoPE, in plain PyTorch.

    ``forward(x, past=None)`` takes ``x`` [B, S, hidden] and optionally the
    ``past`` keys and values ([B, Hkv, P, D] each, after RoPE) of earlier
    positions, and returns the output [B, S, hidden] and the keys and values
    of all P + S positions (the cache for the next step). Query i attends to
    the keys at positions <= P + i.
    """

    def __init__(self, hidden_size, num_heads, num_kv_heads, head_dim=None, *,
                 rope_theta=10000.0, dtype=torch.float32):
        super().__init__()
        if num_heads % num_kv_heads:
            raise ValueError("num_heads must be a multiple of num_kv_heads")
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads
        self.head_dim = head_dim or hidden_size // num_heads
        self.rope_theta = rope_theta
        d = self.head_dim
        linear = lambda i, o: nn.Linear(i, o, bias=False, dtype=dtype)
        self.q_proj = linear(hidden_size, num_heads * d)
        self.k_proj = linear(hidden_size, num_kv_heads * d)
        self.v_proj = linear(hidden_size, num_kv_heads * d)
        self.o_proj = linear(num_heads * d, hidden_size)

    def _rope(self, x, start):
        """Rotary embedding (rotate-half form) for positions start...."""
        d = self.head_dim
        inverse = self.rope_theta ** (-torch.arange(0, d, 2).float() / d)
        positions = torch.arange(start, start + x.shape[2]).float()
        angles = torch.outer(positions, inverse)
        cos = torch.cat([angles.cos()] * 2, -1)
        sin = torch.cat([angles.sin()] * 2, -1)
        x1, x2 = x.float().chunk(2, -1)
        rotated = torch.cat([-x2, x1], -1)
        return (x.float() * cos + rotated * sin).to(x.dtype)

    def forward(self, x, past=None):
        b, s, _ = x.shape
        heads = lambda t, h: t.view(b, s, h, self.head_dim).transpose(1, 2)
        start = 0 if past is None else past[0].shape[2]
        q = self._rope(heads(_linear(x, self.q_proj), self.num_heads), start)
        k = self._rope(heads(_linear(x, self.k_proj), self.num_kv_heads), start)
        v = heads(_linear(x, self.v_proj), self.num_kv_heads)
        if past is not None:
            k = torch.cat([past[0], k], 2)
            v = torch.cat([past[1], v], 2)
        # Dense [B, H, S, D]: the layout the kernel reads, and the cache's, so
        # that decode steps do not copy it again.
        q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
        o = self.attend(q, k, v)
        o = o.transpose(1, 2).reshape(b, s, self.num_heads * self.head_dim)
        return _linear(o, self.o_proj), (k, v)

    def attend(self, q, k, v):
        """softmax(q kT / sqrt(D)) v over [B, H, S, D], causal, GQA."""
        group = self.num_heads // self.num_kv_heads
        k = k.float().repeat_interleave(group, 1)
        v = v.float().repeat_interleave(group, 1)
        scores = q.float() @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        sq, skv = q.shape[2], k.shape[2]
        allowed = (torch.arange(skv)[None, :]
                   <= torch.arange(sq)[:, None] + (skv - sq))
        scores = scores.masked_fill(~allowed, float("-inf"))
        return (scores.softmax(-1) @ v).to(q.dtype)


class TesseraAttention(Attention):
    """``Attention`` whose attention is a Tessera-compiled kernel.

    Batch, query and key lengths are dynamic in the kernel: prefill and every
    decode step use the same compiled function.
    """

    def __init__(self, *args, compiler_options=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kernel = _Kernel(self.mlir_source, "attention",
                              _default_compiler_options(compiler_options))

    def mlir_source(self, element_type):
        """The kernel's MLIR for ``element_type``."""
        q = "tensor<?x%dx?x%dx%s>" % (self.num_heads, self.head_dim, element_type)
        kv = "tensor<?x%dx?x%dx%s>" % (self.num_kv_heads, self.head_dim,
                                       element_type)
        return """
func.func @attention(%q: {q}, %k: {kv}, %v: {kv}) -> {q} {{
  %o = tessera.attention %q, %k, %v {{causal = true}}
      : ({q}, {kv}, {kv}) -> {q}
  return %o : {q}
}}
""".format(q=q, kv=kv)

    def attend(self, q, k, v):
        return _RunKernel.apply(self.kernel, q.dtype, q, k, v)
