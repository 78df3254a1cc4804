// RUN: tessera-opt %s --tessera-map-to-gpu --split-input-file --verify-diagnostics
// RUN: not tessera-opt %s --tessera-map-to-gpu="block-size=48" 2>&1 | FileCheck %s --check-prefix=BLOCK

// BLOCK: error: tessera-map-to-gpu: block-size must be a multiple of 32 in [32, 1024], got 48

// expected-error @below {{argument #0 has type 'memref<?xf32>'; GPU code needs statically shaped memrefs with the identity layout}}
func.func @dynamic_argument(%a: memref<?xf32>) {
  return
}

// -----

// expected-error @below {{returns values; GPU code returns its results in out-parameters}}
func.func @results(%a: memref<4xf32>) -> memref<4xf32> {
  return %a : memref<4xf32>
}

// -----

func.func @host_value(%a: memref<4xf32>, %n: memref<1xindex>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %ub = memref.load %n[%c0] : memref<1xindex>
  // expected-error @below {{uses a value computed by sequential code that is mapped to the GPU}}
  scf.parallel (%i) = (%c0) to (%ub) step (%c1) {
    %v = memref.load %a[%i] : memref<4xf32>
    memref.store %v, %a[%i] : memref<4xf32>
    scf.reduce
  }
  return
}

// -----

func.func @reduction(%a: memref<4xf32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @below {{with reductions is not mapped to the GPU}}
  %sum = scf.parallel (%i) = (%c0) to (%c4) step (%c1) init (%zero) -> f32 {
    %v = memref.load %a[%i] : memref<4xf32>
    scf.reduce(%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %s = arith.addf %x, %y : f32
      scf.reduce.return %s : f32
    }
  }
  memref.store %sum, %out[] : memref<f32>
  return
}

// -----

func.func @dynamic_alloc() {
  %n = arith.constant 4 : index
  // expected-error @below {{of a dynamically shaped buffer is not supported on the GPU}}
  %t = memref.alloc(%n) : memref<?xf32>
  return
}

// -----

memref.global "private" @state : memref<4xf32> = dense<0.0>
func.func @mutable_global(%out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // expected-error @below {{reads a global that is not a constant, which a GPU kernel cannot share with the host}}
  %g = memref.get_global @state : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %g[%i] : memref<4xf32>
    memref.store %v, %out[%i] : memref<4xf32>
    scf.reduce
  }
  return
}
