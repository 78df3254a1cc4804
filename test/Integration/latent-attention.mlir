// Execution of tessera.latent_attention (DeepSeek MLA) on the CPU,
// compared with the independent numpy reference (reference.py) or with
// hand-computed values (each case is documented in check.py).
//
// RUN: %check %s %t latent_attention_decode
// RUN: %check %s %t latent_attention_bf16

func.func @latent_attention_decode(%q: tensor<2x4x3x40xf32>, %kv: tensor<2x12x40xf32>, %lens: tensor<2xi32>)
    -> tensor<2x4x3x32xf32> {
  %o = tessera.latent_attention %q, %kv kv_lens %lens {latent_dim = 32 : i64, causal = true}
      : (tensor<2x4x3x40xf32>, tensor<2x12x40xf32>, tensor<2xi32>) -> tensor<2x4x3x32xf32>
  return %o : tensor<2x4x3x32xf32>
}

func.func @latent_attention_bf16(%q: tensor<1x8x1x72xbf16>, %kv: tensor<1x20x72xbf16>)
    -> tensor<1x8x1x64xbf16> {
  %o = tessera.latent_attention %q, %kv {latent_dim = 64 : i64, scale = 0.1 : f32}
      : (tensor<1x8x1x72xbf16>, tensor<1x20x72xbf16>) -> tensor<1x8x1x64xbf16>
  return %o : tensor<1x8x1x64xbf16>
}
