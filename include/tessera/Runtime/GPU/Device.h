//===- Device.h - A vendor-neutral GPU device interface ---------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The few operations the GPU runtime needs from a device, behind one
// abstract class: memory, module loading, kernel launches, synchronization
// and event timing. The CUDA implementation drives the CUDA driver API and
// the HIP one the HIP runtime; both load the vendor library with dlopen at
// run time, so nothing links against a GPU SDK and a machine without a
// driver or a device gets an error, never a crash.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_RUNTIME_GPU_DEVICE_H
#define TESSERA_RUNTIME_GPU_DEVICE_H

#include "tessera/Runtime/GPU/Status.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {
namespace gpu {

/// The GPU platforms.
enum class Platform { CUDA, HIP };

/// Returns "cuda" or "hip".
const char *getPlatformName(Platform platform);

/// Parses "cuda" or "hip"; returns false for anything else.
bool parsePlatform(std::string_view name, Platform &platform);

/// A device address.
using DevicePtr = uint64_t;
/// A loaded code module and a kernel in it (CUmodule / CUfunction, ...).
using ModuleHandle = void *;
using KernelHandle = void *;

/// The grid, block and dynamic shared memory of a launch.
struct LaunchDims {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned sharedBytes = 0;
};

/// A description of one device.
struct DeviceInfo {
  Platform platform = Platform::CUDA;
  int ordinal = 0;
  /// The marketing name: "NVIDIA H100 80GB HBM3".
  std::string name;
  /// The architecture: "sm_90", "gfx942" ("" when unknown).
  std::string arch;

  /// "cuda:0 NVIDIA H100 80GB HBM3 sm_90".
  std::string describe() const;
};

/// One GPU, with a current context on the calling thread.
class Device {
public:
  virtual ~Device();

  virtual const DeviceInfo &getInfo() const = 0;

  /// Allocates `bytes` (at least one byte is allocated).
  virtual Expected<DevicePtr> allocate(size_t bytes) = 0;
  virtual Status free(DevicePtr ptr) = 0;
  /// Sets `bytes` bytes at `ptr` to `value`.
  virtual Status memset(DevicePtr ptr, uint8_t value, size_t bytes) = 0;
  virtual Status copyToDevice(DevicePtr dst, const void *src, size_t bytes) = 0;
  virtual Status copyToHost(void *dst, DevicePtr src, size_t bytes) = 0;

  /// Loads a code image (PTX, cubin, HSA code object).
  virtual Expected<ModuleHandle> loadModule(std::string_view image) = 0;
  virtual Status unloadModule(ModuleHandle module) = 0;
  virtual Expected<KernelHandle> getKernel(ModuleHandle module,
                                           const std::string &name) = 0;

  /// Launches `kernel` asynchronously; `args` points to one pointer per
  /// kernel parameter, each to the parameter's value.
  virtual Status launch(KernelHandle kernel, const LaunchDims &dims,
                        void **args) = 0;
  /// Waits for all the work submitted so far.
  virtual Status synchronize() = 0;
  /// Records an event, calls `body` (which submits work), records a second
  /// event, waits for it and returns the time between the two, in ms.
  virtual Expected<float> time(const std::function<Status()> &body) = 0;
};

/// Opens device `ordinal` of `platform`.
Expected<std::unique_ptr<Device>> openDevice(Platform platform,
                                             int ordinal = 0);

/// Lists the devices of `platform`; an error when the driver cannot be
/// loaded, an empty list when it has no device.
Expected<std::vector<DeviceInfo>> listDevices(Platform platform);

/// The implementations (CUDADevice.cpp, HIPDevice.cpp).
Expected<std::unique_ptr<Device>> openCUDADevice(int ordinal);
Expected<std::vector<DeviceInfo>> listCUDADevices();
Expected<std::unique_ptr<Device>> openHIPDevice(int ordinal);
Expected<std::vector<DeviceInfo>> listHIPDevices();

} // namespace gpu
} // namespace tessera

#endif // TESSERA_RUNTIME_GPU_DEVICE_H
