// Not valid MLIR: the argument list is not closed.
func.func @f(%a: tensor<2xf32> -> f32 {
