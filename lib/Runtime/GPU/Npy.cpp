//===- Npy.cpp - NumPy .npy files without LLVM ----------------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPU/Npy.h"

#include "tessera/Runtime/GPU/Artifact.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

using namespace tessera::gpu;

static constexpr std::string_view kMagic("\x93NUMPY", 6);
static constexpr size_t kAlignment = 64;

namespace {
struct NpyDTypeInfo {
  NpyDType dtype;
  const char *descr;
  const char *name;
  size_t size;
};
} // namespace

static const NpyDTypeInfo kNpyDTypes[] = {
    {NpyDType::F32, "<f4", "f32", 4},   {NpyDType::F16, "<f2", "f16", 2},
    {NpyDType::F64, "<f8", "f64", 8},   {NpyDType::I8, "|i1", "i8", 1},
    {NpyDType::I16, "<i2", "i16", 2},   {NpyDType::I32, "<i4", "i32", 4},
    {NpyDType::I64, "<i8", "i64", 8},   {NpyDType::U8, "|u1", "u8", 1},
    {NpyDType::Bool, "|b1", "bool", 1},
};

static const NpyDTypeInfo &getInfo(NpyDType dtype) {
  for (const NpyDTypeInfo &info : kNpyDTypes)
    if (info.dtype == dtype)
      return info;
  return kNpyDTypes[0];
}

size_t tessera::gpu::getNpyElementSize(NpyDType dtype) {
  return getInfo(dtype).size;
}

const char *tessera::gpu::getNpyDescr(NpyDType dtype) {
  return getInfo(dtype).descr;
}

const char *tessera::gpu::getNpyDTypeName(NpyDType dtype) {
  return getInfo(dtype).name;
}

int64_t NpyArray::getNumElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

std::string tessera::gpu::formatNpyShape(const std::vector<int64_t> &shape) {
  std::string result = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      result += ", ";
    result += std::to_string(shape[i]);
  }
  if (shape.size() == 1)
    result += ",";
  return result + ")";
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

/// Parses the Python dict literal of a `.npy` header: string keys, and
/// string, boolean and integer-tuple values.
class HeaderParser {
public:
  HeaderParser(std::string_view text, std::string_view name)
      : text(text), name(name) {}

  Expected<NpyHeader> parse();

private:
  Status error(const std::string &message) const {
    return Status::error(std::string(name) +
                         ": malformed .npy header: " + message);
  }
  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                 text[pos] == '\n' || text[pos] == '\r'))
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
  bool consume(std::string_view word) {
    skipSpace();
    if (text.substr(pos, word.size()) != word)
      return false;
    pos += word.size();
    return true;
  }
  bool parseString(std::string &result);
  bool parseShape(std::vector<int64_t> &shape);

  std::string_view text;
  std::string_view name;
  size_t pos = 0;
};
} // namespace

bool HeaderParser::parseString(std::string &result) {
  skipSpace();
  if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
    return false;
  char quote = text[pos++];
  size_t end = text.find(quote, pos);
  if (end == std::string_view::npos)
    return false;
  result = std::string(text.substr(pos, end - pos));
  pos = end + 1;
  return true;
}

bool HeaderParser::parseShape(std::vector<int64_t> &shape) {
  if (!consume('('))
    return false;
  while (!consume(')')) {
    skipSpace();
    uint64_t dim = 0;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      uint64_t digit = static_cast<uint64_t>(text[pos] - '0');
      if (dim > (std::numeric_limits<int64_t>::max() - digit) / 10)
        return false;
      dim = dim * 10 + digit;
      ++pos;
    }
    if (start == pos)
      return false;
    // Python 2 wrote long integers with an 'L' suffix.
    if (pos < text.size() && text[pos] == 'L')
      ++pos;
    shape.push_back(static_cast<int64_t>(dim));
    if (!consume(',')) {
      if (!consume(')'))
        return false;
      break;
    }
  }
  return true;
}

