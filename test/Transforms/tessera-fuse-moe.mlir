// RUN: tessera-opt %s --tessera-fuse-moe --split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-fuse-moe="gather-rows=false" --split-input-file | FileCheck %s --check-prefix=NOGATHER
// RUN: tessera-opt %s --tessera-fuse-moe="scale-rows=false" --split-input-file | FileCheck %s --check-prefix=NOSCALE

// A decomposed layer (k = 2, blocks of 4): the up GEMM gathers its rows from
// x through perm / k, the down GEMM scales its rows by their routing weight
// and the combine only adds.
// CHECK-LABEL: func.func @layer
// CHECK-SAME: (%[[X:.+]]: tensor<8x32xf32>, %[[IDS:.+]]: tensor<8x2xi32>, %[[W:.+]]: tensor<8x2xf32>, %[[UP:.+]]: tensor<4x32x64xf32>, %[[DOWN:.+]]: tensor<4x32x32xf32>)
// CHECK-DAG: %[[PAIRS:.+]] = arith.constant 16 : index
// CHECK-DAG: %[[K:.+]] = arith.constant 2 : index
// CHECK-DAG: %[[NONE:.+]] = arith.constant -1 : i32
// CHECK: %{{.+}}, %[[OFF:.+]], %[[PERM:.+]] = tessera.dispatch %[[X]], %[[IDS]]
// CHECK: %[[INDEX:.+]] = linalg.generic {{.+}} ins(%[[PERM]] : tensor<28xi32>) outs(%{{.+}} : tensor<28xi32>)
// CHECK: %[[P:.+]] = arith.index_cast %{{.+}} : i32 to index
// CHECK: %[[VALID:.+]] = arith.cmpi ult, %[[P]], %[[PAIRS]] : index
// CHECK: %[[T:.+]] = arith.divui %[[P]], %[[K]] : index
// CHECK: %[[T32:.+]] = arith.index_cast %[[T]] : index to i32
// CHECK: arith.select %[[VALID]], %[[T32]], %[[NONE]] : i32
// CHECK: %[[H:.+]] = tessera.grouped_matmul %[[X]], %[[UP]], %[[OFF]] gather %[[INDEX]] {epilogue = #tessera.epilogue<swiglu>}
// CHECK: %[[SCALE:.+]] = linalg.generic {{.+}} ins(%[[PERM]] : tensor<28xi32>) outs(%{{.+}} : tensor<28xf32>)
// CHECK: scf.if
// CHECK: tensor.extract %[[W]][%{{.+}}, %{{.+}}] : tensor<8x2xf32>
// CHECK: %[[Y:.+]] = tessera.grouped_matmul %[[H]], %[[DOWN]], %[[OFF]] scale %[[SCALE]] :
// CHECK: %[[OUT:.+]] = tessera.combine %[[Y]], %[[PERM]], %[[W]] {prescaled}
// CHECK: return %[[OUT]]

// NOGATHER-LABEL: func.func @layer
// NOGATHER: %[[ROWS:.+]], %[[OFF:.+]], %{{.+}} = tessera.dispatch
// NOGATHER: tessera.grouped_matmul %[[ROWS]], %{{.+}}, %[[OFF]] {epilogue = #tessera.epilogue<swiglu>}
// NOGATHER: tessera.grouped_matmul {{.+}} scale
// NOGATHER: tessera.combine {{.+}} {prescaled}

