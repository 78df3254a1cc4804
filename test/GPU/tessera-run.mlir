// REQUIRES: cuda-gpu
// tessera-run compiles for the GPU, runs through the GPU runtime and checks
// against the CPU reference lowering on the same inputs.
// RUN: tessera-run %tessera_src_root/examples/moe_layer.mlir --entry=moe_layer --target=nvptx --random-inputs=1 --check --bench=3 | FileCheck %s
// RUN: tessera-run %tessera_src_root/examples/gqa_attention.mlir --entry=gqa_attention --target=nvptx --random-inputs=2 --check | FileCheck %s --check-prefix=ATTN

// CHECK: result #0: max abs err {{.*}}: PASS
// CHECK: bench: 3 runs, median
// ATTN: result #0: max abs err {{.*}}: PASS
