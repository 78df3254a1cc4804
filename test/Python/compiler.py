# RUN: %tessera_python %s 2>&1 | FileCheck %s
#
# The tessera package as a numpy user meets it: a JIT-compiled attention
# checked against numpy, f16 and bf16 arguments from float32 arrays, errors
# as exceptions with the compiler's diagnostics, an object file as bytes, the
# IR after each pass and a textual pipeline.

import numpy as np

import tessera

ATTENTION = """
func.func @attn(%q: tensor<1x4x5x8xf32>, %k: tensor<1x2x9x8xf32>,
                %v: tensor<1x2x9x8xf32>)
    -> (tensor<1x4x5x8xf32>, tensor<1x4x5xf32>) {
  %o, %lse = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x4x5x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>)
      -> (tensor<1x4x5x8xf32>, tensor<1x4x5xf32>)
  return %o, %lse : tensor<1x4x5x8xf32>, tensor<1x4x5xf32>
}
"""


def reference_attention(q, k, v):
    """Softmax(q kT / sqrt(D)) v, GQA, causal aligned bottom-right; and lse."""
    b, hq, sq, d = q.shape
    hkv, skv = k.shape[1], k.shape[2]
    k = np.repeat(k.astype(np.float64), hq // hkv, axis=1)
    v = np.repeat(v.astype(np.float64), hq // hkv, axis=1)
    s = np.einsum("bhid,bhjd->bhij", q.astype(np.float64), k) / np.sqrt(d)
    i = np.arange(sq)[:, None]
    j = np.arange(skv)[None, :]
    s = np.where(j <= i + (skv - sq), s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    p = np.exp(s - m)
    lse = (m + np.log(p.sum(axis=-1, keepdims=True)))[..., 0]
    return np.einsum("bhij,bhjd->bhid", p / p.sum(-1, keepdims=True), v), lse


rng = np.random.default_rng(0)
q = rng.uniform(-1, 1, (1, 4, 5, 8)).astype(np.float32)
k = rng.uniform(-1, 1, (1, 2, 9, 8)).astype(np.float32)
v = rng.uniform(-1, 1, (1, 2, 9, 8)).astype(np.float32)
expected_o, expected_lse = reference_attention(q, k, v)

# CHECK-LABEL: f32 attention
# CHECK-NEXT: arguments: [('f32', (1, 4, 5, 8)), ('f32', (1, 2, 9, 8)), ('f32', (1, 2, 9, 8))]
# CHECK-NEXT: results: float32 (1, 4, 5, 8), float32 (1, 4, 5)
# CHECK-NEXT: within 1e-5 of numpy: True True
print("f32 attention")
compiler = tessera.Compiler(
    threads=1, tile_sizes={"attention-q-block": 2, "attention-kv-block": 4})
attn = compiler.load_source(ATTENTION, "attn")
print("arguments:", attn.arguments)
o, lse = attn(q, k, v)
print("results: %s %s, %s %s" % (o.dtype, o.shape, lse.dtype, lse.shape))
print("within 1e-5 of numpy:", bool(np.abs(o - expected_o).max() < 1e-5),
      bool(np.abs(lse - expected_lse).max() < 1e-5))

# CHECK-LABEL: f16 and bf16 attention
# CHECK-NEXT: f16: float16, within 0.01: True
# CHECK-NEXT: bf16: float32, within 0.04: True
# CHECK-NEXT: bf16 bits as uint16: equal: True
print("f16 and bf16 attention")
for dtype, tolerance in [("f16", 1e-2), ("bf16", 4e-2)]:
    # q, k, v and o in `dtype`; lse stays f32.
    source = ATTENTION.replace("x8xf32>", "x8x%s>" % dtype)
    function = compiler.load_source(source, "attn")
    o, _ = function(q, k, v)  # float32 arrays, rounded by the binding
    print("%s: %s, within %g: %s" % (dtype, o.dtype, tolerance,
                                    bool(np.abs(o - expected_o).max() < tolerance)))
# bf16 passed as its bits: the same result as float32 rounded to bf16.
bits = [(x.view(np.uint32) + 0x7FFF + ((x.view(np.uint32) >> 16) & 1)) >> 16
        for x in (q, k, v)]
o_bits, _ = function(*[b.astype(np.uint16) for b in bits])
print("bf16 bits as uint16: equal:", bool(np.array_equal(o_bits, o)))

# CHECK-LABEL: errors
# CHECK-NEXT: CompilerError: bad.mlir:2:3: custom op 'tessera.nope' is unknown
# CHECK-NEXT: diagnostics: error bad.mlir:2:3
# CHECK-NEXT: ValueError: argument #1 (tensor<1x2x9x8xf32>): got size 8 where the type has 9
# CHECK-NEXT: TypeError: argument #0 (f32): got dtype int32
# CHECK-NEXT: TypeError: the function takes 3 arguments, got 2
# CHECK-NEXT: dynamic, matching sizes: within 1e-5 of numpy: True
# CHECK-NEXT: ValueError: function 'attn' cannot run on arguments of shapes [1, 4, 5, 8], [1, 2, 9, 8], [1, 2, 7, 8]: 'tessera.attention' op at -:5:14: 'v' dimension 2 (Skv) must equal 'k' dimension 2 (Skv)
# CHECK-NEXT: CompilerError: the thread count is given twice: in the compiler options and as the pipeline option 'threads'
# CHECK-NEXT: ValueError: unknown target 'tpu' (expected cpu, nvptx or amdgpu)
print("errors")
try:
    compiler.parse("func.func @f() {\n  tessera.nope\n  return\n}\n", "bad.mlir")
except tessera.CompilerError as error:
    print("CompilerError:", error)
    print("diagnostics:", error.diagnostics[0]["severity"],
          error.diagnostics[0]["location"])
for arguments in [(q, k[:, :, :8], v), (q.astype(np.int32), k, v), (q, k)]:
    try:
        attn(*arguments)
    except (ValueError, TypeError) as error:
        print("%s: %s" % (type(error).__name__, error))
# Dynamic sizes the op needs to agree are checked before the call.
dynamic = compiler.load_source(
    ATTENTION.replace("1x2x9x8", "?x2x?x8").replace("1x4x5x8", "?x4x?x8")
    .replace("1x4x5x", "?x4x?x"), "attn")
print("dynamic, matching sizes: within 1e-5 of numpy:",
      bool(np.abs(dynamic(q, k, v)[0] - expected_o).max() < 1e-5))
try:
    dynamic(q, k, v[:, :, :7])
except ValueError as error:
    print("%s: %s" % (type(error).__name__, error))
try:
    tessera.Compiler(threads=2, pipeline_options="threads=4")
except tessera.CompilerError as error:
    print("CompilerError:", error)
try:
    tessera.Compiler(target="tpu")
except ValueError as error:
    print("ValueError:", error)

# CHECK-LABEL: artifacts and stages
# CHECK-NEXT: object: True
# CHECK-NEXT: stages: True tessera-tile-attention: True
# CHECK-NEXT: last stage is the printed module: True
# CHECK-NEXT: after the pipeline: attention gone: True
print("artifacts and stages")
print("object:", compiler.compile_source(ATTENTION)[:4] == b"\x7fELF")
printer = tessera.Compiler(emit="mlir", threads=1)
printer.capture_stages = True
module = printer.parse(ATTENTION)
text = printer.compile(module.clone()).decode()
passes = [name for name, _ in printer.stages]
print("stages:", len(passes) > 5, "tessera-tile-attention:",
      "tessera-tile-attention" in passes)
print("last stage is the printed module:", printer.stages[-1][1] == text)
printer.capture_stages = False
printer.run_pipeline(module, "builtin.module(tessera-tile-attention)")
print("after the pipeline: attention gone:", "tessera.attention" not in str(module))

# CHECK-LABEL: determinism
# CHECK-NEXT: cpu: same bytes in one compiler: True, in a new one: True
# CHECK-NEXT: nvptx: same bytes in one compiler: True, in a new one: True
# CHECK-NEXT: amdgpu: same bytes in one compiler: True, in a new one: True
# One context compiling a module twice must not number or name anything
# differently the second time.
print("determinism")
for options in [dict(target="cpu", cpu="x86-64-v3", emit="obj"),
                dict(target="nvptx", chip="sm_90a", emit="ptx"),
                dict(target="amdgpu", chip="gfx942", emit="hsaco")]:
    first = tessera.Compiler(**options)
    once, twice = first.compile_source(ATTENTION), first.compile_source(ATTENTION)
    again = tessera.Compiler(**options).compile_source(ATTENTION)
    print("%s: same bytes in one compiler: %s, in a new one: %s" % (
        options["target"], once == twice and len(once) > 0, once == again))
