// tessera-compile on the CPU target: every --emit kind, the CPU choice, the
// standard MLIR flags, pipeline overrides and the command-line errors.

// RUN: tessera-compile %s --target=cpu --emit=mlir -o - \
// RUN:   | FileCheck %s --check-prefix=MLIR
// RUN: tessera-compile %s --target=cpu --cpu=znver4 --emit=llvm -o - \
// RUN:   | FileCheck %s --check-prefix=LLVM
// RUN: tessera-compile %s --target=cpu --cpu=znver4 --emit=asm -o - \
// RUN:   | FileCheck %s --check-prefixes=ASM,ZNVER4
// RUN: tessera-compile %s --target=cpu --cpu=skylake-avx512 --emit=asm -o - \
// RUN:   | FileCheck %s --check-prefixes=ASM,SKX
// RUN: tessera-compile %s --target=cpu --cpu=x86-64 --emit=asm -o - \
// RUN:   | FileCheck %s --check-prefixes=ASM,BASELINE
// RUN: rm -rf %t && mkdir -p %t
// RUN: tessera-compile %s --target=cpu --emit=obj -o %t/kernels.o
// RUN: llvm-nm %t/kernels.o | FileCheck %s --check-prefix=NM
// RUN: llvm-readelf -h %t/kernels.o | FileCheck %s --check-prefix=ELF

// The public functions with a body get C wrappers; the private helper and
// the declaration do not.
// MLIR-LABEL: llvm.func @scale(
// MLIR-LABEL: llvm.func @_mlir_ciface_scale(
// MLIR-SAME:    %{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr)
// MLIR-LABEL: llvm.func @attention(
// MLIR-LABEL: llvm.func @_mlir_ciface_attention(
// MLIR-SAME:    %{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr)
// MLIR-NOT:   _mlir_ciface_helper
// MLIR-NOT:   _mlir_ciface_external

// LLVM: target triple = "x86_64-
// LLVM-DAG: define void @_mlir_ciface_scale(ptr {{.*}}, ptr {{.*}}, ptr {{.*}})
// LLVM-DAG: define void @_mlir_ciface_attention(ptr
// LLVM-DAG: "target-cpu"="znver4"

// tessera-vectorize emits 16-lane f32 vectors (vector-width=16): AVX-512
// CPUs (znver4, skylake-avx512) keep them in zmm registers; the baseline
// x86-64 has only SSE and splits them into xmm.
// ZNVER4-LABEL:   {{^}}scale:
// ZNVER4:         vmulps {{.*}}%zmm
// SKX-LABEL:      {{^}}scale:
// SKX:            vmulps {{.*}}%zmm
// BASELINE-LABEL: {{^}}scale:
// BASELINE-NOT:   {{[yz]mm}}
// BASELINE:       mulps {{.*}}%xmm
// BASELINE-NOT:   {{[yz]mm}}
// ASM-LABEL:      {{^}}_mlir_ciface_scale:
// ASM-LABEL:      {{^}}attention:
// ASM-LABEL:      {{^}}_mlir_ciface_attention:

// NM-DAG: T _mlir_ciface_attention
// NM-DAG: T _mlir_ciface_scale
// NM-DAG: U malloc
// NM-NOT: _mlir_ciface_helper

// ELF: Class: ELF64
// ELF: Type: REL (Relocatable file)
// ELF: Machine: Advanced Micro Devices X86-64

// The standard MLIR flags: IR dumps after every pass (on stderr) and the
// timing report, which also times the LLVM stages.
// RUN: tessera-compile %s --emit=obj --mlir-print-ir-after-all -o %t/dump.o \
// RUN:   2>&1 | FileCheck %s --check-prefix=DUMP
// DUMP: IR Dump After TesseraTileAttention (tessera-tile-attention)
// DUMP: IR Dump After ConvertTesseraToLinalg (convert-tessera-to-linalg)
// DUMP: IR Dump After {{.*}} (reconcile-unrealized-casts)
// DUMP: llvm.func @_mlir_ciface_attention
// RUN: tessera-compile %s --emit=obj --mlir-timing -o %t/timing.o 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TIMING
// TIMING: Execution time report
// TIMING: Parser
// TIMING: ConvertTesseraToLinalg
// TIMING: Translate to LLVM IR
// TIMING: Optimize LLVM IR (O3)
// TIMING: Generate code

// Options of the default pipeline: the reference lowering does not tile.
// RUN: tessera-compile %s --emit=mlir --pipeline-options="reference=true" \
// RUN:   --mlir-print-ir-after-all -o %t/reference.mlir 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REFERENCE
// REFERENCE-NOT: tessera-tile-attention
// REFERENCE:     IR Dump After ConvertTesseraToLinalg
// REFERENCE-NOT: tessera-tile-attention

