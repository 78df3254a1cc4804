//===- Runner.cpp - Run an artifact function on a GPU ---------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPU/Runner.h"

#include "tessera/Support/FloatConversions.h"

#include <algorithm>
#include <cstring>

using namespace tessera::gpu;
using ::mlir::tessera::convertBF16ToF32;
using ::mlir::tessera::convertF16ToF32;
using ::mlir::tessera::convertF32ToBF16;
using ::mlir::tessera::convertF32ToF16;

//===----------------------------------------------------------------------===//
// Host-side conversions
//===----------------------------------------------------------------------===//

/// Returns whether `array` may feed an argument of type `dtype`, and if so
/// whether it needs a conversion rather than a copy.
static bool isAccepted(DType dtype, NpyDType npy, bool &convert) {
  convert = false;
  switch (dtype) {
  case DType::F32:
    return npy == NpyDType::F32;
  case DType::F64:
    return npy == NpyDType::F64;
  case DType::F16:
    convert = npy == NpyDType::F32;
    return npy == NpyDType::F16 || npy == NpyDType::F32;
  case DType::BF16:
    convert = true;
    return npy == NpyDType::F32;
  case DType::I1:
    convert = true;
    return npy == NpyDType::Bool || npy == NpyDType::U8;
  case DType::I8:
    return npy == NpyDType::I8 || npy == NpyDType::U8;
  case DType::I16:
    return npy == NpyDType::I16;
  case DType::I32:
    return npy == NpyDType::I32;
  case DType::I64:
    return npy == NpyDType::I64;
  }
  return false;
}

/// The .npy element types accepted for `dtype`, for messages.
static const char *getExpectedData(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::F16:
    return "f32 or f16";
  case DType::BF16:
    return "f32";
  case DType::I1:
    return "bool or u8";
  case DType::I8:
    return "i8 or u8";
  case DType::I16:
    return "i16";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  }
  return "?";
}

Expected<HostTensor> tessera::gpu::convertInput(const Function &function,
                                                unsigned position,
                                                const NpyArray &array,
                                                const std::string &label) {
  const BufferDesc &buffer = function.buffers[function.inputs[position]];
  std::string argument = "argument #" + std::to_string(position) +
                         " of function '" + function.name + "' (" +
                         buffer.describe() + ")";
  bool convert;
  if (!isAccepted(buffer.dtype, array.dtype, convert))
    return Status::error(label + ": element type " +
                         getNpyDTypeName(array.dtype) + " does not match " +
                         argument + " (expected " +
                         getExpectedData(buffer.dtype) + " data)");
  if (array.shape != buffer.shape)
    return Status::error(label + ": shape " + formatNpyShape(array.shape) +
                         " does not match " + argument + " (expected shape " +
                         formatNpyShape(buffer.shape) + ")");

  HostTensor tensor;
  tensor.dtype = buffer.dtype;
  tensor.shape = buffer.shape;
  if (!convert) {
    tensor.data = array.data;
    return tensor;
  }
  size_t count = static_cast<size_t>(array.getNumElements());
  tensor.data.resize(count * getDTypeSize(buffer.dtype));
  if (buffer.dtype == DType::I1) {
    for (size_t i = 0; i < count; ++i)
      tensor.data[i] = array.data[i] != 0;
    return tensor;
  }
  // f32 to f16 or bf16.
  for (size_t i = 0; i < count; ++i) {
    float value;
    std::memcpy(&value, array.data.data() + 4 * i, 4);
    uint16_t bits = buffer.dtype == DType::F16 ? convertF32ToF16(value)
                                               : convertF32ToBF16(value);
    std::memcpy(tensor.data.data() + 2 * i, &bits, 2);
  }
  return tensor;
}

Expected<std::vector<HostTensor>>
tessera::gpu::bindInputs(const Function &function,
                         const std::vector<NpyArray> &inputs,
                         const std::vector<std::string> &labels) {
  size_t numArgs = function.inputs.size();
  if (inputs.size() != numArgs)
    return Status::error("function '" + function.name + "' takes " +
                         std::to_string(numArgs) + " argument" +
                         (numArgs == 1 ? "" : "s") + " but " +
                         std::to_string(inputs.size()) + " input" +
                         (inputs.size() == 1 ? " was" : "s were") + " given");
  std::vector<HostTensor> tensors;
  for (size_t i = 0; i < numArgs; ++i) {
    std::string label =
        i < labels.size() ? labels[i] : "input #" + std::to_string(i);
    Expected<HostTensor> tensor =
        convertInput(function, static_cast<unsigned>(i), inputs[i], label);
    if (!tensor)
      return tensor.getStatus();
    tensors.push_back(std::move(*tensor));
  }
  return tensors;
}

