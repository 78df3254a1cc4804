// RUN: tessera-compile %s --target=nvptx --emit=artifact --toolkit-path=%t.none | FileCheck %s

// A reshape of a buffer is its bytes: kernels take bare pointers, so the
// artifact names the reshaped buffer's source where a launch uses it (the
// one "expert" of a MoE layer's shared experts is its weights matrix
// expanded to [1, K, N]).
// CHECK:      function one_expert
// CHECK-NEXT: buffer 0 input 0 bf16 16x32
// CHECK-NEXT: buffer 1 input 1 bf16 32x16
// CHECK-NEXT: buffer 2 output 0 bf16 16x16
// CHECK-NEXT: buffer 3 temp 8
// CHECK-NEXT: launch one_expert_k0 {{.*}} b3
// CHECK-NEXT: launch one_expert_mma0 {{.*}} b0 b1 b3 b2
// CHECK-NEXT: end
func.func @one_expert(%x: tensor<16x32xbf16>, %w: tensor<32x16xbf16>) -> tensor<16x16xbf16> {
  %w3 = tensor.expand_shape %w [[0, 1], [2]] output_shape [1, 32, 16]
      : tensor<32x16xbf16> into tensor<1x32x16xbf16>
  %offsets = arith.constant dense<[0, 16]> : tensor<2xi32>
  %y = tessera.grouped_matmul %x, %w3, %offsets
      : (tensor<16x32xbf16>, tensor<1x32x16xbf16>, tensor<2xi32>) -> tensor<16x16xbf16>
  return %y : tensor<16x16xbf16>
}
