//===- Npy.cpp - Reading and writing NumPy .npy files ---------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Support/Npy.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace mlir;
using namespace mlir::tessera;

static constexpr llvm::StringLiteral kMagic("\x93NUMPY");
static constexpr size_t kAlignment = 64;

size_t mlir::tessera::getNpyElementSize(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::F16:
    return 2;
  case NpyDType::F32:
  case NpyDType::I32:
    return 4;
  case NpyDType::I64:
    return 8;
  }
  llvm_unreachable("unknown NpyDType");
}

llvm::StringRef mlir::tessera::getNpyDescr(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::F32:
    return "<f4";
  case NpyDType::F16:
    return "<f2";
  case NpyDType::I32:
    return "<i4";
  case NpyDType::I64:
    return "<i8";
  }
  llvm_unreachable("unknown NpyDType");
}

llvm::StringRef mlir::tessera::getNpyDTypeName(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::F32:
    return "f32";
  case NpyDType::F16:
    return "f16";
  case NpyDType::I32:
    return "i32";
  case NpyDType::I64:
    return "i64";
  }
  llvm_unreachable("unknown NpyDType");
}

/// Returns the number of elements of `shape`, or std::nullopt if a dimension
/// is negative or the product (in bytes, with `elementSize`) overflows.
static std::optional<int64_t> getCheckedNumBytes(llvm::ArrayRef<int64_t> shape,
                                                 size_t elementSize) {
  int64_t product = static_cast<int64_t>(elementSize);
  for (int64_t dim : shape) {
    if (dim < 0)
      return std::nullopt;
    std::optional<int64_t> next = llvm::checkedMul(product, dim);
    if (!next)
      return std::nullopt;
    product = *next;
  }
  return product;
}

NpyArray::NpyArray(NpyDType dtype, llvm::ArrayRef<int64_t> shape)
    : dtype(dtype), shape(shape.begin(), shape.end()) {
  data.resize(getNumElements() * getNpyElementSize(dtype));
}

int64_t NpyArray::getNumElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

std::string mlir::tessera::formatNpyShape(llvm::ArrayRef<int64_t> shape) {
  std::string result = "(";
  llvm::raw_string_ostream os(result);
  llvm::interleave(shape, os, ", ");
  if (shape.size() == 1)
    os << ",";
  os << ")";
  return result;
}

//===----------------------------------------------------------------------===//
// Header parsing
//===----------------------------------------------------------------------===//

namespace {
/// The fields of a `.npy` header.
struct NpyHeader {
  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
};

/// Parses the Python dict literal of a `.npy` header. Only the subset NumPy
/// writes is accepted: string keys, and string, boolean and integer-tuple
/// values.
class HeaderParser {
public:
  HeaderParser(llvm::StringRef text, llvm::StringRef name)
      : text(text), name(name) {}

  llvm::Expected<NpyHeader> parse();

private:
  llvm::Error error(const llvm::Twine &message) const {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   name +
                                       ": malformed .npy header: " + message);
  }
  void skipSpace() {
    while (pos < text.size() && llvm::isSpace(text[pos]))
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  bool consume(llvm::StringRef word) {
    skipSpace();
    if (!text.substr(pos).starts_with(word))
      return false;
    pos += word.size();
    return true;
  }
  llvm::Expected<std::string> parseString();
  llvm::Expected<bool> parseBool();
  llvm::Expected<std::vector<int64_t>> parseShape();

  llvm::StringRef text;
  llvm::StringRef name;
  size_t pos = 0;
};
} // namespace

llvm::Expected<std::string> HeaderParser::parseString() {
  skipSpace();
  if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
    return error("expected a string at offset " + llvm::Twine(pos));
  char quote = text[pos++];
  size_t end = text.find(quote, pos);
  if (end == llvm::StringRef::npos)
    return error("unterminated string");
  std::string result = text.slice(pos, end).str();
  pos = end + 1;
  return result;
}

llvm::Expected<bool> HeaderParser::parseBool() {
  if (consume(llvm::StringRef("True")))
    return true;
  if (consume(llvm::StringRef("False")))
    return false;
  return error("expected True or False at offset " + llvm::Twine(pos));
}