Expected<NpyHeader> HeaderParser::parse() {
  NpyHeader header;
  bool seenDescr = false, seenOrder = false, seenShape = false;
  if (!consume('{'))
    return error("expected '{'");
  while (!consume('}')) {
    std::string key;
    if (!parseString(key))
      return error("expected a string key at offset " + std::to_string(pos));
    if (!consume(':'))
      return error("expected ':' after '" + key + "'");
    if (key == "descr" && !seenDescr) {
      seenDescr = true;
      skipSpace();
      if (pos < text.size() && text[pos] == '[')
        return error("structured dtypes are not supported");
      if (!parseString(header.descr))
        return error("expected a string for 'descr'");
    } else if (key == "fortran_order" && !seenOrder) {
      seenOrder = true;
      if (consume(std::string_view("True")))
        header.fortranOrder = true;
      else if (consume(std::string_view("False")))
        header.fortranOrder = false;
      else
        return error("expected True or False for 'fortran_order'");
    } else if (key == "shape" && !seenShape) {
      seenShape = true;
      if (!parseShape(header.shape))
        return error("expected a tuple of non-negative integers for 'shape'");
    } else {
      return error("unexpected or repeated key '" + key + "'");
    }
    if (!consume(',')) {
      if (!consume('}'))
        return error("expected ',' or '}' after '" + key + "'");
      break;
    }
  }
  skipSpace();
  if (pos != text.size())
    return error("unexpected text after '}'");
  if (!seenDescr || !seenOrder || !seenShape)
    return error(std::string("missing key '") +
                 (!seenDescr   ? "descr"
                  : !seenOrder ? "fortran_order"
                               : "shape") +
                 "'");
  return header;
}

//===----------------------------------------------------------------------===//
// Reading and writing
//===----------------------------------------------------------------------===//

static Status makeError(std::string_view name, const std::string &message) {
  return Status::error(std::string(name) + ": " + message);
}

/// Returns the size in bytes of `shape` with `elementSize`, or nullopt on
/// overflow.
static std::optional<uint64_t> getNumBytes(const std::vector<int64_t> &shape,
                                           size_t elementSize) {
  uint64_t product = elementSize;
  bool overflow = false;
  for (int64_t dim : shape) {
    if (dim == 0)
      return 0;
    if (product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) /
                      static_cast<uint64_t>(dim))
      overflow = true;
    else
      product *= static_cast<uint64_t>(dim);
  }
  if (overflow)
    return std::nullopt;
  return product;
}

