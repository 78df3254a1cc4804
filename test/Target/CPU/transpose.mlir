// A transposed f32 tile (what attention does with each K block) compiles to
// 16x16 in-register transposes (unpack and 128-bit lane shuffles), not to
// scalar moves or gathers.
//
// RUN: tessera-compile %s --target=cpu --cpu=znver4 --emit=asm -o - | FileCheck %s

// CHECK-LABEL: transpose_tile:
// CHECK-NOT: {{vmovss|vinsertps|vgatherdps}}
// CHECK-DAG: vunpcklps
// CHECK-DAG: vunpckhpd
// CHECK-DAG: vshuff64x2
// CHECK-NOT: {{vmovss|vinsertps|vgatherdps}}
// CHECK: .Lfunc_end
func.func @transpose_tile(%k: tensor<64x128xf32>, %init: tensor<128x64xf32>) -> tensor<128x64xf32> {
  %t = linalg.transpose ins(%k : tensor<64x128xf32>) outs(%init : tensor<128x64xf32>) permutation = [1, 0]
  return %t : tensor<128x64xf32>
}
