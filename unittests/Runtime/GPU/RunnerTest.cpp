//===- RunnerTest.cpp - Tests of the GPU runner ---------------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Input binding and conversion, and the runner on a fake device whose
// "kernels" are host functions: buffer allocation and zero-filling, the
// parameters passed to each launch, the launch order, result copies and the
// bench statistics.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPU/Runner.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <map>

using namespace tessera::gpu;

namespace {

const char *kArtifact = "tessera-gpu-artifact 1\n"
                        "target nvptx sm_90a\n"
                        "image ptx 5\n"
                        "function f\n"
                        "buffer 0 input 0 f32 2x2\n"
                        "buffer 1 input 1 i32 -\n"
                        "buffer 2 output 0 f32 2x2\n"
                        "buffer 3 temp 16\n"
                        "buffer 4 input 2 bf16 3\n"
                        "buffer 5 output 1 bf16 3\n"
                        "launch accumulate 1 1 1 4 1 1 0 b1 b3\n"
                        "launch axpy 1 1 1 4 1 1 65536 b0 b3 b2 f32:2.5 i64:4\n"
                        "launch copy16 1 1 1 3 1 1 0 b4 b5 i32:3\n"
                        "end\n"
                        "data\n"
                        "image";

Artifact parse(const char *text) {
  Expected<Artifact> artifact = parseArtifact(text);
  EXPECT_TRUE(static_cast<bool>(artifact)) << artifact.getError();
  return *artifact;
}

NpyArray makeF32(std::vector<int64_t> shape, std::vector<float> values) {
  NpyArray array;
  array.dtype = NpyDType::F32;
  array.shape = std::move(shape);
  array.data.resize(values.size() * 4);
  std::memcpy(array.data.data(), values.data(), array.data.size());
  return array;
}

NpyArray makeI32(std::vector<int64_t> shape, std::vector<int32_t> values) {
  NpyArray array;
  array.dtype = NpyDType::I32;
  array.shape = std::move(shape);
  array.data.resize(values.size() * 4);
  std::memcpy(array.data.data(), values.data(), array.data.size());
  return array;
}

template <typename T>
std::vector<T> getValues(const std::vector<uint8_t> &data) {
  std::vector<T> values(data.size() / sizeof(T));
  std::memcpy(values.data(), data.data(), data.size());
  return values;
}

//===----------------------------------------------------------------------===//
// Input binding
//===----------------------------------------------------------------------===//

TEST(GPURunnerTest, RoundsF32InputsToBF16) {
  Artifact artifact = parse(kArtifact);
  const Function &f = artifact.functions[0];
  // 1 + 2^-8 and 1 + 3 * 2^-8 are ties between two bf16 values: they round
  // to the even one. 1 + 2^-8 + 2^-20 is above the tie.
  NpyArray array = makeF32({3}, {1.00390625f, 1.01171875f, 1.00390720f});
  Expected<HostTensor> tensor = convertInput(f, 2, array, "input #2");
  ASSERT_TRUE(static_cast<bool>(tensor)) << tensor.getError();
  EXPECT_EQ(tensor->dtype, DType::BF16);
  EXPECT_EQ(getValues<uint16_t>(tensor->data),
            (std::vector<uint16_t>{0x3f80, 0x3f82, 0x3f81}));

  // Back to f32 for the output files: exact.
  NpyArray output = convertOutput(*tensor);
  EXPECT_EQ(output.dtype, NpyDType::F32);
  EXPECT_EQ(output.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(getValues<float>(output.data),
            (std::vector<float>{1.0f, 1.015625f, 1.0078125f}));
}

TEST(GPURunnerTest, RoundsF32InputsToF16) {
  Artifact artifact = parse("tessera-gpu-artifact 1\ntarget nvptx sm_90\n"
                            "image ptx 0\nfunction h\n"
                            "buffer 0 input 0 f16 3\nend\ndata\n");
  const Function &h = artifact.functions[0];
  Expected<HostTensor> tensor =
      convertInput(h, 0, makeF32({3}, {1.0f, -2.0f, 65520.0f}), "x");
  ASSERT_TRUE(static_cast<bool>(tensor)) << tensor.getError();
  EXPECT_EQ(getValues<uint16_t>(tensor->data),
            (std::vector<uint16_t>{0x3c00, 0xc000, 0x7c00}));

  // f16 data is taken as is.
  NpyArray halves;
  halves.dtype = NpyDType::F16;
  halves.shape = {3};
  halves.data = {1, 2, 3, 4, 5, 6};
  tensor = convertInput(h, 0, halves, "x");
  ASSERT_TRUE(static_cast<bool>(tensor)) << tensor.getError();
  EXPECT_EQ(tensor->data, halves.data);
}

TEST(GPURunnerTest, NormalizesBoolInputs) {
  Artifact artifact = parse("tessera-gpu-artifact 1\ntarget nvptx sm_90\n"
                            "image ptx 0\nfunction m\n"
                            "buffer 0 input 0 i1 3\n"
                            "buffer 1 output 0 i1 3\nend\ndata\n");
  NpyArray mask;
  mask.dtype = NpyDType::U8;
  mask.shape = {3};
  mask.data = {0, 7, 1};
  Expected<HostTensor> tensor =
      convertInput(artifact.functions[0], 0, mask, "m");
  ASSERT_TRUE(static_cast<bool>(tensor)) << tensor.getError();
  EXPECT_EQ(tensor->data, (std::vector<uint8_t>{0, 1, 1}));
  EXPECT_EQ(convertOutput(*tensor).dtype, NpyDType::Bool);
}

TEST(GPURunnerTest, ReportsMismatchedInputs) {
  Artifact artifact = parse(kArtifact);
  const Function &f = artifact.functions[0];
  NpyArray x = makeF32({2, 2}, {1, 2, 3, 4});
  NpyArray n = makeI32({}, {3});
  NpyArray h = makeF32({3}, {1, 2, 3});

  Expected<std::vector<HostTensor>> bound = bindInputs(f, {x, n});
  ASSERT_FALSE(static_cast<bool>(bound));
  EXPECT_EQ(bound.getError(),
            "function 'f' takes 3 arguments but 2 inputs were given");

  bound =
      bindInputs(f, {x, x, h}, {"input #0 ('x.npy')", "input #1 ('y.npy')"});
  ASSERT_FALSE(static_cast<bool>(bound));
  EXPECT_EQ(bound.getError(),
            "input #1 ('y.npy'): element type f32 does not match argument #1 "
            "of function 'f' (i32 -) (expected i32 data)");

  bound = bindInputs(f, {x, n, makeI32({3}, {1, 2, 3})});
  ASSERT_FALSE(static_cast<bool>(bound));
  EXPECT_EQ(bound.getError(),
            "input #2: element type i32 does not match argument #2 of "
            "function 'f' (bf16 3) (expected f32 data)");

  bound = bindInputs(f, {makeF32({4}, {1, 2, 3, 4}), n, h});
  ASSERT_FALSE(static_cast<bool>(bound));
  EXPECT_EQ(bound.getError(),
            "input #0: shape (4,) does not match argument #0 of function 'f' "
            "(f32 2x2) (expected shape (2, 2))");

  bound = bindInputs(f, {x, n, h});
  ASSERT_TRUE(static_cast<bool>(bound)) << bound.getError();
  EXPECT_EQ(bound->size(), 3u);
}

//===----------------------------------------------------------------------===//
// A fake device
//===----------------------------------------------------------------------===//

/// A device whose memory is host memory and whose kernels are host
/// functions of the launch parameters.
class FakeDevice : public Device {
public:
  using Kernel = std::function<void(FakeDevice &, const LaunchDims &, void **)>;

  FakeDevice() {
    info.name = "Fake GPU";
    info.arch = "sm_80";
  }

  const DeviceInfo &getInfo() const override { return info; }
  Expected<DevicePtr> allocate(size_t bytes) override {
    DevicePtr ptr = nextPtr;
    nextPtr += 0x10000;
    // Filled with garbage: the runner must zero-fill.
    memory[ptr].assign(bytes, 0xcd);
    return ptr;
  }
  Status free(DevicePtr ptr) override {
    memory.erase(ptr);
    ++numFrees;
    return Status::success();
  }
  Status memset(DevicePtr ptr, uint8_t value, size_t bytes) override {
    std::memset(memory.at(ptr).data(), value, bytes);
    return Status::success();
  }
  Status copyToDevice(DevicePtr dst, const void *src, size_t bytes) override {
    std::memcpy(memory.at(dst).data(), src, bytes);
    return Status::success();
  }
  Status copyToHost(void *dst, DevicePtr src, size_t bytes) override {
    std::memcpy(dst, memory.at(src).data(), bytes);
    return Status::success();
  }
  Expected<ModuleHandle> loadModule(std::string_view image) override {
    if (image != "image")
      return Status::error("cuModuleLoadDataEx failed: device kernel image "
                           "is invalid");
    loaded = true;
    return reinterpret_cast<ModuleHandle>(this);
  }
  Status unloadModule(ModuleHandle) override {
    loaded = false;
    return Status::success();
  }
  Expected<KernelHandle> getKernel(ModuleHandle,
                                   const std::string &name) override {
    auto it = kernels.find(name);
    if (it == kernels.end())
      return Status::error("cuModuleGetFunction failed: named symbol not "
                           "found (kernel '" +
                           name + "')");
    return static_cast<KernelHandle>(&it->second);
  }
  Status launch(KernelHandle kernel, const LaunchDims &dims,
                void **args) override {
    ++numLaunches;
    (*static_cast<Kernel *>(kernel))(*this, dims, args);
    return Status::success();
  }
  Status synchronize() override { return Status::success(); }
  Expected<float> time(const std::function<Status()> &body) override {
    if (Status status = body(); status.hasFailed())
      return status;
    float times[] = {3.0f, 1.0f, 2.0f, 5.0f};
    return times[numTimings++ % 4];
  }

  template <typename T> T *get(void *arg) {
    return reinterpret_cast<T *>(
        memory.at(*static_cast<DevicePtr *>(arg)).data());
  }

  DeviceInfo info;
  std::map<DevicePtr, std::vector<uint8_t>> memory;
  std::map<std::string, Kernel> kernels;
  DevicePtr nextPtr = 0x10000;
  bool loaded = false;
  unsigned numLaunches = 0, numFrees = 0, numTimings = 0;
};

/// Registers the kernels of kArtifact.
void addKernels(FakeDevice &device) {
  // temp[i] += n (as float), for 4 floats.
  device.kernels["accumulate"] = [](FakeDevice &d, const LaunchDims &,
                                    void **args) {
    int32_t n = *d.get<int32_t>(args[0]);
    float *temp = d.get<float>(args[1]);
    for (int i = 0; i < 4; ++i)
      temp[i] += static_cast<float>(n);
  };
  // out[i] = a * x[i] + temp[i] for i < count.
  device.kernels["axpy"] = [](FakeDevice &d, const LaunchDims &dims,
                              void **args) {
    EXPECT_EQ(dims.sharedBytes, 65536u);
    const float *x = d.get<float>(args[0]);
    const float *temp = d.get<float>(args[1]);
    float *out = d.get<float>(args[2]);
    float a = *static_cast<float *>(args[3]);
    int64_t count = *static_cast<int64_t *>(args[4]);
    for (int64_t i = 0; i < count; ++i)
      out[i] = a * x[i] + temp[i];
  };
  device.kernels["copy16"] = [](FakeDevice &d, const LaunchDims &dims,
                                void **args) {
    EXPECT_EQ(dims.block[0], 3u);
    const uint16_t *src = d.get<uint16_t>(args[0]);
    uint16_t *dst = d.get<uint16_t>(args[1]);
    int32_t count = *static_cast<int32_t *>(args[2]);
    for (int32_t i = 0; i < count; ++i)
      dst[i] = src[i];
  };
}

TEST(GPURunnerTest, RunsTheLaunchListOnADevice) {
  Artifact artifact = parse(kArtifact);
  const Function &f = artifact.functions[0];
  FakeDevice device;
  addKernels(device);
  Expected<std::vector<HostTensor>> inputs =
      bindInputs(f, {makeF32({2, 2}, {1, 2, 3, 4}), makeI32({}, {10}),
                     makeF32({3}, {1.0f, 2.0f, -0.5f})});
  ASSERT_TRUE(static_cast<bool>(inputs)) << inputs.getError();

  Expected<std::unique_ptr<Runner>> runner =
      Runner::create(device, artifact, f);
  ASSERT_TRUE(static_cast<bool>(runner)) << runner.getError();
  EXPECT_TRUE(device.loaded);
  EXPECT_EQ(device.memory.size(), 6u);
  for (const auto &[ptr, bytes] : device.memory)
    for (uint8_t byte : bytes)
      ASSERT_EQ(byte, 0);

  ASSERT_TRUE((*runner)->setInputs(*inputs).succeeded());
  // Running twice gives the same results: the temporary buffer is zeroed
  // before each run.
  for (int run = 0; run < 2; ++run) {
    Status status = (*runner)->run();
    ASSERT_TRUE(status.succeeded()) << status.getMessage();
    Expected<std::vector<HostTensor>> results = (*runner)->readOutputs();
    ASSERT_TRUE(static_cast<bool>(results)) << results.getError();
    ASSERT_EQ(results->size(), 2u);
    EXPECT_EQ((*results)[0].dtype, DType::F32);
    EXPECT_EQ((*results)[0].shape, (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(getValues<float>((*results)[0].data),
              (std::vector<float>{12.5f, 15.0f, 17.5f, 20.0f}));
    EXPECT_EQ(getValues<float>(convertOutput((*results)[1]).data),
              (std::vector<float>{1.0f, 2.0f, -0.5f}));
  }
  EXPECT_EQ(device.numLaunches, 6u);

  Expected<BenchResult> bench = (*runner)->bench(3);
  ASSERT_TRUE(static_cast<bool>(bench)) << bench.getError();
  EXPECT_EQ(bench->runs, 3u);
  EXPECT_EQ(bench->timesMs, (std::vector<float>{3.0f, 1.0f, 2.0f}));
  EXPECT_DOUBLE_EQ(bench->medianMs, 2.0);
  EXPECT_DOUBLE_EQ(bench->minMs, 1.0);
  // One warm-up run and three timed ones.
  EXPECT_EQ(device.numLaunches, 6u + 4 * 3);
  Expected<std::vector<HostTensor>> results = (*runner)->readOutputs();
  ASSERT_TRUE(static_cast<bool>(results));
  EXPECT_EQ(getValues<float>((*results)[0].data)[0], 12.5f);

  bench = (*runner)->bench(4);
  ASSERT_TRUE(static_cast<bool>(bench));
  EXPECT_DOUBLE_EQ(bench->medianMs, 2.5); // {5, 3, 1, 2}
  EXPECT_DOUBLE_EQ(bench->minMs, 1.0);

  runner->reset();
  EXPECT_FALSE(device.loaded);
  EXPECT_TRUE(device.memory.empty());
  EXPECT_EQ(device.numFrees, 6u);
}

TEST(GPURunnerTest, RunFunction) {
  Artifact artifact = parse(kArtifact);
  FakeDevice device;
  addKernels(device);
  const Function &f = artifact.functions[0];
  Expected<std::vector<HostTensor>> inputs =
      bindInputs(f, {makeF32({2, 2}, {0, 0, 0, 1}), makeI32({}, {-1}),
                     makeF32({3}, {0, 0, 0})});
  ASSERT_TRUE(static_cast<bool>(inputs));
  Expected<std::vector<HostTensor>> results =
      runFunction(device, artifact, f, *inputs);
  ASSERT_TRUE(static_cast<bool>(results)) << results.getError();
  EXPECT_EQ(getValues<float>((*results)[0].data),
            (std::vector<float>{-1.0f, -1.0f, -1.0f, 1.5f}));
}

TEST(GPURunnerTest, ReportsDeviceErrors) {
  FakeDevice device;
  addKernels(device);

  Artifact artifact = parse(kArtifact);
  artifact.image = "garbage";
  Expected<std::unique_ptr<Runner>> runner =
      Runner::create(device, artifact, artifact.functions[0]);
  ASSERT_FALSE(static_cast<bool>(runner));
  EXPECT_EQ(runner.getError(),
            "cuModuleLoadDataEx failed: device kernel image is invalid (the "
            "artifact targets sm_90a, device 0 is sm_80)");

  artifact = parse(kArtifact);
  device.kernels.erase("copy16");
  runner = Runner::create(device, artifact, artifact.functions[0]);
  ASSERT_FALSE(static_cast<bool>(runner));
  EXPECT_EQ(runner.getError(), "cuModuleGetFunction failed: named symbol not "
                               "found (kernel 'copy16')");
  // Nothing leaks on failure.
  EXPECT_FALSE(device.loaded);
  EXPECT_TRUE(device.memory.empty());

  artifact.arch = TargetArch::AMDGPU;
  runner = Runner::create(device, artifact, artifact.functions[0]);
  ASSERT_FALSE(static_cast<bool>(runner));
  EXPECT_EQ(runner.getError(),
            "an artifact for target amdgpu cannot run on a cuda device");
}

} // namespace