llvm::Expected<std::vector<int64_t>> HeaderParser::parseShape() {
  if (!consume('('))
    return error("expected a tuple for 'shape'");
  std::vector<int64_t> shape;
  while (!consume(')')) {
    skipSpace();
    size_t start = pos;
    while (pos < text.size() && llvm::isDigit(text[pos]))
      ++pos;
    int64_t dim;
    if (start == pos || text.slice(start, pos).getAsInteger(10, dim))
      return error("expected a non-negative integer in 'shape' at offset " +
                   llvm::Twine(start));
    // Python 2 wrote long integers with an 'L' suffix.
    if (pos < text.size() && text[pos] == 'L')
      ++pos;
    shape.push_back(dim);
    if (!consume(',')) {
      if (!consume(')'))
        return error("expected ',' or ')' in 'shape'");
      break;
    }
  }
  return shape;
}

llvm::Expected<NpyHeader> HeaderParser::parse() {
  NpyHeader header;
  bool seenDescr = false, seenOrder = false, seenShape = false;
  if (!consume('{'))
    return error("expected '{'");
  while (!consume('}')) {
    llvm::Expected<std::string> key = parseString();
    if (!key)
      return key.takeError();
    if (!consume(':'))
      return error("expected ':' after '" + *key + "'");
    if (*key == "descr" && !seenDescr) {
      seenDescr = true;
      skipSpace();
      if (pos < text.size() && text[pos] == '[')
        return error("structured dtypes are not supported");
      llvm::Expected<std::string> descr = parseString();
      if (!descr)
        return descr.takeError();
      header.descr = std::move(*descr);
    } else if (*key == "fortran_order" && !seenOrder) {
      seenOrder = true;
      llvm::Expected<bool> order = parseBool();
      if (!order)
        return order.takeError();
      header.fortranOrder = *order;
    } else if (*key == "shape" && !seenShape) {
      seenShape = true;
      llvm::Expected<std::vector<int64_t>> shape = parseShape();
      if (!shape)
        return shape.takeError();
      header.shape = std::move(*shape);
    } else {
      return error("unexpected or repeated key '" + *key + "'");
    }
    if (!consume(',')) {
      if (!consume('}'))
        return error("expected ',' or '}' after '" + *key + "'");
      break;
    }
  }
  skipSpace();
  if (pos != text.size())
    return error("unexpected text after '}'");
  if (!seenDescr || !seenOrder || !seenShape)
    return error("missing key '" +
                 llvm::StringRef(!seenDescr   ? "descr"
                                 : !seenOrder ? "fortran_order"
                                              : "shape") +
                 "'");
  return header;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

static llvm::Error makeError(llvm::StringRef name, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 name + ": " + message);
}