NpyArray tessera::gpu::convertOutput(const HostTensor &tensor) {
  NpyArray array;
  array.shape = tensor.shape;
  switch (tensor.dtype) {
  case DType::F16:
  case DType::BF16: {
    array.dtype = NpyDType::F32;
    size_t count = tensor.data.size() / 2;
    array.data.resize(count * 4);
    for (size_t i = 0; i < count; ++i) {
      uint16_t bits;
      std::memcpy(&bits, tensor.data.data() + 2 * i, 2);
      float value = tensor.dtype == DType::F16 ? convertF16ToF32(bits)
                                               : convertBF16ToF32(bits);
      std::memcpy(array.data.data() + 4 * i, &value, 4);
    }
    return array;
  }
  case DType::F32:
    array.dtype = NpyDType::F32;
    break;
  case DType::F64:
    array.dtype = NpyDType::F64;
    break;
  case DType::I1:
    array.dtype = NpyDType::Bool;
    break;
  case DType::I8:
    array.dtype = NpyDType::I8;
    break;
  case DType::I16:
    array.dtype = NpyDType::I16;
    break;
  case DType::I32:
    array.dtype = NpyDType::I32;
    break;
  case DType::I64:
    array.dtype = NpyDType::I64;
    break;
  }
  array.data = tensor.data;
  return array;
}

//===----------------------------------------------------------------------===//
// Runner
//===----------------------------------------------------------------------===//

/// The chip without a feature suffix: "sm_90a" -> "sm_90".
static std::string getBaseChip(const std::string &chip) {
  if (chip.size() > 3 && chip.compare(0, 3, "sm_") == 0 &&
      (chip.back() == 'a' || chip.back() == 'f'))
    return chip.substr(0, chip.size() - 1);
  return chip;
}

Expected<std::unique_ptr<Runner>> Runner::create(Device &device,
                                                 const Artifact &artifact,
                                                 const Function &function) {
  const DeviceInfo &info = device.getInfo();
  Platform expected =
      artifact.arch == TargetArch::NVPTX ? Platform::CUDA : Platform::HIP;
  if (info.platform != expected)
    return Status::error(std::string("an artifact for target ") +
                         getTargetArchName(artifact.arch) +
                         " cannot run on a " + getPlatformName(info.platform) +
                         " device");

  std::unique_ptr<Runner> runner(new Runner(device, function));
  Expected<ModuleHandle> module = device.loadModule(artifact.image);
  if (!module) {
    std::string message = module.getError();
    if (!info.arch.empty() && getBaseChip(artifact.chip) != info.arch)
      message += " (the artifact targets " + artifact.chip + ", device " +
                 std::to_string(info.ordinal) + " is " + info.arch + ")";
    return Status::error(message);
  }
  runner->module = *module;

  // Resolve the kernels and lay out the parameters of each launch.
  std::vector<std::pair<std::string, KernelHandle>> kernels;
  for (const Launch &launch : function.launches) {
    PreparedLaunch prepared;
    auto it = std::find_if(kernels.begin(), kernels.end(), [&](const auto &k) {
      return k.first == launch.kernel;
    });
    if (it != kernels.end()) {
      prepared.kernel = it->second;
    } else {
      Expected<KernelHandle> kernel = device.getKernel(*module, launch.kernel);
      if (!kernel)
        return kernel.getStatus();
      kernels.emplace_back(launch.kernel, *kernel);
      prepared.kernel = *kernel;
    }
    std::copy(launch.grid, launch.grid + 3, prepared.dims.grid);
    std::copy(launch.block, launch.block + 3, prepared.dims.block);
    prepared.dims.sharedBytes = launch.sharedBytes;
    runner->launches.push_back(std::move(prepared));
  }

  // Allocate the buffers, zero-filled.
  for (const BufferDesc &buffer : function.buffers) {
    Expected<DevicePtr> ptr = device.allocate(buffer.numBytes);
    if (!ptr)
      return Status::error(ptr.getError() + " (buffer " +
                           std::to_string(buffer.id) + ", " +
                           std::to_string(buffer.numBytes) + " bytes)");
    runner->buffers.push_back(*ptr);
    if (Status status = device.memset(*ptr, 0, buffer.numBytes);
        status.hasFailed())
      return status;
  }

  // Kernel parameters: one 8-byte slot per argument; 32-bit values sit in
  // the low bytes of theirs (little-endian).
  for (size_t i = 0; i < function.launches.size(); ++i) {
    const Launch &launch = function.launches[i];
    PreparedLaunch &prepared = runner->launches[i];
    prepared.values.assign(launch.args.size(), 0);
    for (size_t j = 0; j < launch.args.size(); ++j) {
      const LaunchArg &arg = launch.args[j];
      uint64_t &slot = prepared.values[j];
      switch (arg.kind) {
      case LaunchArg::Kind::Buffer:
        slot = runner->buffers[arg.buffer];
        break;
      case LaunchArg::Kind::I32: {
        int32_t value = static_cast<int32_t>(arg.intValue);
        std::memcpy(&slot, &value, sizeof(value));
        break;
      }
      case LaunchArg::Kind::I64:
        std::memcpy(&slot, &arg.intValue, sizeof(arg.intValue));
        break;
      case LaunchArg::Kind::F32:
        std::memcpy(&slot, &arg.floatValue, sizeof(arg.floatValue));
        break;
      }
    }
    for (uint64_t &slot : prepared.values)
      prepared.args.push_back(&slot);
  }
  return runner;
}

