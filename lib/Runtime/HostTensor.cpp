//===- HostTensor.cpp - Host buffers for compiled entry functions ---------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Host tensors, the signature of an entry function, binding `.npy` files and
// random data to its arguments, and comparing results.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/CPURunner.h"
#include "tessera/Support/FloatConversions.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

using namespace mlir;
using namespace mlir::tessera;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

size_t mlir::tessera::getHostElementSize(HostElementType type) {
  switch (type) {
  case HostElementType::F16:
  case HostElementType::BF16:
    return 2;
  case HostElementType::F32:
  case HostElementType::I32:
    return 4;
  case HostElementType::I64:
    return 8;
  }
  llvm_unreachable("unknown HostElementType");
}

StringRef mlir::tessera::getHostElementTypeName(HostElementType type) {
  switch (type) {
  case HostElementType::F32:
    return "f32";
  case HostElementType::F16:
    return "f16";
  case HostElementType::BF16:
    return "bf16";
  case HostElementType::I32:
    return "i32";
  case HostElementType::I64:
    return "i64";
  }
  llvm_unreachable("unknown HostElementType");
}

std::optional<HostElementType> mlir::tessera::getHostElementType(Type type) {
  if (type.isF32())
    return HostElementType::F32;
  if (type.isF16())
    return HostElementType::F16;
  if (type.isBF16())
    return HostElementType::BF16;
  if (type.isInteger(32) && !type.isUnsignedInteger())
    return HostElementType::I32;
  if (type.isInteger(64) && !type.isUnsignedInteger())
    return HostElementType::I64;
  return std::nullopt;
}

static bool isFloatType(HostElementType type) {
  return type == HostElementType::F32 || type == HostElementType::F16 ||
         type == HostElementType::BF16;
}

//===----------------------------------------------------------------------===//
// HostTensor
//===----------------------------------------------------------------------===//

void HostTensor::FreeDeleter::operator()(void *pointer) const {
  std::free(pointer);
}

bool HostTensor::allocateStorage(size_t bytes) {
  // Round up to the alignment as aligned_alloc requires, and never ask for
  // zero bytes so that the data pointer of an empty tensor is valid too.
  bytes = llvm::alignTo(std::max<size_t>(bytes, 1), 64);
  storage.reset(static_cast<uint8_t *>(std::aligned_alloc(64, bytes)));
  if (!storage)
    return false;
  std::memset(storage.get(), 0, bytes);
  return true;
}

HostTensor::HostTensor(HostElementType elementType, ArrayRef<int64_t> shape)
    : elementType(elementType), shape(shape.begin(), shape.end()) {
  if (!allocateStorage(getNumBytes()))
    llvm::report_fatal_error("tessera: out of memory");
}

llvm::Expected<HostTensor> HostTensor::allocate(HostElementType elementType,
                                                ArrayRef<int64_t> shape) {
  HostTensor tensor(elementType, shape, NoStorage());
  auto fail = [&](const llvm::Twine &why) {
    return makeError("cannot allocate a " + tensor.getTypeString() + ": " +
                     why);
  };
  // At most 2^62 bytes: the result of alignTo() below must not wrap.
  constexpr int64_t kMaxBytes = int64_t(1) << 62;
  int64_t bytes = getHostElementSize(elementType);
  for (int64_t size : shape) {
    if (size < 0)
      return fail("a size is negative");
    if (llvm::MulOverflow(bytes, size, bytes) || bytes > kMaxBytes)
      return fail("its size in bytes does not fit in 62 bits");
  }
  if (!tensor.allocateStorage(static_cast<size_t>(bytes)))
    return fail("out of memory (" + llvm::Twine(bytes) + " bytes)");
  return tensor;
}

int64_t HostTensor::getNumElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

size_t HostTensor::getNumBytes() const {
  return getNumElements() * getHostElementSize(elementType);
}

double HostTensor::getAsDouble(int64_t index) const {
  const uint8_t *base = storage.get();
  switch (elementType) {
  case HostElementType::F32:
    return reinterpret_cast<const float *>(base)[index];
  case HostElementType::F16:
    return convertF16ToF32(reinterpret_cast<const uint16_t *>(base)[index]);
  case HostElementType::BF16:
    return convertBF16ToF32(reinterpret_cast<const uint16_t *>(base)[index]);
  case HostElementType::I32:
    return reinterpret_cast<const int32_t *>(base)[index];
  case HostElementType::I64:
    return static_cast<double>(reinterpret_cast<const int64_t *>(base)[index]);
  }
  llvm_unreachable("unknown HostElementType");
}

