// RUN: tessera-opt %s --split-input-file --tessera-parallel-scatter=chunk=8 | FileCheck %s
// RUN: tessera-opt %s --split-input-file --tessera-parallel-scatter | FileCheck %s --check-prefix=DEFAULT

// Dispatch of 20 pairs in 3 chunks of 8 (the last padded with -1): counts
// per (chunk, expert), expert totals, the reference's padded offsets, each
// chunk's first row per expert, each pair's row, then one parallel store
// of every pair's index at its row.
// CHECK-DAG: #[[IDS:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[OUT3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[BYCHUNK:.+]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[EARLIER:.+]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-LABEL: func.func @dispatch
// CHECK-SAME:    (%[[X:.+]]: tensor<10x16xf32>, %[[IDS_ARG:.+]]: tensor<10x2xi32>)
// CHECK:         %[[FLAT:.+]] = tensor.collapse_shape %[[IDS_ARG]] {{\[}}[0, 1]] : tensor<10x2xi32> into tensor<20xi32>
// CHECK:         %[[PADDING:.+]] = linalg.fill ins(%c-1_i32 : i32) outs(%{{.+}} : tensor<24xi32>)
// CHECK:         %[[PADDED:.+]] = tensor.insert_slice %[[FLAT]] into %[[PADDING]][0] [20] [1]
// CHECK:         %[[IDS2:.+]] = tensor.expand_shape %[[PADDED]] {{\[}}[0, 1]] output_shape [3, 8] : tensor<24xi32> into tensor<3x8xi32>
// CHECK:         %[[COUNT:.+]] = linalg.generic {indexing_maps = [#[[IDS]], #[[OUT3]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[IDS2]] : tensor<3x8xi32>) outs(%{{.+}} : tensor<3x4xi32>)
// CHECK:           %[[E:.+]] = linalg.index 1
// CHECK:           %[[E32:.+]] = arith.index_cast %[[E]] : index to i32
// CHECK:           %[[MATCH:.+]] = arith.cmpi eq, %{{.+}}, %[[E32]]
// CHECK:           arith.extui %[[MATCH]]
// CHECK:         %[[TOTAL:.+]] = linalg.generic {indexing_maps = [#[[BYCHUNK]], #{{.+}}], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME:        ins(%[[COUNT]] : tensor<3x4xi32>) outs(%{{.+}} : tensor<4xi32>)
// CHECK:         %[[OFFSETS:.+]] = linalg.generic
// CHECK-SAME:        ins(%[[TOTAL]] : tensor<4xi32>) outs(%{{.+}} : tensor<5xi32>)
// CHECK:         %[[STARTS:.+]] = tensor.extract_slice %[[OFFSETS]][0] [4] [1]
// CHECK:         %[[BCAST:.+]] = linalg.generic
// CHECK-SAME:        ins(%[[STARTS]] : tensor<4xi32>) outs(%{{.+}} : tensor<3x4xi32>)
// CHECK:         %[[BASE:.+]] = linalg.generic {indexing_maps = [#[[EARLIER]], #[[OUT3]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[COUNT]] : tensor<3x4xi32>) outs(%[[BCAST]] : tensor<3x4xi32>)
// CHECK:           %[[CP:.+]] = linalg.index 2
// CHECK:           %[[C:.+]] = linalg.index 0
// CHECK:           arith.cmpi ult, %[[CP]], %[[C]]
// CHECK:         %[[START:.+]] = linalg.generic
// CHECK-SAME:        ins(%[[IDS2]] : tensor<3x8xi32>)
// CHECK:           %[[VALID:.+]] = arith.cmpi ult, %{{.+}}, %c4_i32
// CHECK:           tensor.extract %[[BASE]]
// CHECK:           arith.select %[[VALID]], %{{.+}}, %c-1_i32
// CHECK:         %[[ROW:.+]] = linalg.generic {indexing_maps = [#[[OUT3]], #[[IDS]], #[[OUT3]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[IDS2]], %[[IDS2]] : tensor<3x8xi32>, tensor<3x8xi32>) outs(%[[START]] : tensor<3x8xi32>)
// CHECK:           arith.cmpi eq
// CHECK:           %[[JP:.+]] = linalg.index 2
// CHECK:           %[[J:.+]] = linalg.index 1
// CHECK:           arith.cmpi ult, %[[JP]], %[[J]]
// CHECK:         %[[PERM_BUF:.+]] = memref.alloc() : memref<32xi32>
// CHECK:         linalg.fill ins(%c-1_i32 : i32) outs(%[[PERM_BUF]] : memref<32xi32>)
// CHECK:         scf.parallel (%[[PC:.+]], %[[PJ:.+]]) = (%c0, %c0) to (%c3, %c8)
// CHECK:           %[[TARGET:.+]] = tensor.extract %[[ROW]][%[[PC]], %[[PJ]]]
// CHECK:           scf.if
// CHECK:             %[[FIRST:.+]] = arith.muli %[[PC]], %c8
// CHECK:             %[[PAIR:.+]] = arith.addi %[[FIRST]], %[[PJ]]
// CHECK:             %[[PAIR32:.+]] = arith.index_cast %[[PAIR]] : index to i32
// CHECK:             %[[AT:.+]] = arith.index_cast %[[TARGET]] : i32 to index
// CHECK:             memref.store %[[PAIR32]], %[[PERM_BUF]][%[[AT]]]
// CHECK:         %[[PERM:.+]] = bufferization.to_tensor %[[PERM_BUF]] restrict writable : memref<32xi32> to tensor<32xi32>
// CHECK:         %[[ROWS:.+]] = linalg.generic
// CHECK-SAME:        ins(%[[PERM]] : tensor<32xi32>) outs(%{{.+}} : tensor<32x16xf32>)
// CHECK:           tensor.extract %[[X]]
// CHECK:         return %[[ROWS]], %[[OFFSETS]], %[[PERM]]
// CHECK-NOT:     tessera.dispatch

