//===- Artifact.cpp - Parsing GPU artifacts -------------------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPU/Artifact.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>

using namespace tessera::gpu;

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

namespace {
struct DTypeInfo {
  DType dtype;
  const char *name;
  size_t size;
};
} // namespace

static const DTypeInfo kDTypes[] = {
    {DType::F32, "f32", 4}, {DType::F16, "f16", 2}, {DType::BF16, "bf16", 2},
    {DType::F64, "f64", 8}, {DType::I1, "i1", 1},   {DType::I8, "i8", 1},
    {DType::I16, "i16", 2}, {DType::I32, "i32", 4}, {DType::I64, "i64", 8},
};

const char *tessera::gpu::getDTypeName(DType dtype) {
  for (const DTypeInfo &info : kDTypes)
    if (info.dtype == dtype)
      return info.name;
  return "?";
}

size_t tessera::gpu::getDTypeSize(DType dtype) {
  for (const DTypeInfo &info : kDTypes)
    if (info.dtype == dtype)
      return info.size;
  return 0;
}

bool tessera::gpu::parseDType(std::string_view name, DType &dtype) {
  for (const DTypeInfo &info : kDTypes) {
    if (name == info.name) {
      dtype = info.dtype;
      return true;
    }
  }
  return false;
}

std::string tessera::gpu::formatShape(const std::vector<int64_t> &shape) {
  if (shape.empty())
    return "-";
  std::string result;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      result += 'x';
    result += std::to_string(shape[i]);
  }
  return result;
}

const char *tessera::gpu::getTargetArchName(TargetArch arch) {
  return arch == TargetArch::NVPTX ? "nvptx" : "amdgpu";
}

const char *tessera::gpu::getImageFormatName(ImageFormat format) {
  switch (format) {
  case ImageFormat::PTX:
    return "ptx";
  case ImageFormat::Cubin:
    return "cubin";
  case ImageFormat::HSACO:
    return "hsaco";
  }
  return "?";
}

uint64_t BufferDesc::getNumElements() const {
  uint64_t count = 1;
  for (int64_t dim : shape)
    count *= static_cast<uint64_t>(dim);
  return count;
}

std::string BufferDesc::describe() const {
  if (kind == Kind::Temp)
    return "temp " + std::to_string(numBytes);
  return std::string(getDTypeName(dtype)) + " " + formatShape(shape);
}

const Function *Artifact::lookupFunction(std::string_view name) const {
  for (const Function &function : functions)
    if (function.name == name)
      return &function;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

/// Parses a decimal unsigned integer that fits in `max`.
static bool parseUnsigned(std::string_view text, uint64_t max,
                          uint64_t &value) {
  if (text.empty() || text.size() > 20)
    return false;
  uint64_t result = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (result > (max - digit) / 10)
      return false;
    result = result * 10 + digit;
  }
  value = result;
  return true;
}

/// Parses a decimal signed integer in [min, max].
static bool parseSigned(std::string_view text, int64_t min, int64_t max,
                        int64_t &value) {
  bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '-' || text[0] == '+'))
    text.remove_prefix(1);
  uint64_t magnitude;
  uint64_t limit = negative ? static_cast<uint64_t>(-(min + 1)) + 1
                            : static_cast<uint64_t>(max);
  if (!parseUnsigned(text, limit, magnitude))
    return false;
  value = negative ? static_cast<int64_t>(0 - magnitude)
                   : static_cast<int64_t>(magnitude);
  return true;
}

/// Parses a float the way strtof does, requiring the whole text.
static bool parseFloat(std::string_view text, float &value) {
  if (text.empty())
    return false;
  std::string copy(text);
  char *end = nullptr;
  errno = 0;
  float result = std::strtof(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size())
    return false;
  if (errno == ERANGE && std::isinf(result))
    return false;
  value = result;
  return true;
}

namespace {
/// Parses the manifest line by line.
class ArtifactParser {
public:
  ArtifactParser(std::string_view bytes, std::string_view name)
      : bytes(bytes), name(name) {}