HostTensor HostTensor::clone() const {
  HostTensor copy(elementType, shape);
  std::memcpy(copy.getData(), getData(), getNumBytes());
  return copy;
}

/// Formats a tensor type the way MLIR prints it.
static std::string formatTensorType(ArrayRef<int64_t> shape,
                                    StringRef elementType) {
  std::string result = "tensor<";
  for (int64_t dim : shape) {
    if (ShapedType::isDynamic(dim))
      result += "?";
    else
      result += std::to_string(dim);
    result += "x";
  }
  result += elementType;
  result += ">";
  return result;
}

std::string HostTensor::getTypeString() const {
  return formatTensorType(shape, getHostElementTypeName(elementType));
}

NpyArray HostTensor::toNpy() const {
  int64_t count = getNumElements();
  switch (elementType) {
  case HostElementType::F32:
  case HostElementType::I32:
  case HostElementType::I64: {
    NpyDType dtype = elementType == HostElementType::F32   ? NpyDType::F32
                     : elementType == HostElementType::I32 ? NpyDType::I32
                                                           : NpyDType::I64;
    NpyArray array(dtype, shape);
    if (count != 0) // An empty vector's data() may be null.
      std::memcpy(array.data.data(), getData(), getNumBytes());
    return array;
  }
  case HostElementType::F16:
  case HostElementType::BF16: {
    NpyArray array(NpyDType::F32, shape);
    float *out = array.getDataAs<float>();
    for (int64_t i = 0; i < count; ++i)
      out[i] = static_cast<float>(getAsDouble(i));
    return array;
  }
  }
  llvm_unreachable("unknown HostElementType");
}

//===----------------------------------------------------------------------===//
// Entry signatures
//===----------------------------------------------------------------------===//

static llvm::Expected<TensorSignature>
getTensorSignature(Type type, StringRef what, unsigned index) {
  std::string typeString;
  llvm::raw_string_ostream(typeString) << type;
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!tensorType)
    return makeError(what + " #" + llvm::Twine(index) + " has type " +
                     typeString + "; only ranked tensors are supported");
  std::optional<HostElementType> elementType =
      getHostElementType(tensorType.getElementType());
  if (!elementType)
    return makeError(what + " #" + llvm::Twine(index) + " has type " +
                     typeString +
                     "; supported element types are f32, f16, bf16, i32, i64");
  TensorSignature signature;
  signature.elementType = *elementType;
  signature.shape.assign(tensorType.getShape().begin(),
                         tensorType.getShape().end());
  signature.typeString = std::move(typeString);
  return signature;
}

llvm::Expected<EntrySignature>
mlir::tessera::getEntrySignature(func::FuncOp func) {
  EntrySignature signature;
  signature.name = func.getSymName().str();
  if (func.isExternal())
    return makeError("function '" + signature.name + "' has no body");
  FunctionType type = func.getFunctionType();
  for (auto [index, argType] : llvm::enumerate(type.getInputs())) {
    llvm::Expected<TensorSignature> arg =
        getTensorSignature(argType, "argument", index);
    if (!arg)
      return arg.takeError();
    signature.arguments.push_back(std::move(*arg));
  }
  for (auto [index, resultType] : llvm::enumerate(type.getResults())) {
    llvm::Expected<TensorSignature> result =
        getTensorSignature(resultType, "result", index);
    if (!result)
      return result.takeError();
    signature.results.push_back(std::move(*result));
  }
  return signature;
}

//===----------------------------------------------------------------------===//
// Inputs
//===----------------------------------------------------------------------===//

