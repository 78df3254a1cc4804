// bf16 expert GEMMs use AVX512-BF16 dot products (vdpbf16ps) where the target
// CPU has them (znver4, sapphirerapids), and widen to f32 FMAs where it does
// not (skylake-avx512) or when the pipeline option bf16-dot is off.
//
// RUN: tessera-compile %s --target=cpu --cpu=znver4 --emit=asm -o - \
// RUN:   | FileCheck %s --check-prefix=DOT
// RUN: tessera-compile %s --target=cpu --cpu=sapphirerapids --emit=asm -o - \
// RUN:   | FileCheck %s --check-prefix=DOT
// RUN: tessera-compile %s --target=cpu --cpu=skylake-avx512 --emit=asm -o - \
// RUN:   | FileCheck %s --check-prefix=WIDEN
// RUN: tessera-compile %s --target=cpu --cpu=znver4 --emit=asm \
// RUN:   --pipeline-options="bf16-dot=false" -o - | FileCheck %s --check-prefix=WIDEN

// The inner loop of the 8x32 register block: two packed weight vectors, a
// broadcast (bf16, bf16) pair per row and 16 dot products.
// DOT-LABEL: experts:
// DOT: vpermt2w
// DOT-COUNT-16: vdpbf16ps {{.*}}%zmm
// WIDEN-LABEL: experts:
// WIDEN-NOT: vdpbf16ps
// WIDEN: vfmadd231ps {{.*}}%zmm
// WIDEN-NOT: vdpbf16ps
func.func @experts(%rows: tensor<64x256xbf16>, %w: tensor<2x256x128xbf16>) -> tensor<64x64xbf16> {
  %offsets = arith.constant dense<[0, 24, 64]> : tensor<3xi32>
  %y = tessera.grouped_matmul %rows, %w, %offsets {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<64x256xbf16>, tensor<2x256x128xbf16>, tensor<3xi32>) -> tensor<64x64xbf16>
  return %y : tensor<64x64xbf16>
}
