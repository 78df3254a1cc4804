// Execution of the MoE ops on the CPU, compared with the independent numpy
// reference (reference.py) or with hand-computed values (see check.py).
//
// RUN: %check %s %t route_softmax
// RUN: %check %s %t route_normalize_scale
// RUN: %check %s %t route_sigmoid_groups_ties
// RUN: %check %s %t route_ties_no_bias
// RUN: %check %s %t route_deepseek_like
// RUN: %check %s %t dispatch_block_padding
// RUN: %check %s %t dispatch_block4_random
// RUN: %check %s %t dispatch_plain
// RUN: %check %s %t grouped_matmul_segments
// RUN: %check %s %t grouped_matmul_swiglu
// RUN: %check %s %t grouped_matmul_f16_dynamic
// RUN: %check %s %t combine_hand
// RUN: %check %s %t combine_random
// RUN: %check %s %t moe_mixtral_like
// RUN: %check %s %t moe_qwen_like_shared
// RUN: %check %s %t moe_deepseek_like
// RUN: %check %s %t moe_bf16_dynamic

func.func @route_softmax(%l: tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>) {
  %w, %ids = tessera.route %l {top_k = 2 : i64}
      : (tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>)
  return %w, %ids : tensor<16x2xf32>, tensor<16x2xi32>
}

func.func @route_normalize_scale(%l: tensor<9x60xf32>) -> (tensor<9x4xf32>, tensor<9x4xi32>) {
  %w, %ids = tessera.route %l {top_k = 4 : i64, normalize = true, scale = 1.5 : f32}
      : (tensor<9x60xf32>) -> (tensor<9x4xf32>, tensor<9x4xi32>)
  return %w, %ids : tensor<9x4xf32>, tensor<9x4xi32>
}

func.func @route_sigmoid_groups_ties(%l: tensor<2x8xf32>, %b: tensor<8xf32>)
    -> (tensor<2x3xf32>, tensor<2x3xi32>) {
  %w, %ids = tessera.route %l bias %b
      {top_k = 3 : i64, scoring = #tessera.scoring<sigmoid>, n_group = 4 : i64,
       topk_group = 2 : i64, normalize = true, scale = 3.0 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>) -> (tensor<2x3xf32>, tensor<2x3xi32>)
  return %w, %ids : tensor<2x3xf32>, tensor<2x3xi32>
}

func.func @route_ties_no_bias(%l: tensor<2x6xf32>) -> (tensor<2x3xf32>, tensor<2x3xi32>) {
  %w, %ids = tessera.route %l {top_k = 3 : i64}
      : (tensor<2x6xf32>) -> (tensor<2x3xf32>, tensor<2x3xi32>)
  return %w, %ids : tensor<2x3xf32>, tensor<2x3xi32>
}

func.func @route_deepseek_like(%l: tensor<12x64xf32>, %b: tensor<64xf32>)
    -> (tensor<12x6xf32>, tensor<12x6xi32>) {
  %w, %ids = tessera.route %l bias %b
      {top_k = 6 : i64, scoring = #tessera.scoring<sigmoid>, n_group = 8 : i64,
       topk_group = 3 : i64, normalize = true, scale = 2.5 : f32}
      : (tensor<12x64xf32>, tensor<64xf32>) -> (tensor<12x6xf32>, tensor<12x6xi32>)
  return %w, %ids : tensor<12x6xf32>, tensor<12x6xi32>
}

func.func @dispatch_block_padding(%x: tensor<3x4xf32>, %ids: tensor<3x2xi32>)
    -> (tensor<10x4xf32>, tensor<5xi32>, tensor<10xi32>) {
  %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 4 : i64, block = 2 : i64}
      : (tensor<3x4xf32>, tensor<3x2xi32>) -> (tensor<10x4xf32>, tensor<5xi32>, tensor<10xi32>)
  return %rows, %offsets, %perm : tensor<10x4xf32>, tensor<5xi32>, tensor<10xi32>
}

func.func @dispatch_block4_random(%x: tensor<10x6xf32>, %ids: tensor<10x3xi32>)
    -> (tensor<45x6xf32>, tensor<6xi32>, tensor<45xi32>) {
  %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 5 : i64, block = 4 : i64}
      : (tensor<10x6xf32>, tensor<10x3xi32>) -> (tensor<45x6xf32>, tensor<6xi32>, tensor<45xi32>)
  return %rows, %offsets, %perm : tensor<45x6xf32>, tensor<6xi32>, tensor<45xi32>
}

func.func @dispatch_plain(%x: tensor<?x5xf32>, %ids: tensor<?x2xi32>)
    -> (tensor<?x5xf32>, tensor<4xi32>, tensor<?xi32>) {
  %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 3 : i64}
      : (tensor<?x5xf32>, tensor<?x2xi32>) -> (tensor<?x5xf32>, tensor<4xi32>, tensor<?xi32>)
  return %rows, %offsets, %perm : tensor<?x5xf32>, tensor<4xi32>, tensor<?xi32>
}

func.func @grouped_matmul_segments(%r: tensor<12x8xf32>, %w: tensor<3x8x5xf32>, %o: tensor<4xi32>)
    -> tensor<12x5xf32> {
  %y = tessera.grouped_matmul %r, %w, %o
      : (tensor<12x8xf32>, tensor<3x8x5xf32>, tensor<4xi32>) -> tensor<12x5xf32>
  return %y : tensor<12x5xf32>
}

func.func @grouped_matmul_swiglu(%r: tensor<10x8xf32>, %w: tensor<3x8x12xf32>, %o: tensor<4xi32>)
    -> tensor<10x6xf32> {
  %y = tessera.grouped_matmul %r, %w, %o {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<10x8xf32>, tensor<3x8x12xf32>, tensor<4xi32>) -> tensor<10x6xf32>
  return %y : tensor<10x6xf32>
}

func.func @grouped_matmul_f16_dynamic(%r: tensor<?x16xf16>, %w: tensor<2x16x8xf16>, %o: tensor<3xi32>)
    -> tensor<?x8xf16> {
  %y = tessera.grouped_matmul %r, %w, %o
      : (tensor<?x16xf16>, tensor<2x16x8xf16>, tensor<3xi32>) -> tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}

func.func @combine_hand(%y: tensor<5x2xf32>, %p: tensor<5xi32>, %w: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %o = tessera.combine %y, %p, %w : (tensor<5x2xf32>, tensor<5xi32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %o : tensor<2x2xf32>
}

func.func @combine_random(%y: tensor<20x4xf32>, %p: tensor<20xi32>, %w: tensor<6x2xf32>) -> tensor<6x4xf32> {
  %o = tessera.combine %y, %p, %w : (tensor<20x4xf32>, tensor<20xi32>, tensor<6x2xf32>) -> tensor<6x4xf32>
  return %o : tensor<6x4xf32>
}

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
