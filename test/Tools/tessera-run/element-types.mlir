// f32 data for f16 and bf16 arguments is rounded to nearest even; f16 data
// is taken as is; i32 and i64 data must match exactly. f16 and bf16 results
// are written as f32, integer results as integers.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %numpy_python %S/Inputs/npy.py %t make \
// RUN:   h "np.array([0.1, -2.5, 1e-5, 70000, 1 + 2**-11, 6e-8], 'f4')" \
// RUN:   h16 "h.astype('f2')" \
// RUN:   b "np.array([1 + 2**-8, 3.14159265, -2, 1e38, 1 + 3 * 2**-8, 0], 'f4')" \
// RUN:   i "np.array([1, 2, 3, -4, 0, 2**30], 'i4')" \
// RUN:   l "np.array([5, -6, 2**40, 0, 1, -1], 'i8')"
// RUN: tessera-run %s --entry=types --input=%t/h.npy --input=%t/b.npy \
// RUN:   --input=%t/i.npy --input=%t/l.npy --output=%t/oh.npy \
// RUN:   --output=%t/ob.npy --output=%t/oi.npy --output=%t/ol.npy \
// RUN:   | FileCheck %s
// RUN: %numpy_python %S/Inputs/npy.py %t check oh "f16(f16(h) * 2)" \
// RUN:   --atol 0 --rtol 0
// RUN: %numpy_python %S/Inputs/npy.py %t check ob "bf16(bf16(b) * 2)" \
// RUN:   --atol 0 --rtol 0
// RUN: %numpy_python %S/Inputs/npy.py %t check oi "i * 2"
// RUN: %numpy_python %S/Inputs/npy.py %t check ol "l + l"

// An f16 file for an f16 argument gives the same result.
// RUN: tessera-run %s --entry=types --input=%t/h16.npy --input=%t/b.npy \
// RUN:   --input=%t/i.npy --input=%t/l.npy --output=%t/oh16.npy
// RUN: %numpy_python %S/Inputs/npy.py %t same oh oh16

// CHECK:      time: {{[0-9.e+-]+}} ms
// CHECK-NEXT: result #0: tensor<6xf16> written to {{.*}}oh.npy
// CHECK-NEXT: result #1: tensor<6xbf16> written to {{.*}}ob.npy
// CHECK-NEXT: result #2: tensor<6xi32> written to {{.*}}oi.npy
// CHECK-NEXT: result #3: tensor<6xi64> written to {{.*}}ol.npy

func.func @types(%h: tensor<6xf16>, %b: tensor<6xbf16>, %i: tensor<6xi32>,
                 %l: tensor<6xi64>)
    -> (tensor<6xf16>, tensor<6xbf16>, tensor<6xi32>, tensor<6xi64>) {
  %eh = tensor.empty() : tensor<6xf16>
  %oh = linalg.add ins(%h, %h : tensor<6xf16>, tensor<6xf16>)
                   outs(%eh : tensor<6xf16>) -> tensor<6xf16>
  %eb = tensor.empty() : tensor<6xbf16>
  %ob = linalg.add ins(%b, %b : tensor<6xbf16>, tensor<6xbf16>)
                   outs(%eb : tensor<6xbf16>) -> tensor<6xbf16>
  %ei = tensor.empty() : tensor<6xi32>
  %oi = linalg.add ins(%i, %i : tensor<6xi32>, tensor<6xi32>)
                   outs(%ei : tensor<6xi32>) -> tensor<6xi32>
  %el = tensor.empty() : tensor<6xi64>
  %ol = linalg.add ins(%l, %l : tensor<6xi64>, tensor<6xi64>)
                   outs(%el : tensor<6xi64>) -> tensor<6xi64>
  return %oh, %ob, %oi, %ol
      : tensor<6xf16>, tensor<6xbf16>, tensor<6xi32>, tensor<6xi64>
}
