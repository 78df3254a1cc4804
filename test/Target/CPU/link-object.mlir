// The acceptance test of tessera-compile: compile tessera ops to an object,
// link it with a C++ program (Inputs/attention_main.cpp) that calls the
// `_mlir_ciface_` wrappers with the descriptors of docs/ABI.md, run it and
// check the printed results against hand-computed values (attention,
// combine) and the numpy reference of test/Integration/reference.py (moe).
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: tessera-compile %s --target=cpu --emit=obj -o %t/kernels.o
// RUN: llvm-nm %t/kernels.o | FileCheck %s --check-prefix=SYMBOLS
// RUN: %clangxx -O1 %S/Inputs/attention_main.cpp %t/kernels.o -o %t/main \
// RUN:   -L%llvm_lib_dir -lmlir_c_runner_utils -lomp -lm \
// RUN:   -Wl,-rpath,%llvm_lib_dir
// RUN: %t/main > %t/main.txt
// RUN: FileCheck %s < %t/main.txt
// RUN: %numpy_python %S/Inputs/check_moe.py %t/main.txt \
// RUN:   | FileCheck %s --check-prefix=MOE
//
// The same with one thread (no OpenMP runtime) and with the reference
// lowering (no tiling).
// RUN: tessera-compile %s --target=cpu --emit=obj \
// RUN:   --pipeline-options="threads=1" -o %t/serial.o
// RUN: llvm-nm %t/serial.o \
// RUN:   | FileCheck %s --check-prefix=SERIAL --implicit-check-not=__kmpc
// RUN: %clangxx -O1 %S/Inputs/attention_main.cpp %t/serial.o -o %t/serial \
// RUN:   -L%llvm_lib_dir -lmlir_c_runner_utils -lm -Wl,-rpath,%llvm_lib_dir
// RUN: %t/serial > %t/serial.txt
// RUN: FileCheck %s < %t/serial.txt
// RUN: %numpy_python %S/Inputs/check_moe.py %t/serial.txt \
// RUN:   | FileCheck %s --check-prefix=MOE
// RUN: tessera-compile %s --target=cpu --emit=obj \
// RUN:   --pipeline-options="reference=true" -o %t/reference.o
// RUN: %clangxx -O1 %S/Inputs/attention_main.cpp %t/reference.o \
// RUN:   -o %t/reference -L%llvm_lib_dir -lmlir_c_runner_utils -lomp -lm \
// RUN:   -Wl,-rpath,%llvm_lib_dir
// RUN: %t/reference > %t/reference.txt
// RUN: FileCheck %s < %t/reference.txt
// RUN: %numpy_python %S/Inputs/check_moe.py %t/reference.txt \
// RUN:   | FileCheck %s --check-prefix=MOE

// The object defines each function and its C wrapper and needs only the C
// library, libm and memrefCopy (libmlir_c_runner_utils) for some ops, and,
// for the parallel loops, the OpenMP runtime (docs/ABI.md).
// SYMBOLS-DAG: T _mlir_ciface_attention
// SYMBOLS-DAG: T _mlir_ciface_combine
// SYMBOLS-DAG: T attention
// SYMBOLS-DAG: T combine
// SYMBOLS-DAG: T moe
// SYMBOLS-DAG: T _mlir_ciface_moe
// SYMBOLS-DAG: U malloc
// SYMBOLS-DAG: U free
// SYMBOLS-DAG: U __kmpc_fork_call
// SERIAL-DAG: U malloc
// SERIAL-DAG: T _mlir_ciface_attention

// MOE: moe: 96 values, max abs err {{.*}}: PASS

// Causal GQA attention: both query heads read the one KV head, query i sees
// keys 0..i, v = [[1, -1], [4, 2], [-2, 8]], scale 1/2.
// Head 0 (q = 0): equal scores, row i is the mean of v[0..i] and
// lse = ln(i + 1).
// CHECK:      out[0,0,0,0] = 1.0000
// CHECK-NEXT: out[0,0,0,1] = -1.0000
// CHECK-NEXT: out[0,0,1,0] = 2.5000
// CHECK-NEXT: out[0,0,1,1] = 0.5000
// CHECK-NEXT: out[0,0,2,0] = 1.0000
// CHECK-NEXT: out[0,0,2,1] = 3.0000
// Head 1: key j scores j ln 2, so the weights are 1 : 2 : 4:
// row 1 = (v0 + 2 v1) / 3 = (3, 1), row 2 = (v0 + 2 v1 + 4 v2) / 7 = (1/7, 5),
// lse = ln 1, ln 3, ln 7.
// CHECK-NEXT: out[0,1,0,0] = 1.0000
// CHECK-NEXT: out[0,1,0,1] = -1.0000
// CHECK-NEXT: out[0,1,1,0] = 3.0000
// CHECK-NEXT: out[0,1,1,1] = 1.0000
// CHECK-NEXT: out[0,1,2,0] = 0.1429
// CHECK-NEXT: out[0,1,2,1] = 5.0000
// CHECK-NEXT: lse[0,0,0] = 0.0000
// CHECK-NEXT: lse[0,0,1] = 0.6931
// CHECK-NEXT: lse[0,0,2] = 1.0986
// CHECK-NEXT: lse[0,1,0] = 0.0000
// CHECK-NEXT: lse[0,1,1] = 1.0986
// CHECK-NEXT: lse[0,1,2] = 1.9459
// Combine: token 0 = 0.5 * y[1] + 2 * y[4] = (15.5, 18),
// token 1 = 1 * y[3] - 1 * y[0] = (4, 4); row 2 is padding.
// CHECK-NEXT: combine[0,0] = 15.5000
// CHECK-NEXT: combine[0,1] = 18.0000
// CHECK-NEXT: combine[1,0] = 4.0000
// CHECK-NEXT: combine[1,1] = 4.0000

func.func @attention(%q: tensor<1x2x3x4xf32>, %k: tensor<1x1x3x4xf32>,
                     %v: tensor<1x1x3x2xf32>)
    -> (tensor<1x2x3x2xf32>, tensor<1x2x3xf32>) {
  %out, %lse = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x2x3x4xf32>, tensor<1x1x3x4xf32>, tensor<1x1x3x2xf32>)
      -> (tensor<1x2x3x2xf32>, tensor<1x2x3xf32>)
  return %out, %lse : tensor<1x2x3x2xf32>, tensor<1x2x3xf32>
}

func.func @combine(%y: tensor<5x2xf32>, %perm: tensor<5xi32>,
                   %w: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %out = tessera.combine %y, %perm, %w
      : (tensor<5x2xf32>, tensor<5xi32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %out : tensor<2x2xf32>
}

func.func @moe(%x: tensor<6x16xf32>, %g: tensor<4x16xf32>,
               %u: tensor<4x16x16xf32>, %d: tensor<4x8x16xf32>)
    -> tensor<6x16xf32> {
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64, normalize = true}
      : (tensor<6x16xf32>, tensor<4x16xf32>, tensor<4x16x16xf32>,
         tensor<4x8x16xf32>) -> tensor<6x16xf32>
  return %y : tensor<6x16xf32>
}