// The default chunk for 20 pairs is 16 (at least 16): 2 chunks.
// DEFAULT-LABEL: func.func @dispatch
// DEFAULT:         tensor.expand_shape %{{.+}} {{\[}}[0, 1]] output_shape [2, 16] : tensor<32xi32> into tensor<2x16xi32>
// DEFAULT:         scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c2, %c16)
func.func @dispatch(%x: tensor<10x16xf32>, %ids: tensor<10x2xi32>)
    -> (tensor<32x16xf32>, tensor<5xi32>, tensor<32xi32>) {
  %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 4 : i64, block = 4 : i64}
      : (tensor<10x16xf32>, tensor<10x2xi32>) -> (tensor<32x16xf32>, tensor<5xi32>, tensor<32xi32>)
  return %rows, %offsets, %perm : tensor<32x16xf32>, tensor<5xi32>, tensor<32xi32>
}

// -----

// 1024 pairs: chunks of 32 (sqrt), no padding.
// DEFAULT-LABEL: func.func @dispatch_large
// DEFAULT-NOT:     tensor.insert_slice
// DEFAULT:         tensor.expand_shape %{{.+}} {{\[}}[0, 1]] output_shape [32, 32] : tensor<1024xi32> into tensor<32x32xi32>
// DEFAULT:         memref.alloc() : memref<1024xi32>
// DEFAULT:         scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c32, %c32)
func.func @dispatch_large(%x: tensor<256x8xbf16>, %ids: tensor<256x4xi32>)
    -> (tensor<1024x8xbf16>, tensor<9xi32>, tensor<1024xi32>) {
  %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 8 : i64}
      : (tensor<256x8xbf16>, tensor<256x4xi32>) -> (tensor<1024x8xbf16>, tensor<9xi32>, tensor<1024xi32>)
  return %rows, %offsets, %perm : tensor<1024x8xbf16>, tensor<9xi32>, tensor<1024xi32>
}

// -----

// Combine: the inverse permutation by atomic max (the last row naming a
// pair wins, as in the reference), then the reference's weighted sum.
// CHECK-LABEL: func.func @combine
// CHECK-SAME:    (%[[Y:.+]]: tensor<32x16xf32>, %[[PERM:.+]]: tensor<32xi32>, %[[W:.+]]: tensor<10x2xf32>)
// CHECK:         %[[INV_BUF:.+]] = memref.alloc() : memref<20xi32>
// CHECK:         linalg.fill ins(%c-1_i32 : i32) outs(%[[INV_BUF]] : memref<20xi32>)
// CHECK:         scf.parallel (%[[R:.+]]) = (%c0) to (%c32)
// CHECK:           %[[PAIR:.+]] = tensor.extract %[[PERM]][%[[R]]]
// CHECK:           %[[NONNEG:.+]] = arith.cmpi sge, %[[PAIR]], %c0_i32
// CHECK:           %[[BELOW:.+]] = arith.cmpi slt, %[[PAIR]], %c20_i32
// CHECK:           %[[INSIDE:.+]] = arith.andi %[[NONNEG]], %[[BELOW]]
// CHECK:           scf.if %[[INSIDE]]
// CHECK:             %[[R32:.+]] = arith.index_cast %[[R]] : index to i32
// CHECK:             %[[AT:.+]] = arith.index_cast %[[PAIR]] : i32 to index
// CHECK:             memref.atomic_rmw maxs %[[R32]], %[[INV_BUF]][%[[AT]]]
// CHECK:         %[[INV:.+]] = bufferization.to_tensor %[[INV_BUF]] restrict writable
// CHECK:         linalg.generic
// CHECK-SAME:        ins(%[[W]] : tensor<10x2xf32>) outs(%{{.+}} : tensor<10x16xf32>)
// CHECK:           tensor.extract %[[INV]]
// CHECK:           tensor.extract %[[Y]]
// CHECK-NOT:     tessera.combine
func.func @combine(%y: tensor<32x16xf32>, %perm: tensor<32xi32>, %w: tensor<10x2xf32>) -> tensor<10x16xf32> {
  %o = tessera.combine %y, %perm, %w : (tensor<32x16xf32>, tensor<32xi32>, tensor<10x2xf32>) -> tensor<10x16xf32>
  return %o : tensor<10x16xf32>
}

// -----

// Dynamic shapes keep the reference lowering's loops.
// CHECK-LABEL: func.func @dynamic
// CHECK:         tessera.dispatch
// CHECK:         tessera.combine
// CHECK-NOT:     scf.parallel
func.func @dynamic(%x: tensor<?x4xf32>, %ids: tensor<?x2xi32>, %w: tensor<?x2xf32>) -> tensor<?x4xf32> {
  %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 3 : i64}
      : (tensor<?x4xf32>, tensor<?x2xi32>) -> (tensor<?x4xf32>, tensor<4xi32>, tensor<?xi32>)
  %o = tessera.combine %rows, %perm, %w : (tensor<?x4xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x4xf32>
  return %o : tensor<?x4xf32>
}
