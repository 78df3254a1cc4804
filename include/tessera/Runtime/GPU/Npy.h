//===- Npy.h - NumPy .npy files without LLVM --------------------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// A reader and writer of the NumPy `.npy` format for the GPU runtime, in
// plain C++17 (tessera/Support/Npy.h is the LLVMSupport-based one of the
// MLIR tools). Little-endian hosts, C-order arrays, format versions 1.0 and
// 2.0, and the dtypes '<f4', '<f2', '<f8', '<i2', '<i4', '<i8', '|i1', '|u1'
// and '|b1'. NumPy has no bfloat16: bf16 data travels as f32.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_RUNTIME_GPU_NPY_H
#define TESSERA_RUNTIME_GPU_NPY_H

#include "tessera/Runtime/GPU/Status.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {
namespace gpu {

/// Element types of the `.npy` files the GPU runtime reads and writes.
enum class NpyDType { F32, F16, F64, I8, I16, I32, I64, U8, Bool };

/// Returns the size in bytes of one element of `dtype`.
size_t getNpyElementSize(NpyDType dtype);

/// Returns the NumPy type string of `dtype`, e.g. "<f4" or "|b1".
const char *getNpyDescr(NpyDType dtype);

/// Returns a short name of `dtype` for messages: "f32", "u8", "bool", ...
const char *getNpyDTypeName(NpyDType dtype);

/// An n-dimensional array in C order; `data` holds exactly
/// `getNumElements() * getNpyElementSize(dtype)` little-endian bytes.
struct NpyArray {
  NpyDType dtype = NpyDType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  /// Product of the dimensions (1 for a 0-d array).
  int64_t getNumElements() const;
};

/// Formats `shape` the way NumPy prints it: "(2, 3)", "(6,)", "()".
std::string formatNpyShape(const std::vector<int64_t> &shape);

/// Parses the contents of a `.npy` file. `name` only appears in messages.
Expected<NpyArray> parseNpy(std::string_view bytes,
                            std::string_view name = "<buffer>");

/// Reads and parses the `.npy` file at `path`.
Expected<NpyArray> readNpyFile(const std::string &path);

/// Serializes `array` in format 1.0 (2.0 if the header does not fit in 1.0)
/// with the data starting at a multiple of 64 bytes.
std::string writeNpy(const NpyArray &array);

/// Writes `array` to the file at `path`.
Status writeNpyFile(const NpyArray &array, const std::string &path);

} // namespace gpu
} // namespace tessera

#endif // TESSERA_RUNTIME_GPU_NPY_H
