// GPU artifacts have static shapes. A dynamically shaped function is
// reported in the types it was written with, at the function, before any
// GPU lowering (and without the op dump of a pass failure).
// RUN: not tessera-compile %s --target=nvptx 2>&1 | FileCheck %s
// RUN: not tessera-compile %s --target=amdgpu 2>&1 | FileCheck %s

// CHECK-NOT: see current operation
// CHECK: :[[@LINE+1]]:1: error: '@tokens' argument #1 has the dynamic shape 'tensor<?x2xi32>'; GPU code needs static shapes: compile an artifact per shape, or run dynamic shapes with --target=cpu
func.func @tokens(%x: tensor<8x4xf32>, %ids: tensor<?x2xi32>)
    -> (tensor<?x4xf32>, tensor<4xi32>, tensor<?xi32>) {
  %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 3 : i64}
      : (tensor<8x4xf32>, tensor<?x2xi32>) -> (tensor<?x4xf32>, tensor<4xi32>, tensor<?xi32>)
  return %rows, %offsets, %perm : tensor<?x4xf32>, tensor<4xi32>, tensor<?xi32>
}

// Every such function is reported; here a dynamic result.
// CHECK: :[[@LINE+1]]:1: error: '@result' result #0 has the dynamic shape 'tensor<?x4xf32>'
func.func @result(%x: tensor<8x4xf32>, %n: index) -> tensor<?x4xf32> {
  %y = tensor.extract_slice %x[0, 0] [%n, 4] [1, 1] : tensor<8x4xf32> to tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