llvm::Expected<NpyArray> mlir::tessera::parseNpy(llvm::StringRef bytes,
                                                 llvm::StringRef name) {
  if (!bytes.starts_with(kMagic))
    return makeError(name, "not a .npy file (bad magic string)");
  if (bytes.size() < kMagic.size() + 2)
    return makeError(name, "truncated .npy header");
  uint8_t major = bytes[kMagic.size()];
  uint8_t minor = bytes[kMagic.size() + 1];
  size_t lengthSize;
  if (major == 1)
    lengthSize = 2;
  else if (major == 2)
    lengthSize = 4;
  else
    return makeError(name, "unsupported .npy format version " +
                               llvm::Twine(unsigned(major)) + "." +
                               llvm::Twine(unsigned(minor)) +
                               " (expected 1.0 or 2.0)");
  size_t prefixSize = kMagic.size() + 2 + lengthSize;
  if (bytes.size() < prefixSize)
    return makeError(name, "truncated .npy header");
  const char *lengthPtr = bytes.data() + kMagic.size() + 2;
  uint64_t headerLength =
      lengthSize == 2
          ? llvm::support::endian::read16le(lengthPtr)
          : static_cast<uint64_t>(llvm::support::endian::read32le(lengthPtr));
  if (bytes.size() - prefixSize < headerLength)
    return makeError(name, "truncated .npy header: header length is " +
                               llvm::Twine(headerLength) + " but only " +
                               llvm::Twine(bytes.size() - prefixSize) +
                               " bytes follow");

  llvm::StringRef headerText = bytes.substr(prefixSize, headerLength);
  llvm::Expected<NpyHeader> header = HeaderParser(headerText, name).parse();
  if (!header)
    return header.takeError();

  if (header->fortranOrder)
    return makeError(name, "Fortran-order arrays are not supported");
  NpyDType dtype;
  llvm::StringRef descr = header->descr;
  if (descr == "<f4")
    dtype = NpyDType::F32;
  else if (descr == "<f2")
    dtype = NpyDType::F16;
  else if (descr == "<i4")
    dtype = NpyDType::I32;
  else if (descr == "<i8")
    dtype = NpyDType::I64;
  else if (descr.starts_with(">"))
    return makeError(name, "big-endian dtype '" + descr +
                               "' is not supported (expected little-endian)");
  else
    return makeError(name, "unsupported dtype '" + descr +
                               "' (expected '<f4', '<f2', '<i4' or '<i8')");

  std::optional<int64_t> numBytes =
      getCheckedNumBytes(header->shape, getNpyElementSize(dtype));
  if (!numBytes)
    return makeError(name, "shape " + formatNpyShape(header->shape) +
                               " is too large");
  llvm::StringRef payload = bytes.substr(prefixSize + headerLength);
  if (static_cast<uint64_t>(*numBytes) != payload.size()) {
    llvm::StringRef what = static_cast<uint64_t>(*numBytes) > payload.size()
                               ? "truncated data"
                               : "data size mismatch";
    return makeError(
        name, what + ": shape " + formatNpyShape(header->shape) + " of '" +
                  descr + "' needs " + llvm::Twine(*numBytes) +
                  " bytes but the file has " + llvm::Twine(payload.size()));
  }

  NpyArray array;
  array.dtype = dtype;
  array.shape = std::move(header->shape);
  array.data.assign(payload.bytes_begin(), payload.bytes_end());
  return array;
}

llvm::Expected<NpyArray> mlir::tessera::readNpyFile(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (std::error_code ec = buffer.getError())
    return makeError(path, "cannot open: " + ec.message());
  return parseNpy((*buffer)->getBuffer(), path);
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

void mlir::tessera::writeNpy(const NpyArray &array, llvm::raw_ostream &os) {
  assert(static_cast<int64_t>(array.data.size()) ==
             array.getNumElements() *
                 static_cast<int64_t>(getNpyElementSize(array.dtype)) &&
         "data size does not match the shape");
  std::string dict;
  llvm::raw_string_ostream dictStream(dict);
  dictStream << "{'descr': '" << getNpyDescr(array.dtype)
             << "', 'fortran_order': False, 'shape': "
             << formatNpyShape(array.shape) << ", }";

  // Version 1.0 holds a header of up to 65535 bytes; 2.0 anything larger.
  uint8_t major = 1;
  size_t prefixSize = kMagic.size() + 2 + 2;
  size_t total = llvm::alignTo(prefixSize + dict.size() + 1, kAlignment);
  if (total - prefixSize > 0xffff) {
    major = 2;
    prefixSize = kMagic.size() + 2 + 4;
    total = llvm::alignTo(prefixSize + dict.size() + 1, kAlignment);
  }
  size_t headerLength = total - prefixSize;
  dict.append(headerLength - dict.size() - 1, ' ');
  dict.push_back('\n');

  os << kMagic;
  os << static_cast<char>(major) << static_cast<char>(0);
  char lengthBytes[4];
  if (major == 1) {
    llvm::support::endian::write16le(lengthBytes, headerLength);
    os.write(lengthBytes, 2);
  } else {
    llvm::support::endian::write32le(lengthBytes, headerLength);
    os.write(lengthBytes, 4);
  }
  os << dict;
  os.write(reinterpret_cast<const char *>(array.data.data()),
           array.data.size());
}

llvm::Error mlir::tessera::writeNpyFile(const NpyArray &array,
                                        llvm::StringRef path) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError(path, "cannot open for writing: " + ec.message());
  writeNpy(array, os);
  os.close();
  if (os.has_error()) {
    std::error_code writeError = os.error();
    os.clear_error();
    return makeError(path, "write failed: " + writeError.message());
  }
  return llvm::Error::success();
}
