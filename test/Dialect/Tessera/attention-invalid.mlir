// Every verifier rule of tessera.attention and tessera.latent_attention.
// RUN: tessera-opt %s -split-input-file -verify-diagnostics

func.func @f(%q: tensor<8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{'q' must be a rank-4 tensor [B, Hq, Sq, D], got 'tensor<8x16x64xf32>'}}
  %out = tessera.attention %q, %k, %v : (tensor<8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<3x2x32x64xf32>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{'k' has shape [3, 2, 32, 64] but expected [B, Hkv, Skv, D] with B = 2 (from 'q')}}
  %out = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<3x2x32x64xf32>, tensor<2x2x32x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x48xf32>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{'k' has shape [2, 2, 32, 48] but expected [B, Hkv, Skv, D] with D = 64 (from 'q')}}
  %out = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<2x2x32x48xf32>, tensor<2x2x32x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x31x32xf32>) {
  // expected-error @+1 {{'v' has shape [2, 2, 31, 32] but expected [B, Hkv, Skv, Dv] with Skv = 32 (from 'k')}}
  %out = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x31x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x4x32x32xf32>) {
  // expected-error @+1 {{'v' has shape [2, 4, 32, 32] but expected [B, Hkv, Skv, Dv] with Hkv = 2 (from 'k')}}
  %out = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x4x32x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{'out' has shape [2, 8, 15, 32] but expected [B, Hq, Sq, Dv] with Sq = 16 (from 'q')}}
  %out = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>) -> tensor<2x8x15x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{'out' has shape [2, 8, 16, 64] but expected [B, Hq, Sq, Dv] with Dv = 32 (from 'v')}}
  %out = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>) -> tensor<2x8x16x64xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf16>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{'k' has element type 'f16' but expected 'f32' (as 'q')}}
  %out = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf16>, tensor<2x2x32x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xbf16>) {
  // expected-error @+1 {{'v' has element type 'bf16' but expected 'f32' (as 'q')}}
  %out = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xbf16>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{'out' has element type 'f16' but expected 'f32' (as 'q')}}
  %out = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>) -> tensor<2x8x16x32xf16>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x3x32x64xf32>, %v: tensor<2x3x32x32xf32>) {
  // expected-error @+1 {{query heads Hq = 8 must be a multiple of KV heads Hkv = 3}}
  %out = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<2x3x32x64xf32>, tensor<2x3x32x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{'lse' has shape [2, 8, 8] but expected [B, Hq, Sq] with Sq = 16 (from 'q')}}
  %out, %lse = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>) -> (tensor<2x8x16x32xf32>, tensor<2x8x8xf32>)
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{result #1 must be ranked tensor of 32-bit float values}}
  %out, %lse = tessera.attention %q, %k, %v : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>) -> (tensor<2x8x16x32xf32>, tensor<2x8x16xf16>)
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>, %b: tensor<16x32xf32>) {
  // expected-error @+1 {{'bias' must be a rank-4 tensor [B or 1, Hq or 1, Sq, Skv], got 'tensor<16x32xf32>'}}
  %out = tessera.attention %q, %k, %v bias %b : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>, tensor<16x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>, %b: tensor<1x1x16x16xf32>) {
  // expected-error @+1 {{'bias' has shape [1, 1, 16, 16] but expected [B or 1, Hq or 1, Sq, Skv] with Skv = 32 (from 'Skv')}}
  %out = tessera.attention %q, %k, %v bias %b : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>, tensor<1x1x16x16xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>, %b: tensor<3x8x16x32xf32>) {
  // expected-error @+1 {{'bias' has shape [3, 8, 16, 32] but expected [B or 1, Hq or 1, Sq, Skv] with B or 1 = 2 (from 'B')}}
  %out = tessera.attention %q, %k, %v bias %b : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>, tensor<3x8x16x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>, %l: tensor<3xi32>) {
  // expected-error @+1 {{'kv_lens' has shape [3] but expected [B] with B = 2 (from 'q')}}
  %out = tessera.attention %q, %k, %v kv_lens %l : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>, tensor<3xi32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>, %l: tensor<2xi64>) {
  // expected-error @+1 {{operand #3 must be ranked tensor of 32-bit signless integer values}}
  %out = tessera.attention %q, %k, %v kv_lens %l : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>, tensor<2xi64>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{'window' must be >= 0 (0 = no window), got -1}}
  %out = tessera.attention %q, %k, %v {window = -1 : i64} : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{'softcap' must be a finite value >= 0 (0 = none), got -3}}
  %out = tessera.attention %q, %k, %v {softcap = -3.0 : f32} : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x16x64xf32>, %k: tensor<2x2x32x64xf32>, %v: tensor<2x2x32x32xf32>) {
  // expected-error @+1 {{'scale' must be a finite number}}
  %out = tessera.attention %q, %k, %v {scale = 0x7F800000 : f32} : (tensor<2x8x16x64xf32>, tensor<2x2x32x64xf32>, tensor<2x2x32x32xf32>) -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x2x48xf32>, %kv: tensor<1x64x48x1xf32>) {
  // expected-error @+1 {{'kv' must be a rank-3 tensor [B, Skv, L+R], got 'tensor<1x64x48x1xf32>'}}
  %out = tessera.latent_attention %q, %kv {latent_dim = 32 : i64} : (tensor<1x4x2x48xf32>, tensor<1x64x48x1xf32>) -> tensor<1x4x2x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x2x48xf32>, %kv: tensor<1x64x40xf32>) {
  // expected-error @+1 {{'kv' has shape [1, 64, 40] but expected [B, Skv, L+R] with L+R = 48 (from 'q')}}
  %out = tessera.latent_attention %q, %kv {latent_dim = 32 : i64} : (tensor<1x4x2x48xf32>, tensor<1x64x40xf32>) -> tensor<1x4x2x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x2x48xf32>, %kv: tensor<2x64x48xf32>) {
  // expected-error @+1 {{'kv' has shape [2, 64, 48] but expected [B, Skv, L+R] with B = 1 (from 'q')}}
  %out = tessera.latent_attention %q, %kv {latent_dim = 32 : i64} : (tensor<1x4x2x48xf32>, tensor<2x64x48xf32>) -> tensor<1x4x2x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x2x48xf32>, %kv: tensor<1x64x48xf16>) {
  // expected-error @+1 {{'kv' has element type 'f16' but expected 'f32' (as 'q')}}
  %out = tessera.latent_attention %q, %kv {latent_dim = 32 : i64} : (tensor<1x4x2x48xf32>, tensor<1x64x48xf16>) -> tensor<1x4x2x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x2x48xf32>, %kv: tensor<1x64x48xf32>) {
  // expected-error @+1 {{'latent_dim' L = 64 must not exceed the q/kv width L+R = 48}}
  %out = tessera.latent_attention %q, %kv {latent_dim = 64 : i64} : (tensor<1x4x2x48xf32>, tensor<1x64x48xf32>) -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x2x48xf32>, %kv: tensor<1x64x48xf32>) {
  // expected-error @+1 {{'out' has shape [1, 4, 2, 16] but expected [B, H, Sq, L] with L = 32 (from 'latent_dim')}}
  %out = tessera.latent_attention %q, %kv {latent_dim = 32 : i64} : (tensor<1x4x2x48xf32>, tensor<1x64x48xf32>) -> tensor<1x4x2x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x2x48xf32>, %kv: tensor<1x64x48xf32>) {
  // expected-error @+1 {{attribute 'latent_dim' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %out = tessera.latent_attention %q, %kv {latent_dim = 0 : i64} : (tensor<1x4x2x48xf32>, tensor<1x64x48xf32>) -> tensor<1x4x2x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x2x48xf32>, %kv: tensor<1x64x48xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'kv_lens' has shape [2] but expected [B] with B = 1 (from 'q')}}
  %out = tessera.latent_attention %q, %kv kv_lens %l {latent_dim = 32 : i64} : (tensor<1x4x2x48xf32>, tensor<1x64x48xf32>, tensor<2xi32>) -> tensor<1x4x2x32xf32>
  return
}
