// RUN: tessera-opt %s --tessera-shape-checks --split-input-file \
// RUN:   --verify-diagnostics

// The name of the check is taken.
// expected-error @+1 {{cannot add the run-time shape check @att_shape_check: the module already has a symbol of that name}}
func.func @att(%q: tensor<?x8x?x32xf32>, %k: tensor<?x2x?x32xf32>,
               %v: tensor<?x2x?x32xf32>) -> tensor<?x8x?x32xf32> {
  %o = tessera.attention %q, %k, %v
      : (tensor<?x8x?x32xf32>, tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32>)
      -> tensor<?x8x?x32xf32>
  return %o : tensor<?x8x?x32xf32>
}
func.func private @att_shape_check()

// -----

// A rule that needs a size computed inside the function (here the number of
// tokens that an scf.if picks) is dropped with a warning.
func.func @picked(%c: i1, %a: tensor<?x8xf32>, %b: tensor<?x8xf32>,
                  %ids: tensor<4x2xi32>) -> tensor<8x8xf32> {
  %x = scf.if %c -> tensor<?x8xf32> {
    scf.yield %a : tensor<?x8xf32>
  } else {
    scf.yield %b : tensor<?x8xf32>
  }
  // expected-warning @+1 {{a run-time shape rule is not checked: it needs sizes that are only known once @picked runs}}
  %r, %o, %p = tessera.dispatch %x, %ids {num_experts = 4 : i64}
      : (tensor<?x8xf32>, tensor<4x2xi32>)
      -> (tensor<8x8xf32>, tensor<5xi32>, tensor<8xi32>)
  return %r : tensor<8x8xf32>
}

// -----

// Ops nested in a region are not checked.
func.func @nested(%q: tensor<?x8x4x32xf32>, %k: tensor<?x2x4x32xf32>,
                  %v: tensor<?x2x4x32xf32>, %n: index) -> tensor<?x8x4x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %q) -> tensor<?x8x4x32xf32> {
    // expected-warning @+1 {{its dynamic sizes are not checked at run time: only ops in the entry block of @nested are}}
    %o = tessera.attention %acc, %k, %v
        : (tensor<?x8x4x32xf32>, tensor<?x2x4x32xf32>, tensor<?x2x4x32xf32>)
        -> tensor<?x8x4x32xf32>
    scf.yield %o : tensor<?x8x4x32xf32>
  }
  return %r : tensor<?x8x4x32xf32>
}
