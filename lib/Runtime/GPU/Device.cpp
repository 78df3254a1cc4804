//===- Device.cpp - A vendor-neutral GPU device interface -----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPU/Device.h"

using namespace tessera::gpu;

Device::~Device() = default;

const char *tessera::gpu::getPlatformName(Platform platform) {
  return platform == Platform::CUDA ? "cuda" : "hip";
}

bool tessera::gpu::parsePlatform(std::string_view name, Platform &platform) {
  if (name == "cuda")
    platform = Platform::CUDA;
  else if (name == "hip")
    platform = Platform::HIP;
  else
    return false;
  return true;
}

std::string DeviceInfo::describe() const {
  std::string result = std::string(getPlatformName(platform)) + ":" +
                       std::to_string(ordinal) + " " + name;
  if (!arch.empty())
    result += " " + arch;
  return result;
}

Expected<std::unique_ptr<Device>> tessera::gpu::openDevice(Platform platform,
                                                           int ordinal) {
  if (platform == Platform::CUDA)
    return openCUDADevice(ordinal);
  return openHIPDevice(ordinal);
}

Expected<std::vector<DeviceInfo>> tessera::gpu::listDevices(Platform platform) {
  if (platform == Platform::CUDA)
    return listCUDADevices();
  return listHIPDevices();
}