  Expected<Artifact> parse();

private:
  Status error(const std::string &message) const {
    return errorAt(lineNumber, message);
  }
  Status errorAt(unsigned line, const std::string &message) const {
    return Status::error(std::string(name) + ":" + std::to_string(line) + ": " +
                         message);
  }

  Status parseLine(const std::vector<std::string_view> &tokens);
  Status parseBuffer(const std::vector<std::string_view> &tokens);
  Status parseLaunch(const std::vector<std::string_view> &tokens);
  Status finishFunction();
  Status expectArgs(const std::vector<std::string_view> &tokens, size_t count,
                    const char *usage) const;

  std::string_view bytes;
  std::string_view name;
  unsigned lineNumber = 0;
  Artifact artifact;
  bool seenHeader = false;
  bool seenTarget = false;
  bool seenImage = false;
  uint64_t imageSize = 0;
  /// The function being parsed, if any.
  bool inFunction = false;
  Function function;
  /// Buffers by id of the function being parsed.
  std::map<unsigned, BufferDesc> buffers;
};
} // namespace

/// Splits a line into whitespace-separated tokens, dropping a comment that
/// starts with a '#' token.
static std::vector<std::string_view> tokenize(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t pos = 0;
  auto isSpace = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
  };
  while (pos < line.size()) {
    while (pos < line.size() && isSpace(line[pos]))
      ++pos;
    if (pos == line.size() || line[pos] == '#')
      break;
    size_t start = pos;
    while (pos < line.size() && !isSpace(line[pos]))
      ++pos;
    tokens.push_back(line.substr(start, pos - start));
  }
  return tokens;
}

static std::string quote(std::string_view text) {
  return "'" + std::string(text) + "'";
}

Status ArtifactParser::expectArgs(const std::vector<std::string_view> &tokens,
                                  size_t count, const char *usage) const {
  if (tokens.size() != count)
    return error("expected '" + std::string(usage) + "'");
  return Status::success();
}

Expected<Artifact> ArtifactParser::parse() {
  size_t pos = 0;
  while (true) {
    if (pos >= bytes.size()) {
      lineNumber += 1;
      if (!seenHeader)
        return error("empty artifact (expected 'tessera-gpu-artifact 1')");
      return error("missing 'data' line before the end of the file");
    }
    size_t end = bytes.find('\n', pos);
    if (end == std::string_view::npos)
      end = bytes.size();
    std::string_view line = bytes.substr(pos, end - pos);
    pos = end + 1;
    ++lineNumber;

    std::vector<std::string_view> tokens = tokenize(line);
    if (tokens.empty())
      continue;
    if (!seenHeader) {
      if (tokens[0] != "tessera-gpu-artifact")
        return error("not a Tessera GPU artifact (expected "
                     "'tessera-gpu-artifact 1' first)");
      if (tokens.size() != 2)
        return error("expected 'tessera-gpu-artifact <version>'");
      uint64_t version;
      if (!parseUnsigned(tokens[1], 1000000, version))
        return error("invalid version " + quote(tokens[1]));
      if (version != 1)
        return error("unsupported artifact version " + std::to_string(version) +
                     " (expected 1)");
      seenHeader = true;
      continue;
    }
    if (tokens[0] == "data") {
      if (tokens.size() != 1)
        return error("unexpected text after 'data'");
      if (inFunction)
        return error("function " + quote(function.name) +
                     " is not closed by 'end' before 'data'");
      if (!seenTarget)
        return error("missing 'target' line before 'data'");
      if (!seenImage)
        return error("missing 'image' line before 'data'");
      if (artifact.functions.empty())
        return error("the artifact has no function");
      // A file that ends with "data" and no newline has no image bytes.
      std::string_view image =
          pos <= bytes.size() ? bytes.substr(pos) : std::string_view();
      if (image.size() != imageSize)
        return error("the image is " + std::to_string(image.size()) +
                     " bytes but the 'image' line declares " +
                     std::to_string(imageSize));
      artifact.image.assign(image.data(), image.size());
      return std::move(artifact);
    }
    if (Status status = parseLine(tokens); status.hasFailed())
      return status;
  }
}

