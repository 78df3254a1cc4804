//===- AttentionOps.td - Tessera attention operations ------*- tablegen -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_DIALECT_TESSERA_IR_ATTENTIONOPS_TD
#define TESSERA_DIALECT_TESSERA_IR_ATTENTIONOPS_TD

def Tessera_AttentionOp : Tessera_Op<"attention", [AttrSizedOperandSegments]> {
  let summary = "scaled dot-product attention (MHA, GQA, MQA)";
  let description = [{
    Computes `out = softmax(mask(softcap(scale * q kᵀ + bias))) v` per batch
    and query head.

    | operand / result | shape | element type |
    |---|---|---|
    | `q` | `[B, Hq, Sq, D]` | f32, f16, bf16 |
    | `k` | `[B, Hkv, Skv, D]` | as `q` |
    | `v` | `[B, Hkv, Skv, Dv]` | as `q` |
    | `bias` (optional) | `[B or 1, Hq or 1, Sq, Skv]` | f32, f16, bf16 |
    | `kv_lens` (optional) | `[B]` | i32 |
    | `out` | `[B, Hq, Sq, Dv]` | as `q` |
    | `lse` (optional) | `[B, Hq, Sq]` | f32 |

    `Hq` must be a multiple of `Hkv`; query head `h` reads KV head
    `h / (Hq / Hkv)` (grouped-query attention by index, never by copy).

    Attributes:
    - `scale` (f32, default `1/sqrt(D)`): multiplies `q kᵀ`.
    - `softcap` (f32, default 0 = none): `s = softcap * tanh(s / softcap)`,
      applied after scaling and bias.
    - `causal` (bool, default false): bottom-right aligned; with
      `Skv_eff` the effective key count of the batch (`kv_lens[b]` when given,
      else `Skv`), query `i` sees key `j` iff `j <= i + (Skv_eff - Sq)`.
    - `window` (i64, default 0 = none): additionally requires
      `j > i + (Skv_eff - Sq) - window` (a sliding window of `window` keys
      ending at the query's diagonal). It applies with or without `causal`.

    With `kv_lens`, keys `j >= kv_lens[b]` are masked. Every i32 is a valid
    length: keys stop at `Skv` whatever the length (a length past `Skv`
    moves the causal diagonal and the window, not the last key), and a
    length of 0 or less leaves no key. A query row that sees no key
    produces zeros in `out` and `-inf` in `lse`. `lse` is the natural
    log-sum-exp of the final (masked, scaled, capped) scores of the row.

    Example (GQA 8 query heads over 2 KV heads, causal, with the lse):

    ```mlir
    %out, %lse = tessera.attention %q, %k, %v {causal = true}
        : (tensor<1x8x16x64xf16>, tensor<1x2x32x64xf16>, tensor<1x2x32x64xf16>)
        -> (tensor<1x8x16x64xf16>, tensor<1x8x16xf32>)
    ```

    With an additive bias and per-batch KV lengths:

    ```mlir
    %out = tessera.attention %q, %k, %v bias %bias kv_lens %lens
        {scale = 0.125 : f32, window = 4 : i64}
        : (tensor<2x4x8x64xf32>, tensor<2x4x8x64xf32>, tensor<2x4x8x64xf32>,
           tensor<1x4x8x8xf32>, tensor<2xi32>) -> tensor<2x4x8x64xf32>
    ```
  }];

  let arguments = (ins Tessera_FloatTensor:$q, Tessera_FloatTensor:$k,
      Tessera_FloatTensor:$v, Optional<Tessera_FloatTensor>:$bias,
      Optional<Tessera_I32Tensor>:$kv_lens, OptionalAttr<F32Attr>:$scale,
      DefaultValuedAttr<BoolAttr, "false">:$causal,
      DefaultValuedAttr<I64Attr, "0">:$window,
      DefaultValuedAttr<F32Attr, "0.0f">:$softcap);
  let results = (outs Tessera_FloatTensor:$out,
      Optional<Tessera_F32Tensor>:$lse);

  let assemblyFormat = [{
    $q `,` $k `,` $v (`bias` $bias^)? (`kv_lens` $kv_lens^)? attr-dict
    `:` functional-type(operands, results)
  }];

  let extraClassDeclaration = [{
    /// The softmax scale: the `scale` attribute, else 1/sqrt(D) when the head
    /// dimension is static, else std::nullopt (computed at run time).
    std::optional<double> getStaticScale();
  }];
}

def Tessera_LatentAttentionOp : Tessera_Op<"latent_attention"> {
  let summary = "DeepSeek multi-head latent attention (absorbed form)";
  let description = [{
    Multi-head latent attention as FlashMLA computes it after weight
    absorption: every query head attends over one shared latent KV cache
    whose first `latent_dim` (L) columns are also the values.

    | operand / result | shape | element type |
    |---|---|---|
    | `q` | `[B, H, Sq, L + R]` | f32, f16, bf16 |
    | `kv` | `[B, Skv, L + R]` | as `q` |
    | `kv_lens` (optional) | `[B]` | i32 |
    | `out` | `[B, H, Sq, L]` | as `q` |

    `scores = scale * q kvᵀ` over all `L + R` columns; `out = softmax(scores)
    kv[..., :L]`. `scale` defaults to `1/sqrt(L + R)`; DeepSeek models pass
    their own (`1/sqrt(qk_nope + qk_rope)` times the YaRN mscale). `causal`
    and `kv_lens` have the semantics of `tessera.attention`; fully masked rows
    give zeros. DeepSeek-V3 uses L = 512, R = 64, H = 128.

    ```mlir
    %out = tessera.latent_attention %q, %kv {latent_dim = 512 : i64}
        : (tensor<1x128x1x576xbf16>, tensor<1x4096x576xbf16>)
        -> tensor<1x128x1x512xbf16>
    ```
  }];

  let arguments = (ins Tessera_FloatTensor:$q, Tessera_FloatTensor:$kv,
      Optional<Tessera_I32Tensor>:$kv_lens,
      ConfinedAttr<I64Attr, [IntPositive]>:$latent_dim,
      OptionalAttr<F32Attr>:$scale,
      DefaultValuedAttr<BoolAttr, "false">:$causal);
  let results = (outs Tessera_FloatTensor:$out);

  let assemblyFormat = [{
    $q `,` $kv (`kv_lens` $kv_lens^)? attr-dict
    `:` functional-type(operands, results)
  }];

  let extraClassDeclaration = [{
    /// The `scale` attribute, else 1/sqrt(L + R) when that is static.
    std::optional<double> getStaticScale();
  }];
}

#endif // TESSERA_DIALECT_TESSERA_IR_ATTENTIONOPS_TD
