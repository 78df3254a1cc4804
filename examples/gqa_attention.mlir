// Grouped-query causal attention as in Qwen3/Mixtral, at small dimensions:
// 16 query heads over 4 KV heads, 128 tokens, head dimension 64.
func.func @gqa_attention(%q: tensor<1x16x128x64xf32>, %k: tensor<1x4x128x64xf32>,
                         %v: tensor<1x4x128x64xf32>) -> tensor<1x16x128x64xf32> {
  %out = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x16x128x64xf32>, tensor<1x4x128x64xf32>, tensor<1x4x128x64xf32>)
      -> tensor<1x16x128x64xf32>
  return %out : tensor<1x16x128x64xf32>
}
