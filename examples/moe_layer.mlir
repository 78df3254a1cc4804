// A Qwen-MoE-like layer at small dimensions: 64 tokens, hidden size 256,
// 16 routed experts (top 4, softmax, not renormalized) with an intermediate
// size of 128, plus one shared expert with an intermediate size of 512.
func.func @moe_layer(%x: tensor<64x256xf32>, %gate: tensor<16x256xf32>,
                     %w_up: tensor<16x256x256xf32>, %w_down: tensor<16x128x256xf32>,
                     %shared_up: tensor<256x1024xf32>, %shared_down: tensor<512x256xf32>)
    -> tensor<64x256xf32> {
  %y = tessera.moe %x, %gate, %w_up, %w_down shared %shared_up, %shared_down
      {top_k = 4 : i64, scoring = #tessera.scoring<softmax>}
      : (tensor<64x256xf32>, tensor<16x256xf32>, tensor<16x256x256xf32>,
         tensor<16x128x256xf32>, tensor<256x1024xf32>, tensor<512x256xf32>)
      -> tensor<64x256xf32>
  return %y : tensor<64x256xf32>
}
