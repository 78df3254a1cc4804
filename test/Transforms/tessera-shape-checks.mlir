// RUN: tessera-opt %s --tessera-shape-checks --split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-shape-checks --tessera-shape-checks \
// RUN:   --split-input-file | FileCheck %s --check-prefix=TWICE

// Every dynamic size that two operands share becomes a rule; the check
// returns the message of the first broken one, or null.

// CHECK-DAG: llvm.mlir.global internal constant @[[B_K:.*]]("'tessera.attention' op at {{.*}}tessera-shape-checks.mlir:{{[0-9]+}}:8: 'k' dimension 0 (B) must equal 'q' dimension 0 (B)\00")
// CHECK-DAG: llvm.mlir.global internal constant @[[B_V:.*]]("'tessera.attention' op at {{.*}}: 'v' dimension 0 (B) must equal 'q' dimension 0 (B)\00")
// CHECK-DAG: llvm.mlir.global internal constant @[[SKV:.*]]("'tessera.attention' op at {{.*}}: 'v' dimension 2 (Skv) must equal 'k' dimension 2 (Skv)\00")
// CHECK-LABEL: func.func @att(
// CHECK:         tessera.attention
// CHECK-LABEL: func.func @att_shape_check(
// CHECK-SAME:      %[[Q:.*]]: tensor<?x8x?x32xf32>, %[[K:.*]]: tensor<?x2x?x32xf32>, %[[V:.*]]: tensor<?x2x?x32xf32>) -> !llvm.ptr
// CHECK-SAME:      attributes {llvm.emit_c_interface, tessera.shape_check_of = @att}
// CHECK-NOT:     tessera.attention
// CHECK:         %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK-DAG:     %[[KB:.*]] = tensor.dim %[[K]], %c0
// CHECK-DAG:     %[[QB:.*]] = tensor.dim %[[Q]], %c0
// CHECK-DAG:     %[[VS:.*]] = tensor.dim %[[V]], %c2
// CHECK-DAG:     %[[KS:.*]] = tensor.dim %[[K]], %c2
// CHECK:         %[[SEL0:.*]] = arith.select %{{.*}}, %{{.*}}, %[[NULL]] : !llvm.ptr
// CHECK:         %[[SEL1:.*]] = arith.select %{{.*}}, %{{.*}}, %[[SEL0]] : !llvm.ptr
// CHECK:         %[[SEL2:.*]] = arith.select %{{.*}}, %{{.*}}, %[[SEL1]] : !llvm.ptr
// CHECK:         return %[[SEL2]] : !llvm.ptr
// TWICE-LABEL: func.func @att_shape_check(
// TWICE-NOT:   func.func @att_shape_check_shape_check
func.func @att(%q: tensor<?x8x?x32xf32>, %k: tensor<?x2x?x32xf32>,
               %v: tensor<?x2x?x32xf32>) -> tensor<?x8x?x32xf32>
    attributes {llvm.emit_c_interface} {
  %o = tessera.attention %q, %k, %v {causal = true}
      : (tensor<?x8x?x32xf32>, tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32>)
      -> tensor<?x8x?x32xf32>
  return %o : tensor<?x8x?x32xf32>
}

// -----

// Static shapes, or dynamic sizes that no other operand shares (here Sq,
// which the result takes from q): no check.
// CHECK-LABEL: func.func @static_att(
// CHECK-NOT:   _shape_check
// CHECK:       func.func @prefill(
// CHECK-NOT:   _shape_check
// CHECK:       // -----
func.func @static_att(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x16x32xf32>,
                      %v: tensor<1x2x16x32xf32>) -> tensor<1x8x16x32xf32> {
  %o = tessera.attention %q, %k, %v
      : (tensor<1x8x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>)
      -> tensor<1x8x16x32xf32>
  return %o : tensor<1x8x16x32xf32>
}
func.func @prefill(%q: tensor<1x8x?x32xf32>, %k: tensor<1x2x16x32xf32>,
                   %v: tensor<1x2x16x32xf32>) -> tensor<1x8x?x32xf32> {
  %o = tessera.attention %q, %k, %v
      : (tensor<1x8x?x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>)
      -> tensor<1x8x?x32xf32>
  return %o : tensor<1x8x?x32xf32>
}

