//===- MoEOps.td - Tessera mixture-of-experts operations ---*- tablegen -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_DIALECT_TESSERA_IR_MOEOPS_TD
#define TESSERA_DIALECT_TESSERA_IR_MOEOPS_TD

// Routing attributes shared by `tessera.route` and `tessera.moe`.
defvar Tessera_RouteAttrs = (ins
    ConfinedAttr<I64Attr, [IntPositive]>:$top_k,
    DefaultValuedAttr<Tessera_ScoringAttr, "Scoring::softmax">:$scoring,
    DefaultValuedAttr<ConfinedAttr<I64Attr, [IntPositive]>, "1">:$n_group,
    OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$topk_group,
    DefaultValuedAttr<BoolAttr, "false">:$normalize,
    DefaultValuedAttr<F32Attr, "1.0f">:$scale);

def Tessera_RouteOp : Tessera_Op<"route"> {
  let summary = "MoE gate: scores, (group-limited) top-k selection, weights";
  let description = [{
    Chooses `top_k` experts per token from router logits `[T, E]`.

    1. `s = softmax(logits)` over E, or `sigmoid(logits)` (`scoring`), in f32.
    2. The selection score is `sel = s + bias` (`bias` `[E]`, optional;
       DeepSeek-V3's "noaux_tc" load-balancing bias affects selection only).
    3. With `n_group > 1` (E divisible by `n_group`), the experts form
       `n_group` contiguous groups; a group scores the sum of its two largest
       `sel` (its only one if the group has one expert). The `topk_group`
       best groups are kept (default: all); experts of the others are
       excluded from selection.
    4. The `top_k` largest `sel` are chosen; ties go to the lower expert
       index; slots are in descending `sel` order.

    "Largest", "best" and "descending" use one strict total order, so the
    ids of a token are `top_k` distinct experts whatever the logits hold: a
    NaN `sel` (a NaN logit, or softmax over a row with +inf or all -inf)
    ranks below every number, and NaNs tie with each other. Groups are
    ranked the same way.
    5. `weights = s` of the chosen experts (without bias); with `normalize`
       they are divided by their sum; then multiplied by `scale`.

    Results: `weights [T, top_k]` f32, `ids [T, top_k]` i32.

    ```mlir
    %w, %ids = tessera.route %logits bias %b
        {top_k = 8 : i64, scoring = #tessera.scoring<sigmoid>,
         n_group = 8 : i64, topk_group = 4 : i64, normalize = true,
         scale = 2.5 : f32}
        : (tensor<16x256xf32>, tensor<256xf32>)
        -> (tensor<16x8xf32>, tensor<16x8xi32>)
    ```
  }];

  let arguments = !con((ins Tessera_FloatTensor:$logits,
      Optional<Tessera_FloatTensor>:$bias), Tessera_RouteAttrs);
  let results = (outs Tessera_F32Tensor:$weights, Tessera_I32Tensor:$ids);

  let assemblyFormat = [{
    $logits (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];

  let extraClassDeclaration = [{
    /// Number of groups kept: `topk_group`, or `n_group` when absent.
    int64_t getNumKeptGroups() {
      return getTopkGroup().value_or(getNGroup());
    }
  }];
}

def Tessera_DispatchOp : Tessera_Op<"dispatch"> {
  let summary = "group (token, slot) pairs by expert";
  let description = [{
    Copies the token rows of `x [T, d]` into expert order for the routing
    `ids [T, k]` (i32, values in `[0, num_experts)`).

    - `rows [M, d]`: grouped by expert in ascending expert order; inside one
      expert, pairs in ascending `(token, slot)` order.
    - `offsets [E + 1]` i32: `offsets[e] .. offsets[e+1]` is expert e's
      segment; `offsets[0] = 0`.
    - `perm [M]` i32: `perm[r] = t * k + slot` of the pair stored in row r.

    With `block > 1` each segment's length is rounded up to a multiple of
    `block` (what grouped GEMMs tile by); padding rows are zero with
    `perm = -1`, and so are the rows past `offsets[E]`. `M = T * k` when
    `block = 1`, else the static bound `T * k + E * (block - 1)`.

    ```mlir
    %rows, %offsets, %perm = tessera.dispatch %x, %ids
        {num_experts = 4 : i64, block = 4 : i64}
        : (tensor<8x32xf32>, tensor<8x2xi32>)
        -> (tensor<28x32xf32>, tensor<5xi32>, tensor<28xi32>)
    ```
  }];

  let arguments = (ins Tessera_FloatTensor:$x, Tessera_I32Tensor:$ids,
      ConfinedAttr<I64Attr, [IntPositive]>:$num_experts,
      DefaultValuedAttr<ConfinedAttr<I64Attr, [IntPositive]>, "1">:$block);
  let results = (outs Tessera_FloatTensor:$rows, Tessera_I32Tensor:$offsets,
      Tessera_I32Tensor:$perm);

  let assemblyFormat = [{
    $x `,` $ids attr-dict `:` functional-type(operands, results)
  }];
}

def Tessera_GroupedMatmulOp : Tessera_Op<"grouped_matmul",
    [AttrSizedOperandSegments]> {
  let summary = "one GEMM per expert over ragged row segments";
  let description = [{
    `rows [M, K]`, `weights [E, K, N]`, `offsets [E + 1]` i32 (as produced by
    `tessera.dispatch`). For every row r in expert e's segment
    `offsets[e] <= r < offsets[e+1]`, `out[r] = rows[r] · weights[e]`
    (accumulated in f32); rows outside every segment give zeros.

    `epilogue`:
    - `none` (default): `out` is `[M, N]`.
    - `swiglu`: with `a` the product, `out [M, N/2] = silu(a[:, :N/2]) *
      a[:, N/2:]` (the gate half first, as in fused up/gate projections).

    Two optional operands fold neighbouring MoE steps into the GEMM (what
    `tessera-fuse-moe` introduces):
    - `gather %index` (i32 `[M]`): the left operand's row r is
      `rows[index[r]]` instead of `rows[r]`, so `rows` may be the token
      matrix `x [T, K]` itself rather than its dispatched copy; an index
      outside `[0, T)` (the `-1` of padding rows) reads a row of zeros. M is
      then the length of `index`.
    - `scale %s` (f32 `[M]`): every output row r is multiplied by `s[r]`
      after the epilogue, in f32, before the rounding to the output type
      (the routing weight of the row's (token, slot) pair).

    ```mlir
    %h = tessera.grouped_matmul %rows, %w_up, %offsets
        {epilogue = #tessera.epilogue<swiglu>}
        : (tensor<28x32xf32>, tensor<4x32x64xf32>, tensor<5xi32>)
        -> tensor<28x32xf32>
    // The rows gathered from x [8, 32], the outputs scaled per row.
    %y = tessera.grouped_matmul %x, %w_down, %offsets gather %index scale %s
        : (tensor<8x32xf32>, tensor<4x32x32xf32>, tensor<5xi32>,
           tensor<28xi32>, tensor<28xf32>) -> tensor<28x32xf32>
    ```
  }];

  let arguments = (ins Tessera_FloatTensor:$rows,
      Tessera_FloatTensor:$weights, Tessera_I32Tensor:$offsets,
      Optional<Tessera_I32Tensor>:$gather, Optional<Tessera_F32Tensor>:$scale,
      DefaultValuedAttr<Tessera_EpilogueAttr, "Epilogue::none">:$epilogue);
  let results = (outs Tessera_FloatTensor:$out);

  let assemblyFormat = [{
    $rows `,` $weights `,` $offsets (`gather` $gather^)? (`scale` $scale^)?
    attr-dict `:` functional-type(operands, results)
  }];

  let builders = [
    OpBuilder<(ins "Type":$out, "Value":$rows, "Value":$weights,
        "Value":$offsets, "Epilogue":$epilogue), [{
      build($_builder, $_state, out, rows, weights, offsets, /*gather=*/Value(),
            /*scale=*/Value(), epilogue);
    }]>
  ];
}

def Tessera_CombineOp : Tessera_Op<"combine"> {
  let summary = "weighted scatter of expert outputs back to token order";
  let description = [{
    `y [M, d]` (expert outputs in dispatch order), `perm [M]` i32 (from
    `tessera.dispatch`), `weights [T, k]` f32 (from `tessera.route`):

    `out[t] = Σ_slot weights[t, slot] * y[r]` where `perm[r] = t * k + slot`.
    Rows with `perm = -1` are ignored; a pair held by no row contributes 0.
    Accumulates in f32; `out [T, d]` has the element type of `y`.

    With `prescaled`, the rows of `y` already carry their routing weights
    (`tessera-fuse-moe` moved the scaling into the grouped GEMM that makes
    `y`): `out[t] = Σ_slot y[r]`, and `weights` only gives `[T, k]`.

    ```mlir
    %out = tessera.combine %y, %perm, %w
        : (tensor<28x32xf32>, tensor<28xi32>, tensor<8x2xf32>)
        -> tensor<8x32xf32>
    ```
  }];

  let arguments = (ins Tessera_FloatTensor:$y, Tessera_I32Tensor:$perm,
      Tessera_F32Tensor:$weights, UnitAttr:$prescaled);
  let results = (outs Tessera_FloatTensor:$out);

  let assemblyFormat = [{
    $y `,` $perm `,` $weights attr-dict `:` functional-type(operands, results)
  }];
}

def Tessera_MoEOp : Tessera_Op<"moe", [AttrSizedOperandSegments]> {
  let summary = "a whole mixture-of-experts layer with SwiGLU experts";
  let description = [{
    | operand / result | shape |
    |---|---|
    | `x` | `[T, d]` |
    | `gate_w` | `[E, d]` (`logits = x · gate_wᵀ`) |
    | `w_up` | `[E, d, 2f]` (gate half first) |
    | `w_down` | `[E, f, d]` |
    | `bias` (optional) | `[E]` selection bias for routing |
    | `shared_up`, `shared_down` (optional, together) | `[d, 2fs]`, `[fs, d]` |
    | `out` | `[T, d]` |

    Routes every token as `tessera.route` (same attributes), runs each chosen
    expert's SwiGLU FFN `silu(x W_gate) * (x W_up) · W_down`, sums them with
    the routing weights, and adds the shared experts' dense SwiGLU FFN when
    given. `block` pads expert segments as `tessera.dispatch` does (a hint
    for grouped GEMMs; the result does not depend on it).
    `tessera-decompose-moe` rewrites it into the ops above.

    ```mlir
    %y = tessera.moe %x, %gate, %up, %down shared %su, %sd
        {top_k = 4 : i64}
        : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>,
           tensor<8x32x64xf32>, tensor<64x128xf32>, tensor<64x64xf32>)
        -> tensor<16x64xf32>
    ```
  }];

  let arguments = !con((ins Tessera_FloatTensor:$x,
      Tessera_FloatTensor:$gate_w, Tessera_FloatTensor:$w_up,
      Tessera_FloatTensor:$w_down, Optional<Tessera_FloatTensor>:$bias,
      Optional<Tessera_FloatTensor>:$shared_up,
      Optional<Tessera_FloatTensor>:$shared_down), Tessera_RouteAttrs,
      (ins DefaultValuedAttr<ConfinedAttr<I64Attr, [IntPositive]>, "1">:$block));
  let results = (outs Tessera_FloatTensor:$out);

  let assemblyFormat = [{
    $x `,` $gate_w `,` $w_up `,` $w_down (`bias` $bias^)?
    (`shared` $shared_up^ `,` $shared_down)? attr-dict
    `:` functional-type(operands, results)
  }];

  let extraClassDeclaration = [{
    int64_t getNumKeptGroups() {
      return getTopkGroup().value_or(getNGroup());
    }
    /// The number of experts E when one of 'gate_w', 'w_up' or 'w_down' has
    /// it static, else std::nullopt.
    std::optional<int64_t> getStaticNumExperts();
  }];
}

#endif // TESSERA_DIALECT_TESSERA_IR_MOEOPS_TD
