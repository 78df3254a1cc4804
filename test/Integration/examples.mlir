// The README's main job: the sample MoE layer and GQA attention compile, run
// and match the numpy reference.
// RUN: %numpy_python %tessera_src_root/examples/run_examples.py --build %tessera_obj_root | FileCheck %s

// CHECK: == MoE layer
// CHECK: result #0: max abs err {{.*}}: PASS
// CHECK: max abs error vs numpy: {{.*}} PASS
// CHECK: == GQA causal attention
// CHECK: result #0: max abs err {{.*}}: PASS
// CHECK: max abs error vs numpy: {{.*}} PASS
// CHECK: tessera demo: all results match
