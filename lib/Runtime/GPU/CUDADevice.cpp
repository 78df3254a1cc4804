//===- CUDADevice.cpp - The CUDA device, through the driver API -----------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Implements tessera::gpu::Device with the CUDA driver API. libcuda is loaded
// with dlopen and its entry points resolved with dlsym, so the runtime links
// against no CUDA library and needs no cuda.h: the handful of types and enum
// values used are declared below (they are part of the stable driver ABI).
// Each entry point is the versioned symbol the CUDA 12 headers bind to.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPU/Device.h"

#include <dlfcn.h>

#include <cstdint>
#include <unordered_map>

using namespace tessera::gpu;

namespace {

//===----------------------------------------------------------------------===//
// The driver API
//===----------------------------------------------------------------------===//

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUevent = struct CUevent_st *;
using CUstream = struct CUstream_st *;
using CUjit_option = int;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
/// Launches with more dynamic shared memory than this must opt in.
constexpr unsigned kDefaultMaxSharedBytes = 48 * 1024;

/// The entry points of libcuda, resolved once.
struct CUDADriver {
  /// Why the driver cannot be used; empty when it can.
  std::string loadError;
  void *library = nullptr;

  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int *);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned,
                                 CUjit_option *, void **);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuGetErrorString)(CUresult, const char **);
};

/// Resolves the first of `names` that the library defines into `fn`.
template <typename Fn>
bool resolve(void *library, Fn &fn, std::initializer_list<const char *> names,
             std::string &missing) {
  for (const char *name : names) {
    if (void *symbol = dlsym(library, name)) {
      fn = reinterpret_cast<Fn>(symbol);
      return true;
    }
  }
  missing = *names.begin();
  return false;
}