Runner::~Runner() {
  for (DevicePtr ptr : buffers)
    (void)device.free(ptr);
  if (module)
    (void)device.unloadModule(module);
}

Status Runner::setInputs(const std::vector<HostTensor> &inputs) {
  if (inputs.size() != function.inputs.size())
    return Status::error("function '" + function.name + "' takes " +
                         std::to_string(function.inputs.size()) +
                         " arguments but " + std::to_string(inputs.size()) +
                         " were given");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const BufferDesc &buffer = function.buffers[function.inputs[i]];
    if (inputs[i].dtype != buffer.dtype || inputs[i].shape != buffer.shape ||
        inputs[i].data.size() != buffer.numBytes)
      return Status::error("input #" + std::to_string(i) +
                           " does not match argument #" + std::to_string(i) +
                           " of function '" + function.name + "' (" +
                           buffer.describe() + ")");
    if (Status status = device.copyToDevice(
            buffers[buffer.id], inputs[i].data.data(), buffer.numBytes);
        status.hasFailed())
      return status;
  }
  return Status::success();
}

Status Runner::resetBuffers() {
  if (!dirty)
    return Status::success();
  for (const BufferDesc &buffer : function.buffers) {
    if (buffer.kind == BufferDesc::Kind::Input)
      continue;
    if (Status status = device.memset(buffers[buffer.id], 0, buffer.numBytes);
        status.hasFailed())
      return status;
  }
  dirty = false;
  return Status::success();
}

Status Runner::submitLaunches() {
  dirty = true;
  for (size_t i = 0; i < launches.size(); ++i) {
    PreparedLaunch &launch = launches[i];
    if (Status status =
            device.launch(launch.kernel, launch.dims, launch.args.data());
        status.hasFailed())
      return Status::error(status.getMessage() + " (launch of '" +
                           function.launches[i].kernel + "' on line " +
                           std::to_string(function.launches[i].line) + ")");
  }
  return Status::success();
}

Status Runner::run() {
  if (Status status = resetBuffers(); status.hasFailed())
    return status;
  if (Status status = submitLaunches(); status.hasFailed())
    return status;
  return device.synchronize();
}

Expected<std::vector<HostTensor>> Runner::readOutputs() {
  std::vector<HostTensor> results;
  for (unsigned id : function.outputs) {
    const BufferDesc &buffer = function.buffers[id];
    HostTensor tensor;
    tensor.dtype = buffer.dtype;
    tensor.shape = buffer.shape;
    tensor.data.resize(buffer.numBytes);
    if (Status status =
            device.copyToHost(tensor.data.data(), buffers[id], buffer.numBytes);
        status.hasFailed())
      return status;
    results.push_back(std::move(tensor));
  }
  return results;
}

Expected<BenchResult> Runner::bench(unsigned runs) {
  if (Status status = run(); status.hasFailed())
    return status;
  BenchResult result;
  result.runs = runs;
  for (unsigned i = 0; i < runs; ++i) {
    if (Status status = resetBuffers(); status.hasFailed())
      return status;
    Expected<float> ms = device.time([&] { return submitLaunches(); });
    if (!ms)
      return ms.getStatus();
    result.timesMs.push_back(*ms);
  }
  if (runs == 0)
    return result;
  std::vector<float> sorted = result.timesMs;
  std::sort(sorted.begin(), sorted.end());
  result.minMs = sorted.front();
  size_t mid = sorted.size() / 2;
  result.medianMs =
      sorted.size() % 2
          ? sorted[mid]
          : (static_cast<double>(sorted[mid - 1]) + sorted[mid]) / 2;
  return result;
}

Expected<std::vector<HostTensor>>
tessera::gpu::runFunction(Device &device, const Artifact &artifact,
                          const Function &function,
                          const std::vector<HostTensor> &inputs) {
  Expected<std::unique_ptr<Runner>> runner =
      Runner::create(device, artifact, function);
  if (!runner)
    return runner.getStatus();
  if (Status status = (*runner)->setInputs(inputs); status.hasFailed())
    return status;
  if (Status status = (*runner)->run(); status.hasFailed())
    return status;
  return (*runner)->readOutputs();
}
