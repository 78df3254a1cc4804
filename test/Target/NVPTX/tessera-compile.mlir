// PTX needs no CUDA (no math here); the toolkit is hidden so that the
// artifact holds PTX whatever this machine has.
// RUN: tessera-compile %s --target=nvptx --emit=ptx --toolkit-path=%t.none | FileCheck %s --check-prefix=PTX
// RUN: tessera-compile %s --target=nvptx --chip=sm_80 --emit=ptx --toolkit-path=%t.none | FileCheck %s --check-prefix=SM80
// RUN: tessera-compile %s --target=nvptx --emit=artifact --toolkit-path=%t.none | FileCheck %s --check-prefix=ARTIFACT
// RUN: tessera-compile %s --target=nvptx --emit=mlir | FileCheck %s --check-prefix=MLIR

// PTX: .version 8.0
// PTX: .target sm_90
// PTX: .address_size 64
// PTX: .visible .entry grouped_k0(
// PTX:   .param .u64 .ptr .align 1 grouped_k0_param_0
// PTX: .maxntid 6, 1, 1
// PTX: mov.u32 {{.*}}%tid.x
// PTX: .visible .entry grouped_k3(
// PTX: mul.rn.f32
// PTX: add.rn.f32
// PTX-NOT: .extern

// SM80: .target sm_80

// The launch manifest: inputs and the out-parameter by position, the
// temporary holding each row's expert (6 x i32 = 24 bytes), the launches in
// order with their grids and buffers, then the image.
// ARTIFACT:      tessera-gpu-artifact 1
// ARTIFACT-NEXT: target nvptx sm_90
// ARTIFACT-NEXT: image ptx [[SIZE:[0-9]+]]
// ARTIFACT-NEXT: function grouped
// ARTIFACT-NEXT: buffer 0 input 0 f32 6x8
// ARTIFACT-NEXT: buffer 1 input 1 f32 2x8x4
// ARTIFACT-NEXT: buffer 2 input 2 i32 3
// ARTIFACT-NEXT: buffer 3 output 0 f32 6x4
// ARTIFACT-NEXT: buffer 4 temp 24
// ARTIFACT-NEXT: launch grouped_k0 1 1 1 6 1 1 0 b4
// ARTIFACT-NEXT: launch grouped_k1 1 1 1 6 1 1 0 b4 b2
// ARTIFACT-NEXT: launch grouped_k2 1 1 1 24 1 1 0 b3
// ARTIFACT-NEXT: launch grouped_k3 1 1 1 24 1 1 0 b0 b3 b4 b1
// ARTIFACT-NEXT: end
// ARTIFACT-NEXT: data
// ARTIFACT-NEXT: //
// ARTIFACT:      .visible .entry grouped_k0(

// MLIR: func.func @grouped
// MLIR: gpu.module @tessera_kernels [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80"
func.func @grouped(%r: tensor<6x8xf32>, %w: tensor<2x8x4xf32>, %o: tensor<3xi32>) -> tensor<6x4xf32> {
  %y = tessera.grouped_matmul %r, %w, %o
      : (tensor<6x8xf32>, tensor<2x8x4xf32>, tensor<3xi32>) -> tensor<6x4xf32>
  return %y : tensor<6x4xf32>
}
