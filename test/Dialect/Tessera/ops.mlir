// Round trip of every tessera op through the custom and the generic form.
// RUN: tessera-opt %s | tessera-opt | FileCheck %s
// RUN: tessera-opt %s --mlir-print-op-generic | tessera-opt | FileCheck %s

// CHECK-LABEL: func.func @attention_gqa_causal
// CHECK-SAME: (%[[Q:.+]]: tensor<1x8x16x64xf16>, %[[K:.+]]: tensor<1x2x32x64xf16>, %[[V:.+]]: tensor<1x2x32x64xf16>)
// CHECK: %[[OUT:.+]], %[[LSE:.+]] = tessera.attention %[[Q]], %[[K]], %[[V]] {causal = true}
// CHECK-SAME: : (tensor<1x8x16x64xf16>, tensor<1x2x32x64xf16>, tensor<1x2x32x64xf16>) -> (tensor<1x8x16x64xf16>, tensor<1x8x16xf32>)
// CHECK: return %[[OUT]], %[[LSE]]
func.func @attention_gqa_causal(%q: tensor<1x8x16x64xf16>, %k: tensor<1x2x32x64xf16>,
                                %v: tensor<1x2x32x64xf16>)
    -> (tensor<1x8x16x64xf16>, tensor<1x8x16xf32>) {
  %out, %lse = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x8x16x64xf16>, tensor<1x2x32x64xf16>, tensor<1x2x32x64xf16>)
      -> (tensor<1x8x16x64xf16>, tensor<1x8x16xf32>)
  return %out, %lse : tensor<1x8x16x64xf16>, tensor<1x8x16xf32>
}

// CHECK-LABEL: func.func @attention_all_options
// CHECK: tessera.attention %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} bias %{{[a-z0-9_]+}} kv_lens %{{[a-z0-9_]+}}
// CHECK-SAME: scale = 1.250000e-01 : f32
// CHECK-SAME: softcap = 5.000000e+01 : f32
// CHECK-SAME: window = 4 : i64
func.func @attention_all_options(%q: tensor<2x4x8x64xf32>, %k: tensor<2x4x8x64xf32>,
                                 %v: tensor<2x4x8x32xf32>, %bias: tensor<1x4x8x8xf32>,
                                 %lens: tensor<2xi32>) -> tensor<2x4x8x32xf32> {
  %out = tessera.attention %q, %k, %v bias %bias kv_lens %lens
      {scale = 0.125 : f32, window = 4 : i64, softcap = 50.0 : f32}
      : (tensor<2x4x8x64xf32>, tensor<2x4x8x64xf32>, tensor<2x4x8x32xf32>,
         tensor<1x4x8x8xf32>, tensor<2xi32>) -> tensor<2x4x8x32xf32>
  return %out : tensor<2x4x8x32xf32>
}

// CHECK-LABEL: func.func @attention_kv_lens_only
// CHECK: tessera.attention %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} kv_lens %{{[a-z0-9_]+}} :
func.func @attention_kv_lens_only(%q: tensor<2x4x1x64xbf16>, %k: tensor<2x1x128x64xbf16>,
                                  %v: tensor<2x1x128x64xbf16>, %lens: tensor<2xi32>)
    -> tensor<2x4x1x64xbf16> {
  %out = tessera.attention %q, %k, %v kv_lens %lens
      : (tensor<2x4x1x64xbf16>, tensor<2x1x128x64xbf16>, tensor<2x1x128x64xbf16>,
         tensor<2xi32>) -> tensor<2x4x1x64xbf16>
  return %out : tensor<2x4x1x64xbf16>
}

// CHECK-LABEL: func.func @attention_dynamic
// CHECK: tessera.attention {{.*}} : (tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>) -> tensor<?x8x?x64xf32>
func.func @attention_dynamic(%q: tensor<?x8x?x64xf32>, %k: tensor<?x2x?x64xf32>,
                             %v: tensor<?x2x?x64xf32>) -> tensor<?x8x?x64xf32> {
  %out = tessera.attention %q, %k, %v
      : (tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>)
      -> tensor<?x8x?x64xf32>
  return %out : tensor<?x8x?x64xf32>
}

