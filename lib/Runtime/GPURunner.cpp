//===- GPURunner.cpp - Compile and run an entry on a GPU ------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPURunner.h"
#include "tessera/Runtime/GPU/Runner.h"
#include "tessera/Target/GPU/Emulator.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir;
using namespace mlir::tessera;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static ::tessera::gpu::DType getDType(HostElementType type) {
  using ::tessera::gpu::DType;
  switch (type) {
  case HostElementType::F32:
    return DType::F32;
  case HostElementType::F16:
    return DType::F16;
  case HostElementType::BF16:
    return DType::BF16;
  case HostElementType::I32:
    return DType::I32;
  case HostElementType::I64:
    return DType::I64;
  }
  llvm_unreachable("unknown HostElementType");
}

/// The runtime's copy of `tensor` (same element type, shape and bytes).
static ::tessera::gpu::HostTensor toRuntime(const HostTensor &tensor) {
  ::tessera::gpu::HostTensor result;
  result.dtype = getDType(tensor.getElementType());
  result.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  const auto *bytes = static_cast<const uint8_t *>(tensor.getData());
  result.data.assign(bytes, bytes + tensor.getNumBytes());
  return result;
}

/// `tensor` back as a host tensor of the entry's result `signature`.
static llvm::Expected<HostTensor>
fromRuntime(const ::tessera::gpu::HostTensor &tensor,
            const TensorSignature &signature) {
  HostTensor result(signature.elementType, tensor.shape);
  if (getDType(signature.elementType) != tensor.dtype ||
      result.getNumBytes() != tensor.data.size())
    return makeError("the GPU result does not match " + signature.typeString);
  if (!tensor.data.empty())
    std::memcpy(result.getData(), tensor.data.data(), tensor.data.size());
  return result;
}

/// Writes the results and, with --check, compares them with the CPU
/// reference; whether the check passed.
static llvm::Expected<bool> reportResults(ModuleOp module,
                                          const RunnerEntry &entry,
                                          ArrayRef<HostTensor> results,
                                          const CPURunnerOptions &options,
                                          raw_ostream &os) {
  if (llvm::Error error = writeResults(results, options.outputFiles, os))
    return std::move(error);
  if (!options.check)
    return true;
  return checkAgainstReference(module, entry, results, options, os);
}

/// The results of the entry run by tessera-gpu-emulate on the kernels of
/// `module` lowered for emulation.
static llvm::Expected<std::vector<HostTensor>>
runEmulated(ModuleOp module, const RunnerEntry &entry,
            const CPURunnerOptions &options,
            const CompilerOptions &compilerOptions) {
  if (options.benchIterations > 0)
    return makeError("--bench times a GPU; an emulated run has no timing");
  if (llvm::Error error = lowerForGPUEmulation(module, compilerOptions))
    return std::move(error);
  std::vector<NpyArray> inputs;
  for (const HostTensor &input : entry.inputs)
    inputs.push_back(input.toNpy());
  llvm::Expected<std::vector<NpyArray>> outputs =
      emulateGPUFunction(module, options.entry, inputs);
  if (!outputs)
    return outputs.takeError();
  // The emulator writes f16 and bf16 as f32 (values of the type): bind them
  // to the results' types as inputs are bound to arguments.
  EntrySignature results;
  results.arguments = entry.signature.results;
  std::vector<HostTensor> tensors;
  for (auto [i, output] : llvm::enumerate(*outputs)) {
    llvm::Expected<HostTensor> tensor =
        bindInput(output, "the emulator's result", results, i);
    if (!tensor)
      return tensor.takeError();
    tensors.push_back(std::move(*tensor));
  }
  return tensors;
}

llvm::Expected<bool> mlir::tessera::runGPUEntry(ModuleOp module,
                                                const CPURunnerOptions &options,
                                                CompileTarget target,
                                                StringRef chip, raw_ostream &os,
                                                bool emulate) {
  llvm::Expected<RunnerEntry> entry = prepareRunnerEntry(module, options);
  if (!entry)
    return entry.takeError();

  // Compile a copy: --check lowers the original with the reference pipeline.
  CompilerOptions compilerOptions;
  compilerOptions.target = target;
  compilerOptions.chip = chip.str();
  compilerOptions.emit = EmitKind::Artifact;
  compilerOptions.pipelineOptions = options.pipelineOptions;
  compilerOptions.configurePassManager = options.configurePassManager;
  OwningOpRef<ModuleOp> copy = module.clone();
  if (emulate) {
    llvm::Expected<std::vector<HostTensor>> results =
        runEmulated(*copy, *entry, options, compilerOptions);
    if (!results)
      return results.takeError();
    return reportResults(module, *entry, *results, options, os);
  }
  llvm::SmallString<0> bytes;
  llvm::raw_svector_ostream bytesStream(bytes);
  if (llvm::Error error = compileModule(*copy, compilerOptions, bytesStream))
    return std::move(error);

  namespace gpu = ::tessera::gpu;
  gpu::Expected<gpu::Artifact> artifact =
      gpu::parseArtifact(std::string_view(bytes.data(), bytes.size()));
  if (!artifact)
    return makeError(artifact.getError());
  const gpu::Function *function = artifact->lookupFunction(options.entry);
  if (!function)
    return makeError("the artifact has no function '" + options.entry + "'");
  gpu::Expected<std::unique_ptr<gpu::Device>> device =
      gpu::openDevice(target == CompileTarget::NVPTX ? gpu::Platform::CUDA
                                                     : gpu::Platform::HIP);
  if (!device)
    return makeError(device.getError());
  gpu::Expected<std::unique_ptr<gpu::Runner>> runner =
      gpu::Runner::create(**device, *artifact, *function);
  if (!runner)
    return makeError(runner.getError());

  std::vector<gpu::HostTensor> deviceInputs;
  for (const HostTensor &input : entry->inputs)
    deviceInputs.push_back(toRuntime(input));
  gpu::Status status = (*runner)->setInputs(deviceInputs);
  if (status.succeeded())
    status = (*runner)->run();
  if (status.hasFailed())
    return makeError(status.getMessage());
  gpu::Expected<std::vector<gpu::HostTensor>> outputs =
      (*runner)->readOutputs();
  if (!outputs)
    return makeError(outputs.getError());
  std::vector<HostTensor> results;
  for (auto [output, resultSignature] :
       llvm::zip_equal(*outputs, entry->signature.results)) {
    llvm::Expected<HostTensor> result = fromRuntime(output, resultSignature);
    if (!result)
      return result.takeError();
    results.push_back(std::move(*result));
  }
  llvm::Expected<bool> passed =
      reportResults(module, *entry, results, options, os);
  if (!passed)
    return passed.takeError();

  if (options.benchIterations > 0) {
    gpu::Expected<gpu::BenchResult> bench =
        (*runner)->bench(options.benchIterations);
    if (!bench)
      return makeError(bench.getError());
    reportBench(
        std::vector<double>(bench->timesMs.begin(), bench->timesMs.end()), os);
  }
  return *passed;
}
