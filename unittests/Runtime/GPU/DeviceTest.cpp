//===- DeviceTest.cpp - Tests of opening CUDA and HIP devices -------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Opening a device must work on a machine with a GPU and report an error,
// never crash, on one without a driver or a device (like the build machines).
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPU/Device.h"

#include "gtest/gtest.h"

#include <dlfcn.h>

using namespace tessera::gpu;

namespace {

bool hasLibrary(const char *name) {
  void *library = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
  if (library)
    dlclose(library);
  return library != nullptr;
}

TEST(GPUDeviceTest, OpensCUDAOrReportsWhyNot) {
  Expected<std::unique_ptr<Device>> device = openDevice(Platform::CUDA);
  Expected<std::vector<DeviceInfo>> devices = listDevices(Platform::CUDA);
  if (!hasLibrary("libcuda.so.1") && !hasLibrary("libcuda.so")) {
    ASSERT_FALSE(static_cast<bool>(device));
    EXPECT_EQ(device.getError().rfind(
                  "no CUDA driver: libcuda.so.1 not found (dlopen: ", 0),
              0u)
        << device.getError();
    ASSERT_FALSE(static_cast<bool>(devices));
    EXPECT_EQ(devices.getError(), device.getError());
    return;
  }
  if (!device) {
    EXPECT_FALSE(device.getError().empty());
    return;
  }
  const DeviceInfo &info = (*device)->getInfo();
  EXPECT_EQ(info.platform, Platform::CUDA);
  EXPECT_FALSE(info.name.empty());
  EXPECT_EQ(info.arch.rfind("sm_", 0), 0u);
  ASSERT_TRUE(static_cast<bool>(devices)) << devices.getError();
  ASSERT_FALSE(devices->empty());
  EXPECT_EQ((*devices)[0].describe(), info.describe());

  // A round trip through device memory.
  Expected<DevicePtr> ptr = (*device)->allocate(16);
  ASSERT_TRUE(static_cast<bool>(ptr)) << ptr.getError();
  uint8_t in[16], out[16];
  for (int i = 0; i < 16; ++i)
    in[i] = static_cast<uint8_t>(i * 7);
  ASSERT_TRUE((*device)->copyToDevice(*ptr, in, 16).succeeded());
  ASSERT_TRUE((*device)->memset(*ptr + 8, 0xab, 4).succeeded());
  ASSERT_TRUE((*device)->copyToHost(out, *ptr, 16).succeeded());
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(out[i], i >= 8 && i < 12 ? 0xab : in[i]);
  EXPECT_TRUE((*device)->free(*ptr).succeeded());

  // A bad image is an error with the driver's message.
  Expected<ModuleHandle> module = (*device)->loadModule("not an image");
  ASSERT_FALSE(static_cast<bool>(module));
  EXPECT_EQ(module.getError().rfind("cuModuleLoadDataEx failed: ", 0), 0u);
}

TEST(GPUDeviceTest, OpensHIPOrReportsWhyNot) {
  Expected<std::unique_ptr<Device>> device = openDevice(Platform::HIP);
  if (!hasLibrary("libamdhip64.so") && !hasLibrary("libamdhip64.so.6") &&
      !hasLibrary("libamdhip64.so.5")) {
    ASSERT_FALSE(static_cast<bool>(device));
    EXPECT_EQ(device.getError().rfind(
                  "no HIP driver: libamdhip64.so not found (dlopen: ", 0),
              0u)
        << device.getError();
    return;
  }
  if (!device)
    EXPECT_FALSE(device.getError().empty());
}

TEST(GPUDeviceTest, PlatformNames) {
  Platform platform;
  ASSERT_TRUE(parsePlatform("hip", platform));
  EXPECT_EQ(platform, Platform::HIP);
  EXPECT_STREQ(getPlatformName(Platform::CUDA), "cuda");
  EXPECT_FALSE(parsePlatform("metal", platform));
  DeviceInfo info;
  info.ordinal = 1;
  info.name = "NVIDIA H100 80GB HBM3";
  info.arch = "sm_90";
  EXPECT_EQ(info.describe(), "cuda:1 NVIDIA H100 80GB HBM3 sm_90");
}

} // namespace