// CHECK-LABEL: func.func @latent_attention
// CHECK: tessera.latent_attention %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} kv_lens %{{[a-z0-9_]+}} {causal = true, latent_dim = 512 : i64}
// CHECK-SAME: -> tensor<1x128x2x512xbf16>
func.func @latent_attention(%q: tensor<1x128x2x576xbf16>, %kv: tensor<1x4096x576xbf16>,
                            %lens: tensor<1xi32>) -> tensor<1x128x2x512xbf16> {
  %out = tessera.latent_attention %q, %kv kv_lens %lens {latent_dim = 512 : i64, causal = true}
      : (tensor<1x128x2x576xbf16>, tensor<1x4096x576xbf16>, tensor<1xi32>)
      -> tensor<1x128x2x512xbf16>
  return %out : tensor<1x128x2x512xbf16>
}

// CHECK-LABEL: func.func @route_deepseek
// CHECK: %[[W:.+]], %[[IDS:.+]] = tessera.route %{{[a-z0-9_]+}} bias %{{[a-z0-9_]+}}
// CHECK-SAME: n_group = 8 : i64
// CHECK-SAME: normalize = true
// CHECK-SAME: scoring = #tessera.scoring<sigmoid>
// CHECK-SAME: top_k = 8 : i64
// CHECK-SAME: topk_group = 4 : i64
func.func @route_deepseek(%logits: tensor<16x256xf32>, %bias: tensor<256xf32>)
    -> (tensor<16x8xf32>, tensor<16x8xi32>) {
  %w, %ids = tessera.route %logits bias %bias
      {top_k = 8 : i64, scoring = #tessera.scoring<sigmoid>, n_group = 8 : i64,
       topk_group = 4 : i64, normalize = true, scale = 2.5 : f32}
      : (tensor<16x256xf32>, tensor<256xf32>) -> (tensor<16x8xf32>, tensor<16x8xi32>)
  return %w, %ids : tensor<16x8xf32>, tensor<16x8xi32>
}

// CHECK-LABEL: func.func @route_dynamic_tokens
// CHECK: tessera.route %{{[a-z0-9_]+}} {top_k = 2 : i64} : (tensor<?x8xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
func.func @route_dynamic_tokens(%logits: tensor<?x8xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = tessera.route %logits {top_k = 2 : i64}
      : (tensor<?x8xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}

// CHECK-LABEL: func.func @dispatch_block
// CHECK: %[[ROWS:.+]], %[[OFFSETS:.+]], %[[PERM:.+]] = tessera.dispatch %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {block = 4 : i64, num_experts = 4 : i64}
// CHECK-SAME: -> (tensor<28x32xf32>, tensor<5xi32>, tensor<28xi32>)
func.func @dispatch_block(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>)
    -> (tensor<28x32xf32>, tensor<5xi32>, tensor<28xi32>) {
  %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 4 : i64, block = 4 : i64}
      : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<28x32xf32>, tensor<5xi32>, tensor<28xi32>)
  return %rows, %offsets, %perm : tensor<28x32xf32>, tensor<5xi32>, tensor<28xi32>
}

// CHECK-LABEL: func.func @grouped_matmul_swiglu
// CHECK: tessera.grouped_matmul %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {epilogue = #tessera.epilogue<swiglu>}
// CHECK-SAME: -> tensor<28x32xf16>
func.func @grouped_matmul_swiglu(%rows: tensor<28x32xf16>, %w: tensor<4x32x64xf16>,
                                 %offsets: tensor<5xi32>) -> tensor<28x32xf16> {
  %out = tessera.grouped_matmul %rows, %w, %offsets {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<28x32xf16>, tensor<4x32x64xf16>, tensor<5xi32>) -> tensor<28x32xf16>
  return %out : tensor<28x32xf16>
}

// CHECK-LABEL: func.func @grouped_matmul_dynamic
// CHECK: tessera.grouped_matmul %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : (tensor<?x32xf32>, tensor<4x32x16xf32>, tensor<5xi32>) -> tensor<?x16xf32>
func.func @grouped_matmul_dynamic(%rows: tensor<?x32xf32>, %w: tensor<4x32x16xf32>,
                                  %offsets: tensor<5xi32>) -> tensor<?x16xf32> {
  %out = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<?x32xf32>, tensor<4x32x16xf32>, tensor<5xi32>) -> tensor<?x16xf32>
  return %out : tensor<?x16xf32>
}