// NOSCALE-LABEL: func.func @layer
// NOSCALE: tessera.grouped_matmul {{.+}} gather
// NOSCALE-NOT: scale
// NOSCALE: tessera.combine %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} :
func.func @layer(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>, %w: tensor<8x2xf32>,
                 %up: tensor<4x32x64xf32>, %down: tensor<4x32x32xf32>) -> tensor<8x32xf32> {
  %rows, %off, %perm = tessera.dispatch %x, %ids {num_experts = 4 : i64, block = 4 : i64}
      : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<28x32xf32>, tensor<5xi32>, tensor<28xi32>)
  %h = tessera.grouped_matmul %rows, %up, %off {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<28x32xf32>, tensor<4x32x64xf32>, tensor<5xi32>) -> tensor<28x32xf32>
  %y = tessera.grouped_matmul %h, %down, %off
      : (tensor<28x32xf32>, tensor<4x32x32xf32>, tensor<5xi32>) -> tensor<28x32xf32>
  %out = tessera.combine %y, %perm, %w
      : (tensor<28x32xf32>, tensor<28xi32>, tensor<8x2xf32>) -> tensor<8x32xf32>
  return %out : tensor<8x32xf32>
}

// -----

// Dynamic token count, bf16: the number of pairs and k come from the ids.
// CHECK-LABEL: func.func @dynamic_bf16
// CHECK-SAME: (%[[X:.+]]: tensor<?x16xbf16>, %[[IDS:.+]]: tensor<?x4xi32>
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK: %[[T:.+]] = tensor.dim %[[IDS]], %[[C0]] : tensor<?x4xi32>
// CHECK: %[[PAIRS:.+]] = arith.muli %[[T]], %[[C4]] : index
// CHECK: arith.cmpi ult, %{{.+}}, %[[PAIRS]] : index
// CHECK: tessera.grouped_matmul %[[X]], {{.+}} gather {{.+}} : (tensor<?x16xbf16>, tensor<3x16x8xbf16>, tensor<4xi32>, tensor<?xi32>) -> tensor<?x4xbf16>
func.func @dynamic_bf16(%x: tensor<?x16xbf16>, %ids: tensor<?x4xi32>, %up: tensor<3x16x8xbf16>)
    -> tensor<?x4xbf16> {
  %rows, %off, %perm = tessera.dispatch %x, %ids {num_experts = 3 : i64}
      : (tensor<?x16xbf16>, tensor<?x4xi32>) -> (tensor<?x16xbf16>, tensor<4xi32>, tensor<?xi32>)
  %h = tessera.grouped_matmul %rows, %up, %off {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<?x16xbf16>, tensor<3x16x8xbf16>, tensor<4xi32>) -> tensor<?x4xbf16>
  return %h : tensor<?x4xbf16>
}

// -----

// Left alone: rows that are not dispatched rows, a GEMM result with a user
// besides the combine (scaling it would change that user's value), a
// combine of something else, and a combine that is already prescaled.
// CHECK-LABEL: func.func @not_fused
// CHECK: %[[Y:.+]] = tessera.grouped_matmul %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} :
// CHECK: tessera.combine %[[Y]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} :
// CHECK: tessera.combine %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} :
// CHECK: tessera.combine %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {prescaled} :
// CHECK-NOT: gather
// CHECK-NOT: scale
func.func @not_fused(%rows: tensor<28x32xf32>, %off: tensor<5xi32>, %perm: tensor<28xi32>,
                     %w: tensor<8x2xf32>, %down: tensor<4x32x32xf32>)
    -> (tensor<8x32xf32>, tensor<28x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>) {
  %y = tessera.grouped_matmul %rows, %down, %off
      : (tensor<28x32xf32>, tensor<4x32x32xf32>, tensor<5xi32>) -> tensor<28x32xf32>
  %out = tessera.combine %y, %perm, %w
      : (tensor<28x32xf32>, tensor<28xi32>, tensor<8x2xf32>) -> tensor<8x32xf32>
  %plain = tessera.combine %rows, %perm, %w
      : (tensor<28x32xf32>, tensor<28xi32>, tensor<8x2xf32>) -> tensor<8x32xf32>
  %pre = tessera.combine %rows, %perm, %w {prescaled}
      : (tensor<28x32xf32>, tensor<28xi32>, tensor<8x2xf32>) -> tensor<8x32xf32>
  return %out, %y, %plain, %pre : tensor<8x32xf32>, tensor<28x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>
}
