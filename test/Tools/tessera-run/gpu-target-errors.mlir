// UNSUPPORTED: cuda-gpu
// --target=nvptx compiles (errors of the compiler come first), then needs a
// CUDA device; without one the error says what is missing.
// RUN: not tessera-run %s --entry=scale --random-inputs=1 --target=nvptx 2>&1 | FileCheck %s --check-prefix=NODEVICE
// RUN: not tessera-run %s --entry=scale --random-inputs=1 --target=nvptx --chip=sm_1 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not tessera-run %s --entry=scale --random-inputs=1 --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not tessera-run %s --entry=nope --random-inputs=1 --target=nvptx 2>&1 | FileCheck %s --check-prefix=ENTRY

// NODEVICE: tessera-run: error: no CUDA {{driver|device}}
// CHIP: tessera-run: error: unknown NVIDIA chip 'sm_1'
// TARGET: tessera-run: error: unknown target 'tpu' (expected cpu, nvptx or amdgpu)
// ENTRY: tessera-run: error: no function 'nope' in
func.func @scale(%a: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<64xf32> {
  %c = arith.mulf %a, %b : tensor<64xf32>
  return %c : tensor<64xf32>
}
