//===- tessera-gpu-launch.cpp - Run a GPU artifact ------------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Runs a function of a GPU artifact (see docs/GPU-runtime.md) on a GPU:
//
//   tessera-gpu-launch ARTIFACT [--entry=NAME] [--input=a.npy ...]
//       [--output=o.npy ...] [--bench=N] [--platform=cuda|hip] [--device=N]
//   tessera-gpu-launch --list-devices [--platform=cuda|hip]
//
// The work is done by the TesseraRuntimeGPU library (Runner.h); this file
// only parses the command line. Like the library it depends on neither LLVM
// nor MLIR, so that it can be copied alone to a machine with a GPU driver.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPU/Artifact.h"
#include "tessera/Runtime/GPU/Device.h"
#include "tessera/Runtime/GPU/Npy.h"
#include "tessera/Runtime/GPU/Runner.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace tessera::gpu;

static const char *const kUsage =
    "USAGE: tessera-gpu-launch ARTIFACT [options]\n"
    "       tessera-gpu-launch --list-devices [--platform=cuda|hip]\n"
    "\n"
    "Runs a function of a Tessera GPU artifact on a GPU.\n"
    "\n"
    "OPTIONS:\n"
    "  --entry=NAME          The function to run (may be omitted when the\n"
    "                        artifact has exactly one)\n"
    "  --input=FILE.npy      A .npy file for the next argument (f32 data is\n"
    "                        rounded for f16/bf16 arguments)\n"
    "  --output=FILE.npy     A .npy file for the next result (f16/bf16 "
    "results\n"
    "                        are written as f32)\n"
    "  --bench=N             After a warm-up run, time N runs of the launch\n"
    "                        list and print their median and minimum\n"
    "  --platform=cuda|hip   The GPU platform (default: from the artifact's\n"
    "                        target, nvptx -> cuda, amdgpu -> hip)\n"
    "  --device=N            The device ordinal (default: 0)\n"
    "  --list-devices        Print the devices of the platform, one a line\n"
    "  --help                Print this message\n";

namespace {
struct Options {
  std::string artifact;
  std::optional<std::string> entry;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::optional<unsigned> bench;
  std::optional<Platform> platform;
  int device = 0;
  bool listDevices = false;
  bool help = false;
};
} // namespace

static int fail(const std::string &message) {
  std::fprintf(stderr, "tessera-gpu-launch: error: %s\n", message.c_str());
  return 1;
}

/// Parses a non-negative decimal integer no larger than `max`.
static bool parseCount(std::string_view text, unsigned long max,
                       unsigned long &value) {
  if (text.empty() || text.size() > 10)
    return false;
  unsigned long result = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    result = result * 10 + static_cast<unsigned long>(c - '0');
  }
  if (result > max)
    return false;
  value = result;
  return true;
}

static Status parseOptions(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view flag, std::string_view &result) {
      if (arg.substr(0, flag.size()) != flag)
        return false;
      result = arg.substr(flag.size());
      return true;
    };
    std::string_view text;
    if (arg == "--help" || arg == "-help" || arg == "-h") {
      options.help = true;
    } else if (arg == "--list-devices") {
      options.listDevices = true;
    } else if (value("--entry=", text)) {
      options.entry = std::string(text);
    } else if (value("--input=", text)) {
      options.inputs.emplace_back(text);
    } else if (value("--output=", text)) {
      options.outputs.emplace_back(text);
    } else if (value("--bench=", text)) {
      unsigned long runs;
      if (!parseCount(text, 1000000, runs) || runs == 0)
        return Status::error("invalid --bench value '" + std::string(text) +
                             "' (expected a positive number of runs)");
      options.bench = static_cast<unsigned>(runs);
    } else if (value("--platform=", text)) {
      Platform platform;
      if (!parsePlatform(text, platform))
        return Status::error("unknown platform '" + std::string(text) +
                             "' (expected cuda or hip)");
      options.platform = platform;
    } else if (value("--device=", text)) {
      unsigned long ordinal;
      if (!parseCount(text, 1024, ordinal))
        return Status::error("invalid --device value '" + std::string(text) +
                             "'");
      options.device = static_cast<int>(ordinal);
    } else if (arg.size() > 1 && arg[0] == '-') {
      return Status::error("unknown option '" + std::string(arg) +
                           "' (see --help)");
    } else if (options.artifact.empty()) {
      options.artifact = std::string(arg);
    } else {
      return Status::error("unexpected argument '" + std::string(arg) +
                           "' (only one artifact can be given)");
    }
  }
  return Status::success();
}

