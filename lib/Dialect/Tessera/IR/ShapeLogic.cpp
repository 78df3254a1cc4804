//===- ShapeLogic.cpp - Shape rules shared by verifiers and passes --------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/ShapeLogic.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;

std::string mlir::tessera::formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << '[';
  llvm::interleaveComma(shape, os, [&](int64_t dim) {
    if (ShapedType::isDynamic(dim))
      os << '?';
    else
      os << dim;
  });
  os << ']';
  return text;
}
