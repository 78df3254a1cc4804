// RUN: not tessera-opt %s --tessera-vectorize="vector-width=0" 2>&1 | FileCheck %s
// RUN: not tessera-opt %s --tessera-vectorize="register-rows=-2" 2>&1 | FileCheck %s

// CHECK: error: tessera-vectorize: 'vector-width', 'register-rows' and 'register-vectors' must be positive
func.func @f() {
  return
}
