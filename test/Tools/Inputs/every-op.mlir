// One function per kind of op and dtype, for tests that compile a whole
// module for every target (determinism.test).

func.func @attention_bf16(%q: tensor<1x8x40x64xbf16>, %k: tensor<1x2x40x64xbf16>,
                          %v: tensor<1x2x40x64xbf16>) -> tensor<1x8x40x64xbf16> {
  %o = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x8x40x64xbf16>, tensor<1x2x40x64xbf16>, tensor<1x2x40x64xbf16>)
      -> tensor<1x8x40x64xbf16>
  return %o : tensor<1x8x40x64xbf16>
}

func.func @attention_f32_lse(%q: tensor<2x4x5x16xf32>, %k: tensor<2x4x9x16xf32>,
                             %v: tensor<2x4x9x16xf32>, %lens: tensor<2xi32>)
    -> (tensor<2x4x5x16xf32>, tensor<2x4x5xf32>) {
  %o, %lse = tessera.attention %q, %k, %v kv_lens %lens {window = 4 : i64}
      : (tensor<2x4x5x16xf32>, tensor<2x4x9x16xf32>, tensor<2x4x9x16xf32>,
         tensor<2xi32>) -> (tensor<2x4x5x16xf32>, tensor<2x4x5xf32>)
  return %o, %lse : tensor<2x4x5x16xf32>, tensor<2x4x5xf32>
}

func.func @latent_attention(%q: tensor<2x4x3x40xf32>, %kv: tensor<2x12x40xf32>,
                            %lens: tensor<2xi32>) -> tensor<2x4x3x32xf32> {
  %o = tessera.latent_attention %q, %kv kv_lens %lens
      {latent_dim = 32 : i64, causal = true}
      : (tensor<2x4x3x40xf32>, tensor<2x12x40xf32>, tensor<2xi32>)
      -> tensor<2x4x3x32xf32>
  return %o : tensor<2x4x3x32xf32>
}

func.func @moe_bf16(%x: tensor<24x64xbf16>, %gate: tensor<8x64xbf16>,
                    %bias: tensor<8xf32>, %w_up: tensor<8x64x64xbf16>,
                    %w_down: tensor<8x32x64xbf16>) -> tensor<24x64xbf16> {
  %y = tessera.moe %x, %gate, %w_up, %w_down bias %bias
      {top_k = 2 : i64, scoring = #tessera.scoring<sigmoid>, n_group = 4 : i64,
       topk_group = 2 : i64, normalize = true}
      : (tensor<24x64xbf16>, tensor<8x64xbf16>, tensor<8x64x64xbf16>,
         tensor<8x32x64xbf16>, tensor<8xf32>) -> tensor<24x64xbf16>
  return %y : tensor<24x64xbf16>
}

func.func @moe_shared_f32(%x: tensor<16x32xf32>, %gate: tensor<6x32xf32>,
                          %w_up: tensor<6x32x32xf32>, %w_down: tensor<6x16x32xf32>,
                          %su: tensor<32x48xf32>, %sd: tensor<24x32xf32>)
    -> tensor<16x32xf32> {
  %y = tessera.moe %x, %gate, %w_up, %w_down shared %su, %sd {top_k = 3 : i64}
      : (tensor<16x32xf32>, tensor<6x32xf32>, tensor<6x32x32xf32>,
         tensor<6x16x32xf32>, tensor<32x48xf32>, tensor<24x32xf32>)
      -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}
