//===- GPURunner.cpp - Compile and run an entry on a GPU ------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPURunner.h"
#include "tessera/Runtime/GPU/Runner.h"

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

llvm::Expected<bool> mlir::tessera::runGPUEntry(ModuleOp module,
                                                const CPURunnerOptions &options,
                                                CompileTarget target,
                                                StringRef chip,
                                                raw_ostream &os) {
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
  if (llvm::Error error = writeResults(results, options.outputFiles, os))
    return std::move(error);

  bool passed = true;
  if (options.check) {
    llvm::Expected<bool> checked =
        checkAgainstReference(module, *entry, results, options, os);
    if (!checked)
      return checked.takeError();
    passed = *checked;
  }

  if (options.benchIterations > 0) {
    gpu::Expected<gpu::BenchResult> bench =
        (*runner)->bench(options.benchIterations);
    if (!bench)
      return makeError(bench.getError());
    reportBench(
        std::vector<double>(bench->timesMs.begin(), bench->timesMs.end()), os);
  }
  return passed;
}