Status ArtifactParser::parseLine(const std::vector<std::string_view> &tokens) {
  std::string_view keyword = tokens[0];
  if (keyword == "target") {
    if (seenTarget)
      return error("duplicate 'target' line");
    if (Status s = expectArgs(tokens, 3, "target <nvptx|amdgpu> <chip>");
        s.hasFailed())
      return s;
    if (tokens[1] == "nvptx")
      artifact.arch = TargetArch::NVPTX;
    else if (tokens[1] == "amdgpu")
      artifact.arch = TargetArch::AMDGPU;
    else
      return error("unknown target " + quote(tokens[1]) +
                   " (expected nvptx or amdgpu)");
    artifact.chip = std::string(tokens[2]);
    seenTarget = true;
    return Status::success();
  }
  if (keyword == "image") {
    if (seenImage)
      return error("duplicate 'image' line");
    if (!seenTarget)
      return error("'image' must follow the 'target' line");
    if (Status s = expectArgs(tokens, 3, "image <ptx|cubin|hsaco> <bytes>");
        s.hasFailed())
      return s;
    if (tokens[1] == "ptx")
      artifact.imageFormat = ImageFormat::PTX;
    else if (tokens[1] == "cubin")
      artifact.imageFormat = ImageFormat::Cubin;
    else if (tokens[1] == "hsaco")
      artifact.imageFormat = ImageFormat::HSACO;
    else
      return error("unknown image format " + quote(tokens[1]) +
                   " (expected ptx, cubin or hsaco)");
    bool nvidia = artifact.imageFormat != ImageFormat::HSACO;
    if (nvidia != (artifact.arch == TargetArch::NVPTX))
      return error(std::string("a ") +
                   getImageFormatName(artifact.imageFormat) +
                   " image cannot hold code for target " +
                   getTargetArchName(artifact.arch));
    if (!parseUnsigned(tokens[2], std::numeric_limits<uint64_t>::max(),
                       imageSize))
      return error("invalid image size " + quote(tokens[2]));
    seenImage = true;
    return Status::success();
  }
  if (keyword == "function") {
    if (inFunction)
      return error("'function' inside function " + quote(function.name) +
                   " (missing 'end')");
    if (Status s = expectArgs(tokens, 2, "function <name>"); s.hasFailed())
      return s;
    if (artifact.lookupFunction(tokens[1]))
      return error("duplicate function " + quote(tokens[1]));
    inFunction = true;
    function = Function();
    function.name = std::string(tokens[1]);
    function.line = lineNumber;
    buffers.clear();
    return Status::success();
  }
  if (keyword == "buffer" || keyword == "launch" || keyword == "end") {
    if (!inFunction)
      return error(quote(keyword) + " outside a function");
    if (keyword == "buffer")
      return parseBuffer(tokens);
    if (keyword == "launch")
      return parseLaunch(tokens);
    if (Status s = expectArgs(tokens, 1, "end"); s.hasFailed())
      return s;
    return finishFunction();
  }
  if (keyword == "tessera-gpu-artifact")
    return error("duplicate 'tessera-gpu-artifact' line");
  return error("unknown line " + quote(keyword));
}

