// Every verifier rule of the MoE ops: route, dispatch, grouped_matmul,
// combine and moe.
// RUN: tessera-opt %s -split-input-file -verify-diagnostics

func.func @f(%x: tensor<16xf32>) {
  // expected-error @+1 {{'logits' must be a rank-2 tensor [T, E], got 'tensor<16xf32>'}}
  %w, %ids = tessera.route %x {top_k = 2 : i64} : (tensor<16xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>)
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{'weights' has shape [15, 2] but expected [T, top_k] with T = 16 (from 'logits')}}
  %w, %ids = tessera.route %x {top_k = 2 : i64} : (tensor<16x8xf32>) -> (tensor<15x2xf32>, tensor<16x2xi32>)
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{'weights' has shape [16, 3] but expected [T, top_k] with top_k = 2 (from 'top_k')}}
  %w, %ids = tessera.route %x {top_k = 2 : i64} : (tensor<16x8xf32>) -> (tensor<16x3xf32>, tensor<16x3xi32>)
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{'ids' has shape [16, 3] but expected [T, top_k] with top_k = 2 (from 'weights')}}
  %w, %ids = tessera.route %x {top_k = 2 : i64} : (tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x3xi32>)
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{'top_k' (9) must not exceed the number of experts E = 8}}
  %w, %ids = tessera.route %x {top_k = 9 : i64} : (tensor<16x8xf32>) -> (tensor<16x9xf32>, tensor<16x9xi32>)
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{the number of experts E = 8 must be divisible by 'n_group' (3)}}
  %w, %ids = tessera.route %x {top_k = 2 : i64, n_group = 3 : i64} : (tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>)
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{'topk_group' (5) must not exceed 'n_group' (4)}}
  %w, %ids = tessera.route %x {top_k = 2 : i64, n_group = 4 : i64, topk_group = 5 : i64} : (tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>)
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{'top_k' (5) must not exceed the 4 experts of the kept groups (topk_group * E / n_group)}}
  %w, %ids = tessera.route %x {top_k = 5 : i64, n_group = 4 : i64, topk_group = 2 : i64} : (tensor<16x8xf32>) -> (tensor<16x5xf32>, tensor<16x5xi32>)
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>, %b: tensor<7xf32>) {
  // expected-error @+1 {{'bias' has shape [7] but expected [E] with E = 8 (from 'logits')}}
  %w, %ids = tessera.route %x bias %b {top_k = 2 : i64} : (tensor<16x8xf32>, tensor<7xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>)
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{'scale' must be a finite number}}
  %w, %ids = tessera.route %x {top_k = 2 : i64, scale = 0x7FC00000 : f32} : (tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>)
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{result #1 must be ranked tensor of 32-bit signless integer values}}
  %w, %ids = tessera.route %x {top_k = 2 : i64} : (tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x2xf32>)
  return
}

// -----

func.func @f(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{attribute 'top_k' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %w, %ids = tessera.route %x {top_k = 0 : i64} : (tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>)
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %ids: tensor<7x2xi32>) {
  // expected-error @+1 {{'ids' has shape [7, 2] but expected [T, k] with T = 8 (from 'x')}}
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 4 : i64} : (tensor<8x32xf32>, tensor<7x2xi32>) -> (tensor<16x32xf32>, tensor<5xi32>, tensor<16xi32>)
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>) {
  // expected-error @+1 {{'rows' has shape [16, 16] but expected [M, d] with d = 32 (from 'x')}}
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 4 : i64} : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<16x16xf32>, tensor<5xi32>, tensor<16xi32>)
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>) {
  // expected-error @+1 {{'offsets' has shape [4] but expected [E+1] with E+1 = 5 (from 'num_experts')}}
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 4 : i64} : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<16x32xf32>, tensor<4xi32>, tensor<16xi32>)
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>) {
  // expected-error @+1 {{'perm' has shape [15] but expected [M] with M = 16 (from 'rows')}}
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 4 : i64} : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<16x32xf32>, tensor<5xi32>, tensor<15xi32>)
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>) {
  // expected-error @+1 {{'rows' has shape [17, 32] but expected [M, d] with M = 16 (T * k)}}
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 4 : i64} : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<17x32xf32>, tensor<5xi32>, tensor<17xi32>)
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>) {
  // expected-error @+1 {{'rows' has shape [16, 32] but expected [M, d] with M = 28 (T * k + num_experts * (block - 1))}}
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 4 : i64, block = 4 : i64} : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<16x32xf32>, tensor<5xi32>, tensor<16xi32>)
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>) {
  // expected-error @+1 {{'tessera.dispatch' op dispatches more than 2147483647 rows (T * k + num_experts * (block - 1) with T = 8, k = 2, num_experts = 4, block = 4611686018427387904), which its i32 offsets cannot index}}
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 4 : i64, block = 4611686018427387904 : i64} : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<16x32xf32>, tensor<5xi32>, tensor<16xi32>)
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>) {
  // expected-error @+1 {{'tessera.dispatch' op 'num_experts' (9223372036854775807) must be at most 2147483647: expert ids are i32}}
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 9223372036854775807 : i64} : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<16x32xf32>, tensor<5xi32>, tensor<16xi32>)
  return
}