llvm::Expected<HostTensor>
mlir::tessera::bindInput(const NpyArray &array, StringRef fileName,
                         const EntrySignature &signature, unsigned index) {
  const TensorSignature &arg = signature.arguments[index];
  auto fail = [&](const llvm::Twine &message) {
    return makeError("input #" + llvm::Twine(index) + " ('" + fileName +
                     "'): " + message);
  };

  // Element types: equal, or f32 data rounded to a 16-bit float argument.
  bool fromF32 = array.dtype == NpyDType::F32;
  bool compatible = false;
  switch (arg.elementType) {
  case HostElementType::F32:
    compatible = fromF32;
    break;
  case HostElementType::F16:
    compatible = fromF32 || array.dtype == NpyDType::F16;
    break;
  case HostElementType::BF16:
    compatible = fromF32;
    break;
  case HostElementType::I32:
    compatible = array.dtype == NpyDType::I32;
    break;
  case HostElementType::I64:
    compatible = array.dtype == NpyDType::I64;
    break;
  }
  if (!compatible) {
    StringRef expected = arg.elementType == HostElementType::F16 ? "f32 or f16"
                         : isFloatType(arg.elementType)
                             ? "f32"
                             : getHostElementTypeName(arg.elementType);
    return fail("element type " + getNpyDTypeName(array.dtype) +
                " does not match argument #" + llvm::Twine(index) +
                " of type " + arg.typeString + " (expected " + expected +
                " data)");
  }

  bool shapeMatches = array.shape.size() == arg.shape.size();
  for (size_t i = 0; shapeMatches && i < arg.shape.size(); ++i)
    shapeMatches =
        ShapedType::isDynamic(arg.shape[i]) || arg.shape[i] == array.shape[i];
  if (!shapeMatches)
    return fail("shape " + formatNpyShape(array.shape) +
                " does not match argument #" + llvm::Twine(index) +
                " of type " + arg.typeString);

  llvm::Expected<HostTensor> allocated =
      HostTensor::allocate(arg.elementType, array.shape);
  if (!allocated)
    return fail(llvm::toString(allocated.takeError()));
  HostTensor &tensor = *allocated;
  int64_t count = tensor.getNumElements();
  if (arg.elementType == HostElementType::F16 && fromF32) {
    const float *in = array.getDataAs<float>();
    auto *out = static_cast<uint16_t *>(tensor.getData());
    for (int64_t i = 0; i < count; ++i)
      out[i] = convertF32ToF16(in[i]);
  } else if (arg.elementType == HostElementType::BF16) {
    const float *in = array.getDataAs<float>();
    auto *out = static_cast<uint16_t *>(tensor.getData());
    for (int64_t i = 0; i < count; ++i)
      out[i] = convertF32ToBF16(in[i]);
  } else {
    assert(array.data.size() == tensor.getNumBytes() && "size mismatch");
    if (!array.data.empty()) // An empty vector's data() may be null.
      std::memcpy(tensor.getData(), array.data.data(), array.data.size());
  }
  return std::move(*allocated);
}

llvm::Expected<std::vector<HostTensor>>
mlir::tessera::loadInputs(const EntrySignature &signature,
                          ArrayRef<std::string> fileNames) {
  size_t numArgs = signature.arguments.size();
  if (fileNames.size() != numArgs)
    return makeError(
        "function '" + signature.name + "' takes " + llvm::Twine(numArgs) +
        " argument" + (numArgs == 1 ? "" : "s") + " but " +
        llvm::Twine(fileNames.size()) + " --input file" +
        (fileNames.size() == 1 ? " was" : "s were") + " given" +
        (fileNames.empty() ? " (use --input or --random-inputs)" : ""));
  std::vector<HostTensor> inputs;
  for (auto [index, fileName] : llvm::enumerate(fileNames)) {
    llvm::Expected<NpyArray> array = readNpyFile(fileName);
    if (!array)
      return makeError("input #" + llvm::Twine(index) + ": " +
                       llvm::toString(array.takeError()));
    llvm::Expected<HostTensor> tensor =
        bindInput(*array, fileName, signature, index);
    if (!tensor)
      return tensor.takeError();
    inputs.push_back(std::move(*tensor));
  }
  return inputs;
}

