// RUN: tessera-opt %s --tessera-relax-vector-reductions | FileCheck %s

// CHECK-LABEL: func.func @reductions
// CHECK: vector.reduction <maxnumf>, %{{.+}} fastmath<nnan> : vector<16xf32> into f32
// CHECK: vector.reduction <minnumf>, %{{.+}} fastmath<nnan,contract> : vector<16xf32> into f32
// Other kinds keep their semantics.
// CHECK: vector.reduction <maximumf>, %{{.+}} : vector<16xf32> into f32
// CHECK: vector.reduction <add>, %{{.+}} : vector<16xf32> into f32
func.func @reductions(%v: vector<16xf32>) -> (f32, f32, f32, f32) {
  %a = vector.reduction <maxnumf>, %v : vector<16xf32> into f32
  %b = vector.reduction <minnumf>, %v fastmath<contract> : vector<16xf32> into f32
  %c = vector.reduction <maximumf>, %v : vector<16xf32> into f32
  %d = vector.reduction <add>, %v : vector<16xf32> into f32
  return %a, %b, %c, %d : f32, f32, f32, f32
}
