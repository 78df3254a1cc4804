//===- HIPDevice.cpp - The HIP device, through the HIP runtime ------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Implements tessera::gpu::Device with the HIP runtime's module API, the
// counterpart of CUDADevice.cpp for AMD GPUs: libamdhip64 is loaded with
// dlopen, its entry points resolved with dlsym, and the few types used are
// declared here (no hip_runtime.h).
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPU/Device.h"

#include <dlfcn.h>

#include <cstdint>

using namespace tessera::gpu;

namespace {

using hipError_t = int;
using hipModule_t = struct ihipModule_t *;
using hipFunction_t = struct ihipModuleSymbol_t *;
using hipEvent_t = struct ihipEvent_t *;
using hipStream_t = struct ihipStream_t *;

constexpr hipError_t hipSuccess = 0;
constexpr hipError_t hipErrorNoDevice = 100;
constexpr int hipMemcpyHostToDevice = 1;
constexpr int hipMemcpyDeviceToHost = 2;

/// The entry points of libamdhip64, resolved once.
struct HIPRuntime {
  /// Why the runtime cannot be used; empty when it can.
  std::string loadError;
  void *library = nullptr;

  hipError_t (*hipInit)(unsigned);
  hipError_t (*hipGetDeviceCount)(int *);
  hipError_t (*hipSetDevice)(int);
  hipError_t (*hipModuleLoadData)(hipModule_t *, const void *);
  hipError_t (*hipModuleGetFunction)(hipFunction_t *, hipModule_t,
                                     const char *);
  hipError_t (*hipModuleUnload)(hipModule_t);
  hipError_t (*hipModuleLaunchKernel)(hipFunction_t, unsigned, unsigned,
                                      unsigned, unsigned, unsigned, unsigned,
                                      unsigned, hipStream_t, void **, void **);
  hipError_t (*hipMalloc)(void **, size_t);
  hipError_t (*hipFree)(void *);
  hipError_t (*hipMemcpy)(void *, const void *, size_t, int);
  hipError_t (*hipMemset)(void *, int, size_t);
  hipError_t (*hipDeviceSynchronize)();
  hipError_t (*hipEventCreate)(hipEvent_t *);
  hipError_t (*hipEventRecord)(hipEvent_t, hipStream_t);
  hipError_t (*hipEventSynchronize)(hipEvent_t);
  hipError_t (*hipEventElapsedTime)(float *, hipEvent_t, hipEvent_t);
  hipError_t (*hipEventDestroy)(hipEvent_t);
  const char *(*hipGetErrorString)(hipError_t);
  /// Optional.
  hipError_t (*hipDeviceGetName)(char *, int, int) = nullptr;
};

template <typename Fn>
bool resolve(void *library, Fn &fn, const char *name, std::string &missing) {
  void *symbol = dlsym(library, name);
  if (!symbol) {
    missing = name;
    return false;
  }
  fn = reinterpret_cast<Fn>(symbol);
  return true;
}

HIPRuntime loadRuntime() {
  HIPRuntime hip;
  std::string firstError;
  const char *libraryName = nullptr;
  for (const char *name :
       {"libamdhip64.so", "libamdhip64.so.6", "libamdhip64.so.5"}) {
    hip.library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (hip.library) {
      libraryName = name;
      break;
    }
    if (firstError.empty()) {
      const char *error = dlerror();
      firstError = error ? error : "unknown error";
    }
  }
  if (!hip.library) {
    hip.loadError =
        "no HIP driver: libamdhip64.so not found (dlopen: " + firstError + ")";
    return hip;
  }

  std::string missing;
  void *lib = hip.library;
  bool ok =
      resolve(lib, hip.hipInit, "hipInit", missing) &&
      resolve(lib, hip.hipGetDeviceCount, "hipGetDeviceCount", missing) &&
      resolve(lib, hip.hipSetDevice, "hipSetDevice", missing) &&
      resolve(lib, hip.hipModuleLoadData, "hipModuleLoadData", missing) &&
      resolve(lib, hip.hipModuleGetFunction, "hipModuleGetFunction", missing) &&
      resolve(lib, hip.hipModuleUnload, "hipModuleUnload", missing) &&
      resolve(lib, hip.hipModuleLaunchKernel, "hipModuleLaunchKernel",
              missing) &&
      resolve(lib, hip.hipMalloc, "hipMalloc", missing) &&
      resolve(lib, hip.hipFree, "hipFree", missing) &&
      resolve(lib, hip.hipMemcpy, "hipMemcpy", missing) &&
      resolve(lib, hip.hipMemset, "hipMemset", missing) &&
      resolve(lib, hip.hipDeviceSynchronize, "hipDeviceSynchronize", missing) &&
      resolve(lib, hip.hipEventCreate, "hipEventCreate", missing) &&
      resolve(lib, hip.hipEventRecord, "hipEventRecord", missing) &&
      resolve(lib, hip.hipEventSynchronize, "hipEventSynchronize", missing) &&
      resolve(lib, hip.hipEventElapsedTime, "hipEventElapsedTime", missing) &&
      resolve(lib, hip.hipEventDestroy, "hipEventDestroy", missing) &&
      resolve(lib, hip.hipGetErrorString, "hipGetErrorString", missing);
  if (!ok) {
    hip.loadError = std::string("unusable HIP driver: ") + libraryName +
                    " does not define " + missing;
    dlclose(hip.library);
    hip.library = nullptr;
    return hip;
  }
  std::string ignored;
  resolve(lib, hip.hipDeviceGetName, "hipDeviceGetName", ignored);
  return hip;
}

const HIPRuntime &getRuntime() {
  static const HIPRuntime hip = loadRuntime();
  return hip;
}

/// "hipXxx failed: <message>" for a failed call.
Status check(hipError_t result, const char *call) {
  if (result == hipSuccess)
    return Status::success();
  const char *message = getRuntime().hipGetErrorString(result);
  return Status::error(std::string(call) + " failed: " +
                       (message ? message : "error " + std::to_string(result)));
}

#define HIP_CHECK(call, ...)                                                   \
  do {                                                                         \
    if (Status status = check(getRuntime().call(__VA_ARGS__), #call);          \
        status.hasFailed())                                                    \
      return status;                                                           \
  } while (false)

/// Loads the runtime, initializes it and returns the number of devices.
Expected<int> initialize() {
  const HIPRuntime &hip = getRuntime();
  if (!hip.loadError.empty())
    return Status::error(hip.loadError);
  // Without a usable AMD GPU, hipInit fails (with hipErrorNoDevice, or with
  // hipErrorInvalidDevice where the library is installed without one).
  hipError_t result = hip.hipInit(0);
  if (result == hipErrorNoDevice)
    return Status::error("no HIP device");
  if (Status status = check(result, "hipInit"); status.hasFailed())
    return Status::error("no HIP device (" + status.getMessage() + ")");
  int count = 0;
  result = hip.hipGetDeviceCount(&count);
  if (result == hipErrorNoDevice)
    return Status::error("no HIP device");
  if (Status status = check(result, "hipGetDeviceCount"); status.hasFailed())
    return status;
  return count;
}

DeviceInfo getDeviceInfo(int ordinal) {
  DeviceInfo info;
  info.platform = Platform::HIP;
  info.ordinal = ordinal;
  char name[256] = {0};
  if (getRuntime().hipDeviceGetName &&
      getRuntime().hipDeviceGetName(name, sizeof(name) - 1, ordinal) ==
          hipSuccess)
    info.name = name;
  else
    info.name = "AMD GPU";
  return info;
}

class HIPDevice : public Device {
public:
  explicit HIPDevice(DeviceInfo info) : info(std::move(info)) {}
  ~HIPDevice() override;

  const DeviceInfo &getInfo() const override { return info; }
  Expected<DevicePtr> allocate(size_t bytes) override;
  Status free(DevicePtr ptr) override;
  Status memset(DevicePtr ptr, uint8_t value, size_t bytes) override;
  Status copyToDevice(DevicePtr dst, const void *src, size_t bytes) override;
  Status copyToHost(void *dst, DevicePtr src, size_t bytes) override;
  Expected<ModuleHandle> loadModule(std::string_view image) override;
  Status unloadModule(ModuleHandle module) override;
  Expected<KernelHandle> getKernel(ModuleHandle module,
                                   const std::string &name) override;
  Status launch(KernelHandle kernel, const LaunchDims &dims,
                void **args) override;
  Status synchronize() override;
  Expected<float> time(const std::function<Status()> &body) override;

private:
  DeviceInfo info;
  hipEvent_t events[2] = {nullptr, nullptr};
};

void *toPointer(DevicePtr ptr) {
  return reinterpret_cast<void *>(static_cast<uintptr_t>(ptr));
}

} // namespace

HIPDevice::~HIPDevice() {
  for (hipEvent_t event : events)
    if (event)
      getRuntime().hipEventDestroy(event);
}

Expected<DevicePtr> HIPDevice::allocate(size_t bytes) {
  void *ptr = nullptr;
  HIP_CHECK(hipMalloc, &ptr, bytes ? bytes : 1);
  return static_cast<DevicePtr>(reinterpret_cast<uintptr_t>(ptr));
}

Status HIPDevice::free(DevicePtr ptr) {
  HIP_CHECK(hipFree, toPointer(ptr));
  return Status::success();
}

Status HIPDevice::memset(DevicePtr ptr, uint8_t value, size_t bytes) {
  if (bytes)
    HIP_CHECK(hipMemset, toPointer(ptr), value, bytes);
  return Status::success();
}

Status HIPDevice::copyToDevice(DevicePtr dst, const void *src, size_t bytes) {
  if (bytes)
    HIP_CHECK(hipMemcpy, toPointer(dst), src, bytes, hipMemcpyHostToDevice);
  return Status::success();
}

Status HIPDevice::copyToHost(void *dst, DevicePtr src, size_t bytes) {
  if (bytes)
    HIP_CHECK(hipMemcpy, dst, toPointer(src), bytes, hipMemcpyDeviceToHost);
  return Status::success();
}

Expected<ModuleHandle> HIPDevice::loadModule(std::string_view image) {
  std::string copy(image);
  hipModule_t module = nullptr;
  HIP_CHECK(hipModuleLoadData, &module, copy.data());
  return static_cast<ModuleHandle>(module);
}

Status HIPDevice::unloadModule(ModuleHandle module) {
  HIP_CHECK(hipModuleUnload, static_cast<hipModule_t>(module));
  return Status::success();
}

Expected<KernelHandle> HIPDevice::getKernel(ModuleHandle module,
                                            const std::string &name) {
  hipFunction_t function = nullptr;
  Status status =
      check(getRuntime().hipModuleGetFunction(
                &function, static_cast<hipModule_t>(module), name.c_str()),
            "hipModuleGetFunction");
  if (status.hasFailed())
    return Status::error(status.getMessage() + " (kernel '" + name + "')");
  return static_cast<KernelHandle>(function);
}

Status HIPDevice::launch(KernelHandle kernel, const LaunchDims &dims,
                         void **args) {
  HIP_CHECK(hipModuleLaunchKernel, static_cast<hipFunction_t>(kernel),
            dims.grid[0], dims.grid[1], dims.grid[2], dims.block[0],
            dims.block[1], dims.block[2], dims.sharedBytes, nullptr, args,
            nullptr);
  return Status::success();
}

Status HIPDevice::synchronize() {
  HIP_CHECK(hipDeviceSynchronize);
  return Status::success();
}

Expected<float> HIPDevice::time(const std::function<Status()> &body) {
  for (hipEvent_t &event : events)
    if (!event)
      HIP_CHECK(hipEventCreate, &event);
  HIP_CHECK(hipEventRecord, events[0], nullptr);
  if (Status status = body(); status.hasFailed())
    return status;
  HIP_CHECK(hipEventRecord, events[1], nullptr);
  HIP_CHECK(hipEventSynchronize, events[1]);
  float ms = 0.0f;
  HIP_CHECK(hipEventElapsedTime, &ms, events[0], events[1]);
  return ms;
}

Expected<std::unique_ptr<Device>> tessera::gpu::openHIPDevice(int ordinal) {
  Expected<int> count = initialize();
  if (!count)
    return count.getStatus();
  if (*count == 0)
    return Status::error("no HIP device");
  if (ordinal < 0 || ordinal >= *count)
    return Status::error("no HIP device " + std::to_string(ordinal) +
                         " (the machine has " + std::to_string(*count) + ")");
  HIP_CHECK(hipSetDevice, ordinal);
  return std::unique_ptr<Device>(
      std::make_unique<HIPDevice>(getDeviceInfo(ordinal)));
}

Expected<std::vector<DeviceInfo>> tessera::gpu::listHIPDevices() {
  Expected<int> count = initialize();
  if (!count) {
    if (count.getError() == "no HIP device")
      return std::vector<DeviceInfo>();
    return count.getStatus();
  }
  std::vector<DeviceInfo> devices;
  for (int ordinal = 0; ordinal < *count; ++ordinal)
    devices.push_back(getDeviceInfo(ordinal));
  return devices;
}
