// HSACO is linked by LLVM's own lld; no ROCm needed without math.
// RUN: tessera-compile %s --target=amdgpu --emit=hsaco -o %t.hsaco
// RUN: llvm-readelf -h %t.hsaco | FileCheck %s --check-prefix=ELF
// RUN: llvm-objdump -d --mcpu=gfx942 %t.hsaco | FileCheck %s --check-prefix=DISASM
// RUN: tessera-compile %s --target=amdgpu --chip=gfx90a --emit=asm | FileCheck %s --check-prefix=ASM
// RUN: tessera-compile %s --target=amdgpu --emit=artifact -o %t.tgpu
// RUN: FileCheck %s --check-prefix=ARTIFACT < %t.tgpu
// RUN: not tessera-compile %s --target=amdgpu --emit=ptx 2>&1 | FileCheck %s --check-prefix=PTX
// RUN: not tessera-compile %s --target=amdgpu --chip=sm_90 2>&1 | FileCheck %s --check-prefix=CHIP

// ELF: Machine: EM_AMDGPU
// ELF: Flags: {{.*}}gfx942
// DISASM: <grouped_k0>:
// DISASM: <grouped_k3>:
// DISASM: v_mul_f32
// DISASM: v_add_f32
// ASM: .amdgcn_target "amdgcn-amd-amdhsa--gfx90a
// ASM: .globl grouped_k0
// ARTIFACT: tessera-gpu-artifact 1
// ARTIFACT-NEXT: target amdgpu gfx942
// ARTIFACT-NEXT: image hsaco
// ARTIFACT: launch grouped_k3 1 1 1 24 1 1 0 b0 b3 b4 b1
// PTX: tessera-compile: error: ptx and cubin are for the nvptx target
// CHIP: tessera-compile: error: unknown AMD chip 'sm_90'
func.func @grouped(%r: tensor<6x8xf32>, %w: tensor<2x8x4xf32>, %o: tensor<3xi32>) -> tensor<6x4xf32> {
  %y = tessera.grouped_matmul %r, %w, %o
      : (tensor<6x8xf32>, tensor<2x8x4xf32>, tensor<3xi32>) -> tensor<6x4xf32>
  return %y : tensor<6x4xf32>
}
