// RUN: tessera-opt %s --tessera-gather-grouped-matmul | FileCheck %s

// Each row's expert (the last clamped segment holding it, -1 for none),
// then one contraction over (rows, columns, K) that gathers the weights of
// the row's expert, then the reference SwiGLU epilogue.
// CHECK-DAG: #[[EXPERT_IN:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[EXPERT_OUT:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[ROWS:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[ACC:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @swiglu
// CHECK-SAME:    (%[[X:.+]]: tensor<12x8xbf16>, %[[W:.+]]: tensor<3x8x10xbf16>, %[[OFF:.+]]: tensor<4xi32>)
// CHECK-DAG:     %[[NONE:.+]] = arith.constant -1 : i32
// CHECK:         %[[INIT:.+]] = linalg.fill ins(%[[NONE]] : i32) outs(%{{.+}} : tensor<12xi32>)
// CHECK:         %[[EXPERT:.+]] = linalg.generic {indexing_maps = [#[[EXPERT_IN]], #[[EXPERT_OUT]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME:        outs(%[[INIT]] : tensor<12xi32>)
// CHECK:           %[[ROW:.+]] = linalg.index 0
// CHECK:           %[[E:.+]] = linalg.index 1
// CHECK:           tensor.extract %[[OFF]][%[[E]]]
// CHECK:           %[[NEXT:.+]] = arith.addi %[[E]], %{{.+}} : index
// CHECK:           tensor.extract %[[OFF]][%[[NEXT]]]
// CHECK:           %[[IN:.+]] = arith.andi
// CHECK:           %[[ID:.+]] = arith.index_cast %[[E]] : index to i32
// CHECK:           arith.select %[[IN]], %[[ID]], %{{.+}} : i32
// CHECK:         %[[PRODUCT:.+]] = linalg.generic {indexing_maps = [#[[ROWS]], #[[ACC]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]] : tensor<12x8xbf16>) outs(%{{.+}} : tensor<12x10xf32>)
// CHECK:           %[[R:.+]] = linalg.index 0
// CHECK:           %[[N:.+]] = linalg.index 1
// CHECK:           %[[K:.+]] = linalg.index 2
// CHECK:           %[[OWNER:.+]] = tensor.extract %[[EXPERT]][%[[R]]] : tensor<12xi32>
// CHECK:           %[[HELD:.+]] = arith.cmpi sge, %[[OWNER]]
// CHECK:           %[[IDX:.+]] = arith.index_cast
// CHECK:           tensor.extract %[[W]][%[[IDX]], %[[K]], %[[N]]] : tensor<3x8x10xbf16>
// CHECK:           %[[SUM:.+]] = arith.addf
// CHECK:           arith.select %[[HELD]], %[[SUM]], %{{.+}} : f32
// CHECK:         tensor.extract_slice %[[PRODUCT]][0, 0] [12, 5] [1, 1]
// CHECK:         tensor.extract_slice %[[PRODUCT]][0, 5] [12, 5] [1, 1]
// CHECK:         math.exp
// CHECK:         arith.truncf %{{.+}} : f32 to bf16
// CHECK-NOT:     tessera.grouped_matmul
func.func @swiglu(%r: tensor<12x8xbf16>, %w: tensor<3x8x10xbf16>, %o: tensor<4xi32>) -> tensor<12x5xbf16> {
  %y = tessera.grouped_matmul %r, %w, %o {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<12x8xbf16>, tensor<3x8x10xbf16>, tensor<4xi32>) -> tensor<12x5xbf16>
  return %y : tensor<12x5xbf16>
}

// Without an epilogue the f32 product is the result (no rounding for f32).
// CHECK-LABEL: func.func @plain
// CHECK:         %[[P:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:         return %[[P]] : tensor<6x4xf32>
func.func @plain(%r: tensor<6x8xf32>, %w: tensor<2x8x4xf32>, %o: tensor<3xi32>) -> tensor<6x4xf32> {
  %y = tessera.grouped_matmul %r, %w, %o
      : (tensor<6x8xf32>, tensor<2x8x4xf32>, tensor<3xi32>) -> tensor<6x4xf32>
  return %y : tensor<6x4xf32>
}