// -----

// Decode over a cache of dynamic length: the lengths of k and v must agree.
// CHECK: "'tessera.attention' op at {{.*}}: 'v' dimension 2 (Skv) must equal 'k' dimension 2 (Skv)\00"
// CHECK-LABEL: func.func @decode_shape_check(
// CHECK-SAME:    tessera.shape_check_of = @decode
func.func @decode(%q: tensor<1x8x1x32xf32>, %k: tensor<1x2x?x32xf32>,
                  %v: tensor<1x2x?x32xf32>) -> tensor<1x8x1x32xf32> {
  %o = tessera.attention %q, %k, %v
      : (tensor<1x8x1x32xf32>, tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32>)
      -> tensor<1x8x1x32xf32>
  return %o : tensor<1x8x1x32xf32>
}

// -----

// A dynamic size against a static one (here of the result type), dynamic
// heads, a dynamic bias and kv_lens.
// CHECK-DAG: "{{.*}}'q' dimension 0 (B) must be 2 (as in 'k')\00"
// CHECK-DAG: "{{.*}}'v' dimension 1 (Hkv) must equal 'k' dimension 1 (Hkv)\00"
// CHECK-DAG: "{{.*}}'q' dimension 1 (Hq) must be 8 (as in 'out')\00"
// CHECK-DAG: "{{.*}}Hq = 8 must be a multiple of 'k' dimension 1 (Hkv) (query heads per KV head)\00"
// CHECK-DAG: "{{.*}}'bias' dimension 3 (Skv) must equal 'k' dimension 2 (Skv)\00"
// CHECK-DAG: "{{.*}}'kv_lens' dimension 0 (B) must be 2 (as in 'k')\00"
// CHECK-LABEL: func.func @mixed_shape_check(
// CHECK:         arith.remsi {{.*}} : i64
func.func @mixed(%q: tensor<?x?x4x32xf32>, %k: tensor<2x?x?x32xf32>,
                 %v: tensor<2x?x?x32xf32>, %bias: tensor<1x1x4x?xf32>,
                 %lens: tensor<?xi32>) -> tensor<2x8x4x32xf32> {
  %o = tessera.attention %q, %k, %v bias %bias kv_lens %lens
      : (tensor<?x?x4x32xf32>, tensor<2x?x?x32xf32>, tensor<2x?x?x32xf32>,
         tensor<1x1x4x?xf32>, tensor<?xi32>) -> tensor<2x8x4x32xf32>
  return %o : tensor<2x8x4x32xf32>
}

// -----

// Latent attention: the width must hold the latent dimension.
// CHECK-DAG: "{{.*}}'kv' dimension 2 (L+R) must equal 'q' dimension 3 (L+R)\00"
// CHECK-DAG: "{{.*}}'q' dimension 3 (L+R) must be at least 16 ('latent_dim')\00"
// CHECK-LABEL: func.func @mla_shape_check(
func.func @mla(%q: tensor<1x4x1x?xf32>, %kv: tensor<1x9x?xf32>)
    -> tensor<1x4x1x16xf32> {
  %o = tessera.latent_attention %q, %kv {latent_dim = 16 : i64}
      : (tensor<1x4x1x?xf32>, tensor<1x9x?xf32>) -> tensor<1x4x1x16xf32>
  return %o : tensor<1x4x1x16xf32>
}

// -----

