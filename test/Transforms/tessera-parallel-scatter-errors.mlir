// RUN: not tessera-opt %s --tessera-parallel-scatter=chunk=-2 2>&1 | FileCheck %s

// CHECK: error: 'chunk' must be positive, got -2
func.func @negative_chunk(%y: tensor<4x2xf32>, %perm: tensor<4xi32>, %w: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %o = tessera.combine %y, %perm, %w : (tensor<4x2xf32>, tensor<4xi32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %o : tensor<2x2xf32>
}
