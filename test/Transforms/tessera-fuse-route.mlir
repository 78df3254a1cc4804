// RUN: tessera-opt %s --tessera-fuse-route --split-input-file | FileCheck %s

// Softmax top-k: a forall over tokens; per token a max pass and a sum-of-
// exponentials pass over the logits, then one sweep over the experts that
// inserts each into the k slots, which live in the token's rows of the
// results (no [T, E] tensor, no ranking over expert pairs).
// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[L:.+]]: tensor<16x60xf32>)
// CHECK: scf.forall (%[[T:.+]]) in (16) shared_outs(%[[W:.+]] = %{{.+}}, %[[I:.+]] = %{{.+}}) -> (tensor<16x4xf32>, tensor<16x4xi32>)
// CHECK: %[[WROW:.+]] = tensor.extract_slice %[[W]][%[[T]], 0] [1, 4] [1, 1] : tensor<16x4xf32> to tensor<4xf32>
// CHECK: %[[IROW:.+]] = tensor.extract_slice %[[I]][%[[T]], 0] [1, 4] [1, 1] : tensor<16x4xi32> to tensor<4xi32>
// CHECK: %[[MAX:.+]] = scf.for {{.+}} -> (f32)
// CHECK: arith.maximumf
// CHECK: %[[SUM:.+]] = scf.for {{.+}} -> (f32)
// CHECK: math.exp
// CHECK: %[[EMPTY:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[WROW]] : tensor<4xf32>)
// CHECK: %[[NOID:.+]] = linalg.fill ins(%{{.+}} : i32) outs(%[[IROW]] : tensor<4xi32>)
// CHECK: %[[SLOTS:.+]]:2 = scf.for %{{.+}} = %{{.+}} to %c60 step %{{.+}} iter_args(%{{.+}} = %[[EMPTY]], %{{.+}} = %[[NOID]])
// CHECK: arith.divf %{{.+}}, %[[SUM]] : f32
// CHECK: scf.for %{{.+}} = %{{.+}} to %c4 {{.+}} -> (f32, i32, tensor<4xf32>, tensor<4xi32>)
// CHECK: arith.cmpf ueq
// CHECK: arith.cmpi slt
// CHECK: arith.cmpf ugt
// CHECK: tensor.insert
// CHECK: tensor.insert
// CHECK: %[[WEIGHTS:.+]] = scf.for {{.+}} iter_args(%{{.+}} = %[[SLOTS]]#0) -> (tensor<4xf32>)
// CHECK: tensor.extract %[[SLOTS]]#1
// CHECK: tensor.parallel_insert_slice %[[WEIGHTS]] into %[[W]][%[[T]], 0] [1, 4] [1, 1]
// CHECK: tensor.parallel_insert_slice %[[SLOTS]]#1 into %[[I]][%[[T]], 0] [1, 4] [1, 1]
// CHECK-NOT: tessera.route
// CHECK-NOT: linalg.generic
func.func @softmax(%l: tensor<16x60xf32>) -> (tensor<16x4xf32>, tensor<16x4xi32>) {
  %w, %ids = tessera.route %l {top_k = 4 : i64}
      : (tensor<16x60xf32>) -> (tensor<16x4xf32>, tensor<16x4xi32>)
  return %w, %ids : tensor<16x4xf32>, tensor<16x4xi32>
}

// -----

// DeepSeek-style: sigmoid scores plus bias for selection, group scores from
// the two best of each group (slots starting at NaN, the lowest in the
// order), kept groups by rank, then normalize and scale.
// CHECK-LABEL: func.func @grouped
// CHECK: %[[NAN:.+]] = arith.constant 0x7FC00000 : f32
// CHECK: scf.forall
// CHECK-NOT: arith.maximumf
// CHECK: scf.for {{.+}} -> (tensor<4xf32>)
// CHECK: scf.for {{.+}} iter_args(%{{.+}} = %[[NAN]], %{{.+}} = %[[NAN]]) -> (f32, f32)
// CHECK: math.exp
// CHECK: tensor.extract %{{.+}}[%{{.+}}] : tensor<8xf32>
// CHECK: %[[KEPT:.+]] = scf.for {{.+}} -> (tensor<4xi1>)
// CHECK: scf.for {{.+}} -> (index)
// CHECK: scf.for %{{.+}} = %{{.+}} to %c8
// CHECK: tensor.extract %[[KEPT]]
// CHECK: arith.select
// CHECK: arith.divf
// CHECK: arith.mulf %{{.+}}, %{{.+}} : f32
// CHECK: tensor.parallel_insert_slice
func.func @grouped(%l: tensor<16x8xf32>, %b: tensor<8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>) {
  %w, %ids = tessera.route %l bias %b {top_k = 2 : i64, scoring = #tessera.scoring<sigmoid>,
                                       n_group = 4 : i64, topk_group = 2 : i64, normalize = true, scale = 2.5 : f32}
      : (tensor<16x8xf32>, tensor<8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>)
  return %w, %ids : tensor<16x2xf32>, tensor<16x2xi32>
}

// -----

// Dynamic tokens and bf16 logits: the forall runs over the dynamic T and the
// results are cast back to the op's types.
// CHECK-LABEL: func.func @dynamic
// CHECK: %[[T:.+]] = tensor.dim
// CHECK: scf.forall (%{{.+}}) in (%[[T]])
// CHECK: arith.extf %{{.+}} : bf16 to f32
func.func @dynamic(%l: tensor<?x16xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = tessera.route %l {top_k = 2 : i64}
      : (tensor<?x16xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}
