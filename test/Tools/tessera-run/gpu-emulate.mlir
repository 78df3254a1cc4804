// tessera-run --emulate: a GPU target's pipeline up to the kernels'
// lowering, the kernels run in the GPU emulator on the host (no GPU), and
// --check compares with the CPU reference lowering on the same inputs.
// Attention in f16 takes AMD's MFMA kernel on gfx942 (and mma.sync on
// sm_80), the bf16 grouped GEMM MFMA and sm_90a's wgmma.
// RUN: tessera-run %s --entry=attention --target=amdgpu --emulate --random-inputs=1 --check | FileCheck %s --check-prefix=ATTN
// RUN: tessera-run %s --entry=attention --target=nvptx --chip=sm_80 --emulate --random-inputs=2 --check | FileCheck %s --check-prefix=ATTN
// RUN: tessera-run %s --entry=experts --target=amdgpu --emulate --random-inputs=3 --check | FileCheck %s --check-prefix=GEMM
// RUN: tessera-run %s --entry=experts --target=nvptx --chip=sm_90a --emulate --random-inputs=4 --check | FileCheck %s --check-prefix=GEMM

// ATTN: result #0: max abs err {{.*}}: PASS
// ATTN-NEXT: result #1: max abs err {{.*}}: PASS
// GEMM: result #0: max abs err {{.*}}: PASS

// The kernels are the matrix-core ones.
// RUN: tessera-opt %s --tessera-amdgpu-pipeline="stop-before-kernel-lowering=true" | FileCheck %s --check-prefix=MFMA
// RUN: tessera-opt %s --tessera-nvptx-pipeline="stop-before-kernel-lowering=true chip=sm_90a" | FileCheck %s --check-prefix=WGMMA
// MFMA: gpu.func @experts_mma0
// MFMA: amdgpu.mfma 16x16x16
// MFMA: gpu.func @attention_flash0
// MFMA: amdgpu.mfma 16x16x16
// WGMMA: gpu.func @experts_mma0
// WGMMA: nvvm.wgmma.mma_async

// What --emulate refuses, and the emulator's errors as tessera-run's.
// RUN: not tessera-run %s --entry=attention --random-inputs=1 --emulate 2>&1 | FileCheck %s --check-prefix=CPU
// RUN: not tessera-run %s --entry=attention --target=amdgpu --emulate --random-inputs=1 --bench=3 2>&1 | FileCheck %s --check-prefix=BENCH
// RUN: rm -rf %t && mkdir -p %t
// RUN: %numpy_python %S/Inputs/npy.py %t make a "np.ones((2, 4), 'f4')" b "np.ones((4, 3), 'f4')"
// RUN: not tessera-run %S/dynamic-dims.mlir --entry=matmul --target=amdgpu --emulate --input=%t/a.npy --input=%t/b.npy 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// CPU: tessera-run: error: --emulate needs --target=nvptx or --target=amdgpu
// BENCH: tessera-run: error: --bench times a GPU; an emulated run has no timing
// DYNAMIC: error: '@matmul' argument #0 has the dynamic shape 'tensor<?x?xf32>'; GPU code needs static shapes
// DYNAMIC: tessera-run: error: GPU targets compile statically shaped functions only

func.func @attention(%q: tensor<1x4x52x64xf16>, %k: tensor<1x2x52x64xf16>, %v: tensor<1x2x52x64xf16>)
    -> (tensor<1x4x52x64xf16>, tensor<1x4x52xf32>) {
  %o, %lse = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x4x52x64xf16>, tensor<1x2x52x64xf16>, tensor<1x2x52x64xf16>) -> (tensor<1x4x52x64xf16>, tensor<1x4x52xf32>)
  return %o, %lse : tensor<1x4x52x64xf16>, tensor<1x4x52xf32>
}

func.func @experts(%rows: tensor<218x128xbf16>, %w: tensor<8x128x40xbf16>) -> tensor<218x40xbf16> {
  %offsets = arith.constant dense<[0, 14, 36, 74, 115, 143, 149, 163, 218]> : tensor<9xi32>
  %y = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<218x128xbf16>, tensor<8x128x40xbf16>, tensor<9xi32>) -> tensor<218x40xbf16>
  return %y : tensor<218x40xbf16>
}