Status
ArtifactParser::parseBuffer(const std::vector<std::string_view> &tokens) {
  static const char *usage = "buffer <id> input|output <position> <dtype> "
                             "<shape>' or 'buffer <id> temp <bytes>";
  if (tokens.size() < 3)
    return error(std::string("expected '") + usage + "'");
  BufferDesc buffer;
  buffer.line = lineNumber;
  uint64_t id;
  if (!parseUnsigned(tokens[1], std::numeric_limits<unsigned>::max() - 1, id))
    return error("invalid buffer id " + quote(tokens[1]));
  buffer.id = static_cast<unsigned>(id);
  if (buffers.count(buffer.id))
    return error("duplicate buffer " + std::to_string(id) + " (first on line " +
                 std::to_string(buffers[buffer.id].line) + ")");

  if (tokens[2] == "temp") {
    if (tokens.size() != 4)
      return error("expected 'buffer <id> temp <bytes>'");
    buffer.kind = BufferDesc::Kind::Temp;
    if (!parseUnsigned(tokens[3], std::numeric_limits<int64_t>::max(),
                       buffer.numBytes))
      return error("invalid temp size " + quote(tokens[3]));
    buffers[buffer.id] = buffer;
    return Status::success();
  }
  if (tokens[2] != "input" && tokens[2] != "output")
    return error("unknown buffer kind " + quote(tokens[2]) +
                 " (expected input, output or temp)");
  buffer.kind =
      tokens[2] == "input" ? BufferDesc::Kind::Input : BufferDesc::Kind::Output;
  if (tokens.size() != 6)
    return error("expected 'buffer <id> " + std::string(tokens[2]) +
                 " <position> <dtype> <shape>'");
  uint64_t position;
  if (!parseUnsigned(tokens[3], std::numeric_limits<unsigned>::max() - 1,
                     position))
    return error("invalid " + std::string(tokens[2]) + " position " +
                 quote(tokens[3]));
  buffer.position = static_cast<unsigned>(position);
  if (!parseDType(tokens[4], buffer.dtype))
    return error("unknown dtype " + quote(tokens[4]) +
                 " (expected f32, f16, bf16, f64, i1, i8, i16, i32 or i64)");

  static constexpr uint64_t kMaxBytes = std::numeric_limits<int64_t>::max();
  std::string_view shape = tokens[5];
  uint64_t numBytes = getDTypeSize(buffer.dtype);
  bool overflow = false, hasZero = false;
  if (shape != "-") {
    size_t pos = 0;
    while (true) {
      size_t end = shape.find('x', pos);
      std::string_view dimText = shape.substr(pos, end == std::string_view::npos
                                                       ? std::string_view::npos
                                                       : end - pos);
      uint64_t dim;
      if (!parseUnsigned(dimText, std::numeric_limits<int64_t>::max(), dim))
        return error("invalid shape " + quote(shape) +
                     " (expected dimensions joined by 'x', or '-')");
      buffer.shape.push_back(static_cast<int64_t>(dim));
      if (dim == 0)
        hasZero = true;
      else if (numBytes > kMaxBytes / dim)
        overflow = true;
      else
        numBytes *= dim;
      if (end == std::string_view::npos)
        break;
      pos = end + 1;
    }
  }
  if (overflow && !hasZero)
    return error("shape " + quote(shape) + " is too large");
  buffer.numBytes = hasZero ? 0 : numBytes;
  buffers[buffer.id] = buffer;
  return Status::success();
}

Status
ArtifactParser::parseLaunch(const std::vector<std::string_view> &tokens) {
  if (tokens.size() < 9)
    return error("expected 'launch <kernel> <grid x y z> <block x y z> "
                 "<shared bytes> <args...>'");
  Launch launch;
  launch.line = lineNumber;
  launch.kernel = std::string(tokens[1]);
  for (unsigned i = 0; i < 6; ++i) {
    uint64_t dim;
    if (!parseUnsigned(tokens[2 + i], std::numeric_limits<unsigned>::max(),
                       dim) ||
        dim == 0)
      return error(std::string("invalid ") + (i < 3 ? "grid" : "block") +
                   " dimension " + quote(tokens[2 + i]) +
                   " (expected a positive integer)");
    (i < 3 ? launch.grid[i] : launch.block[i - 3]) = static_cast<unsigned>(dim);
  }
  uint64_t shared;
  if (!parseUnsigned(tokens[8], std::numeric_limits<unsigned>::max(), shared))
    return error("invalid shared memory size " + quote(tokens[8]));
  launch.sharedBytes = static_cast<unsigned>(shared);

  for (size_t i = 9; i < tokens.size(); ++i) {
    std::string_view text = tokens[i];
    LaunchArg arg;
    auto invalid = [&](const char *what) {
      return error("invalid " + std::string(what) + " argument " + quote(text));
    };
    if (text[0] == 'b') {
      uint64_t id;
      if (!parseUnsigned(text.substr(1),
                         std::numeric_limits<unsigned>::max() - 1, id))
        return invalid("buffer");
      arg.kind = LaunchArg::Kind::Buffer;
      arg.buffer = static_cast<unsigned>(id);
    } else if (text.substr(0, 4) == "i32:") {
      arg.kind = LaunchArg::Kind::I32;
      if (!parseSigned(text.substr(4), std::numeric_limits<int32_t>::min(),
                       std::numeric_limits<int32_t>::max(), arg.intValue))
        return invalid("i32");
    } else if (text.substr(0, 4) == "i64:") {
      arg.kind = LaunchArg::Kind::I64;
      if (!parseSigned(text.substr(4), std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::max(), arg.intValue))
        return invalid("i64");
    } else if (text.substr(0, 4) == "f32:") {
      arg.kind = LaunchArg::Kind::F32;
      if (!parseFloat(text.substr(4), arg.floatValue))
        return invalid("f32");
    } else {
      return error("invalid launch argument " + quote(text) +
                   " (expected b<id>, i32:<v>, i64:<v> or f32:<v>)");
    }
    launch.args.push_back(arg);
  }
  function.launches.push_back(std::move(launch));
  return Status::success();
}

