// Execution of tessera.combine on the CPU,
// compared with the independent numpy reference (reference.py) or with
// hand-computed values (each case is documented in check.py).
//
// RUN: %check %s %t combine_hand
// RUN: %check %s %t combine_random

func.func @combine_hand(%y: tensor<5x2xf32>, %p: tensor<5xi32>, %w: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %o = tessera.combine %y, %p, %w : (tensor<5x2xf32>, tensor<5xi32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %o : tensor<2x2xf32>
}

func.func @combine_random(%y: tensor<20x4xf32>, %p: tensor<20xi32>, %w: tensor<6x2xf32>) -> tensor<6x4xf32> {
  %o = tessera.combine %y, %p, %w : (tensor<20x4xf32>, tensor<20xi32>, tensor<6x2xf32>) -> tensor<6x4xf32>
  return %o : tensor<6x4xf32>
}
