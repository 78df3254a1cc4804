// RUN: not tessera-opt %s --tessera-tensor-core-attention="chip=gfx9" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not tessera-opt %s --tessera-tensor-core-attention="chip=sm_9x" 2>&1 | FileCheck %s --check-prefix=NUMBER
// RUN: not tessera-opt %s --tessera-tensor-core-attention="q-block=32" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not tessera-opt %s --tessera-tensor-core-attention="warp-rows=64" 2>&1 | FileCheck %s --check-prefix=ROWS
// RUN: not tessera-opt %s --tessera-tensor-core-attention="kv-splits=-2" 2>&1 | FileCheck %s --check-prefix=SPLITS

// CHIP: error: tessera-tensor-core-attention: unknown chip 'gfx9' (expected sm_<NN>[a] or gfx<NNN>)
// NUMBER: error: tessera-tensor-core-attention: unknown chip 'sm_9x' (expected sm_<NN>[a] or gfx<NNN>)
// BLOCK: error: tessera-tensor-core-attention: 'q-block' must be 64 or 128 and 'warp-rows' 16 or 32, got 32 and 32
// ROWS: error: tessera-tensor-core-attention: 'q-block' must be 64 or 128 and 'warp-rows' 16 or 32, got 128 and 64
// SPLITS: error: tessera-tensor-core-attention: 'kv-splits' must be 0 (automatic) or positive, got -2
func.func @attention(%q: tensor<1x1x16x16xbf16>) -> tensor<1x1x16x16xbf16> {
  %o = tessera.attention %q, %q, %q
      : (tensor<1x1x16x16xbf16>, tensor<1x1x16x16xbf16>, tensor<1x1x16x16xbf16>) -> tensor<1x1x16x16xbf16>
  return %o : tensor<1x1x16x16xbf16>
}