Status ArtifactParser::finishFunction() {
  std::string where = "function " + quote(function.name) + ": ";
  // Buffer ids are 0..n-1.
  unsigned numBuffers = static_cast<unsigned>(buffers.size());
  for (const auto &[id, buffer] : buffers)
    if (id >= numBuffers)
      return errorAt(buffer.line, where + "buffer id " + std::to_string(id) +
                                      " is out of range (the function has " +
                                      std::to_string(numBuffers) +
                                      " buffers, numbered from 0)");

  // Argument and result positions are 0..k-1, each once.
  for (BufferDesc::Kind kind :
       {BufferDesc::Kind::Input, BufferDesc::Kind::Output}) {
    const char *what = kind == BufferDesc::Kind::Input ? "input" : "output";
    std::map<unsigned, const BufferDesc *> byPosition;
    for (const auto &[id, buffer] : buffers) {
      if (buffer.kind != kind)
        continue;
      auto [it, inserted] = byPosition.emplace(buffer.position, &buffer);
      if (!inserted)
        return errorAt(buffer.line,
                       where + "duplicate " + what + " position " +
                           std::to_string(buffer.position) + " (also buffer " +
                           std::to_string(it->second->id) + " on line " +
                           std::to_string(it->second->line) + ")");
    }
    unsigned count = static_cast<unsigned>(byPosition.size());
    for (const auto &[position, buffer] : byPosition)
      if (position >= count)
        return errorAt(buffer->line,
                       where + what + " position " + std::to_string(position) +
                           " is out of range (the function has " +
                           std::to_string(count) + " " + what +
                           (count == 1 ? "" : "s") + ", numbered from 0)");
    std::vector<unsigned> &ids =
        kind == BufferDesc::Kind::Input ? function.inputs : function.outputs;
    for (const auto &[position, buffer] : byPosition)
      ids.push_back(buffer->id);
  }

  // Launch arguments name existing buffers.
  for (const Launch &launch : function.launches)
    for (const LaunchArg &arg : launch.args)
      if (arg.kind == LaunchArg::Kind::Buffer && !buffers.count(arg.buffer))
        return errorAt(launch.line, where + "launch of " +
                                        quote(launch.kernel) +
                                        " uses undeclared buffer b" +
                                        std::to_string(arg.buffer));

  for (auto &[id, buffer] : buffers)
    function.buffers.push_back(std::move(buffer));
  buffers.clear();
  artifact.functions.push_back(std::move(function));
  function = Function();
  inFunction = false;
  return Status::success();
}

Expected<Artifact> tessera::gpu::parseArtifact(std::string_view bytes,
                                               std::string_view name) {
  return ArtifactParser(bytes, name).parse();
}

Status tessera::gpu::readFile(const std::string &path, std::string &contents) {
  FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  contents.clear();
  char chunk[1 << 16];
  size_t count;
  while ((count = std::fread(chunk, 1, sizeof(chunk), file)) > 0)
    contents.append(chunk, count);
  bool failed = std::ferror(file);
  std::fclose(file);
  if (failed)
    return Status::error(path + ": read error");
  return Status::success();
}

Expected<Artifact> tessera::gpu::readArtifactFile(const std::string &path) {
  std::string contents;
  if (Status status = readFile(path, contents); status.hasFailed())
    return status;
  return parseArtifact(contents, path);
}