/// SplitMix64: a small, well-mixed generator whose sequence is fixed by its
/// definition, unlike the distributions of <random>.
static uint64_t nextRandom(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

llvm::Expected<std::vector<HostTensor>>
mlir::tessera::makeRandomInputs(const EntrySignature &signature,
                                uint64_t seed) {
  std::vector<HostTensor> inputs;
  for (auto [index, arg] : llvm::enumerate(signature.arguments)) {
    if (llvm::any_of(arg.shape, ShapedType::isDynamic))
      return makeError("argument #" + llvm::Twine(index) + " has type " +
                       arg.typeString +
                       "; --random-inputs needs static shapes (use --input)");
    llvm::Expected<HostTensor> allocated =
        HostTensor::allocate(arg.elementType, arg.shape);
    if (!allocated)
      return makeError("argument #" + llvm::Twine(index) + ": " +
                       llvm::toString(allocated.takeError()));
    HostTensor &tensor = *allocated;
    uint64_t state = seed ^ ((index + 1) * 0xd1b54a32d192ed03ULL);
    int64_t count = tensor.getNumElements();
    void *data = tensor.getData();
    for (int64_t i = 0; i < count; ++i) {
      uint64_t bits = nextRandom(state);
      // 24 random bits give an f32 that is exactly uniform on a grid of
      // [-1, 1).
      float value = static_cast<float>(bits >> 40) * 0x1p-23f - 1.0f;
      int64_t small = static_cast<int64_t>(bits >> 62);
      switch (arg.elementType) {
      case HostElementType::F32:
        static_cast<float *>(data)[i] = value;
        break;
      case HostElementType::F16:
        static_cast<uint16_t *>(data)[i] = convertF32ToF16(value);
        break;
      case HostElementType::BF16:
        static_cast<uint16_t *>(data)[i] = convertF32ToBF16(value);
        break;
      case HostElementType::I32:
        static_cast<int32_t *>(data)[i] = static_cast<int32_t>(small);
        break;
      case HostElementType::I64:
        static_cast<int64_t *>(data)[i] = small;
        break;
      }
    }
    inputs.push_back(std::move(tensor));
  }
  return inputs;
}

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

TensorComparison mlir::tessera::compareTensors(const HostTensor &actual,
                                               const HostTensor &expected) {
  TensorComparison result;
  if (actual.getElementType() != expected.getElementType() ||
      actual.getShape() != expected.getShape()) {
    result.passed = false;
    result.mismatch =
        actual.getTypeString() + " vs reference " + expected.getTypeString();
    return result;
  }
  int64_t count = actual.getNumElements();
  HostElementType type = actual.getElementType();

  if (!isFloatType(type)) {
    for (int64_t i = 0; i < count; ++i) {
      int64_t a, e;
      if (type == HostElementType::I32) {
        a = static_cast<const int32_t *>(actual.getData())[i];
        e = static_cast<const int32_t *>(expected.getData())[i];
      } else {
        a = static_cast<const int64_t *>(actual.getData())[i];
        e = static_cast<const int64_t *>(expected.getData())[i];
      }
      if (a == e)
        continue;
      result.passed = false;
      double absError = std::fabs(static_cast<double>(a) - e);
      result.maxAbsError = std::max(result.maxAbsError, absError);
      if (e != 0)
        result.maxRelError =
            std::max(result.maxRelError, absError / std::fabs(double(e)));
    }
    return result;
  }

  double tolerance = type == HostElementType::F32   ? 1e-4
                     : type == HostElementType::F16 ? 1e-2
                                                    : 4e-2;
  // Errors are judged against the scale of the whole result: an element of a
  // long reduction that cancels to near zero carries the rounding error of
  // its large terms, which no per-element relative bound can tell from a bug.
  double scale = 1.0;
  for (int64_t i = 0; i < count; ++i) {
    double e = std::fabs(expected.getAsDouble(i));
    if (std::isfinite(e))
      scale = std::max(scale, e);
  }
  double limit = tolerance * scale;
  for (int64_t i = 0; i < count; ++i) {
    double a = actual.getAsDouble(i);
    double e = expected.getAsDouble(i);
    if (std::isnan(a) || std::isnan(e) || std::isinf(a) || std::isinf(e)) {
      bool same = (std::isnan(a) && std::isnan(e)) || a == e;
      if (!same) {
        result.passed = false;
        result.maxAbsError = INFINITY;
        result.maxRelError = INFINITY;
      }
      continue;
    }
    double absError = std::fabs(a - e);
    result.maxAbsError = std::max(result.maxAbsError, absError);
    if (e != 0)
      result.maxRelError =
          std::max(result.maxRelError, absError / std::fabs(e));
    if (absError > limit)
      result.passed = false;
  }
  return result;
}