// The MoE layer: experts, 2f, the routing attributes against a dynamic
// number of experts, and the dispatch row limit.
// CHECK-DAG: "{{.*}}'w_up' dimension 0 (E) must equal 'gate_w' dimension 0 (E)\00"
// CHECK-DAG: "{{.*}}'w_down' dimension 0 (E) must equal 'gate_w' dimension 0 (E)\00"
// CHECK-DAG: "{{.*}}'w_up' dimension 2 (2f) must be 2 * 'w_down' dimension 1 (f)\00"
// CHECK-DAG: "{{.*}}T * top_k + E * (block - 1) rows must not exceed 2147483647, which i32 offsets index\00"
// CHECK-DAG: "{{.*}}'gate_w' dimension 0 (E) must be at least 2 ('top_k')\00"
// CHECK-DAG: "{{.*}}'gate_w' dimension 0 (E) must be a multiple of 2 ('n_group')\00"
// CHECK-DAG: "{{.*}}'gate_w' dimension 0 (E) must be at least 4 ('top_k' experts from 'topk_group' of 'n_group' groups)\00"
// CHECK-LABEL: func.func @moe_shape_check(
// CHECK-NOT:     tessera.moe
// CHECK:         return
func.func @moe(%x: tensor<?x64xf32>, %g: tensor<?x64xf32>,
               %up: tensor<?x64x?xf32>, %down: tensor<?x?x64xf32>)
    -> tensor<?x64xf32> {
  %y = tessera.moe %x, %g, %up, %down
      {top_k = 2 : i64, n_group = 2 : i64, topk_group = 1 : i64, block = 4 : i64}
      : (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64x?xf32>,
         tensor<?x?x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// The stages: a dynamic top-k width of dispatch's ids makes the row limit a
// product of two sizes; grouped_matmul's offsets follow the experts of its
// weights and a swiglu N must be even.
// CHECK-DAG: "{{.*}}'tessera.dispatch' op {{.*}}: 'ids' dimension 0 (T) must equal 'x' dimension 0 (T)\00"
// CHECK-DAG: "{{.*}}'tessera.dispatch' op {{.*}}: T * k + num_experts * (block - 1) rows must not exceed 2147483647, which i32 offsets index\00"
// CHECK-DAG: "{{.*}}'tessera.grouped_matmul' op {{.*}}: 'offsets' dimension 0 (E+1) must be 'weights' dimension 0 (E) + 1\00"
// CHECK-DAG: "{{.*}}'tessera.grouped_matmul' op {{.*}}: 'weights' dimension 2 (N) must be a multiple of 2 (the swiglu epilogue)\00"
// CHECK-DAG: "{{.*}}'tessera.grouped_matmul' op {{.*}}: 'weights' dimension 2 (N) must be 16 (twice N/2 from 'out')\00"
// CHECK-DAG: "{{.*}}'tessera.dispatch' op {{.*}}: T * k must be the 8 rows of the 'rows' type\00"
// CHECK-LABEL: func.func @stages_shape_check(
// CHECK:         arith.muli {{.*}} : i128
// CHECK-NOT:     tessera.
// CHECK:         return
func.func @stages(%x: tensor<?x8xf32>, %ids: tensor<?x?xi32>,
                  %rows: tensor<32x8xf32>, %w: tensor<?x8x?xf32>,
                  %offsets: tensor<?xi32>, %ids2: tensor<?x2xi32>)
    -> (tensor<?x8xf32>, tensor<32x8xf32>, tensor<8x8xf32>) {
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 4 : i64, block = 8 : i64}
      : (tensor<?x8xf32>, tensor<?x?xi32>)
      -> (tensor<?x8xf32>, tensor<5xi32>, tensor<?xi32>)
  %r2, %o2, %p2 = tessera.dispatch %x, %ids2 {num_experts = 4 : i64}
      : (tensor<?x8xf32>, tensor<?x2xi32>)
      -> (tensor<8x8xf32>, tensor<5xi32>, tensor<8xi32>)
  %y = tessera.grouped_matmul %rows, %w, %offsets {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<32x8xf32>, tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<32x8xf32>
  return %r, %y, %r2 : tensor<?x8xf32>, tensor<32x8xf32>, tensor<8x8xf32>
}
