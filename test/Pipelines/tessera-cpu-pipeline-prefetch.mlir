// moe-prefetch (default on): where vectors have 16 lanes, the f32 blocks of
// the expert GEMMs multiply in explicit register blocks whose K loops
// prefetch the next weight block (tessera-tile-grouped-matmul prefetch), and
// so do the bf16 dot-product blocks (znver4 has vdpbf16ps). With 8 lanes
// (x86-64-v3) or moe-prefetch=false the f32 blocks keep linalg.matmul and
// nothing is prefetched. Each variant still computes the reference's
// result.
// RUN: tessera-opt %s --tessera-cpu-pipeline="cpu=znver4" | FileCheck %s --check-prefix=ON
// RUN: tessera-opt %s --tessera-cpu-pipeline="cpu=x86-64-v3" | FileCheck %s --check-prefix=OFF
// RUN: tessera-opt %s --tessera-cpu-pipeline="cpu=znver4 moe-prefetch=false" | FileCheck %s --check-prefix=OFF
// RUN: tessera-opt %s --tessera-cpu-pipeline="vector-width=8" | FileCheck %s --check-prefix=OFF
// RUN: tessera-run %s --entry=experts --random-inputs=3 --check --pipeline-options="cpu=x86-64-v3" | FileCheck %s --check-prefix=EXEC
// RUN: tessera-run %s --entry=experts --random-inputs=3 --check --pipeline-options="moe-prefetch=false" | FileCheck %s --check-prefix=EXEC
// RUN: tessera-run %s --entry=experts --random-inputs=3 --check | FileCheck %s --check-prefix=EXEC
// RUN: tessera-run %s --entry=experts_bf16 --random-inputs=3 --check | FileCheck %s --check-prefix=EXEC
// RUN: tessera-run %s --entry=experts_bf16 --random-inputs=3 --check --pipeline-options="moe-prefetch=false" | FileCheck %s --check-prefix=EXEC

// ON-LABEL: llvm.func @experts
// ON: llvm.intr.prefetch
// ON: llvm.intr.fmuladd{{.*}}vector<16xf32>
// ON-LABEL: llvm.func @experts_bf16
// ON: llvm.intr.prefetch
// ON: dpbf16ps.512
// OFF-LABEL: llvm.func @experts
// OFF-NOT: llvm.intr.prefetch
// EXEC: result #0: max abs err {{.*}}: PASS

func.func @experts(%rows: tensor<40x64xf32>, %w: tensor<2x64x64xf32>) -> tensor<40x64xf32> {
  %offsets = arith.constant dense<[0, 17, 40]> : tensor<3xi32>
  %y = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<40x64xf32>, tensor<2x64x64xf32>, tensor<3xi32>) -> tensor<40x64xf32>
  return %y : tensor<40x64xf32>
}

func.func @experts_bf16(%rows: tensor<40x64xbf16>, %w: tensor<2x64x64xbf16>) -> tensor<40x64xbf16> {
  %offsets = arith.constant dense<[0, 17, 40]> : tensor<3xi32>
  %y = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<40x64xbf16>, tensor<2x64x64xbf16>, tensor<3xi32>) -> tensor<40x64xbf16>
  return %y : tensor<40x64xbf16>
}