Expected<NpyArray> tessera::gpu::parseNpy(std::string_view bytes,
                                          std::string_view name) {
  if (bytes.substr(0, kMagic.size()) != kMagic)
    return makeError(name, "not a .npy file (bad magic string)");
  if (bytes.size() < kMagic.size() + 2)
    return makeError(name, "truncated .npy header");
  auto byteAt = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  uint8_t major = byteAt(kMagic.size());
  uint8_t minor = byteAt(kMagic.size() + 1);
  size_t lengthSize;
  if (major == 1)
    lengthSize = 2;
  else if (major == 2)
    lengthSize = 4;
  else
    return makeError(
        name, "unsupported .npy format version " + std::to_string(major) + "." +
                  std::to_string(minor) + " (expected 1.0 or 2.0)");
  size_t prefixSize = kMagic.size() + 2 + lengthSize;
  if (bytes.size() < prefixSize)
    return makeError(name, "truncated .npy header");
  uint64_t headerLength = 0;
  for (size_t i = 0; i < lengthSize; ++i)
    headerLength |= static_cast<uint64_t>(byteAt(kMagic.size() + 2 + i))
                    << (8 * i);
  if (bytes.size() - prefixSize < headerLength)
    return makeError(name, "truncated .npy header: header length is " +
                               std::to_string(headerLength) + " but only " +
                               std::to_string(bytes.size() - prefixSize) +
                               " bytes follow");

  Expected<NpyHeader> header =
      HeaderParser(bytes.substr(prefixSize, headerLength), name).parse();
  if (!header)
    return header.getStatus();
  if (header->fortranOrder)
    return makeError(name, "Fortran-order arrays are not supported");

  const std::string &descr = header->descr;
  const NpyDTypeInfo *info = nullptr;
  for (const NpyDTypeInfo &candidate : kNpyDTypes)
    if (descr == candidate.descr)
      info = &candidate;
  // NumPy also spells the one-byte types with '<' or '=' ("=b1", "<u1").
  if (!info && descr.size() == 3 && (descr[0] == '<' || descr[0] == '='))
    for (const NpyDTypeInfo &candidate : kNpyDTypes)
      if (candidate.size == 1 && descr.substr(1) == candidate.descr + 1)
        info = &candidate;
  if (!info) {
    if (!descr.empty() && descr[0] == '>')
      return makeError(name, "big-endian dtype '" + descr +
                                 "' is not supported (expected little-endian)");
    return makeError(name, "unsupported dtype '" + descr +
                               "' (expected '<f4', '<f2', '<f8', '<i2', "
                               "'<i4', '<i8', '|i1', '|u1' or '|b1')");
  }

  std::optional<uint64_t> numBytes = getNumBytes(header->shape, info->size);
  if (!numBytes)
    return makeError(name, "shape " + formatNpyShape(header->shape) +
                               " is too large");
  std::string_view payload = bytes.substr(prefixSize + headerLength);
  if (*numBytes != payload.size())
    return makeError(
        name, std::string(*numBytes > payload.size() ? "truncated data"
                                                     : "data size mismatch") +
                  ": shape " + formatNpyShape(header->shape) + " of '" + descr +
                  "' needs " + std::to_string(*numBytes) +
                  " bytes but the file has " + std::to_string(payload.size()));

  NpyArray array;
  array.dtype = info->dtype;
  array.shape = std::move(header->shape);
  array.data.assign(payload.begin(), payload.end());
  return array;
}

Expected<NpyArray> tessera::gpu::readNpyFile(const std::string &path) {
  std::string contents;
  if (Status status = readFile(path, contents); status.hasFailed())
    return status;
  return parseNpy(contents, path);
}

std::string tessera::gpu::writeNpy(const NpyArray &array) {
  std::string dict =
      "{'descr': '" + std::string(getNpyDescr(array.dtype)) +
      "', 'fortran_order': False, 'shape': " + formatNpyShape(array.shape) +
      ", }";
  auto alignUp = [](size_t value) {
    return (value + kAlignment - 1) / kAlignment * kAlignment;
  };
  // Version 1.0 holds a header of up to 65535 bytes; 2.0 anything larger.
  uint8_t major = 1;
  size_t prefixSize = kMagic.size() + 2 + 2;
  size_t total = alignUp(prefixSize + dict.size() + 1);
  if (total - prefixSize > 0xffff) {
    major = 2;
    prefixSize = kMagic.size() + 2 + 4;
    total = alignUp(prefixSize + dict.size() + 1);
  }
  size_t headerLength = total - prefixSize;
  dict.append(headerLength - dict.size() - 1, ' ');
  dict.push_back('\n');

  std::string bytes(kMagic);
  bytes.push_back(static_cast<char>(major));
  bytes.push_back(0);
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i)
    bytes.push_back(static_cast<char>((headerLength >> (8 * i)) & 0xff));
  bytes += dict;
  bytes.append(reinterpret_cast<const char *>(array.data.data()),
               array.data.size());
  return bytes;
}

Status tessera::gpu::writeNpyFile(const NpyArray &array,
                                  const std::string &path) {
  std::string bytes = writeNpy(array);
  FILE *file = std::fopen(path.c_str(), "wb");
  if (!file)
    return makeError(path, std::string("cannot open for writing: ") +
                               std::strerror(errno));
  bool failed =
      std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size();
  failed |= std::fclose(file) != 0;
  if (failed)
    return makeError(path, "write error");
  return Status::success();
}
