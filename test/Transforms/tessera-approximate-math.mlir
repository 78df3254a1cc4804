// RUN: tessera-opt %s --tessera-approximate-math | FileCheck %s
// Execution: the approximations stay within f32 tolerance of libm.
// RUN: tessera-run %s --entry=softmax_like --random-inputs=3 --check | FileCheck %s --check-prefix=EXEC

// Vector exp2 becomes exp of a scaled argument, then a polynomial: no math
// call is left on vectors; scalars keep their libm call.
// CHECK-LABEL: func.func @vector_and_scalar
// CHECK-NOT:     math.exp2 %{{.+}} : vector
// CHECK-NOT:     math.exp %{{.+}} : vector
// CHECK-NOT:     math.tanh %{{.+}} : vector
// CHECK-NOT:     math.log %{{.+}} : vector
// CHECK:         math.fma %{{.+}} : vector<16xf32>
// CHECK:         math.exp2 %{{.+}} : f32
func.func @vector_and_scalar(%x: vector<16xf32>, %s: f32)
    -> (vector<16xf32>, f32, vector<16xf32>, vector<16xf32>) {
  %a = math.exp2 %x : vector<16xf32>
  %b = math.exp2 %s : f32
  %c = math.tanh %x : vector<16xf32>
  %d = math.log %x : vector<16xf32>
  return %a, %b, %c, %d : vector<16xf32>, f32, vector<16xf32>, vector<16xf32>
}

// EXEC: result #0: max abs err {{.*}}: PASS
func.func @softmax_like(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %e = tensor.empty() : tensor<4x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %ten = arith.constant 10.0 : f32
    %y = arith.mulf %in, %ten : f32
    %p = math.exp2 %y : f32
    %t = math.tanh %y : f32
    %s = arith.addf %p, %t : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  return %r : tensor<4x64xf32>
}
