// Dynamic sizes that the ops need to agree are checked before the entry
// runs (tessera-shape-checks): a mismatch is one line on stderr, exit 1,
// and nothing is computed. Matching sizes run, in both pipelines.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %numpy_python %S/Inputs/npy.py %t make \
// RUN:   q "np.ones((2, 8, 5, 32), 'f4')" \
// RUN:   k "np.ones((2, 2, 7, 32), 'f4')" \
// RUN:   v "np.ones((2, 2, 7, 32), 'f4')" \
// RUN:   k1 "np.ones((1, 2, 7, 32), 'f4')" \
// RUN:   v9 "np.ones((2, 2, 9, 32), 'f4')" \
// RUN:   x "np.ones((6, 16), 'f4')" \
// RUN:   gate "np.ones((4, 16), 'f4')" \
// RUN:   up "np.ones((4, 16, 24), 'f4')" \
// RUN:   down "np.ones((4, 12, 16), 'f4')" \
// RUN:   down10 "np.ones((4, 10, 16), 'f4')"

// RUN: not tessera-run %s --entry=att --input=%t/q.npy --input=%t/k1.npy \
// RUN:   --input=%t/v.npy 2>&1 | FileCheck %s --check-prefix=BATCH
// RUN: not tessera-run %s --entry=att --input=%t/q.npy --input=%t/k1.npy \
// RUN:   --input=%t/v.npy 2>&1 | count 1
// BATCH: tessera-run: error: function 'att' cannot run on arguments of shapes [2, 8, 5, 32], [1, 2, 7, 32], [2, 2, 7, 32]: 'tessera.attention' op at {{.*}}shape-checks.mlir:[[#ATT:]]:8: 'k' dimension 0 (B) must equal 'q' dimension 0 (B){{$}}

// RUN: not tessera-run %s --entry=att --input=%t/q.npy --input=%t/k.npy \
// RUN:   --input=%t/v9.npy --pipeline-options=reference=true 2>&1 \
// RUN:   | FileCheck %s --check-prefix=KEYS
// KEYS: error: function 'att' {{.*}}: 'v' dimension 2 (Skv) must equal 'k' dimension 2 (Skv){{$}}

// RUN: tessera-run %s --entry=att --input=%t/q.npy --input=%t/k.npy \
// RUN:   --input=%t/v.npy --check | FileCheck %s --check-prefix=OK
// OK: result #0: max abs err {{.*}}: PASS

// RUN: not tessera-run %s --entry=moe --input=%t/x.npy --input=%t/gate.npy \
// RUN:   --input=%t/up.npy --input=%t/down10.npy 2>&1 \
// RUN:   | FileCheck %s --check-prefix=HIDDEN
// HIDDEN: error: function 'moe' {{.*}}: 'w_up' dimension 2 (2f) must be 2 * 'w_down' dimension 1 (f){{$}}

// RUN: tessera-run %s --entry=moe --input=%t/x.npy --input=%t/gate.npy \
// RUN:   --input=%t/up.npy --input=%t/down.npy --check \
// RUN:   | FileCheck %s --check-prefix=MOE
// MOE: result #0: max abs err {{.*}}: PASS

func.func @att(%q: tensor<?x8x?x32xf32>, %k: tensor<?x2x?x32xf32>,
               %v: tensor<?x2x?x32xf32>) -> tensor<?x8x?x32xf32> {
  %o = tessera.attention %q, %k, %v {causal = true}
      : (tensor<?x8x?x32xf32>, tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32>)
      -> tensor<?x8x?x32xf32>
  return %o : tensor<?x8x?x32xf32>
}

func.func @moe(%x: tensor<?x16xf32>, %gate: tensor<4x16xf32>,
               %up: tensor<4x16x?xf32>, %down: tensor<4x?x16xf32>)
    -> tensor<?x16xf32> {
  %y = tessera.moe %x, %gate, %up, %down {top_k = 2 : i64}
      : (tensor<?x16xf32>, tensor<4x16xf32>, tensor<4x16x?xf32>,
         tensor<4x?x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
