// RUN: tessera-opt %s --tessera-decompose-moe --split-input-file | FileCheck %s

// The layer becomes router GEMM, route, dispatch, up (SwiGLU) and down
// grouped matmuls, and combine, with the routing attributes carried over.

// CHECK-LABEL: func.func @moe
// CHECK-SAME: (%[[X:.+]]: tensor<16x64xf32>, %[[GATE:.+]]: tensor<8x64xf32>, %[[UP:.+]]: tensor<8x64x64xf32>, %[[DOWN:.+]]: tensor<8x32x64xf32>, %[[BIAS:.+]]: tensor<8xf32>)
// The router GEMM multiplies by the transposed gate, a plain row-major
// linalg.matmul for f32.
// CHECK: %[[ZERO:.+]] = linalg.fill {{.*}} -> tensor<16x8xf32>
// CHECK: %[[GATET:.+]] = linalg.transpose ins(%[[GATE]] : tensor<8x64xf32>) outs(%{{.+}} : tensor<64x8xf32>) permutation = [1, 0]
// CHECK: %[[LOGITS:.+]] = linalg.matmul ins(%[[X]], %[[GATET]] : tensor<16x64xf32>, tensor<64x8xf32>) outs(%[[ZERO]] : tensor<16x8xf32>)
// CHECK: %[[W:.+]], %[[IDS:.+]] = tessera.route %[[LOGITS]] bias %[[BIAS]]
// CHECK-SAME: n_group = 4 : i64, normalize = true, scale = 2.000000e+00 : f32, scoring = #tessera.scoring<sigmoid>, top_k = 2 : i64, topk_group = 2 : i64
// CHECK-SAME: -> (tensor<16x2xf32>, tensor<16x2xi32>)
// CHECK: %[[ROWS:.+]], %[[OFFSETS:.+]], %[[PERM:.+]] = tessera.dispatch %[[X]], %[[IDS]] {block = 4 : i64, num_experts = 8 : i64}
// CHECK-SAME: -> (tensor<56x64xf32>, tensor<9xi32>, tensor<56xi32>)
// CHECK: %[[H:.+]] = tessera.grouped_matmul %[[ROWS]], %[[UP]], %[[OFFSETS]] {epilogue = #tessera.epilogue<swiglu>}
// CHECK-SAME: -> tensor<56x32xf32>
// CHECK: %[[Y:.+]] = tessera.grouped_matmul %[[H]], %[[DOWN]], %[[OFFSETS]] :
// CHECK-SAME: -> tensor<56x64xf32>
// CHECK: %[[OUT:.+]] = tessera.combine %[[Y]], %[[PERM]], %[[W]]
// CHECK-NOT: tessera.moe
// CHECK: return %[[OUT]]
func.func @moe(%x: tensor<16x64xf32>, %gate: tensor<8x64xf32>,
               %up: tensor<8x64x64xf32>, %down: tensor<8x32x64xf32>,
               %bias: tensor<8xf32>) -> tensor<16x64xf32> {
  %y = tessera.moe %x, %gate, %up, %down bias %bias
      {top_k = 2 : i64, scoring = #tessera.scoring<sigmoid>, n_group = 4 : i64,
       topk_group = 2 : i64, normalize = true, scale = 2.0 : f32, block = 4 : i64}
      : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>,
         tensor<8x32x64xf32>, tensor<8xf32>) -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}

// -----

// Shared experts: one segment [0, T) over a single expanded expert, added.

// CHECK-LABEL: func.func @moe_shared_dynamic
// CHECK-SAME: (%[[X:.+]]: tensor<?x64xbf16>, %{{.+}}: tensor<4x64xbf16>, %{{.+}}: tensor<4x64x64xbf16>, %{{.+}}: tensor<4x32x64xbf16>, %[[SU:.+]]: tensor<64x256xbf16>, %[[SD:.+]]: tensor<128x64xbf16>)
// CHECK: tessera.route {{.*}} -> (tensor<?x1xf32>, tensor<?x1xi32>)
// CHECK: tessera.dispatch {{.*}} -> (tensor<?x64xbf16>, tensor<5xi32>, tensor<?xi32>)
// CHECK: %[[ROUTED:.+]] = tessera.combine {{.*}} -> tensor<?x64xbf16>
// CHECK: %[[T:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x64xbf16>
// CHECK: %[[T32:.+]] = arith.index_cast %[[T]] : index to i32
// CHECK: %[[OFFS:.+]] = tensor.from_elements %{{.+}}, %[[T32]] : tensor<2xi32>
// CHECK: %[[SUE:.+]] = tensor.expand_shape %[[SU]] {{\[}}[0, 1], [2]] output_shape [1, 64, 256]
// CHECK: %[[SH:.+]] = tessera.grouped_matmul %[[X]], %[[SUE]], %[[OFFS]] {epilogue = #tessera.epilogue<swiglu>} : (tensor<?x64xbf16>, tensor<1x64x256xbf16>, tensor<2xi32>) -> tensor<?x128xbf16>
// CHECK: %[[SDE:.+]] = tensor.expand_shape %[[SD]] {{\[}}[0, 1], [2]] output_shape [1, 128, 64]
// CHECK: %[[SY:.+]] = tessera.grouped_matmul %[[SH]], %[[SDE]], %[[OFFS]] :
// CHECK: %[[SUM:.+]] = linalg.add ins(%[[ROUTED]], %[[SY]] : tensor<?x64xbf16>, tensor<?x64xbf16>)
// CHECK: return %[[SUM]]
func.func @moe_shared_dynamic(%x: tensor<?x64xbf16>, %gate: tensor<4x64xbf16>,
                              %up: tensor<4x64x64xbf16>, %down: tensor<4x32x64xbf16>,
                              %su: tensor<64x256xbf16>, %sd: tensor<128x64xbf16>)
    -> tensor<?x64xbf16> {
  %y = tessera.moe %x, %gate, %up, %down shared %su, %sd {top_k = 1 : i64}
      : (tensor<?x64xbf16>, tensor<4x64xbf16>, tensor<4x64x64xbf16>,
         tensor<4x32x64xbf16>, tensor<64x256xbf16>, tensor<128x64xbf16>)
      -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
