//===- attention_main.cpp - Calls kernels compiled by tessera-compile -----===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// A C++ program linked with the object that link-object.mlir compiles. It
// declares the memref descriptor itself, as docs/ABI.md states it, so that
// the test checks the documented layout rather than MLIR's headers; fills the
// inputs with known values (the MoE layer's with `sin` values that
// Inputs/check_moe.py recomputes), calls the `_mlir_ciface_` wrappers, prints
// every result element and frees the result buffers through `allocated`.
//
//===----------------------------------------------------------------------===//

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {
/// A ranked memref descriptor: docs/ABI.md.
template <typename T, int Rank> struct MemRefDescriptor {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};

/// `size` values sin(0.37 i + seed), i = 0, 1, ..., rounded to float.
std::vector<float> sinValues(int64_t size, double seed) {
  std::vector<float> values(size);
  for (int64_t i = 0; i < size; ++i)
    values[i] = static_cast<float>(std::sin(0.37 * i + seed));
  return values;
}

/// Describes a dense row-major array owned by the caller.
template <typename T, int Rank>
MemRefDescriptor<T, Rank> describe(std::vector<T> &data,
                                   const int64_t (&sizes)[Rank]) {
  MemRefDescriptor<T, Rank> descriptor;
  descriptor.allocated = data.data();
  descriptor.aligned = data.data();
  descriptor.offset = 0;
  int64_t stride = 1;
  for (int i = Rank - 1; i >= 0; --i) {
    descriptor.sizes[i] = sizes[i];
    descriptor.strides[i] = stride;
    stride *= sizes[i];
  }
  return descriptor;
}

/// Prints a result element by element in row-major order, following its
/// strides and offset, as `NAME[i,j,...] = VALUE`.
template <int Rank>
void print(const char *name, const MemRefDescriptor<float, Rank> &result,
           const char *format = "%.4f") {
  int64_t count = 1;
  for (int64_t size : result.sizes)
    count *= size;
  for (int64_t linear = 0; linear < count; ++linear) {
    int64_t index[Rank];
    int64_t rest = linear, position = result.offset;
    for (int d = Rank - 1; d >= 0; --d) {
      index[d] = rest % result.sizes[d];
      rest /= result.sizes[d];
      position += index[d] * result.strides[d];
    }
    std::printf("%s[", name);
    for (int d = 0; d < Rank; ++d)
      std::printf(d ? ",%lld" : "%lld", static_cast<long long>(index[d]));
    std::printf("] = ");
    std::printf(format, result.aligned[position]);
    std::printf("\n");
  }
}

struct AttentionResults {
  MemRefDescriptor<float, 4> out;
  MemRefDescriptor<float, 3> lse;
};
} // namespace

extern "C" {
void _mlir_ciface_attention(AttentionResults *results,
                            MemRefDescriptor<float, 4> *q,
                            MemRefDescriptor<float, 4> *k,
                            MemRefDescriptor<float, 4> *v);
void _mlir_ciface_combine(MemRefDescriptor<float, 2> *result,
                          MemRefDescriptor<float, 2> *y,
                          MemRefDescriptor<int32_t, 1> *perm,
                          MemRefDescriptor<float, 2> *weights);
void _mlir_ciface_moe(MemRefDescriptor<float, 2> *result,
                      MemRefDescriptor<float, 2> *x,
                      MemRefDescriptor<float, 2> *gate,
                      MemRefDescriptor<float, 3> *up,
                      MemRefDescriptor<float, 3> *down);
}

int main() {
  // Attention, q [1,2,3,4], k and v [1,1,3,*]: head 0 has zero queries (all
  // scores equal), head 1 has queries (2 ln 2, 0, 0, 0) against keys
  // (j, 0, 0, 0), so that with the scale 1/sqrt(4) key j scores j ln 2.
  std::vector<float> q(1 * 2 * 3 * 4, 0.0f);
  for (int i = 0; i < 3; ++i)
    q[(1 * 3 + i) * 4] = 2.0f * 0.69314718f;
  std::vector<float> k(1 * 1 * 3 * 4, 0.0f);
  for (int j = 0; j < 3; ++j)
    k[j * 4] = static_cast<float>(j);
  std::vector<float> v = {1, -1, 4, 2, -2, 8};
  MemRefDescriptor<float, 4> qDesc = describe(q, {1, 2, 3, 4});
  MemRefDescriptor<float, 4> kDesc = describe(k, {1, 1, 3, 4});
  MemRefDescriptor<float, 4> vDesc = describe(v, {1, 1, 3, 2});
  AttentionResults attention;
  _mlir_ciface_attention(&attention, &qDesc, &kDesc, &vDesc);
  print("out", attention.out);
  print("lse", attention.lse);
  std::free(attention.out.allocated);
  std::free(attention.lse.allocated);

  // Combine, y [5,2], perm [5] (row 2 is padding), weights [2,2].
  std::vector<float> y = {1, 2, 3, 4, 100, 100, 5, 6, 7, 8};
  std::vector<int32_t> perm = {3, 0, -1, 2, 1};
  std::vector<float> weights = {0.5f, 2.0f, 1.0f, -1.0f};
  MemRefDescriptor<float, 2> yDesc = describe(y, {5, 2});
  MemRefDescriptor<int32_t, 1> permDesc = describe(perm, {5});
  MemRefDescriptor<float, 2> weightsDesc = describe(weights, {2, 2});
  MemRefDescriptor<float, 2> combined;
  _mlir_ciface_combine(&combined, &yDesc, &permDesc, &weightsDesc);
  print("combine", combined);
  std::free(combined.allocated);

  // A whole MoE layer: 6 tokens of width 16, 4 experts of width 8, top 2.
  std::vector<float> x = sinValues(6 * 16, 0.0);
  std::vector<float> gate = sinValues(4 * 16, 1.0);
  std::vector<float> up = sinValues(4 * 16 * 16, 2.0);
  std::vector<float> down = sinValues(4 * 8 * 16, 3.0);
  MemRefDescriptor<float, 2> xDesc = describe(x, {6, 16});
  MemRefDescriptor<float, 2> gateDesc = describe(gate, {4, 16});
  MemRefDescriptor<float, 3> upDesc = describe(up, {4, 16, 16});
  MemRefDescriptor<float, 3> downDesc = describe(down, {4, 8, 16});
  MemRefDescriptor<float, 2> moe;
  _mlir_ciface_moe(&moe, &xDesc, &gateDesc, &upDesc, &downDesc);
  print("moe", moe, "%.8e");
  std::free(moe.allocated);
  return 0;
}
