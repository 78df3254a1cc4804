// REQUIRES: rocm-device-libs
// Math that needs ocml (tanh of the softcap, floor of the f16 rounding)
// links into the code object: no undefined symbol is left.
// RUN: tessera-compile %s --target=amdgpu --emit=hsaco -o %t.gfx942.hsaco
// RUN: llvm-readelf -s %t.gfx942.hsaco | FileCheck %s
// RUN: llvm-readelf -s %t.gfx942.hsaco | not grep -E "UND +[_a-zA-Z]"
// RUN: tessera-compile %s --target=amdgpu --chip=gfx90a --emit=hsaco -o %t.gfx90a.hsaco
// RUN: llvm-readelf -s %t.gfx90a.hsaco | not grep -E "UND +[_a-zA-Z]"
// RUN: llvm-readelf -h %t.gfx90a.hsaco | FileCheck %s --check-prefix=ELF
// Without the libraries the error says what to install.
// RUN: not tessera-compile %s --target=amdgpu --emit=hsaco --toolkit-path=%t.none 2>&1 | FileCheck %s --check-prefix=MISSING

// CHECK: Symbol table '.symtab'
// CHECK: softcap_k
// ELF: Flags: {{.*}}gfx90a
// MISSING: tessera-compile: error: the kernels call device math functions (__ocml_{{.*}}) but no ROCm device libraries (amdgcn/bitcode/ocml.bc) were found: install rocm-device-libs, set ROCM_PATH or --toolkit-path
func.func @softcap(%q: tensor<1x2x4x8xf16>, %k: tensor<1x1x6x8xf16>, %v: tensor<1x1x6x8xf16>)
    -> tensor<1x2x4x8xf16> {
  %o = tessera.attention %q, %k, %v {softcap = 2.0 : f32}
      : (tensor<1x2x4x8xf16>, tensor<1x1x6x8xf16>, tensor<1x1x6x8xf16>) -> tensor<1x2x4x8xf16>
  return %o : tensor<1x2x4x8xf16>
}
