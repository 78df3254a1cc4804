//===- Passes.td - Tessera transformation passes -----------*- tablegen -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_TRANSFORMS_PASSES_TD
#define TESSERA_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertTesseraToLinalg : Pass<"convert-tessera-to-linalg"> {
  let summary = "Reference lowering of every tessera op to linalg";
  let description = [{
    Lowers every `tessera` op to `linalg`, `tensor`, `scf`, `arith` and
    `math` on tensors, without tiling or fusion. `tessera.moe` is first
    decomposed as by `tessera-decompose-moe`. The result is simple and
    obviously right; it is the oracle every optimized path is tested against
    (`tessera-run --check`).

    Attention materializes the `[B, Hq, Sq, Skv]` score tensor in f32, masks
    it (causal, window, kv_lens) with `-inf`, applies a max-subtracted
    softmax and multiplies by `v`; GQA is an index map (`h floordiv (Hq/Hkv)`).
    Routing ranks every expert against every other (`O(E^2)` per token),
    dispatch and combine are sequential scatter loops (`scf.for`) and the
    grouped matmul runs one `linalg.matmul` per expert segment.

    Example:

    ```mlir
    %0 = tessera.combine %y, %perm, %w
        : (tensor<8x4xf32>, tensor<8xi32>, tensor<4x2xf32>) -> tensor<4x4xf32>
    ```
    becomes an `scf.for` computing the inverse permutation followed by a
    `linalg.generic` that gathers and sums the `k` weighted rows per token.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def TesseraShapeChecks : Pass<"tessera-shape-checks", "::mlir::ModuleOp"> {
  let summary = "Check at run time the dynamic dimensions that verifiers "
                "could not";
  let description = [{
    A verifier decides every shape rule of a tessera op whose dimensions are
    static. With dynamic dimensions (`?`) a rule can only be checked when the
    function runs: an attention on `q : tensor<?x8x?x64xf32>` and
    `k : tensor<?x2x?x64xf32>` needs the same batch in both, and the lowered
    loops would read past the end of `k` if the caller passed a smaller one.

    For every public `func.func` `@f` whose tessera ops (in its entry block)
    have such rules, this pass adds a public function `@f_shape_check` with
    the arguments of `@f` and one `!llvm.ptr` result: null when every rule
    holds, else the first broken rule as a NUL-terminated string, e.g.
    `'tessera.attention' op at "att.mlir":4:8: 'k' dimension 0 (B) must
    equal 'q' dimension 0 (B)`. The check reads only the arguments' sizes;
    sizes of intermediate values are computed from them where the producing
    ops can say how (ReifyRankedShapedTypeOpInterface). `@f_shape_check` gets
    `llvm.emit_c_interface` when `@f` has it.

    Rules come from the op verifiers (`collectRuntimeShapeChecks`): equal
    symbols in the op's layout (`B`, `Skv`, ...), sizes derived from other
    sizes or attributes (`E+1`, `2f`, `top_k`), divisibility (`Hq` by `Hkv`),
    lower bounds (`E >= top_k`) and the dispatch row limit. Values inside
    the tensors (expert ids, offsets, `kv_lens`) are not checked.

    `tessera-cpu-pipeline` runs this pass first; `tessera-run`, the C++, C
    and Python APIs call the check before the entry and report its message
    as an error. Code that calls the object file of `tessera-compile`
    directly should do the same (docs/ABI.md).

    A function that already has a symbol `@f_shape_check` is an error; a
    rule whose sizes cannot be computed from the arguments is dropped with a
    warning.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def TesseraDecomposeMoE : Pass<"tessera-decompose-moe"> {
  let summary = "Decompose tessera.moe into route, dispatch, grouped_matmul "
                "and combine";
  let description = [{
    Rewrites every `tessera.moe` into:

    1. `logits = x · gate_wᵀ` (a `linalg.matmul` in f32),
    2. `tessera.route` with the layer's routing attributes,
    3. `tessera.dispatch` with the layer's `block`,
    4. `tessera.grouped_matmul` with `w_up` and the `swiglu` epilogue,
    5. `tessera.grouped_matmul` with `w_down`,
    6. `tessera.combine` with the routing weights,
    7. when shared experts are given, a dense SwiGLU FFN on `x` (two
       `linalg.matmul`s and a `linalg.generic`) added to the result.

    Example:

    ```mlir
    %y = tessera.moe %x, %gate, %up, %down {top_k = 2 : i64}
        : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8x32xf32>,
           tensor<4x16x8xf32>) -> tensor<4x8xf32>
    ```
    becomes `linalg.matmul`, `tessera.route`, `tessera.dispatch`, two
    `tessera.grouped_matmul`s and `tessera.combine`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def TesseraTileAttention : Pass<"tessera-tile-attention"> {
  let summary = "Flash-attention tiling of attention and latent_attention";
  let description = [{
    Rewrites `tessera.attention` (and `tessera.latent_attention`, through its
    single shared KV head) into the flash-attention form on tensors:
    parallel over (batch, query head, query block) with `scf.forall`, a
    sequential `scf.for` over KV blocks carrying an online softmax (running
    max and sum, `exp2` with `log2(e)` folded into the scale), so that no
    `Sq x Skv` score matrix is materialized. KV blocks that lie entirely
    outside the causal/window band or past `kv_lens[b]` are skipped by the
    loop bounds; only blocks that cross a boundary are masked. GQA reads KV
    head `h / (Hq / Hkv)` by index, never by copy. Decode (a static single
    query row) with several query heads per KV head and no bias is tiled
    over (batch, KV head, head block) instead: the rows of a tile are up to
    `q-block` query heads of one KV head (GQA, MQA, latent attention's 128
    heads), so each K/V block is read and converted once for all of them.
    Tiles of at most 8 static rows (decode's query heads of a KV head) take
    their scores as dot products along D with the K rows as stored (a
    `linalg.generic` reducing the last dimension of both inputs, which
    `tessera-vectorize` turns into dot-product blocks); taller tiles
    transpose each K block once and share it.

    Example:

    ```mlir
    %o = tessera.attention %q, %k, %v {causal = true}
        : (tensor<1x8x128x64xf32>, tensor<1x2x128x64xf32>,
           tensor<1x2x128x64xf32>) -> tensor<1x8x128x64xf32>
    ```
    becomes an `scf.forall` over (1, 8, 128 / q-block) whose body loops over
    the KV blocks up to the diagonal. Blocks need not divide the sequence
    lengths: the last tiles have dynamic sizes. Both options must be
    positive.
  }];
  let options = [
    Option<"queryBlock", "q-block", "int64_t", /*default=*/"64",
           "Rows of Q processed together (the query block)">,
    Option<"kvBlock", "kv-block", "int64_t", /*default=*/"64",
           "Keys processed per step of the online softmax (the KV block)">,
    Option<"prefetch", "prefetch", "bool", /*default=*/"false",
           "In tiles whose scores are dot products (decode), prefetch the "
           "V rows of each block and the K rows of the next one into L2 at "
           "the start of each step (memref.prefetch of a read-only "
           "bufferization.to_buffer of K and V)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def TesseraFuseRoute : Pass<"tessera-fuse-route"> {
  let summary = "Route each token in one fused pass over its logits";
  let description = [{
    Rewrites `tessera.route` into an `scf.forall` over tokens whose body
    makes one pass over the token's logits per stage, with no `[T, E]`
    intermediate and no sort: the softmax maximum and sum (softmax
    scoring), the two best selection scores of each group and the kept
    groups (group-limited routing), then a single sweep over the experts
    that inserts each into `top_k` slots kept in descending order (a
    candidate displaces a slot it beats: greater selection score, or equal
    and lower index), and finally the weights of the chosen experts,
    normalized and scaled. The arithmetic is the reference lowering's, op
    for op, so the ids are identical and the weights equal.

    Example:

    ```mlir
    %w, %ids = tessera.route %logits {top_k = 4 : i64}
        : (tensor<1024x60xf32>) -> (tensor<1024x4xf32>, tensor<1024x4xi32>)
    ```
    becomes a forall over the 1024 tokens, each reading its 60 logits three
    times (max, sum of exponentials, selection) instead of the reference's
    O(E^2) ranking.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def TesseraFuseMoE : Pass<"tessera-fuse-moe"> {
  let summary = "Fold the dispatch copy and the routing weights into the "
                "expert GEMMs";
  let description = [{
    Fuses the steps around the expert GEMMs of a decomposed MoE layer
    (`tessera-decompose-moe` output) into `tessera.grouped_matmul`:

    - **Gathered rows** (`gather-rows`): a grouped GEMM whose rows are the
      `rows` result of a `tessera.dispatch` reads them from the dispatch's
      `x` through a `gather` index instead, `index[r] = perm[r] / k` (`-1`
      for padding rows, which read zeros). The dispatched `[M, d]` copy of
      the tokens is then never written: `tessera-tile-grouped-matmul` copies
      one expert's rows at a time into a buffer that stays in cache, and the
      dispatch's copy, left without users, is erased as dead code.
    - **Routing weights in the epilogue** (`scale-rows`): a grouped GEMM
      whose only user is a `tessera.combine` gets the combine's routing
      weights as a per-row `scale` (`s[r] = weights[perm[r]]`, 0 for padding
      rows), applied in f32 after its epilogue and before the rounding; the
      combine becomes `prescaled` (an unweighted scatter-add).

    The SwiGLU activation is fused by construction: `tessera-decompose-moe`
    emits it as the `swiglu` epilogue of the up-projection GEMM, which
    `tessera-tile-grouped-matmul` applies to each block in registers.

    The results are those of the unfused ops up to rounding: with f16/bf16
    outputs the fused GEMM rounds `w * h` where the unfused path rounds `h`.

    Example (`k = 2`):

    ```mlir
    %rows, %off, %perm = tessera.dispatch %x, %ids {num_experts = 4 : i64}
    %h = tessera.grouped_matmul %rows, %up, %off {epilogue = ...<swiglu>}
    %y = tessera.grouped_matmul %h, %down, %off
    %out = tessera.combine %y, %perm, %w
    ```
    becomes
    ```mlir
    %index = linalg.generic ... // perm[r] >= 0 ? perm[r] / 2 : -1
    %scale = linalg.generic ... // perm[r] valid ? w[perm[r] / 2, perm[r] % 2] : 0
    %h = tessera.grouped_matmul %x, %up, %off gather %index {epilogue = ...}
    %y = tessera.grouped_matmul %h, %down, %off scale %scale
    %out = tessera.combine %y, %perm, %w {prescaled}
    ```
  }];
  let options = [
    Option<"gatherRows", "gather-rows", "bool", /*default=*/"true",
           "Read the dispatched rows of a grouped GEMM from the tokens "
           "through a gather index">,
    Option<"scaleRows", "scale-rows", "bool", /*default=*/"true",
           "Move the routing-weight scaling of a combine into the grouped "
           "GEMM that feeds it">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def TesseraTileGroupedMatmul : Pass<"tessera-tile-grouped-matmul"> {
  let summary = "Cache-blocked tiling of the expert GEMMs";
  let description = [{
    Rewrites `tessera.grouped_matmul` into cache-blocked loops on tensors:
    a sequential `scf.for` over the experts, an `scf.forall` over blocks of
    `column-block` output columns of the expert's row segment, and inside
    it an `scf.for` over blocks of `k-block` rows of the weights that
    accumulates `linalg.matmul` products of the segment's columns and the
    weight block in f32. The epilogue (SwiGLU, with the gate and up blocks
    accumulated side by side, the row `scale` when the op has one, and the
    rounding to the output type) runs on each block. With a `gather` index
    each expert's rows are gathered once, in f32, into a buffer that its
    column blocks share. Every weight is read once per call and each weight block
    is reused by all the rows of its expert; `tessera-vectorize` turns the
    block matmuls into register-blocked micro-kernels.

    Example:

    ```mlir
    %h = tessera.grouped_matmul %rows, %w, %offsets
        {epilogue = #tessera.epilogue<swiglu>}
        : (tensor<4096x2048xf32>, tensor<60x2048x2816xf32>, tensor<61xi32>)
        -> tensor<4096x1408xf32>
    ```
    becomes a loop over the 60 experts, each a forall over 1408 / 64 column
    blocks whose body loops over 2048 / 256 blocks of K. Blocks need not
    divide the sizes; the last ones have dynamic sizes. The rows of a
    segment are multiplied in a multiple of `row-block` rows, then in
    blocks of `row-block`/2, /4, ..., 1 rows under `scf.if`s, so that the
    register tiling sees static row counts everywhere. Rows outside every
    segment are 0 and experts are applied in order, as in the reference
    lowering. The options must be positive, `row-block` a power of two.

    With `prefetch` (for AVX-512 targets; `tessera-cpu-pipeline` sets it
    where vectors have 16 lanes), blocks whose width is a static multiple
    of 32 columns skip `linalg.matmul` and multiply in explicit register
    blocks of `row-block` rows x 32 columns (2 x `row-block` accumulators of
    16 f32 lanes, `vector.fma` on a broadcast row element and two vectors
    of the packed weights per step of K). The K loop of each full row block
    runs in chunks, each after a `memref.prefetch` of one row of the next
    weight block (the block that the next step of the K loop packs), so
    that the full row blocks of a segment together request every row of
    it, spread evenly over their K steps. The weights of an expert are read
    from memory once, each row of a block a page or more from the next:
    without the prefetches packing a block waits on memory; with them the
    reads overlap the FMAs. Prefetches issued a block (or a row block) at a
    time, or one line every K step, stall on the page walks and lose more
    than they save. The remainder row blocks (4, 2, 1 rows) do not prefetch.
    The bf16 dot-product blocks (`bf16-dot`) prefetch the next weight block
    the same way; their K loops step over pairs of K, so each of their
    chunks prefetches two rows.
  }];
  let options = [
    Option<"columnBlock", "column-block", "int64_t", /*default=*/"64",
           "Output columns computed by one parallel task">,
    Option<"kBlock", "k-block", "int64_t", /*default=*/"256",
           "Rows of a weight block (the reduction step kept in cache)">,
    Option<"rowBlock", "row-block", "int64_t", /*default=*/"8",
           "Register block rows of the micro-kernel (a power of two): the "
           "last rows of a segment run in blocks of half, a quarter, ...">,
    Option<"bf16Dot", "bf16-dot", "bool", /*default=*/"false",
           "bf16 rows and weights: multiply pairs of K with AVX512-BF16 "
           "dot products (x86vector.avx512.dot, vdpbf16ps) instead of "
           "widening to f32; needs a CPU with avx512_bf16">,
    Option<"prefetch", "prefetch", "bool", /*default=*/"false",
           "f32 products in explicit 16-lane register blocks whose K loops "
           "prefetch the next weight block, a row at a time, and the same "
           "prefetches in the bf16 dot-product blocks (for AVX-512 "
           "targets; see the description)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
    "::mlir::x86vector::X86VectorDialect",
  ];
}

def TesseraVectorize : Pass<"tessera-vectorize", "::mlir::func::FuncOp"> {
  let summary = "Tile linalg ops to register blocks and vectorize them";
  let description = [{
    Vectorizes the linalg ops on tensors that the tessera lowerings produce,
    for a CPU with `vector-width` f32 lanes:

    - contractions (matmul-like ops, found with `inferContractionDims`) are
      tiled to `register-rows` x (`register-vectors` * `vector-width`) output
      blocks with a reduction step of 1 and vectorized to `vector.contract`;
      `loop-invariant-subset-hoisting` then keeps the accumulator block in
      registers across the reduction loop;
      an output with fewer static rows than `register-rows` gets blocks
      as wide as its rows (up to the same number of accumulators), so that
      the other operand's rows are read whole and in order;
    - dot products along the last dimension of both inputs (`C[i, j] +=
      A[i, d] * B[j, d]`, inputs possibly widened with `arith.extf`, the
      reduction a static multiple of `vector-width`) are blocked as all
      the op's rows when they are static and at most `vector-width` (else
      one) and as many columns as fill the lanes (4 x 4 with 16 lanes, 1 x
      16 for one row): one accumulator vector per (row, column), each row
      chunk of B loaded once and used by every row, then a tree of
      `vector.shuffle`s and adds that transposes while it sums (log2(width)
      levels, about 3 instructions per dot product) instead of transposing
      B;
    - other ops (elementwise maps, row reductions, fills) are tiled to
      `vector-width` along their innermost loop and 1 elsewhere.

    Loops are tiled one at a time from the outermost, and each tile loop is
    peeled: full tiles get static shapes; the ragged remainder (dynamic or
    non-multiple extent) is split into tiles of extent 1 along that loop,
    so that the last rows of a contraction become single-row blocks (each
    with the whole reduction loop inside) and every tile of a vectorizable
    op gets a static shape and is vectorized. Ops the vectorizer does not
    support (bodies with `tensor.extract` or regions, non-permutation
    indexing maps) are left for the scalar loop lowering. Contractions with
    mixed input element types use the generic vector form (broadcast,
    multiply, `vector.multi_reduction`). The result computes the same
    values as the input up to the order of floating-point additions.

    Example: a `linalg.matmul` on `tensor<64x128xf32>` and
    `tensor<128x64xf32>` becomes two loops over 8x32 output blocks around a
    loop over the 128 reduction steps, each a `vector.contract` of
    `vector<8x1xf32>` and `vector<1x32xf32>` into `vector<8x32xf32>`.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes of a vector register (16 for AVX-512, 8 for AVX2)">,
    Option<"registerRows", "register-rows", "int64_t", /*default=*/"8",
           "Rows of a contraction's output block held in registers">,
    Option<"registerVectors", "register-vectors", "int64_t", /*default=*/"2",
           "Vector registers per row of a contraction's output block">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def TesseraApproximateMath : Pass<"tessera-approximate-math",
                                  "::mlir::func::FuncOp"> {
  let summary = "Vector polynomial approximations of exp, exp2, log and tanh";
  let description = [{
    Replaces `math.exp`, `math.exp2`, `math.log`, `math.log2` and
    `math.tanh` on f32 vectors with MLIR's polynomial approximations (a few
    ulp), so that vectorized softmax and SwiGLU code stays in vector
    registers instead of becoming one libm call per lane. Scalar math (the
    reference lowering, ragged remainders) keeps the libm calls.

    Example: `math.exp2 %x : vector<1x16xf32>` becomes a range reduction,
    a polynomial and an exponent insertion on `vector<1x16xf32>`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def TesseraRelaxVectorReductions : Pass<"tessera-relax-vector-reductions",
                                        "::mlir::func::FuncOp"> {
  let summary = "Let max/min-num vector reductions ignore NaN ordering";
  let description = [{
    Adds `fastmath<nnan>` to `vector.reduction <maxnumf>` and `<minnumf>`.
    Without it LLVM must keep maxnum's NaN semantics and expands each
    horizontal reduction into a scalar compare-and-select chain; with it the
    reduction becomes a tree of `vmaxps`. Tessera emits these reductions for
    softmax row maxima, whose inputs are never NaN for finite inputs.

    Example: `vector.reduction <maxnumf>, %v : vector<16xf32> into f32`
    becomes `vector.reduction <maxnumf>, %v fastmath<nnan> : ...`.
  }];
  let dependentDialects = ["::mlir::vector::VectorDialect"];
}

def TesseraHoistLoopBuffers : Pass<"tessera-hoist-loop-buffers",
                                   "::mlir::func::FuncOp"> {
  let summary = "Allocate the temporaries of sequential loops once per loop";
  let description = [{
    Runs on buffers (after bufferization, before deallocation is placed).
    Moves a `memref.alloc` out of the enclosing `scf.for` loops when its
    sizes are defined outside the loop and no view of the buffer leaves an
    iteration (none is yielded, none comes from outside the body): every
    iteration then reuses one buffer. The walk stops at any other op, in
    particular at `scf.forall` and `scf.parallel`, whose iterations run
    concurrently and need their own buffers (upstream's
    `buffer-loop-hoisting` would hoist out of those too). Tiled attention's
    KV loop allocates its score and probability tiles once per query tile
    instead of once per KV block.

    Example: in `scf.for %i ... { %t = memref.alloc() : memref<4x64xf32> ...
    }` whose body only writes and reads `%t`, the alloc moves in front of
    the loop; a buffer that is yielded as the next iteration's state stays.
  }];
  let dependentDialects = [
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def TesseraParallelScatter : Pass<"tessera-parallel-scatter"> {
  let summary = "Dispatch and combine without sequential scatter loops";
  let description = [{
    The reference lowering scatters `tessera.dispatch`'s (token, slot)
    pairs to their rows and inverts `tessera.combine`'s `perm` with
    sequential `scf.for` loops, which a GPU runs on one thread. This pass
    rewrites both ops (static shapes) into parallel steps with the same
    results:

    - dispatch: the `P = T * k` pairs, in (token, slot) order, are cut into
      chunks of `chunk` pairs. Per chunk and expert the pairs are counted,
      the expert totals give the reference's padded offsets, and a chunk's
      first row for expert e is `offsets[e]` plus the pairs of e in the
      chunks before it. A pair's row adds the pairs of its expert before it
      in its chunk, which keeps (token, slot) order inside every segment.
      All of these are `linalg.generic` ops; only the final store of every
      pair's index at its row is an `scf.parallel` (the rows are distinct).
    - combine: `inv[perm[r]] = r` for every row with a valid pair is an
      `scf.parallel` of `memref.atomic_rmw maxs`: with rows naming the same
      pair, the last one wins, as in the reference.

    Work: `P * E` comparisons for the counts, `P * chunk` for the ranks,
    `(P / chunk)^2 * E` additions for the chunk bases; the default chunk is
    the power of two at or above `sqrt(P)` (at least 16). The GPU pipelines
    run this pass; dynamic shapes are left to the reference lowering.

    Example:

    ```mlir
    %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 4 : i64}
        : (tensor<8x16xf32>, tensor<8x2xi32>)
        -> (tensor<16x16xf32>, tensor<5xi32>, tensor<16xi32>)
    ```
    becomes generics over `(1, 4, 16)` (counts), `(1, 4, 1)` (chunk bases)
    and `(1, 16, 16)` (ranks) and an `scf.parallel` over `(1, 16)` that
    stores each pair's index into a `memref<16xi32>`.
  }];
  let options = [
    Option<"chunk", "chunk", "int64_t", /*default=*/"0",
           "Pairs per chunk of the dispatch ranking (0: the power of two at "
           "or above sqrt(T * k), at least 16)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def TesseraGatherGroupedMatmul : Pass<"tessera-gather-grouped-matmul"> {
  let summary = "Grouped GEMM as one parallel contraction that gathers "
                "each row's expert weights";
  let description = [{
    Rewrites `tessera.grouped_matmul` into two `linalg.generic` ops with
    static iteration spaces: `expert[r]`, the segment each row belongs to
    (the last expert whose clamped segment holds it, -1 for none), and
    `acc[r, n] = sum_k x[r, k] * w[expert[r], k, n]` (0 for rows in no
    segment), followed by the reference epilogue. The reference's loop over
    experts has segments of data-dependent size; this form has one
    independent (row, column) per GPU thread and no dynamic shapes. The f32
    products are summed in the reference's order, so results are equal.

    Example:

    ```mlir
    %y = tessera.grouped_matmul %rows, %w, %offsets
        : (tensor<256x64xf32>, tensor<8x64x32xf32>, tensor<9xi32>)
        -> tensor<256x32xf32>
    ```
    becomes a `linalg.generic` over `(256, 8)` computing each row's expert
    and one over `(256, 32, 64)` whose body reads
    `tensor.extract %w[%expert, %k, %n]`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def TesseraTensorCoreGroupedMatmul
    : Pass<"tessera-tensor-core-grouped-matmul", "::mlir::ModuleOp"> {
  let summary = "Grouped GEMMs of f16/bf16 operands as matrix-unit kernels "
                "(NVIDIA tensor cores, AMD MFMA)";
  let description = [{
    Replaces each `tessera.grouped_matmul` with f16 or bf16 operands, static
    shapes, K a multiple of 32 and N a multiple of 8 (16 with the SwiGLU
    epilogue), with or without row scales and a `gather` index, by a
    kernel in
    `gpu.module @tessera_kernels` and its
    `gpu.launch_func` between `bufferization.to_buffer` of the operands and
    a `bufferization.to_tensor` of the result, so the rest of the GPU
    pipeline bufferizes around it. Other grouped GEMMs, and every one when
    `chip` is older than sm_80 or an AMD chip without MFMA, are left to
    `tessera-gather-grouped-matmul`.

    Blocks of 256 threads compute 128 x `tile-n` tiles of the output, one
    expert's each: every expert's clamped segment is cut into 128-row tiles
    from its first row and the blocks walk all experts' tiles in order, so
    the blocks that read an expert's weights run together. A tile stores
    the rows that are its expert's as the reference decides (the last
    expert whose clamped segment holds the row), times its row scale if
    the op has them; rows in no segment are zeros. With a `gather` index a
    row's chunks are copied from the row of `x` the index names, and are
    zeros (cp.async reads 0 of their bytes, MFMA selects a zero chunk) where
    it names none. Its K loop stages 128x32
    row and 32 x `tile-n` weight tiles in dynamic shared memory with `cp.async`
    (`stages` tiles in flight, one barrier per step),
    loads fragments with `ldmatrix` (transposed for the K-major weights)
    and accumulates `mma.sync.m16n8k16` products in f32, then stores that
    expert's rows rounded to the output type.

    The SwiGLU epilogue is fused: a tile's product columns alternate groups
    of 8 gate and 8 up columns of the weights (16 on AMD, the MFMA
    fragment's width), so the lane holding a gate element holds its up
    element in the next fragment, and the tile stores `silu(gate) * up` for
    `tile-n` / 2 output columns.

    For `chip=sm_90a` and K a multiple of 64 the kernel uses the Hopper
    warpgroup MMA instead: each of the two warpgroups of a block owns 64
    rows of the tile, the K tiles are 64 deep and `cp.async` writes them in
    the 128-byte swizzled layouts that `wgmma` shared-memory descriptors
    name (rows K-major, weights N-major in 64-column blocks), and every
    step issues `tile-n`-wide `wgmma.mma_async.m64nNk16` products straight
    from shared memory (no ldmatrix), committed as one group. With
    `wgmma-tile-m=192` a block of three warpgroups (384 threads) computes
    192-row tiles: each K step's weight tile feeds 1.5 times the rows, so
    the blocks read 22% fewer bytes from L2 per product (128 x 256 tiles:
    48 KiB a step for 128 rows; 192 x 256: 56 KiB for 192). The 64 rows of
    a warpgroup (of 4 warps with mma.sync) without rows of the expert skip
    the products in every form.

    For the AMD CDNA chips (`chip=gfx90a`, `gfx940`, `gfx941`, `gfx942`,
    `gfx950`) the kernel runs 4 wavefronts of 64 (2 x 2, each 64 rows x
    `tile-n`/2 columns of 16x16 fragments) on the matrix cores: every
    K-step of 32 loads the next 128x32 row and 32 x `tile-n` weight tiles
    from global memory into registers before its products and writes them
    to the other of two LDS stages after them (one barrier a step); the
    products are `amdgpu.mfma 16x16x16` with f32 accumulators, their A and
    B operands read from LDS as the instruction's lane layout wants them
    (lane l: row/column l % 16, k 4 (l / 16) + 0..3). `stages` and
    `min-blocks-per-sm` do not apply there.

    Example:

    ```mlir
    %y = tessera.grouped_matmul %rows, %w, %offsets
        : (tensor<256x64xbf16>, tensor<8x64x128xbf16>, tensor<9xi32>)
        -> tensor<256x128xbf16>
    ```
    becomes `gpu.launch_func @tessera_kernels::@f_mma0 blocks in (%c1, %c2,
    %c1) threads in (%c256, %c1, %c1)` of a kernel holding `nvgpu.ldmatrix`,
    `nvgpu.device_async_copy` and `nvvm.mma.sync` ops.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "Chip the kernels are for: NVIDIA sm_<NN>[a] (below sm_80 the "
           "pass changes nothing) or AMD gfx<NNN> (MFMA kernels for "
           "gfx90a, gfx940-942 and gfx950; nothing for other AMD chips)">,
    Option<"stages", "stages", "int64_t", /*default=*/"4",
           "K tiles in flight in shared memory (at least 2; fewer where "
           "they do not fit in the chip's shared memory)">,
    Option<"minBlocksPerSM", "min-blocks-per-sm", "int64_t",
           /*default=*/"1",
           "Blocks that must fit on one multiprocessor at once "
           "(nvvm.minctasm: bounds the registers per thread)">,
    Option<"tileN", "tile-n", "int64_t", /*default=*/"256",
           "Output columns per block (128 or 256; each warp holds a "
           "64 x tile-n/4 piece)">,
    Option<"wgmmaTileM", "wgmma-tile-m", "int64_t", /*default=*/"128",
           "Rows per block of the wgmma kernel (sm_90a): 128 (two "
           "warpgroups) or 192 (three, 384 threads); the mma.sync and "
           "MFMA kernels keep 128">,
  ];
  let dependentDialects = [
    "::mlir::amdgpu::AMDGPUDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def TesseraTensorCoreAttention
    : Pass<"tessera-tensor-core-attention", "::mlir::ModuleOp"> {
  let summary = "Attention and latent attention of f16/bf16 operands as "
                "flash kernels on NVIDIA tensor cores or AMD matrix cores";
  let description = [{
    Replaces each `tessera.attention` with f16 or bf16 operands, static
    shapes, D and Dv multiples of 16 up to 128 and a positive scale (causal,
    window, kv_lens, GQA, the lse, a bias and a softcap are supported: the
    scores become softcap(scale q k + bias) before the mask), and
    each `tessera.latent_attention` with f16 or bf16 operands, static shapes
    and L and R multiples of 16 (causal and kv_lens supported), by a
    flash-attention kernel in `gpu.module @tessera_kernels` and its
    `gpu.launch_func` between `bufferization.to_buffer` of the operands and
    `bufferization.to_tensor` of the results. Other attentions, and every one
    when `chip` is older than sm_80, keep the generic lowering.

    The rows of a (batch, KV head) are the (query head, query) pairs of its
    query heads (GQA packing: K and V are read once per KV head). A block
    of `q-block / warp-rows` warps owns `q-block` of them, `warp-rows` per
    warp (with 16, a warp keeps its Q
    fragments in registers; with 32, the default, each K and V fragment read
    from shared memory feeds two row fragments); it walks only the
    key blocks of 64 its rows can see (causal and window bands and kv_lens
    bound the loop), double-buffering K and V in dynamic shared memory with
    `cp.async`. Scores come from `mma.sync.m16n8k16` on `ldmatrix`
    fragments; an online softmax in base 2 (`ex2.approx`, the scale folded
    in) keeps a running max and sum per row; the probabilities, rounded to
    the input type, are the A operand of P.V without passing through shared
    memory. Blocks that cut the band or the key range apply the mask; rows
    that see no key give zeros and an lse of -inf.

    Latent attention (DeepSeek MLA) is one KV head for every query head:
    blocks of up to 64 rows in warps of 16, the L output columns split
    between warps in groups of at most 256 (each group computes its rows'
    scores), key blocks of 32 in two stages (the generic lowering where
    they do not fit, below sm_80's 163 KiB at L + R = 576), and one tile
    per key block whose first L columns are V. With `latent-wgmma` on
    sm_90a, blocks of 64 rows keep Q and K in 128-byte swizzled shared
    memory and each column group, a warpgroup, computes its scores with
    `wgmma.mma_async` (operands read from shared memory once per warpgroup
    instead of per warp by `ldmatrix`); P.V stays `mma.sync`. With
    `attention-wgmma` on sm_90a, attentions with D a multiple of 64 do the
    same: warps of 16 rows, each 64 rows of a block a warpgroup whose
    scores are one `wgmma.mma_async` chain from swizzled Q and K tiles (V
    keeps its padded tile for P.V's `ldmatrix`). `wgmma-values` moves P.V
    to wgmma as well: each warpgroup stores its probabilities to a swizzled
    P tile in shared memory and multiplies it by V (swizzled too, MN-major)
    with one `wgmma.mma_async` chain into its output accumulators.

    Split KV: when the blocks of (row block, batch, KV head) are fewer than
    the chip's multiprocessors (a decode step), `kv-splits` blocks share
    each one's key blocks (grid z) and write normalized f32 rows and their
    lse to workspaces; a second kernel (`<kernel>_combine`) weighs them by
    exp(lse - max lse) into out and lse.

    On the AMD CDNA chips (gfx90a, gfx940-942, gfx950) attentions and
    latent attentions take an MFMA kernel with the same rows, bands, masks,
    softmax and split KV: wavefronts of 64 lanes with `warp-rows` rows
    each, `amdgpu.mfma 16x16x16` products of the transposed problem (S^T =
    K Q^T, then O^T = V^T P^T, which leaves each lane one row's scores in
    the layout P.V's B operand wants), Q's fragments in registers, K and V
    (transposed) in one LDS stage that each key block fills from registers
    loaded during the previous block's products. Latent attention splits
    the L columns between wavefronts as on NVIDIA and stores the first L
    columns of each staged key block to V^T as well; its key blocks are 16
    where 32 keys' K and V^T exceed the 64 KiB of LDS (L + R = 576). Other
    AMD chips keep the generic lowering.

    Example:

    ```mlir
    %o = tessera.attention %q, %k, %v {causal = true}
        : (tensor<1x8x256x128xbf16>, tensor<1x2x256x128xbf16>,
           tensor<1x2x256x128xbf16>) -> tensor<1x8x256x128xbf16>
    ```
    becomes `gpu.launch_func @tessera_kernels::@f_flash0 blocks in (%c8,
    %c2, %c1) threads in (%c128, %c1, %c1)`.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "Chip the kernels are for (NVIDIA sm_<NN>[a] or AMD gfx<NNN>); "
           "below sm_80 and on AMD chips without MFMA the pass changes "
           "nothing">,
    Option<"qBlock", "q-block", "int64_t", /*default=*/"128",
           "Query rows per block (64 or 128); a KV head of at most 64 rows "
           "(query heads x Sq, e.g. decode) takes 64 rows and warps of 16">,
    Option<"warpRows", "warp-rows", "int64_t", /*default=*/"32",
           "Query rows per warp (16: Q's fragments stay in registers; 32: "
           "each K and V fragment read from shared memory feeds two row "
           "fragments)">,
    Option<"kvSplits", "kv-splits", "int64_t", /*default=*/"0",
           "Blocks that share the key blocks of a row block, their partial "
           "results combined by a second kernel (0: enough to fill the "
           "chip's multiprocessors when the row blocks do not; at most one "
           "a key block)">,
    Option<"latentWgmma", "latent-wgmma", "bool", /*default=*/"false",
           "sm_90a: latent attention's scores by wgmma from 128-byte "
           "swizzled shared memory, one warpgroup per column group (blocks "
           "of 64 rows, L + R a multiple of 64); off until timed on a GPU">,
    Option<"attentionWgmma", "attention-wgmma", "bool", /*default=*/"false",
           "sm_90a: attention's scores by wgmma from 128-byte swizzled "
           "shared memory, one warpgroup per 64 rows of a block (warps of "
           "16 rows, D a multiple of 64); off until timed on a GPU">,
    Option<"wgmmaValues", "wgmma-values", "bool", /*default=*/"false",
           "With attention-wgmma or latent-wgmma: P.V by wgmma too, P "
           "through a swizzled shared tile and V swizzled (a warpgroup's "
           "output columns a multiple of 64); off until timed on a GPU">,
  ];
  let dependentDialects = [
    "::mlir::amdgpu::AMDGPUDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def TesseraMapToGPU : Pass<"tessera-map-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Turn the parallel loops of each function into GPU kernels";
  let description = [{
    Maps a bufferized function with static shapes onto a GPU: every
    top-level `scf.parallel` (and every top-level `memref.copy`, first
    rewritten as one) becomes a `gpu.func` kernel in the module's one
    `gpu.module @tessera_kernels` and a `gpu.launch_func` in its place. The
    iteration space is linearized: a 1-D grid of `block-size`-thread blocks,
    one thread per iteration, the last loop dimension fastest (so that
    consecutive threads touch consecutive elements), threads past the end
    doing nothing. Loops nested in a mapped loop run sequentially in its
    thread. Constants and memref views used by a loop are recreated inside
    its kernel, and constant globals (bufferized constant tensors) are
    copied into the kernel module, so kernel arguments are whole buffers
    only (function arguments and `memref.alloc`s), which is what the GPU
    artifact's launch list can describe (docs/GPU-runtime.md).

    What is left on the host is allocations, constants, launches and the
    return; anything else (dynamic shapes, loops with reductions, host
    control flow, scalars computed on the host) is an error naming the op.

    Example:

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c128) step (%c1, %c1) {
      %v = memref.load %a[%i, %j] : memref<16x128xf32>
      memref.store %v, %b[%i, %j] : memref<16x128xf32>
    }
    ```
    becomes `gpu.launch_func @tessera_kernels::@f_k0 blocks in (%c8, %c1,
    %c1) threads in (%c256, %c1, %c1) args(%a, %b)` with a kernel that
    computes `%i, %j` from `block_id x * 256 + thread_id x`.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block (a multiple of 32, at most 1024)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

#endif // TESSERA_TRANSFORMS_PASSES_TD
