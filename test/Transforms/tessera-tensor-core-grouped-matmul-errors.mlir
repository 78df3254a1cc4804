// RUN: not tessera-opt %s --tessera-tensor-core-grouped-matmul="chip=mi300" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not tessera-opt %s --tessera-tensor-core-grouped-matmul="chip=gfx9" 2>&1 | FileCheck %s --check-prefix=GFX
// RUN: not tessera-opt %s --tessera-tensor-core-grouped-matmul="chip=sm_" 2>&1 | FileCheck %s --check-prefix=NUMBER
// RUN: not tessera-opt %s --tessera-tensor-core-grouped-matmul="stages=1" 2>&1 | FileCheck %s --check-prefix=STAGES
// RUN: not tessera-opt %s --tessera-tensor-core-grouped-matmul="min-blocks-per-sm=0" 2>&1 | FileCheck %s --check-prefix=BLOCKS
// RUN: not tessera-opt %s --tessera-tensor-core-grouped-matmul="tile-n=64" 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: not tessera-opt %s --tessera-tensor-core-grouped-matmul="chip=sm_90a wgmma-tile-m=256" 2>&1 | FileCheck %s --check-prefix=TILEM

// CHIP: error: tessera-tensor-core-grouped-matmul: unknown chip 'mi300' (expected sm_<NN>[a] or gfx<NNN>)
// GFX: error: tessera-tensor-core-grouped-matmul: unknown chip 'gfx9' (expected sm_<NN>[a] or gfx<NNN>)
// NUMBER: error: tessera-tensor-core-grouped-matmul: unknown chip 'sm_' (expected sm_<NN>[a] or gfx<NNN>)
// STAGES: error: tessera-tensor-core-grouped-matmul: 'stages' must be at least 2 and 'min-blocks-per-sm' at least 1, got 1 and 1
// BLOCKS: error: tessera-tensor-core-grouped-matmul: 'stages' must be at least 2 and 'min-blocks-per-sm' at least 1, got 4 and 0
// TILE: error: tessera-tensor-core-grouped-matmul: 'tile-n' must be 128 or 256, got 64
// TILEM: error: tessera-tensor-core-grouped-matmul: 'wgmma-tile-m' must be 128 or 192, got 256
func.func @gm(%x: tensor<16x32xbf16>, %w: tensor<2x32x8xbf16>, %o: tensor<3xi32>)
    -> tensor<16x8xbf16> {
  %y = tessera.grouped_matmul %x, %w, %o
      : (tensor<16x32xbf16>, tensor<2x32x8xbf16>, tensor<3xi32>) -> tensor<16x8xbf16>
  return %y : tensor<16x8xbf16>
}
