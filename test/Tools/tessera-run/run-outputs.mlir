// Runs a function with two .npy inputs and three results (a matmul, an
// elementwise sum and a 0-d reduction) and checks the written results against
// numpy.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %numpy_python %S/Inputs/npy.py %t make \
// RUN:   a "np.arange(6, dtype='f4').reshape(2, 3) / 4 - 0.5" \
// RUN:   b "np.linspace(-1, 2, 12, dtype='f4').reshape(3, 4)"
// RUN: tessera-run %s --entry=main --input=%t/a.npy --input=%t/b.npy \
// RUN:   --output=%t/c.npy --output=%t/d.npy --output=%t/s.npy | FileCheck %s
// RUN: %numpy_python %S/Inputs/npy.py %t check c "a @ b"
// RUN: %numpy_python %S/Inputs/npy.py %t check d "a + a"
// RUN: %numpy_python %S/Inputs/npy.py %t check s "np.float32(a.sum())"

// Fewer --output files than results is fine.
// RUN: tessera-run %s --entry=main --input=%t/a.npy --input=%t/b.npy \
// RUN:   --output=%t/first.npy | FileCheck %s --check-prefix=FIRST
// RUN: %numpy_python %S/Inputs/npy.py %t check first "a @ b"

// CHECK:      time: {{[0-9.e+-]+}} ms
// CHECK-NEXT: result #0: tensor<2x4xf32> written to {{.*}}c.npy
// CHECK-NEXT: result #1: tensor<2x3xf32> written to {{.*}}d.npy
// CHECK-NEXT: result #2: tensor<f32> written to {{.*}}s.npy
// CHECK-NOT:  {{.}}

// FIRST:      time: {{[0-9.e+-]+}} ms
// FIRST-NEXT: result #0: tensor<2x4xf32> written to {{.*}}first.npy
// FIRST-NOT:  result #1

func.func @main(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>)
    -> (tensor<2x4xf32>, tensor<2x3xf32>, tensor<f32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %c = linalg.matmul ins(%a, %b : tensor<2x3xf32>, tensor<3x4xf32>)
                     outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e2 = tensor.empty() : tensor<2x3xf32>
  %d = linalg.add ins(%a, %a : tensor<2x3xf32>, tensor<2x3xf32>)
                  outs(%e2 : tensor<2x3xf32>) -> tensor<2x3xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%a : tensor<2x3xf32>) outs(%f0 : tensor<f32>)
                     dimensions = [0, 1]
    (%in: f32, %acc: f32) {
      %sum = arith.addf %in, %acc : f32
      linalg.yield %sum : f32
    }
  return %c, %d, %s : tensor<2x4xf32>, tensor<2x3xf32>, tensor<f32>
}
