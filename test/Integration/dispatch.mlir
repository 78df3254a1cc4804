// Execution of tessera.dispatch on the CPU (block padding, idle experts),
// compared with the independent numpy reference (reference.py) or with
// hand-computed values (each case is documented in check.py).
//
// RUN: %check %s %t dispatch_block_padding
// RUN: %check %s %t dispatch_block4_random
// RUN: %check %s %t dispatch_plain

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
