// The block options of the pipeline reach tessera-tile-grouped-matmul and
// tessera-vectorize, and every setting computes what the reference does.
// RUN: tessera-opt %s --tessera-cpu-pipeline="moe-column-block=8 moe-k-block=16 register-rows=4 register-vectors=1" \
// RUN:   --mlir-print-ir-after=tessera-tile-grouped-matmul --mlir-print-ir-after=tessera-vectorize -o /dev/null 2>&1 \
// RUN:   | FileCheck %s
// RUN: tessera-run %s --entry=experts --random-inputs=3 --check | FileCheck %s --check-prefix=EXEC
// RUN: tessera-run %s --entry=experts --random-inputs=3 --check \
// RUN:   --pipeline-options="moe-column-block=8 moe-k-block=16 register-rows=4 register-vectors=1" \
// RUN:   | FileCheck %s --check-prefix=EXEC
// RUN: tessera-run %s --entry=experts --random-inputs=3 --check \
// RUN:   --pipeline-options="moe-column-block=5 moe-k-block=3 register-rows=3 register-vectors=3 threads=1" \
// RUN:   | FileCheck %s --check-prefix=EXEC

// 24 output columns in blocks of 8, K = 40 in blocks of 16.
// CHECK-LABEL: IR Dump After TesseraTileGroupedMatmul
// CHECK: scf.forall (%{{.+}}) in (3)
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c16
// 4-row register blocks, 8 columns wide (the 8-column block is narrower
// than one register block of 16 lanes).
// CHECK-LABEL: IR Dump After TesseraVectorize
// CHECK: vector.contract {{.+}} : vector<4x1xf32>, vector<1x8xf32> into vector<4x8xf32>

// EXEC: result #0: max abs err {{.*}}: PASS

func.func @experts(%rows: tensor<37x40xf32>, %w: tensor<3x40x48xf32>) -> tensor<37x24xf32> {
  %offsets = arith.constant dense<[2, 13, 13, 35]> : tensor<4xi32>
  %y = tessera.grouped_matmul %rows, %w, %offsets {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<37x40xf32>, tensor<3x40x48xf32>, tensor<4xi32>) -> tensor<37x24xf32>
  return %y : tensor<37x24xf32>
}