static int printDevices(Platform platform) {
  Expected<std::vector<DeviceInfo>> devices = listDevices(platform);
  if (!devices)
    return fail(devices.getError());
  if (devices->empty())
    return fail(std::string("no ") +
                (platform == Platform::CUDA ? "CUDA" : "HIP") + " device");
  for (const DeviceInfo &device : *devices)
    std::printf("%s\n", device.describe().c_str());
  return 0;
}

static int launch(const Options &options) {
  Expected<Artifact> artifact = readArtifactFile(options.artifact);
  if (!artifact)
    return fail(artifact.getError());

  const Function *function = nullptr;
  if (options.entry) {
    function = artifact->lookupFunction(*options.entry);
    if (!function)
      return fail("no function '" + *options.entry + "' in " +
                  options.artifact);
  } else if (artifact->functions.size() == 1) {
    function = &artifact->functions.front();
  } else {
    std::string names;
    for (const Function &candidate : artifact->functions)
      names += (names.empty() ? "'" : ", '") + candidate.name + "'";
    return fail(options.artifact + " has " +
                std::to_string(artifact->functions.size()) + " functions (" +
                names + "): choose one with --entry");
  }

  size_t numResults = function->outputs.size();
  if (options.outputs.size() > numResults)
    return fail(std::to_string(options.outputs.size()) +
                " --output files given but function '" + function->name +
                "' returns " + std::to_string(numResults) + " result" +
                (numResults == 1 ? "" : "s"));
  size_t numArgs = function->inputs.size();
  if (options.inputs.size() != numArgs)
    return fail("function '" + function->name + "' takes " +
                std::to_string(numArgs) + " argument" +
                (numArgs == 1 ? "" : "s") + " but " +
                std::to_string(options.inputs.size()) + " --input file" +
                (options.inputs.size() == 1 ? " was" : "s were") + " given");

  // Check the inputs before touching the device.
  std::vector<NpyArray> arrays;
  std::vector<std::string> labels;
  for (size_t i = 0; i < options.inputs.size(); ++i) {
    Expected<NpyArray> array = readNpyFile(options.inputs[i]);
    if (!array)
      return fail(array.getError());
    arrays.push_back(std::move(*array));
    labels.push_back("input #" + std::to_string(i) + " ('" + options.inputs[i] +
                     "')");
  }
  Expected<std::vector<HostTensor>> inputs =
      bindInputs(*function, arrays, labels);
  if (!inputs)
    return fail(inputs.getError());

  Platform platform = options.platform.value_or(
      artifact->arch == TargetArch::NVPTX ? Platform::CUDA : Platform::HIP);
  Expected<std::unique_ptr<Device>> device =
      openDevice(platform, options.device);
  if (!device)
    return fail(device.getError());
  Expected<std::unique_ptr<Runner>> runner =
      Runner::create(**device, *artifact, *function);
  if (!runner)
    return fail(runner.getError());
  if (Status status = (*runner)->setInputs(*inputs); status.hasFailed())
    return fail(status.getMessage());

  if (!options.bench || !options.outputs.empty()) {
    if (Status status = (*runner)->run(); status.hasFailed())
      return fail(status.getMessage());
    Expected<std::vector<HostTensor>> results = (*runner)->readOutputs();
    if (!results)
      return fail(results.getError());
    for (size_t i = 0; i < options.outputs.size(); ++i)
      if (Status status =
              writeNpyFile(convertOutput((*results)[i]), options.outputs[i]);
          status.hasFailed())
        return fail(status.getMessage());
  }

  if (options.bench) {
    Expected<BenchResult> result = (*runner)->bench(*options.bench);
    if (!result)
      return fail(result.getError());
    std::printf("%s: median %.4f ms, min %.4f ms over %u runs\n",
                function->name.c_str(), result->medianMs, result->minMs,
                result->runs);
  }
  return 0;
}

int main(int argc, char **argv) {
  Options options;
  if (Status status = parseOptions(argc, argv, options); status.hasFailed())
    return fail(status.getMessage());
  if (options.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (options.listDevices)
    return printDevices(options.platform.value_or(Platform::CUDA));
  if (options.artifact.empty())
    return fail("no artifact given (see --help)");
  return launch(options);
}