// -----

func.func @f(%x: tensor<16x32xf32>, %gate: tensor<6x32xf32>, %w_up: tensor<6x32x32xf32>, %w_down: tensor<6x16x32xf32>) -> tensor<16x32xf32> {
  // expected-error @+1 {{'tessera.moe' op dispatches more than 2147483647 rows (T * k + num_experts * (block - 1) with T = 16, k = 2, num_experts = 6, block = 4611686018427387904), which its i32 offsets cannot index}}
  %y = tessera.moe %x, %gate, %w_up, %w_down {top_k = 2 : i64, block = 4611686018427387904 : i64} : (tensor<16x32xf32>, tensor<6x32xf32>, tensor<6x32x32xf32>, tensor<6x16x32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

func.func @f(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>) {
  // expected-error @+1 {{'rows' has element type 'f16' but expected 'f32' (as 'x')}}
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 4 : i64} : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<16x32xf16>, tensor<5xi32>, tensor<16xi32>)
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>) {
  // expected-error @+1 {{attribute 'block' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 4 : i64, block = 0 : i64} : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<16x32xf32>, tensor<5xi32>, tensor<16xi32>)
  return
}

// -----

func.func @f(%r: tensor<16x32xf32>, %w: tensor<4x16x8xf32>, %o: tensor<5xi32>) {
  // expected-error @+1 {{'weights' has shape [4, 16, 8] but expected [E, K, N] with K = 32 (from 'rows')}}
  %y = tessera.grouped_matmul %r, %w, %o : (tensor<16x32xf32>, tensor<4x16x8xf32>, tensor<5xi32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%r: tensor<16x32xf32>, %w: tensor<4x32x8xf32>, %o: tensor<4xi32>) {
  // expected-error @+1 {{'offsets' has shape [4] but expected [E+1] with E+1 = 5 (from 'weights')}}
  %y = tessera.grouped_matmul %r, %w, %o : (tensor<16x32xf32>, tensor<4x32x8xf32>, tensor<4xi32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%r: tensor<16x32xf32>, %w: tensor<4x32x8xf32>, %o: tensor<5xi32>) {
  // expected-error @+1 {{'out' has shape [16, 4] but expected [M, N] with N = 8 (from 'weights')}}
  %y = tessera.grouped_matmul %r, %w, %o : (tensor<16x32xf32>, tensor<4x32x8xf32>, tensor<5xi32>) -> tensor<16x4xf32>
  return
}

// -----

func.func @f(%r: tensor<16x32xf32>, %w: tensor<4x32x8xf32>, %o: tensor<5xi32>) {
  // expected-error @+1 {{'out' has shape [15, 8] but expected [M, N] with M = 16 (from 'rows')}}
  %y = tessera.grouped_matmul %r, %w, %o : (tensor<16x32xf32>, tensor<4x32x8xf32>, tensor<5xi32>) -> tensor<15x8xf32>
  return
}

// -----

func.func @f(%r: tensor<16x32xf32>, %w: tensor<4x32x7xf32>, %o: tensor<5xi32>) {
  // expected-error @+1 {{the swiglu epilogue needs an even N, but 'weights' [E, K, N] has N = 7}}
  %y = tessera.grouped_matmul %r, %w, %o {epilogue = #tessera.epilogue<swiglu>} : (tensor<16x32xf32>, tensor<4x32x7xf32>, tensor<5xi32>) -> tensor<16x3xf32>
  return
}

// -----

func.func @f(%r: tensor<16x32xf32>, %w: tensor<4x32x8xf32>, %o: tensor<5xi32>) {
  // expected-error @+1 {{'out' has shape [16, 8] but expected [M, N/2] with N/2 = 4 (from 'weights')}}
  %y = tessera.grouped_matmul %r, %w, %o {epilogue = #tessera.epilogue<swiglu>} : (tensor<16x32xf32>, tensor<4x32x8xf32>, tensor<5xi32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%r: tensor<16x32xf32>, %w: tensor<4x32x8xbf16>, %o: tensor<5xi32>) {
  // expected-error @+1 {{'weights' has element type 'bf16' but expected 'f32' (as 'rows')}}
  %y = tessera.grouped_matmul %r, %w, %o : (tensor<16x32xf32>, tensor<4x32x8xbf16>, tensor<5xi32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%r: tensor<16x32xf16>, %w: tensor<4x32x8xf16>, %o: tensor<5xi32>) {
  // expected-error @+1 {{'out' has element type 'f32' but expected 'f16' (as 'rows')}}
  %y = tessera.grouped_matmul %r, %w, %o : (tensor<16x32xf16>, tensor<4x32x8xf16>, tensor<5xi32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %w: tensor<4x32x8xf32>, %o: tensor<5xi32>, %i: tensor<16xi32>) {
  // expected-error @+1 {{'out' has shape [15, 8] but expected [M, N] with M = 16 (from 'gather')}}
  %y = tessera.grouped_matmul %x, %w, %o gather %i : (tensor<8x32xf32>, tensor<4x32x8xf32>, tensor<5xi32>, tensor<16xi32>) -> tensor<15x8xf32>
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %w: tensor<4x32x8xf32>, %o: tensor<5xi32>, %i: tensor<16x1xi32>) {
  // expected-error @+1 {{'gather' must be a rank-1 tensor [M], got 'tensor<16x1xi32>'}}
  %y = tessera.grouped_matmul %x, %w, %o gather %i : (tensor<8x32xf32>, tensor<4x32x8xf32>, tensor<5xi32>, tensor<16x1xi32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>, %w: tensor<4x32x8xf32>, %o: tensor<5xi32>, %i: tensor<16xf32>) {
  // expected-error @+1 {{operand #3 must be ranked tensor of 32-bit signless integer values, but got 'tensor<16xf32>'}}
  %y = tessera.grouped_matmul %x, %w, %o gather %i : (tensor<8x32xf32>, tensor<4x32x8xf32>, tensor<5xi32>, tensor<16xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%r: tensor<16x32xf32>, %w: tensor<4x32x8xf32>, %o: tensor<5xi32>, %s: tensor<12xf32>) {
  // expected-error @+1 {{'scale' has shape [12] but expected [M] with M = 16 (from 'rows')}}
  %y = tessera.grouped_matmul %r, %w, %o scale %s : (tensor<16x32xf32>, tensor<4x32x8xf32>, tensor<5xi32>, tensor<12xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @f(%r: tensor<16x32xbf16>, %w: tensor<4x32x8xbf16>, %o: tensor<5xi32>, %s: tensor<16xbf16>) {
  // expected-error @+1 {{operand #3 must be ranked tensor of 32-bit float values, but got 'tensor<16xbf16>'}}
  %y = tessera.grouped_matmul %r, %w, %o scale %s : (tensor<16x32xbf16>, tensor<4x32x8xbf16>, tensor<5xi32>, tensor<16xbf16>) -> tensor<16x8xbf16>
  return
}

// -----

func.func @f(%y: tensor<16x32xf32>, %p: tensor<15xi32>, %w: tensor<8x2xf32>) {
  // expected-error @+1 {{'perm' has shape [15] but expected [M] with M = 16 (from 'y')}}
  %o = tessera.combine %y, %p, %w : (tensor<16x32xf32>, tensor<15xi32>, tensor<8x2xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%y: tensor<16x32xf32>, %p: tensor<16xi32>, %w: tensor<8x2xf32>) {
  // expected-error @+1 {{'out' has shape [8, 16] but expected [T, d] with d = 32 (from 'y')}}
  %o = tessera.combine %y, %p, %w : (tensor<16x32xf32>, tensor<16xi32>, tensor<8x2xf32>) -> tensor<8x16xf32>
  return
}

// -----

func.func @f(%y: tensor<16x32xf32>, %p: tensor<16xi32>, %w: tensor<8x2xf32>) {
  // expected-error @+1 {{'out' has shape [7, 32] but expected [T, d] with T = 8 (from 'weights')}}
  %o = tessera.combine %y, %p, %w : (tensor<16x32xf32>, tensor<16xi32>, tensor<8x2xf32>) -> tensor<7x32xf32>
  return
}

// -----

func.func @f(%y: tensor<16x32xf32>, %p: tensor<16xi32>, %w: tensor<8x2xf32>) {
  // expected-error @+1 {{'out' has element type 'bf16' but expected 'f32' (as 'y')}}
  %o = tessera.combine %y, %p, %w : (tensor<16x32xf32>, tensor<16xi32>, tensor<8x2xf32>) -> tensor<8x32xbf16>
  return
}

// -----

func.func @f(%y: tensor<16x32xf32>, %p: tensor<16xi32>, %w: tensor<8x2xf16>) {
  // expected-error @+1 {{operand #2 must be ranked tensor of 32-bit float values}}
  %o = tessera.combine %y, %p, %w : (tensor<16x32xf32>, tensor<16xi32>, tensor<8x2xf16>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x32xf32>, %u: tensor<8x64x64xf32>, %d: tensor<8x32x64xf32>) {
  // expected-error @+1 {{'gate_w' has shape [8, 32] but expected [E, d] with d = 64 (from 'x')}}
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64} : (tensor<16x64xf32>, tensor<8x32xf32>, tensor<8x64x64xf32>, tensor<8x32x64xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x64x64xf32>, %d: tensor<4x32x64xf32>) {
  // expected-error @+1 {{'w_down' has shape [4, 32, 64] but expected [E, f, d] with E = 8 (from 'gate_w')}}
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64} : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>, tensor<4x32x64xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x64x64xf32>, %d: tensor<8x32x48xf32>) {
  // expected-error @+1 {{'w_down' has shape [8, 32, 48] but expected [E, f, d] with d = 64 (from 'x')}}
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64} : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>, tensor<8x32x48xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x64x48xf32>, %d: tensor<8x32x64xf32>) {
  // expected-error @+1 {{'w_up' has shape [8, 64, 48] but expected [E, d, 2f] with 2f = 64 (twice f from 'w_down')}}
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64} : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x48xf32>, tensor<8x32x64xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x32x64xf32>, %d: tensor<8x32x64xf32>) {
  // expected-error @+1 {{'w_up' has shape [8, 32, 64] but expected [E, d, 2f] with d = 64 (from 'x')}}
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64} : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x32x64xf32>, tensor<8x32x64xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x64x64xf32>, %d: tensor<8x32x64xf32>) {
  // expected-error @+1 {{'out' has shape [16, 32] but expected [T, d] with d = 64 (from 'x')}}
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64} : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>, tensor<8x32x64xf32>) -> tensor<16x32xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x64x64xbf16>, %d: tensor<8x32x64xf32>) {
  // expected-error @+1 {{'w_up' has element type 'bf16' but expected 'f32' (as 'x')}}
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64} : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xbf16>, tensor<8x32x64xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x64x64xf32>, %d: tensor<8x32x64xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'bias' has shape [4] but expected [E] with E = 8 (from 'gate_w')}}
  %y = tessera.moe %x, %g, %u, %d bias %b {top_k = 2 : i64} : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>, tensor<8x32x64xf32>, tensor<4xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x64x64xf32>, %d: tensor<8x32x64xf32>, %su: tensor<64x96xf32>, %sd: tensor<64x64xf32>) {
  // expected-error @+1 {{'shared_up' has shape [64, 96] but expected [d, 2fs] with 2fs = 128 (twice fs from 'shared_down')}}
  %y = tessera.moe %x, %g, %u, %d shared %su, %sd {top_k = 2 : i64} : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>, tensor<8x32x64xf32>, tensor<64x96xf32>, tensor<64x64xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x64x64xf32>, %d: tensor<8x32x64xf32>, %su: tensor<64x128xf32>, %sd: tensor<64x32xf32>) {
  // expected-error @+1 {{'shared_down' has shape [64, 32] but expected [fs, d] with d = 64 (from 'x')}}
  %y = tessera.moe %x, %g, %u, %d shared %su, %sd {top_k = 2 : i64} : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>, tensor<8x32x64xf32>, tensor<64x128xf32>, tensor<64x32xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x64x64xf32>, %d: tensor<8x32x64xf32>) {
  // expected-error @+1 {{'top_k' (9) must not exceed the number of experts E = 8}}
  %y = tessera.moe %x, %g, %u, %d {top_k = 9 : i64} : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>, tensor<8x32x64xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x64x64xf32>, %d: tensor<8x32x64xf32>) {
  // expected-error @+1 {{the number of experts E = 8 must be divisible by 'n_group' (3)}}
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64, n_group = 3 : i64} : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>, tensor<8x32x64xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @f(%x: tensor<16x64xf32>, %g: tensor<8x64xf32>, %u: tensor<8x64x64xf32>, %d: tensor<8x32x64xf32>, %su: tensor<64x128xf32>) {
  // expected-error @+1 {{'shared_up' and 'shared_down' must be given together}}
  %y = "tessera.moe"(%x, %g, %u, %d, %su) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1, 0>, top_k = 2 : i64}> : (tensor<16x64xf32>, tensor<8x64xf32>, tensor<8x64x64xf32>, tensor<8x32x64xf32>, tensor<64x128xf32>) -> tensor<16x64xf32>
  return
}

// -----

// 2f of a huge f overflows int64 (it used to wrap to the dynamic marker and
// pass; found by test/Fuzz/hostile.py). With d = 0 the tensors are empty, so
// the size bound below does not catch it first.
func.func @f(%x: tensor<16x0xf32>, %g: tensor<8x0xf32>, %u: tensor<8x0x8xf32>, %d: tensor<8x4611686018427387904x0xf32>) {
  // expected-error @+1 {{'w_up' needs 2f (twice f from 'w_down') with f = 4611686018427387904, which overflows 64 bits}}
  %y = tessera.moe %x, %g, %u, %d {top_k = 2 : i64} : (tensor<16x0xf32>, tensor<8x0xf32>, tensor<8x0x8xf32>, tensor<8x4611686018427387904x0xf32>) -> tensor<16x0xf32>
  return
}

// -----

func.func @f(%rows: tensor<16x0xf32>, %w: tensor<9223372036854775807x0x8xf32>, %offsets: tensor<9xi32>) {
  // expected-error @+1 {{'offsets' needs E+1 (from 'weights') with E = 9223372036854775807, which overflows 64 bits}}
  %y = tessera.grouped_matmul %rows, %w, %offsets : (tensor<16x0xf32>, tensor<9223372036854775807x0x8xf32>, tensor<9xi32>) -> tensor<16x8xf32>
  return
}

// -----

// A tensor of more than 2^62 bytes: its size in bytes would overflow int64
// in the lowerings (found by test/Fuzz/hostile.py under UBSan, in the
// combine lowering's T * k).
func.func @f(%y: tensor<12x8xf32>, %perm: tensor<12xi32>, %w: tensor<4611686018427387904x2xf32>) {
  // expected-error @+1 {{'weights' of type 'tensor<4611686018427387904x2xf32>' has more than 2^62 bytes (the lowerings compute its size in int64)}}
  %r = tessera.combine %y, %perm, %w : (tensor<12x8xf32>, tensor<12xi32>, tensor<4611686018427387904x2xf32>) -> tensor<4611686018427387904x8xf32>
  return
}
