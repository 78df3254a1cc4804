// Dynamic dimensions take their sizes from the input files, including zero;
// the results report the sizes they were computed with.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %numpy_python %S/Inputs/npy.py %t make \
// RUN:   a "np.arange(35, dtype='f4').reshape(5, 7) / 10" \
// RUN:   b "np.cos(np.arange(21, dtype='f4')).reshape(7, 3)" \
// RUN:   a2 "np.ones((2, 4), 'f4')" \
// RUN:   b2 "np.arange(12, dtype='f4').reshape(4, 3)" \
// RUN:   a0 "np.ones((0, 4), 'f4')"
// RUN: tessera-run %s --entry=matmul --input=%t/a.npy --input=%t/b.npy \
// RUN:   --output=%t/c.npy | FileCheck %s --check-prefix=BIG
// RUN: %numpy_python %S/Inputs/npy.py %t check c "a @ b" --atol 1e-4
// RUN: tessera-run %s --entry=matmul --input=%t/a2.npy --input=%t/b2.npy \
// RUN:   --output=%t/c2.npy | FileCheck %s --check-prefix=SMALL
// RUN: %numpy_python %S/Inputs/npy.py %t check c2 "a2 @ b2"
// RUN: tessera-run %s --entry=matmul --input=%t/a0.npy --input=%t/b2.npy \
// RUN:   --output=%t/c0.npy | FileCheck %s --check-prefix=EMPTY
// RUN: %numpy_python %S/Inputs/npy.py %t check c0 "a0 @ b2"

// BIG:   result #0: tensor<5x3xf32> written to
// SMALL: result #0: tensor<2x3xf32> written to
// EMPTY: result #0: tensor<0x3xf32> written to

func.func @matmul(%a: tensor<?x?xf32>, %b: tensor<?x3xf32>)
    -> tensor<?x3xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %a, %c0 : tensor<?x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x3xf32>)
      -> tensor<?x3xf32>
  %c = linalg.matmul ins(%a, %b : tensor<?x?xf32>, tensor<?x3xf32>)
                     outs(%f : tensor<?x3xf32>) -> tensor<?x3xf32>
  return %c : tensor<?x3xf32>
}
