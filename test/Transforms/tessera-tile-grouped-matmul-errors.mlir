// The block sizes must be positive, the row block a power of two. The pass,
// not a verifier, rejects them.
//
// RUN: not tessera-opt %s --tessera-tile-grouped-matmul="column-block=0" 2>&1 | FileCheck %s --check-prefix=COLUMNS
// RUN: not tessera-opt %s --tessera-tile-grouped-matmul="k-block=-8" 2>&1 | FileCheck %s --check-prefix=KBLOCK
// RUN: not tessera-opt %s --tessera-tile-grouped-matmul="row-block=6" 2>&1 | FileCheck %s --check-prefix=ROWS

// COLUMNS: error: 'column-block' must be positive, got 0
// KBLOCK: error: 'k-block' must be positive, got -8
// ROWS: error: 'row-block' must be a power of two, got 6

func.func @grouped(%rows: tensor<6x4xf32>, %w: tensor<2x4x8xf32>, %offsets: tensor<3xi32>)
    -> tensor<6x8xf32> {
  %y = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<6x4xf32>, tensor<2x4x8xf32>, tensor<3xi32>) -> tensor<6x8xf32>
  return %y : tensor<6x8xf32>
}
