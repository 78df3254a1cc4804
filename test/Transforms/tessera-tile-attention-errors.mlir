// The tile sizes must be positive. The pass, not a verifier, rejects them.
//
// RUN: not tessera-opt %s --tessera-tile-attention="q-block=0" 2>&1 | FileCheck %s --check-prefix=QBLOCK
// RUN: not tessera-opt %s --tessera-tile-attention="kv-block=-4" 2>&1 | FileCheck %s --check-prefix=KVBLOCK

// QBLOCK: error: 'q-block' must be positive, got 0
// KVBLOCK: error: 'kv-block' must be positive, got -4

func.func @attention(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>)
    -> tensor<1x2x4x8xf32> {
  %o = tessera.attention %q, %k, %v
      : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
