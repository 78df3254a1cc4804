// --random-inputs=SEED fills the arguments deterministically: the same seed
// gives the same data, another seed other data; floats lie in [-1, 1) (f16
// values on the f16 grid), i32 values in [0, 4). The function returns copies
// of its arguments.

// RUN: rm -rf %t && mkdir -p %t
// RUN: tessera-run %s --entry=copy --random-inputs=42 --output=%t/f1.npy \
// RUN:   --output=%t/h1.npy --output=%t/i1.npy | FileCheck %s
// RUN: tessera-run %s --entry=copy --random-inputs=42 --output=%t/f2.npy \
// RUN:   --output=%t/h2.npy --output=%t/i2.npy
// RUN: tessera-run %s --entry=copy --random-inputs=43 --output=%t/f3.npy \
// RUN:   --output=%t/h3.npy --output=%t/i3.npy
// RUN: %numpy_python %S/Inputs/npy.py %t same f1 f2
// RUN: %numpy_python %S/Inputs/npy.py %t same h1 h2
// RUN: %numpy_python %S/Inputs/npy.py %t same i1 i2
// RUN: %numpy_python %S/Inputs/npy.py %t differ f1 f3
// RUN: %numpy_python %S/Inputs/npy.py %t differ h1 h3
// RUN: %numpy_python %S/Inputs/npy.py %t differ i1 i3
// RUN: %numpy_python %S/Inputs/npy.py %t check f1 \
// RUN:   "np.where((f1 >= -1) & (f1 < 1) & (np.std(f1) > 0.3), f1, np.nan)"
// RUN: %numpy_python %S/Inputs/npy.py %t check h1 \
// RUN:   "np.where((h1 >= -1) & (h1 <= 1) & (f16(h1) == h1), h1, np.nan)"
// RUN: %numpy_python %S/Inputs/npy.py %t check i1 \
// RUN:   "np.where((i1 >= 0) & (i1 < 4) & (len(np.unique(i1)) == 4), i1, -1)"

// CHECK: result #0: tensor<16x16xf32> written to
// CHECK: result #1: tensor<64xf16> written to
// CHECK: result #2: tensor<4x8xi32> written to

func.func @copy(%f: tensor<16x16xf32>, %h: tensor<64xf16>, %i: tensor<4x8xi32>)
    -> (tensor<16x16xf32>, tensor<64xf16>, tensor<4x8xi32>) {
  %ef = tensor.empty() : tensor<16x16xf32>
  %cf = linalg.copy ins(%f : tensor<16x16xf32>) outs(%ef : tensor<16x16xf32>)
      -> tensor<16x16xf32>
  %eh = tensor.empty() : tensor<64xf16>
  %ch = linalg.copy ins(%h : tensor<64xf16>) outs(%eh : tensor<64xf16>)
      -> tensor<64xf16>
  %ei = tensor.empty() : tensor<4x8xi32>
  %ci = linalg.copy ins(%i : tensor<4x8xi32>) outs(%ei : tensor<4x8xi32>)
      -> tensor<4x8xi32>
  return %cf, %ch, %ci : tensor<16x16xf32>, tensor<64xf16>, tensor<4x8xi32>
}
