// Execution of whole tessera.moe layers on the CPU (Mixtral-, Qwen- and
// DeepSeek-like routing, shared experts, bf16, dynamic tokens),
// compared with the independent numpy reference (reference.py) or with
// hand-computed values (each case is documented in check.py).
//
// RUN: %check %s %t moe_mixtral_like
// RUN: %check %s %t moe_qwen_like_shared
// RUN: %check %s %t moe_deepseek_like
// RUN: %check %s %t moe_bf16_dynamic
// RUN: %check %s %t moe_bf16_tensor_cores

func.func @moe_mixtral_like(%x: tensor<12x32xf32>, %g: tensor<8x32xf32>, %u: tensor<8x32x48xf32>,
                            %d: tensor<8x24x32xf32>) -> tensor<12x32xf32> {
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64, normalize = true}
      : (tensor<12x32xf32>, tensor<8x32xf32>, tensor<8x32x48xf32>, tensor<8x24x32xf32>)
      -> tensor<12x32xf32>
  return %y : tensor<12x32xf32>
}

func.func @moe_qwen_like_shared(%x: tensor<10x32xf32>, %g: tensor<12x32xf32>, %u: tensor<12x32x32xf32>,
                                %d: tensor<12x16x32xf32>, %su: tensor<32x48xf32>, %sd: tensor<24x32xf32>)
    -> tensor<10x32xf32> {
  %y = tessera.moe %x, %g, %u, %d shared %su, %sd {top_k = 4 : i64}
      : (tensor<10x32xf32>, tensor<12x32xf32>, tensor<12x32x32xf32>, tensor<12x16x32xf32>,
         tensor<32x48xf32>, tensor<24x32xf32>) -> tensor<10x32xf32>
  return %y : tensor<10x32xf32>
}

func.func @moe_deepseek_like(%x: tensor<9x32xf32>, %g: tensor<16x32xf32>, %u: tensor<16x32x16xf32>,
                             %d: tensor<16x8x32xf32>, %b: tensor<16xf32>, %su: tensor<32x16xf32>,
                             %sd: tensor<8x32xf32>) -> tensor<9x32xf32> {
  %y = tessera.moe %x, %g, %u, %d bias %b shared %su, %sd
      {top_k = 4 : i64, scoring = #tessera.scoring<sigmoid>, n_group = 4 : i64,
       topk_group = 2 : i64, normalize = true, scale = 2.5 : f32, block = 4 : i64}
      : (tensor<9x32xf32>, tensor<16x32xf32>, tensor<16x32x16xf32>, tensor<16x8x32xf32>,
         tensor<16xf32>, tensor<32x16xf32>, tensor<8x32xf32>) -> tensor<9x32xf32>
  return %y : tensor<9x32xf32>
}

func.func @moe_bf16_dynamic(%x: tensor<?x16xbf16>, %g: tensor<4x16xbf16>, %u: tensor<4x16x16xbf16>,
                            %d: tensor<4x8x16xbf16>) -> tensor<?x16xbf16> {
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64, normalize = true}
      : (tensor<?x16xbf16>, tensor<4x16xbf16>, tensor<4x16x16xbf16>, tensor<4x8x16xbf16>)
      -> tensor<?x16xbf16>
  return %y : tensor<?x16xbf16>
}

func.func @moe_bf16_tensor_cores(%x: tensor<40x64xbf16>, %g: tensor<8x64xbf16>, %u: tensor<8x64x128xbf16>,
                                 %d: tensor<8x64x64xbf16>, %su: tensor<64x128xbf16>, %sd: tensor<64x64xbf16>)
    -> tensor<40x64xbf16> {
  %y = tessera.moe %x, %g, %u, %d shared %su, %sd {top_k = 2 : i64, normalize = true}
      : (tensor<40x64xbf16>, tensor<8x64xbf16>, tensor<8x64x128xbf16>, tensor<8x64x64xbf16>,
         tensor<64x128xbf16>, tensor<64x64xbf16>) -> tensor<40x64xbf16>
  return %y : tensor<40x64xbf16>
}