CUDADriver loadDriver() {
  CUDADriver driver;
  const char *libraryName = "libcuda.so.1";
  driver.library = dlopen(libraryName, RTLD_NOW | RTLD_LOCAL);
  if (!driver.library) {
    const char *error = dlerror();
    std::string firstError = error ? error : "unknown error";
    driver.library = dlopen("libcuda.so", RTLD_NOW | RTLD_LOCAL);
    if (!driver.library) {
      driver.loadError =
          "no CUDA driver: libcuda.so.1 not found (dlopen: " + firstError + ")";
      return driver;
    }
    libraryName = "libcuda.so";
  }

  std::string missing;
  void *lib = driver.library;
  bool ok =
      resolve(lib, driver.cuInit, {"cuInit"}, missing) &&
      resolve(lib, driver.cuDriverGetVersion, {"cuDriverGetVersion"},
              missing) &&
      resolve(lib, driver.cuDeviceGetCount, {"cuDeviceGetCount"}, missing) &&
      resolve(lib, driver.cuDeviceGet, {"cuDeviceGet"}, missing) &&
      resolve(lib, driver.cuDeviceGetName, {"cuDeviceGetName"}, missing) &&
      resolve(lib, driver.cuDeviceGetAttribute, {"cuDeviceGetAttribute"},
              missing) &&
      resolve(lib, driver.cuDevicePrimaryCtxRetain,
              {"cuDevicePrimaryCtxRetain"}, missing) &&
      resolve(lib, driver.cuDevicePrimaryCtxRelease,
              {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"},
              missing) &&
      resolve(lib, driver.cuCtxSetCurrent, {"cuCtxSetCurrent"}, missing) &&
      resolve(lib, driver.cuCtxSynchronize, {"cuCtxSynchronize"}, missing) &&
      resolve(lib, driver.cuModuleLoadDataEx, {"cuModuleLoadDataEx"},
              missing) &&
      resolve(lib, driver.cuModuleGetFunction, {"cuModuleGetFunction"},
              missing) &&
      resolve(lib, driver.cuModuleUnload, {"cuModuleUnload"}, missing) &&
      resolve(lib, driver.cuMemAlloc, {"cuMemAlloc_v2"}, missing) &&
      resolve(lib, driver.cuMemFree, {"cuMemFree_v2"}, missing) &&
      resolve(lib, driver.cuMemcpyHtoD, {"cuMemcpyHtoD_v2"}, missing) &&
      resolve(lib, driver.cuMemcpyDtoH, {"cuMemcpyDtoH_v2"}, missing) &&
      resolve(lib, driver.cuMemsetD8, {"cuMemsetD8_v2"}, missing) &&
      resolve(lib, driver.cuLaunchKernel, {"cuLaunchKernel"}, missing) &&
      resolve(lib, driver.cuFuncSetAttribute, {"cuFuncSetAttribute"},
              missing) &&
      resolve(lib, driver.cuEventCreate, {"cuEventCreate"}, missing) &&
      resolve(lib, driver.cuEventRecord, {"cuEventRecord"}, missing) &&
      resolve(lib, driver.cuEventSynchronize, {"cuEventSynchronize"},
              missing) &&
      resolve(lib, driver.cuEventElapsedTime,
              {"cuEventElapsedTime_v2", "cuEventElapsedTime"}, missing) &&
      resolve(lib, driver.cuEventDestroy,
              {"cuEventDestroy_v2", "cuEventDestroy"}, missing) &&
      resolve(lib, driver.cuGetErrorString, {"cuGetErrorString"}, missing);
  if (!ok) {
    driver.loadError = std::string("unusable CUDA driver: ") + libraryName +
                       " does not define " + missing;
    dlclose(driver.library);
    driver.library = nullptr;
  }
  return driver;
}

/// The driver, loaded on first use.
const CUDADriver &getDriver() {
  static const CUDADriver driver = loadDriver();
  return driver;
}

/// "cuXxx failed: <message>" for a failed call.
Status check(CUresult result, const char *call) {
  if (result == CUDA_SUCCESS)
    return Status::success();
  const char *message = nullptr;
  if (getDriver().cuGetErrorString(result, &message) != CUDA_SUCCESS ||
      !message)
    return Status::error(std::string(call) + " failed: error " +
                         std::to_string(result));
  return Status::error(std::string(call) + " failed: " + message);
}

#define CU_CHECK(call, ...)                                                    \
  do {                                                                         \
    if (Status status = check(getDriver().call(__VA_ARGS__), #call);           \
        status.hasFailed())                                                    \
      return status;                                                           \
  } while (false)

/// Loads the driver, initializes it and returns the number of devices.
Expected<int> initialize() {
  const CUDADriver &driver = getDriver();
  if (!driver.loadError.empty())
    return Status::error(driver.loadError);
  CUresult result = driver.cuInit(0);
  if (result == CUDA_ERROR_NO_DEVICE)
    return Status::error("no CUDA device");
  if (Status status = check(result, "cuInit"); status.hasFailed())
    return status;
  int count = 0;
  CU_CHECK(cuDeviceGetCount, &count);
  return count;
}

Expected<DeviceInfo> getDeviceInfo(int ordinal, CUdevice &device) {
  CU_CHECK(cuDeviceGet, &device, ordinal);
  char name[256] = {0};
  CU_CHECK(cuDeviceGetName, name, static_cast<int>(sizeof(name) - 1), device);
  int major = 0, minor = 0;
  CU_CHECK(cuDeviceGetAttribute, &major,
           CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
  CU_CHECK(cuDeviceGetAttribute, &minor,
           CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  DeviceInfo info;
  info.platform = Platform::CUDA;
  info.ordinal = ordinal;
  info.name = name;
  info.arch = "sm_" + std::to_string(major) + std::to_string(minor);
  return info;
}

//===----------------------------------------------------------------------===//
// CUDADevice
//===----------------------------------------------------------------------===//

class CUDADevice : public Device {
public:
  CUDADevice(DeviceInfo info, CUdevice device, CUcontext context)
      : info(std::move(info)), device(device), context(context) {}
  ~CUDADevice() override;

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
  CUdevice device;
  CUcontext context;
  CUevent events[2] = {nullptr, nullptr};
  /// The dynamic shared memory each kernel has been enabled for.
  std::unordered_map<CUfunction, unsigned> sharedLimits;
};

} // namespace

CUDADevice::~CUDADevice() {
  const CUDADriver &driver = getDriver();
  driver.cuCtxSetCurrent(context);
  for (CUevent event : events)
    if (event)
      driver.cuEventDestroy(event);
  driver.cuDevicePrimaryCtxRelease(device);
}

Expected<DevicePtr> CUDADevice::allocate(size_t bytes) {
  CUdeviceptr ptr = 0;
  CU_CHECK(cuMemAlloc, &ptr, bytes ? bytes : 1);
  return static_cast<DevicePtr>(ptr);
}

Status CUDADevice::free(DevicePtr ptr) {
  CU_CHECK(cuMemFree, ptr);
  return Status::success();
}

Status CUDADevice::memset(DevicePtr ptr, uint8_t value, size_t bytes) {
  if (bytes)
    CU_CHECK(cuMemsetD8, ptr, value, bytes);
  return Status::success();
}

Status CUDADevice::copyToDevice(DevicePtr dst, const void *src, size_t bytes) {
  if (bytes)
    CU_CHECK(cuMemcpyHtoD, dst, src, bytes);
  return Status::success();
}

Status CUDADevice::copyToHost(void *dst, DevicePtr src, size_t bytes) {
  if (bytes)
    CU_CHECK(cuMemcpyDtoH, dst, src, bytes);
  return Status::success();
}

Expected<ModuleHandle> CUDADevice::loadModule(std::string_view image) {
  // PTX must be NUL-terminated; a copy also aligns the image.
  std::string copy(image);
  std::string log(16384, '\0');
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log.data(), reinterpret_cast<void *>(
                                    static_cast<uintptr_t>(log.size() - 1))};
  CUmodule module = nullptr;
  Status status = check(
      getDriver().cuModuleLoadDataEx(&module, copy.c_str(), 2, options, values),
      "cuModuleLoadDataEx");
  if (status.hasFailed()) {
    log.resize(log.find('\0'));
    while (!log.empty() && (log.back() == '\n' || log.back() == ' '))
      log.pop_back();
    if (log.empty())
      return status;
    return Status::error(status.getMessage() + "\nJIT log:\n" + log);
  }
  return static_cast<ModuleHandle>(module);
}

Status CUDADevice::unloadModule(ModuleHandle module) {
  CU_CHECK(cuModuleUnload, static_cast<CUmodule>(module));
  return Status::success();
}

Expected<KernelHandle> CUDADevice::getKernel(ModuleHandle module,
                                             const std::string &name) {
  CUfunction function = nullptr;
  Status status =
      check(getDriver().cuModuleGetFunction(
                &function, static_cast<CUmodule>(module), name.c_str()),
            "cuModuleGetFunction");
  if (status.hasFailed())
    return Status::error(status.getMessage() + " (kernel '" + name + "')");
  return static_cast<KernelHandle>(function);
}

Status CUDADevice::launch(KernelHandle kernel, const LaunchDims &dims,
                          void **args) {
  auto function = static_cast<CUfunction>(kernel);
  if (dims.sharedBytes > kDefaultMaxSharedBytes) {
    unsigned &limit = sharedLimits[function];
    if (limit < dims.sharedBytes) {
      CU_CHECK(cuFuncSetAttribute, function,
               CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
               static_cast<int>(dims.sharedBytes));
      limit = dims.sharedBytes;
    }
  }
  CU_CHECK(cuLaunchKernel, function, dims.grid[0], dims.grid[1], dims.grid[2],
           dims.block[0], dims.block[1], dims.block[2], dims.sharedBytes,
           nullptr, args, nullptr);
  return Status::success();
}

Status CUDADevice::synchronize() {
  CU_CHECK(cuCtxSynchronize);
  return Status::success();
}

Expected<float> CUDADevice::time(const std::function<Status()> &body) {
  for (CUevent &event : events)
    if (!event)
      CU_CHECK(cuEventCreate, &event, 0);
  CU_CHECK(cuEventRecord, events[0], nullptr);
  if (Status status = body(); status.hasFailed())
    return status;
  CU_CHECK(cuEventRecord, events[1], nullptr);
  CU_CHECK(cuEventSynchronize, events[1]);
  float ms = 0.0f;
  CU_CHECK(cuEventElapsedTime, &ms, events[0], events[1]);
  return ms;
}

Expected<std::unique_ptr<Device>> tessera::gpu::openCUDADevice(int ordinal) {
  Expected<int> count = initialize();
  if (!count)
    return count.getStatus();
  if (*count == 0)
    return Status::error("no CUDA device");
  if (ordinal < 0 || ordinal >= *count)
    return Status::error("no CUDA device " + std::to_string(ordinal) +
                         " (the machine has " + std::to_string(*count) + ")");
  CUdevice device = 0;
  Expected<DeviceInfo> info = getDeviceInfo(ordinal, device);
  if (!info)
    return info.getStatus();
  CUcontext context = nullptr;
  CU_CHECK(cuDevicePrimaryCtxRetain, &context, device);
  if (Status status =
          check(getDriver().cuCtxSetCurrent(context), "cuCtxSetCurrent");
      status.hasFailed()) {
    getDriver().cuDevicePrimaryCtxRelease(device);
    return status;
  }
  return std::unique_ptr<Device>(
      std::make_unique<CUDADevice>(std::move(*info), device, context));
}

Expected<std::vector<DeviceInfo>> tessera::gpu::listCUDADevices() {
  Expected<int> count = initialize();
  if (!count) {
    if (count.getError() == "no CUDA device")
      return std::vector<DeviceInfo>();
    return count.getStatus();
  }
  std::vector<DeviceInfo> devices;
  for (int ordinal = 0; ordinal < *count; ++ordinal) {
    CUdevice device;
    Expected<DeviceInfo> info = getDeviceInfo(ordinal, device);
    if (!info)
      return info.getStatus();
    devices.push_back(std::move(*info));
  }
  return devices;
}
