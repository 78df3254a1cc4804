// RUN: tessera-opt %s --tessera-amdgpu-pipeline | FileCheck %s
// RUN: tessera-opt %s --tessera-amdgpu-pipeline="chip=gfx90a" | FileCheck %s --check-prefix=GFX90A
// RUN: not tessera-opt %s --tessera-amdgpu-pipeline="chip=sm_90" 2>&1 | FileCheck %s --check-prefix=BADCHIP

// The same mapping as tessera-nvptx-pipeline; the kernels are ROCDL
// functions with bare-pointer arguments and the ROCDL target attached.
// CHECK-LABEL: func.func @grouped
// CHECK:         gpu.launch_func @tessera_kernels::@grouped_k0
// CHECK:       gpu.module @tessera_kernels [#rocdl.target<O = 3, chip = "gfx942">]
// CHECK:         llvm.func @grouped_k0(%{{.+}}: !llvm.ptr)
// CHECK-SAME:      rocdl.flat_work_group_size = "12,12"
// CHECK-SAME:      rocdl.kernel
// CHECK:         rocdl.workgroup.id.x
// CHECK:         rocdl.workitem.id.x
// CHECK:         llvm.intr.exp

// GFX90A: gpu.module @tessera_kernels [#rocdl.target<O = 3, chip = "gfx90a">]
// BADCHIP: tessera-amdgpu-pipeline: unknown AMD chip 'sm_90'
func.func @grouped(%r: tensor<12x8xbf16>, %w: tensor<3x8x10xbf16>, %o: tensor<4xi32>) -> tensor<12x5xbf16> {
  %y = tessera.grouped_matmul %r, %w, %o {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<12x8xbf16>, tensor<3x8x10xbf16>, tensor<4xi32>) -> tensor<12x5xbf16>
  return %y : tensor<12x5xbf16>
}
