//===- Artifact.h - The GPU artifact format ---------------------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// A GPU artifact is what the compiler emits for a GPU target and what
// `tessera-gpu-launch` runs: a manifest of text lines followed by one device
// code image (PTX, cubin or HSA code object). Version 1:
//
//   tessera-gpu-artifact 1
//   target nvptx sm_90
//   image cubin 123456
//   function moe_layer
//   buffer 0 input 0 f32 64x256
//   buffer 1 input 1 i32 17
//   buffer 2 output 0 f32 64x256
//   buffer 3 temp 1048576
//   launch moe_layer_k0 64 1 1 256 1 1 0 b0 b3
//   launch moe_layer_k1 4 1 1 256 1 1 0 b3 b2 i64:7 f32:0.5
//   end
//   data
//   <exactly 123456 bytes of image, to the end of the file>
//
// Each function lists the device buffers it needs (its arguments, its
// results and zero-filled workspaces) and the kernel launches to run in
// order. See docs/GPU-runtime.md for the full description.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_RUNTIME_GPU_ARTIFACT_H
#define TESSERA_RUNTIME_GPU_ARTIFACT_H

#include "tessera/Runtime/GPU/Status.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {
namespace gpu {

/// Element types of artifact buffers. I1 is stored as one byte per element.
enum class DType { F32, F16, BF16, F64, I1, I8, I16, I32, I64 };

/// Returns the artifact spelling of `dtype`: "f32", "bf16", "i1", ...
const char *getDTypeName(DType dtype);

/// Returns the size in bytes of one element of `dtype`.
size_t getDTypeSize(DType dtype);

/// Parses an artifact dtype spelling; returns false if `name` is none.
bool parseDType(std::string_view name, DType &dtype);

/// Formats a shape the way artifacts spell it: "64x256", "-" for rank 0.
std::string formatShape(const std::vector<int64_t> &shape);

/// The architecture family an artifact targets.
enum class TargetArch { NVPTX, AMDGPU };

/// The format of the device code image.
enum class ImageFormat { PTX, Cubin, HSACO };

const char *getTargetArchName(TargetArch arch);
const char *getImageFormatName(ImageFormat format);

/// One device buffer of a function.
struct BufferDesc {
  enum class Kind { Input, Output, Temp };

  unsigned id = 0;
  Kind kind = Kind::Temp;
  /// The argument position of an input, the result position of an output.
  unsigned position = 0;
  /// Element type and shape of inputs and outputs.
  DType dtype = DType::I8;
  std::vector<int64_t> shape;
  /// The size in bytes (elements times element size for inputs and outputs).
  uint64_t numBytes = 0;
  /// The manifest line that declares the buffer.
  unsigned line = 0;

  /// Product of the dimensions (1 for rank 0).
  uint64_t getNumElements() const;
  /// "f32 64x256", or "temp 1048576" for a workspace.
  std::string describe() const;
};

/// One kernel parameter of a launch.
struct LaunchArg {
  enum class Kind { Buffer, I32, I64, F32 };

  Kind kind = Kind::Buffer;
  /// The buffer id of a Buffer argument.
  unsigned buffer = 0;
  /// The value of an I32 or I64 argument.
  int64_t intValue = 0;
  /// The value of an F32 argument.
  float floatValue = 0.0f;
};

/// One kernel launch.
struct Launch {
  std::string kernel;
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned sharedBytes = 0;
  std::vector<LaunchArg> args;
  /// The manifest line of the launch.
  unsigned line = 0;
};

/// One entry function: its buffers and its launch list.
struct Function {
  std::string name;
  /// Indexed by buffer id.
  std::vector<BufferDesc> buffers;
  /// Buffer ids of the arguments, by argument position.
  std::vector<unsigned> inputs;
  /// Buffer ids of the results, by result position.
  std::vector<unsigned> outputs;
  std::vector<Launch> launches;
  /// The manifest line of `function`.
  unsigned line = 0;
};

/// A parsed artifact.
struct Artifact {
  unsigned version = 1;
  TargetArch arch = TargetArch::NVPTX;
  /// The chip: "sm_90", "sm_90a", "gfx942", ...
  std::string chip;
  ImageFormat imageFormat = ImageFormat::Cubin;
  /// The image bytes.
  std::string image;
  std::vector<Function> functions;

  /// Returns the function called `name`, or nullptr.
  const Function *lookupFunction(std::string_view name) const;
};

/// Parses the bytes of an artifact. Errors are "<name>:<line>: <problem>".
Expected<Artifact> parseArtifact(std::string_view bytes,
                                 std::string_view name = "<artifact>");

/// Reads and parses the artifact file at `path`.
Expected<Artifact> readArtifactFile(const std::string &path);

/// Reads a whole file into `contents`.
Status readFile(const std::string &path, std::string &contents);

} // namespace gpu
} // namespace tessera

#endif // TESSERA_RUNTIME_GPU_ARTIFACT_H
