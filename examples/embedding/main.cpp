//===- main.cpp - An application that embeds Tessera ----------------------===//
//
// Compiles an attention with the C++ API and runs it. With q = k = 0 every
// visible key gets the same weight, so the output is the mean of v over the
// keys: with v[j] = j and 9 keys, 4.
//
//===----------------------------------------------------------------------===//

#include "tessera/Compiler/Compiler.h"

#include <algorithm>
#include <cstdio>

using namespace mlir::tessera;

static const char *kSource = R"mlir(
func.func @attn(%q: tensor<1x2x3x4xf32>, %k: tensor<1x1x9x4xf32>,
                %v: tensor<1x1x9x4xf32>) -> tensor<1x2x3x4xf32> {
  %o = tessera.attention %q, %k, %v
      : (tensor<1x2x3x4xf32>, tensor<1x1x9x4xf32>, tensor<1x1x9x4xf32>)
      -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}
)mlir";

int main() {
  CompilerOptions options;
  options.threads = 1;
  Compiler compiler(options);
  auto module = compiler.parse(kSource, "attn.mlir");
  if (!module) {
    std::fprintf(stderr, "%s\n", llvm::toString(module.takeError()).c_str());
    return 1;
  }
  auto attn = compiler.load(**module, "attn");
  if (!attn) {
    std::fprintf(stderr, "%s\n", llvm::toString(attn.takeError()).c_str());
    return 1;
  }
  HostTensor q(HostElementType::F32, {1, 2, 3, 4});
  HostTensor k(HostElementType::F32, {1, 1, 9, 4});
  HostTensor v(HostElementType::F32, {1, 1, 9, 4});
  auto *values = static_cast<float *>(v.getData());
  for (int j = 0; j < 9; ++j)
    for (int c = 0; c < 4; ++c)
      values[j * 4 + c] = float(j);
  auto results = (*attn)->invoke({q.getRef(), k.getRef(), v.getRef()});
  if (!results) {
    std::fprintf(stderr, "%s\n", llvm::toString(results.takeError()).c_str());
    return 1;
  }
  const HostTensor &o = (*results)[0];
  double low = o.getAsDouble(0), high = low;
  for (int64_t i = 0; i < o.getNumElements(); ++i) {
    low = std::min(low, o.getAsDouble(i));
    high = std::max(high, o.getAsDouble(i));
  }
  std::printf("C++ API: every output in [%.5f, %.5f]\n", low, high);

  return 0;
}
