//===- Runner.h - Run an artifact function on a GPU -------------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The library behind `tessera-gpu-launch`: binds host tensors to the
// arguments of an artifact function (checking their element types and
// shapes against the manifest), allocates every buffer of the function on a
// device, zero-filled, copies the inputs in, runs the launch list in order
// and copies the results back; or times the launch list with device events.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_RUNTIME_GPU_RUNNER_H
#define TESSERA_RUNTIME_GPU_RUNNER_H

#include "tessera/Runtime/GPU/Artifact.h"
#include "tessera/Runtime/GPU/Device.h"
#include "tessera/Runtime/GPU/Npy.h"
#include "tessera/Runtime/GPU/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tessera {
namespace gpu {

/// A host array in the element type of an artifact buffer.
struct HostTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

/// Converts `array` into argument `position` of `function`. The element type
/// and shape must match, except that f32 data is rounded (to nearest even)
/// for f16 and bf16 arguments, and bool or u8 data is accepted for i1 and u8
/// data for i8. `label` names the input in messages ("input #0 ('a.npy')").
Expected<HostTensor> convertInput(const Function &function, unsigned position,
                                  const NpyArray &array,
                                  const std::string &label);

/// Converts one input per argument of `function`; `labels` (optional) names
/// them in messages.
Expected<std::vector<HostTensor>>
bindInputs(const Function &function, const std::vector<NpyArray> &inputs,
           const std::vector<std::string> &labels = {});

/// Converts a result for writing as `.npy`: f16 and bf16 become f32, i1
/// becomes bool, the other types keep their element type.
NpyArray convertOutput(const HostTensor &tensor);

/// Timings of a launch list.
struct BenchResult {
  unsigned runs = 0;
  double medianMs = 0.0;
  double minMs = 0.0;
  /// The time of each run, in ms.
  std::vector<float> timesMs;
};

/// An artifact function loaded on a device, with its buffers allocated.
class Runner {
public:
  /// Loads the image of `artifact` (which must outlive the runner), resolves
  /// the kernels of `function` and allocates its buffers, zero-filled.
  static Expected<std::unique_ptr<Runner>>
  create(Device &device, const Artifact &artifact, const Function &function);
  ~Runner();

  Runner(const Runner &) = delete;
  Runner &operator=(const Runner &) = delete;

  /// Copies one tensor per argument to the input buffers.
  Status setInputs(const std::vector<HostTensor> &inputs);
  /// Runs the launch list once and waits for it. The outputs and temporary
  /// buffers are zero-filled before every run.
  Status run();
  /// Copies the results back to the host.
  Expected<std::vector<HostTensor>> readOutputs();
  /// Runs the launch list once to warm up, then `runs` times, each timed
  /// with device events (the zero-filling of outputs and temporaries before
  /// each run is not timed).
  Expected<BenchResult> bench(unsigned runs);

private:
  /// The kernel and parameters of one launch.
  struct PreparedLaunch {
    KernelHandle kernel = nullptr;
    LaunchDims dims;
    /// One 8-byte slot per parameter, and a pointer to each.
    std::vector<uint64_t> values;
    std::vector<void *> args;
  };

  Runner(Device &device, const Function &function)
      : device(device), function(function) {}
  Status resetBuffers();
  Status submitLaunches();

  Device &device;
  const Function &function;
  ModuleHandle module = nullptr;
  std::vector<DevicePtr> buffers;
  std::vector<PreparedLaunch> launches;
  /// Whether the outputs and temporaries may hold data of a previous run.
  bool dirty = false;
};

/// Runs `function` once on `device` with `inputs` (see bindInputs) and
/// returns its results.
Expected<std::vector<HostTensor>>
runFunction(Device &device, const Artifact &artifact, const Function &function,
            const std::vector<HostTensor> &inputs);

} // namespace gpu
} // namespace tessera

#endif // TESSERA_RUNTIME_GPU_RUNNER_H
