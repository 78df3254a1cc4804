// RUN: not tessera-compile %s --target=nvptx --emit=ptx --toolkit-path=%t.none 2>&1 | FileCheck %s --check-prefix=MATH
// RUN: not tessera-compile %s --target=nvptx --emit=cubin --toolkit-path=%t.none 2>&1 | FileCheck %s --check-prefix=MATH
// RUN: not tessera-compile %s --target=nvptx --emit=obj 2>&1 | FileCheck %s --check-prefix=OBJ
// RUN: not tessera-compile %s --target=nvptx --emit=hsaco 2>&1 | FileCheck %s --check-prefix=HSACO
// RUN: not tessera-compile %s --target=nvptx --chip=sm_9 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not tessera-compile %s --target=nvptx --pass-pipeline="builtin.module(canonicalize)" 2>&1 | FileCheck %s --check-prefix=PIPELINE
// RUN: not tessera-compile %s --target=nvptx --pipeline-options="block-size=7" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not tessera-compile %s --target=nvptx --pipeline-options="stop-before-kernel-lowering=true" 2>&1 | FileCheck %s --check-prefix=STOP

// MATH: tessera-compile: error: the kernels call device math functions (__nv_expf, ...) but no CUDA toolkit with nvvm/libdevice/libdevice.10.bc was found: set CUDA_ROOT or --toolkit-path
// OBJ: tessera-compile: error: target 'nvptx' emits mlir, artifact or its device code (ptx, cubin)
// HSACO: tessera-compile: error: asm and hsaco are for the amdgpu target (nvptx emits ptx or cubin)
// CHIP: tessera-compile: error: unknown NVIDIA chip 'sm_9' (expected sm_<NN>[a] with NN >= 50, e.g. sm_80, sm_90, sm_90a)
// PIPELINE: tessera-compile: error: the GPU targets run their own pipeline
// BLOCK: tessera-compile: error: block-size must be a multiple of 32 in [32, 1024], got 7
// STOP: tessera-compile: error: stop-before-kernel-lowering leaves kernels no GPU can run; use it with tessera-opt (for tessera-gpu-emulate)
func.func @softmax_needs_exp(%q: tensor<1x1x4x8xf32>, %k: tensor<1x1x4x8xf32>, %v: tensor<1x1x4x8xf32>)
    -> tensor<1x1x4x8xf32> {
  %o = tessera.attention %q, %k, %v
      : (tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}
