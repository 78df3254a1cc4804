// REQUIRES: rocm-device-libs
// Attention of bf16 and f16 operands runs on the matrix cores of the CDNA
// chips (tessera-tensor-core-attention's MFMA kernel; the decode step with
// split KV and its combine kernel), and so does DeepSeek-V3's latent
// attention (MLA decode, 576 columns of which the first 512 are values); the spellings of the instructions
// differ between gfx90a and gfx942. exp2 and log2 come from ocml: nothing
// is left undefined.
// RUN: tessera-compile %s --target=amdgpu --emit=hsaco -o %t.gfx942
// RUN: llvm-readelf -h %t.gfx942 | FileCheck %s --check-prefix=ELF942
// RUN: llvm-readelf -s %t.gfx942 | not grep -E "UND +[_a-zA-Z]"
// RUN: llvm-objdump -d --mcpu=gfx942 %t.gfx942 | FileCheck %s --check-prefix=GFX942
// RUN: tessera-compile %s --target=amdgpu --chip=gfx90a --emit=hsaco -o %t.gfx90a
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
// Prefill: 2 row fragments x (4 key fragments x 8 k-steps + 8 column
// fragments x 4 key steps) = 128 products a key block.
// GFX942-LABEL: <prefill_flash0>:
// GFX942-COUNT-128: v_mfma_f32_16x16x16_bf16
// GFX942-NOT:   v_mfma
// GFX942-LABEL: <prefill_flash0_combine>:
// GFX942-NOT:   v_mfma
// Decode: 1 row fragment x (4 x 4 + 4 x 4) = 32.
// GFX942-LABEL: <decode_flash0>:
// GFX942-COUNT-32: v_mfma_f32_16x16x16_f16
// GFX942-NOT:   v_mfma
// GFX942-LABEL: <decode_flash0_combine>:
// MLA: 1 row fragment x (1 key fragment of 16 x 36 k-steps + 16 column
// fragments x 1 key step) = 52.
// GFX942-LABEL: <mla_mla0>:
// GFX942-COUNT-52: v_mfma_f32_16x16x16_bf16
// GFX942-NOT:   v_mfma
// GFX942-LABEL: <mla_mla0_combine>:
// GFX942-NOT:   v_mfma
// GFX90A-LABEL: <prefill_flash0>:
// GFX90A:       v_mfma_f32_16x16x16bf16_1k
// GFX90A-LABEL: <decode_flash0>:
// GFX90A:       v_mfma_f32_16x16x16f16
// GFX90A-LABEL: <mla_mla0>:
// GFX90A:       v_mfma_f32_16x16x16bf16_1k
// The accumulators, Q's fragments and the next block's chunks stay in
// registers: no scratch memory.
// ASM:          .amdhsa_kernel prefill_flash0
// ASM:          .amdhsa_private_segment_fixed_size 0
// ASM:          .amdhsa_kernel decode_flash0
// ASM:          .amdhsa_private_segment_fixed_size 0
// ASM:          .amdhsa_kernel mla_mla0
// ASM:          .amdhsa_private_segment_fixed_size 0
// OFF-NOT:      v_mfma
func.func @prefill(%q: tensor<1x8x200x128xbf16>, %k: tensor<1x2x200x128xbf16>,
                   %v: tensor<1x2x200x128xbf16>)
    -> (tensor<1x8x200x128xbf16>, tensor<1x8x200xf32>) {
  %o, %lse = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x8x200x128xbf16>, tensor<1x2x200x128xbf16>,
         tensor<1x2x200x128xbf16>)
      -> (tensor<1x8x200x128xbf16>, tensor<1x8x200xf32>)
  return %o, %lse : tensor<1x8x200x128xbf16>, tensor<1x8x200xf32>
}

func.func @decode(%q: tensor<2x8x1x64xf16>, %k: tensor<2x2x1000x64xf16>,
                  %v: tensor<2x2x1000x64xf16>) -> tensor<2x8x1x64xf16> {
  %o = tessera.attention %q, %k, %v
      : (tensor<2x8x1x64xf16>, tensor<2x2x1000x64xf16>,
         tensor<2x2x1000x64xf16>) -> tensor<2x8x1x64xf16>
  return %o : tensor<2x8x1x64xf16>
}

func.func @mla(%q: tensor<2x128x1x576xbf16>, %kv: tensor<2x4096x576xbf16>,
               %lens: tensor<2xi32>) -> tensor<2x128x1x512xbf16> {
  %o = tessera.latent_attention %q, %kv kv_lens %lens
      {latent_dim = 512 : i64, scale = 0.1352 : f32}
      : (tensor<2x128x1x576xbf16>, tensor<2x4096x576xbf16>, tensor<2xi32>)
      -> tensor<2x128x1x512xbf16>
  return %o : tensor<2x128x1x512xbf16>
}
