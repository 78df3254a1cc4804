// Execution of tessera.grouped_matmul on the CPU (empty segments, SwiGLU),
// compared with the independent numpy reference (reference.py) or with
// hand-computed values (each case is documented in check.py).
//
// RUN: %check %s %t grouped_matmul_segments
// RUN: %check %s %t grouped_matmul_swiglu
// RUN: %check %s %t grouped_matmul_f16_dynamic

func.func @grouped_matmul_segments(%r: tensor<12x8xf32>, %w: tensor<3x8x5xf32>, %o: tensor<4xi32>)
    -> tensor<12x5xf32> {
  %y = tessera.grouped_matmul %r, %w, %o
      : (tensor<12x8xf32>, tensor<3x8x5xf32>, tensor<4xi32>) -> tensor<12x5xf32>
  return %y : tensor<12x5xf32>
}

func.func @grouped_matmul_swiglu(%r: tensor<10x8xf32>, %w: tensor<3x8x12xf32>, %o: tensor<4xi32>)
    -> tensor<10x6xf32> {
  %y = tessera.grouped_matmul %r, %w, %o {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<10x8xf32>, tensor<3x8x12xf32>, tensor<4xi32>) -> tensor<10x6xf32>
  return %y : tensor<10x6xf32>
}

func.func @grouped_matmul_f16_dynamic(%r: tensor<?x16xf16>, %w: tensor<2x16x8xf16>, %o: tensor<3xi32>)
    -> tensor<?x8xf16> {
  %y = tessera.grouped_matmul %r, %w, %o
      : (tensor<?x16xf16>, tensor<2x16x8xf16>, tensor<3xi32>) -> tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}
