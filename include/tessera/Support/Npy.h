//===- Npy.h - Reading and writing NumPy .npy files -------------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// A small reader and writer of the NumPy `.npy` format (versions 1.0 and 2.0)
// restricted to what Tessera exchanges with its tools: little-endian, C-order
// arrays of f32, f16, i32 and i64. It depends on LLVMSupport only.
//
// The format: the magic string "\x93NUMPY", a major and a minor version byte,
// the header length (uint16 little-endian in 1.0, uint32 in 2.0), then the
// header, a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and ended by '\n' so that the data that follows starts
// at a multiple of 64 bytes, then the raw elements.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_SUPPORT_NPY_H
#define TESSERA_SUPPORT_NPY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace mlir {
namespace tessera {

/// Element types of the `.npy` files Tessera reads and writes.
enum class NpyDType { F32, F16, I32, I64 };

/// Returns the size in bytes of one element of `dtype`.
size_t getNpyElementSize(NpyDType dtype);

/// Returns the NumPy type string of `dtype`, e.g. "<f4".
llvm::StringRef getNpyDescr(NpyDType dtype);

/// Returns a short name of `dtype` for messages: "f32", "f16", "i32", "i64".
llvm::StringRef getNpyDTypeName(NpyDType dtype);

/// An n-dimensional array in C order. `data` holds exactly
/// `getNumElements() * getNpyElementSize(dtype)` little-endian bytes.
struct NpyArray {
  NpyDType dtype = NpyDType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  NpyArray() = default;
  /// Creates a zero-filled array.
  NpyArray(NpyDType dtype, llvm::ArrayRef<int64_t> shape);

  /// Product of the dimensions (1 for a 0-d array).
  int64_t getNumElements() const;

  /// Typed views of `data`; T must match `dtype` in size.
  template <typename T> T *getDataAs() {
    return reinterpret_cast<T *>(data.data());
  }
  template <typename T> const T *getDataAs() const {
    return reinterpret_cast<const T *>(data.data());
  }
};

/// Formats `shape` the way NumPy prints it: "(2, 3)", "(6,)", "()".
std::string formatNpyShape(llvm::ArrayRef<int64_t> shape);

/// Parses the contents of a `.npy` file. `name` only appears in messages.
llvm::Expected<NpyArray> parseNpy(llvm::StringRef bytes,
                                  llvm::StringRef name = "<buffer>");

/// Reads and parses the `.npy` file at `path`.
llvm::Expected<NpyArray> readNpyFile(llvm::StringRef path);

/// Writes `array` in format 1.0 (2.0 if the header does not fit in 1.0) with
/// the header padded so that the data starts at a multiple of 64 bytes.
void writeNpy(const NpyArray &array, llvm::raw_ostream &os);

/// Writes `array` to the file at `path`.
llvm::Error writeNpyFile(const NpyArray &array, llvm::StringRef path);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_SUPPORT_NPY_H
