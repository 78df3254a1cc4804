// --check compares every result with the reference lowering and prints a
// verdict per result; --bench=N prints the median and minimum of N timed runs.

// RUN: tessera-run %s --entry=main --random-inputs=1 --check \
// RUN:   | FileCheck %s --check-prefix=CHECK-PASS
// RUN: tessera-run %s --entry=main --random-inputs=1 --bench=5 \
// RUN:   | FileCheck %s --check-prefix=BENCH
// RUN: tessera-run %s --entry=main --random-inputs=1 --check --bench=3 \
// RUN:   | FileCheck %s --check-prefix=BOTH
// --bench-cold evicts the caches between the timed runs (same output).
// RUN: tessera-run %s --entry=main --random-inputs=1 --bench=2 --bench-cold \
// RUN:   | FileCheck %s --check-prefix=COLD
// RUN: not tessera-run %s --entry=main --random-inputs=1 --bench-cold 2>&1 \
// RUN:   | FileCheck %s --check-prefix=COLD-ALONE

// CHECK-PASS:      time: {{[0-9.e+-]+}} ms
// CHECK-PASS-NEXT: result #0: max abs err {{.*}}: PASS
// CHECK-PASS-NEXT: result #1: max abs err {{.*}}: PASS
// CHECK-PASS-NOT:  {{.}}

// BENCH:      time: {{[0-9.e+-]+}} ms
// BENCH-NEXT: bench: 5 runs, median {{[0-9.e+-]+}} ms, min {{[0-9.e+-]+}} ms
// BENCH-NOT:  {{.}}

// BOTH:      time:
// BOTH-NEXT: result #0: {{.*}}: PASS
// BOTH-NEXT: result #1: {{.*}}: PASS
// BOTH-NEXT: bench: 3 runs, median

// COLD:      time: {{[0-9.e+-]+}} ms
// COLD-NEXT: bench: 2 runs, median {{[0-9.e+-]+}} ms, min {{[0-9.e+-]+}} ms

// COLD-ALONE: tessera-run: error: --bench-cold needs --bench and --target=cpu

func.func @main(%a: tensor<8x16xf32>, %b: tensor<16x8xf32>, %i: tensor<8xi32>)
    -> (tensor<8x8xf32>, tensor<8xi32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>)
      -> tensor<8x8xf32>
  %c = linalg.matmul ins(%a, %b : tensor<8x16xf32>, tensor<16x8xf32>)
                     outs(%f : tensor<8x8xf32>) -> tensor<8x8xf32>
  %ei = tensor.empty() : tensor<8xi32>
  %j = linalg.mul ins(%i, %i : tensor<8xi32>, tensor<8xi32>)
                  outs(%ei : tensor<8xi32>) -> tensor<8xi32>
  return %c, %j : tensor<8x8xf32>, tensor<8xi32>
}