// CHECK-LABEL: func.func @grouped_matmul_gather_scale
// CHECK: tessera.grouped_matmul %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} gather %{{[a-z0-9_]+}} scale %{{[a-z0-9_]+}} {epilogue = #tessera.epilogue<swiglu>} : (tensor<8x32xbf16>, tensor<4x32x64xbf16>, tensor<5xi32>, tensor<28xi32>, tensor<28xf32>) -> tensor<28x32xbf16>
// CHECK: tessera.grouped_matmul %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} scale %{{[a-z0-9_]+}} : (tensor<28x32xbf16>, tensor<4x32x16xbf16>, tensor<5xi32>, tensor<28xf32>) -> tensor<28x16xbf16>
func.func @grouped_matmul_gather_scale(%x: tensor<8x32xbf16>, %up: tensor<4x32x64xbf16>,
    %down: tensor<4x32x16xbf16>, %offsets: tensor<5xi32>, %index: tensor<28xi32>,
    %s: tensor<28xf32>) -> tensor<28x16xbf16> {
  %h = tessera.grouped_matmul %x, %up, %offsets gather %index scale %s {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<8x32xbf16>, tensor<4x32x64xbf16>, tensor<5xi32>, tensor<28xi32>, tensor<28xf32>) -> tensor<28x32xbf16>
  %y = tessera.grouped_matmul %h, %down, %offsets scale %s
      : (tensor<28x32xbf16>, tensor<4x32x16xbf16>, tensor<5xi32>, tensor<28xf32>) -> tensor<28x16xbf16>
  return %y : tensor<28x16xbf16>
}

// CHECK-LABEL: func.func @combine_prescaled
// CHECK: tessera.combine %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {prescaled} : (tensor<28x32xf32>, tensor<28xi32>, tensor<8x2xf32>) -> tensor<8x32xf32>
func.func @combine_prescaled(%y: tensor<28x32xf32>, %perm: tensor<28xi32>, %w: tensor<8x2xf32>)
    -> tensor<8x32xf32> {
  %out = tessera.combine %y, %perm, %w {prescaled}
      : (tensor<28x32xf32>, tensor<28xi32>, tensor<8x2xf32>) -> tensor<8x32xf32>
  return %out : tensor<8x32xf32>
}

// CHECK-LABEL: func.func @combine
// CHECK: tessera.combine %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : (tensor<28x32xf32>, tensor<28xi32>, tensor<8x2xf32>) -> tensor<8x32xf32>
func.func @combine(%y: tensor<28x32xf32>, %perm: tensor<28xi32>, %w: tensor<8x2xf32>)
    -> tensor<8x32xf32> {
  %out = tessera.combine %y, %perm, %w
      : (tensor<28x32xf32>, tensor<28xi32>, tensor<8x2xf32>) -> tensor<8x32xf32>
  return %out : tensor<8x32xf32>
}

// CHECK-LABEL: func.func @moe_shared
// CHECK: tessera.moe %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} bias %{{[a-z0-9_]+}} shared %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {block = 4 : i64, top_k = 4 : i64}
func.func @moe_shared(%x: tensor<16x64xf32>, %gate: tensor<8x64xf32>,
                      %up: tensor<8x64x64xf32>, %down: tensor<8x32x64xf32>,
                      %bias: tensor<8xf32>, %su: tensor<64x128xf32>,
                      %sd: tensor<64x64xf32>) -> tensor<16x64xf32> {
  %y = tessera.moe %x, %gate, %up, %down bias %bias shared %su, %sd {top_k = 4 : i64, block = 4 : i64}
      : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>, tensor<8x32x64xf32>,
         tensor<8xf32>, tensor<64x128xf32>, tensor<64x64xf32>) -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}

// CHECK-LABEL: func.func @moe_plain
// CHECK: tessera.moe %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {top_k = 2 : i64} :
func.func @moe_plain(%x: tensor<?x64xbf16>, %gate: tensor<8x64xbf16>,
                     %up: tensor<8x64x64xbf16>, %down: tensor<8x32x64xbf16>)
    -> tensor<?x64xbf16> {
  %y = tessera.moe %x, %gate, %up, %down {top_k = 2 : i64}
      : (tensor<?x64xbf16>, tensor<8x64xbf16>, tensor<8x64x64xbf16>,
         tensor<8x32x64xbf16>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