// --pass-pipeline replaces the default pipeline: here it stops at linalg...
// RUN: tessera-compile %s --emit=mlir \
// RUN:   --pass-pipeline="builtin.module(convert-tessera-to-linalg)" -o - \
// RUN:   | FileCheck %s --check-prefix=PARTIAL
// PARTIAL-LABEL: func.func @attention(
// PARTIAL-SAME:    attributes {llvm.emit_c_interface}
// PARTIAL-NOT:     tessera.attention
// PARTIAL:         linalg.
// PARTIAL:         return
// ...which only --emit=mlir can write,
// RUN: not tessera-compile %s --emit=obj \
// RUN:   --pass-pipeline="builtin.module(convert-tessera-to-linalg)" \
// RUN:   -o %t/partial.o 2>&1 | FileCheck %s --check-prefix=PARTIAL-OBJ
// PARTIAL-OBJ: tessera-compile: error: '{{.*}}' has no translation to LLVM IR: the pass pipeline must end in the LLVM dialect for llvm, asm and obj
// ...and here it is the CPU pipeline with its own options.
// RUN: tessera-compile %s --emit=obj -o %t/override.o \
// RUN:   --pass-pipeline="builtin.module(tessera-cpu-pipeline{reference=true threads=1})"
// RUN: llvm-nm %t/override.o | FileCheck %s --check-prefix=OVERRIDE
// OVERRIDE-NOT: __kmpc
// OVERRIDE:     T _mlir_ciface_attention
// OVERRIDE-NOT: __kmpc

// Errors: one line each, exit code 1, no output file.
// RUN: not tessera-compile %s --target=nvptx --emit=obj -o %t/e.o 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NVPTX
// NVPTX: tessera-compile: error: target 'nvptx' emits mlir, artifact or its device code (ptx, cubin)
// NVPTX-NOT: {{.}}
// RUN: not tessera-compile %s --target=amdgpu --emit=obj -o %t/e.o 2>&1 \
// RUN:   | FileCheck %s --check-prefix=AMDGPU
// AMDGPU: tessera-compile: error: target 'amdgpu' emits mlir, artifact or its device code (asm, hsaco)
// RUN: not tessera-compile %s --target=tpu -o %t/e.o 2>&1 \
// RUN:   | FileCheck %s --check-prefix=UNKNOWN-TARGET
// UNKNOWN-TARGET: tessera-compile: error: unknown target 'tpu' (expected cpu, nvptx or amdgpu)
// UNKNOWN-TARGET-NOT: {{.}}
// RUN: not tessera-compile %s --cpu=pentium9 -o %t/e.o 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CPU
// CPU: tessera-compile: error: unknown CPU 'pentium9' for target 'x86_64-{{.*}}'{{$}}
// CPU-NOT: {{.}}
// RUN: not tessera-compile %s --emit=exe -o %t/e.o 2>&1 \
// RUN:   | FileCheck %s --check-prefix=EMIT
// EMIT: tessera-compile: error: unknown emit kind 'exe' (expected mlir, llvm, asm, obj, ptx, cubin, hsaco or artifact)
// EMIT-NOT: {{.}}
// RUN: not tessera-compile %t/missing.mlir -o %t/e.o 2>&1 \
// RUN:   | FileCheck %s --check-prefix=MISSING
// MISSING: tessera-compile: error: cannot open input file '{{.*}}missing.mlir': No such file or directory
// MISSING-NOT: {{.}}
// RUN: not tessera-compile %s --pass-pipeline="builtin.module(no-such-pass)" \
// RUN:   -o %t/e.o 2>&1 | FileCheck %s --check-prefix=BAD-PIPELINE
// BAD-PIPELINE: tessera-compile: error: invalid pass pipeline: 'no-such-pass' does not refer to a registered pass or pass pipeline
// BAD-PIPELINE-NOT: {{.}}
// RUN: not tessera-compile %s --pass-pipeline="func.func(cse)" -o %t/e.o 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ANCHOR
// ANCHOR: tessera-compile: error: the pass pipeline must be anchored on 'builtin.module', not 'func.func'
// RUN: not tessera-compile %s --pass-pipeline="builtin.module(cse)" \
// RUN:   --pipeline-options="reference=true" -o %t/e.o 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BOTH
// BOTH: tessera-compile: error: pipeline options apply to the default pipeline only, not to a given pass pipeline
// RUN: not tessera-compile %s --pipeline-options="no-such-option=1" \
// RUN:   -o %t/e.o 2>&1 | FileCheck %s --check-prefix=OPTIONS
// OPTIONS: tessera-compile: error: invalid options for tessera-cpu-pipeline 'no-such-option=1': <Pass-Options-Parser>: no such option no-such-option
// OPTIONS-NOT: {{.}}
// RUN: not ls %t/e.o

func.func @scale(%a: tensor<1024xf32>, %b: tensor<1024xf32>)
    -> tensor<1024xf32> {
  %c = arith.mulf %a, %b : tensor<1024xf32>
  return %c : tensor<1024xf32>
}

func.func @attention(%q: tensor<1x4x16x8xf32>, %k: tensor<1x2x16x8xf32>,
                     %v: tensor<1x2x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %r = call @helper(%q) : (tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  %out = tessera.attention %r, %k, %v {causal = true}
      : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return %out : tensor<1x4x16x8xf32>
}

func.func private @helper(%x: tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32> {
  return %x : tensor<1x4x16x8xf32>
}

func.func private @external(tensor<4xf32>) -> tensor<4xf32>
