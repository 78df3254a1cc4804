// The `cpu` option picks the vector width: the widest f32 vectors of the
// named CPU (16 lanes with AVX-512, 8 with AVX2, 4 with SSE only), unless
// vector-width is given. tessera-compile passes its --cpu on; an explicit
// pipeline `cpu` wins. Unknown names are errors.
// RUN: tessera-opt %s --tessera-cpu-pipeline="cpu=znver4" | FileCheck %s --check-prefix=AVX512 --implicit-check-not="vector<8xf32>"
// RUN: tessera-opt %s --tessera-cpu-pipeline="cpu=x86-64-v3" | FileCheck %s --check-prefix=AVX2 --implicit-check-not="vector<16xf32>"
// RUN: tessera-opt %s --tessera-cpu-pipeline="cpu=x86-64" | FileCheck %s --check-prefix=SSE --implicit-check-not="vector<8xf32>"
// RUN: tessera-opt %s --tessera-cpu-pipeline="cpu=x86-64-v3 vector-width=16" | FileCheck %s --check-prefix=AVX512 --implicit-check-not="vector<8xf32>"
// RUN: tessera-compile %s --target=cpu --cpu=x86-64-v3 --emit=mlir -o - | FileCheck %s --check-prefix=AVX2 --implicit-check-not="vector<16xf32>"
// RUN: tessera-compile %s --target=cpu --cpu=x86-64-v3 --pipeline-options="cpu=znver4" --emit=mlir -o - | FileCheck %s --check-prefix=AVX512 --implicit-check-not="vector<8xf32>"
// RUN: tessera-run %s --entry=exp_rows --random-inputs=2 --check --pipeline-options="cpu=x86-64-v3" | FileCheck %s --check-prefix=EXEC
// RUN: not tessera-opt %s --tessera-cpu-pipeline="cpu=pentium-9000" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not tessera-run %s --entry=exp_rows --random-inputs=2 --pipeline-options="cpu=pentium-9000" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not tessera-compile %s --target=cpu --emit=mlir --pipeline-options="cpu=pentium-9000" -o - 2>&1 | FileCheck %s --check-prefix=UNKNOWN

// AVX512-LABEL: llvm.func @exp_rows
// AVX512: vector<16xf32>
// AVX2-LABEL: llvm.func @exp_rows
// AVX2: vector<8xf32>
// SSE-LABEL: llvm.func @exp_rows
// SSE: vector<4xf32>
// EXEC: result #0: max abs err {{.*}}: PASS
// UNKNOWN: unknown CPU 'pentium-9000'

func.func @exp_rows(%a: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %r = math.exp %a : tensor<4x64xf32>
  return %r : tensor<4x64xf32>
}
