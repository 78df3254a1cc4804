// Grouped GEMMs of bf16 and f16 operands run on the matrix cores of the
// CDNA chips (tessera-tensor-core-grouped-matmul's MFMA kernels); the
// spellings of the instructions differ between gfx90a and gfx942.
// RUN: tessera-compile %s --target=amdgpu --emit=hsaco -o %t.gfx942
// RUN: llvm-readelf -h %t.gfx942 | FileCheck %s --check-prefix=ELF942
// RUN: llvm-objdump -d --mcpu=gfx942 %t.gfx942 | FileCheck %s --check-prefix=GFX942
// RUN: tessera-compile %s --target=amdgpu --chip=gfx90a --emit=hsaco -o %t.gfx90a
// RUN: llvm-readelf -h %t.gfx90a | FileCheck %s --check-prefix=ELF90A
// RUN: llvm-objdump -d --mcpu=gfx90a %t.gfx90a | FileCheck %s --check-prefix=GFX90A
// RUN: tessera-compile %s --target=amdgpu --emit=asm | FileCheck %s --check-prefix=ASM
// Without the matrix-unit kernels (the option, or an RDNA chip) there are
// no MFMA products.
// RUN: tessera-compile %s --target=amdgpu --pipeline-options="tensor-cores=false" --emit=hsaco -o %t.off
// RUN: llvm-objdump -d --mcpu=gfx942 %t.off | FileCheck %s --check-prefix=OFF
// RUN: tessera-compile %s --target=amdgpu --chip=gfx1100 --emit=hsaco -o %t.rdna
// RUN: llvm-objdump -d --mcpu=gfx1100 %t.rdna | FileCheck %s --check-prefix=OFF

// ELF942: Machine: EM_AMDGPU
// ELF942: Flags: {{.*}}gfx942
// GFX942-LABEL: <experts_mma0>:
// GFX942:       v_mfma_f32_16x16x16_bf16
// GFX942-LABEL: <experts_mma1>:
// GFX942:       v_mfma_f32_16x16x16_f16
// ELF90A: Flags: {{.*}}gfx90a
// GFX90A-LABEL: <experts_mma0>:
// GFX90A:       v_mfma_f32_16x16x16bf16_1k
// GFX90A-LABEL: <experts_mma1>:
// GFX90A:       v_mfma_f32_16x16x16f16
// The kernels need no scratch memory: the accumulators stay in registers.
// ASM:          .amdhsa_kernel experts_mma0
// ASM:          .amdhsa_private_segment_fixed_size 0
// ASM:          .amdhsa_kernel experts_mma1
// ASM:          .amdhsa_private_segment_fixed_size 0
// OFF-NOT:      v_mfma
func.func @experts(%x: tensor<200x64xbf16>, %w: tensor<3x64x136xbf16>,
                   %o: tensor<4xi32>, %xh: tensor<40x32xf16>,
                   %wh: tensor<2x32x24xf16>, %oh: tensor<3xi32>)
    -> (tensor<200x136xbf16>, tensor<40x24xf16>) {
  %y = tessera.grouped_matmul %x, %w, %o
      : (tensor<200x64xbf16>, tensor<3x64x136xbf16>, tensor<4xi32>) -> tensor<200x136xbf16>
  %yh = tessera.grouped_matmul %xh, %wh, %oh
      : (tensor<40x32xf16>, tensor<2x32x24xf16>, tensor<3xi32>) -> tensor<40x24xf16>
  return %y, %yh : tensor<200x136xbf16>, tensor<40x24xf16>
}
