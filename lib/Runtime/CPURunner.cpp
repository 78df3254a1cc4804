//===- CPURunner.cpp - JIT-compile and run an entry function --------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/CPURunner.h"
#include "tessera/Dialect/Tessera/IR/ShapeLogic.h"
#include "tessera/Target/CPU/CPUPipeline.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>

#ifdef __GLIBC__
#include <malloc.h>
#endif

using namespace mlir;
using namespace mlir::tessera;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

//===----------------------------------------------------------------------===//
// Pipelines
//===----------------------------------------------------------------------===//

void mlir::tessera::buildRunnerDefaultPipeline(OpPassManager &pm) {
  buildTesseraCPUPipeline(pm, TesseraCPUPipelineOptions());
}

void mlir::tessera::buildRunnerReferencePipeline(OpPassManager &pm) {
  TesseraCPUPipelineOptions options;
  options.reference = true;
  buildTesseraCPUPipeline(pm, options);
}

//===----------------------------------------------------------------------===//
// CompiledEntry
//===----------------------------------------------------------------------===//

/// The C runner utilities provide `memrefCopy`, which the memref-to-LLVM
/// lowering calls for copies between non-contiguous memrefs.
static SmallVector<StringRef> getRuntimeLibraries() {
  SmallVector<StringRef> libraries;
#ifdef TESSERA_MLIR_C_RUNNER_UTILS
  if (llvm::sys::fs::exists(TESSERA_MLIR_C_RUNNER_UTILS))
    libraries.push_back(TESSERA_MLIR_C_RUNNER_UTILS);
#endif
#ifdef TESSERA_OPENMP_RUNTIME
  // The OpenMP runtime of the parallel loops (tessera-cpu-pipeline threads).
  if (llvm::sys::fs::exists(TESSERA_OPENMP_RUNTIME))
    libraries.push_back(TESSERA_OPENMP_RUNTIME);
#endif
  return libraries;
}

static void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

CompiledEntry::CompiledEntry(EntrySignature signature)
    : signature(std::move(signature)) {}

CompiledEntry::~CompiledEntry() = default;

llvm::Expected<std::unique_ptr<CompiledEntry>>
CompiledEntry::compile(ModuleOp module, const EntrySignature &signature,
                       const PipelineBuilder &buildPipeline,
                       const PassManagerConfigurator &configure) {
  MLIRContext *context = module.getContext();
  registerTesseraCPUTranslations(*context);
  initializeNativeTarget();

  OwningOpRef<ModuleOp> clone = module.clone();
  auto func = clone->lookupSymbol<func::FuncOp>(signature.name);
  if (!func)
    return makeError("no function '" + signature.name + "' in the module");
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                UnitAttr::get(context));
  // The caller's input buffers are passed as they are (no copy per call):
  // forbid in-place writes into them. A function that modifies an argument
  // tensor then works on a copy it makes itself, inside the timed call.
  for (BlockArgument argument : func.getArguments())
    if (isa<TensorType>(argument.getType()) &&
        !func.getArgAttr(
            argument.getArgNumber(),
            bufferization::BufferizationDialect::kWritableAttrName))
      func.setArgAttr(argument.getArgNumber(),
                      bufferization::BufferizationDialect::kWritableAttrName,
                      BoolAttr::get(context, false));

  PassManager pm(context, ModuleOp::getOperationName());
  if (configure && failed(configure(pm)))
    return makeError("invalid pass manager options");
  buildPipeline(pm);
  if (failed(pm.run(*clone)))
    return makeError("lowering '" + signature.name +
                     "' to the LLVM dialect failed");

  // Optimize the LLVM IR for the host; codegen uses the host CPU too.
  llvm::Expected<llvm::orc::JITTargetMachineBuilder> machineBuilder =
      llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!machineBuilder)
    return machineBuilder.takeError();
  machineBuilder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> targetMachine =
      machineBuilder->createTargetMachine();
  if (!targetMachine)
    return targetMachine.takeError();
  std::function<llvm::Error(llvm::Module *)> transformer =
      makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                targetMachine->get());

  SmallVector<StringRef> libraries = getRuntimeLibraries();
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  engineOptions.sharedLibPaths = libraries;
  llvm::Expected<std::unique_ptr<ExecutionEngine>> engine =
      ExecutionEngine::create(*clone, engineOptions);
  if (!engine)
    return engine.takeError();
  (*engine)->initialize();

  // Looking the wrapper up materializes (compiles) the code: do it now so
  // that calls only time the run.
  llvm::Expected<void (*)(void **)> packedFunction =
      (*engine)->lookupPacked("_mlir_ciface_" + signature.name);
  if (!packedFunction)
    return packedFunction.takeError();

  // The check of the dynamic sizes (tessera-shape-checks), when the entry
  // has one.
  void (*packedShapeCheck)(void **) = nullptr;
  if (clone->lookupSymbol(signature.name + "_shape_check")) {
    llvm::Expected<void (*)(void **)> check = (*engine)->lookupPacked(
        "_mlir_ciface_" + signature.name + "_shape_check");
    if (!check)
      return check.takeError();
    packedShapeCheck = *check;
  }

  std::unique_ptr<CompiledEntry> entry(new CompiledEntry(signature));
  entry->engine = std::move(*engine);
  entry->packedFunction = *packedFunction;
  entry->packedShapeCheck = packedShapeCheck;
  return entry;
}

/// Builds the strided memref descriptor of a dense row-major tensor.
static SmallVector<int64_t> makeDescriptor(const HostTensorRef &tensor) {
  ArrayRef<int64_t> shape = tensor.shape;
  size_t rank = shape.size();
  SmallVector<int64_t> descriptor(3 + 2 * rank);
  auto pointer = reinterpret_cast<intptr_t>(tensor.data);
  descriptor[0] = pointer;
  descriptor[1] = pointer;
  descriptor[2] = 0;
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    descriptor[3 + i] = shape[i];
    descriptor[3 + rank + i] = stride;
    stride *= shape[i];
  }
  return descriptor;
}

/// Copies the memref described by `descriptor` (of rank `rank`) into a new
/// dense host tensor.
static llvm::Expected<HostTensor>
copyFromDescriptor(const int64_t *descriptor, size_t rank,
                   HostElementType elementType) {
  ArrayRef<int64_t> sizes(descriptor + 3, rank);
  ArrayRef<int64_t> strides(descriptor + 3 + rank, rank);
  llvm::Expected<HostTensor> allocated =
      HostTensor::allocate(elementType, sizes);
  if (!allocated)
    return allocated.takeError();
  HostTensor &tensor = *allocated;
  int64_t count = tensor.getNumElements();
  if (count == 0)
    return std::move(*allocated);
  size_t elementSize = getHostElementSize(elementType);
  const char *base = reinterpret_cast<const char *>(descriptor[1]) +
                     descriptor[2] * elementSize;
  auto *out = static_cast<char *>(tensor.getData());

  bool contiguous = true;
  int64_t expectedStride = 1;
  for (size_t i = rank; i-- > 0;) {
    if (sizes[i] != 1 && strides[i] != expectedStride)
      contiguous = false;
    expectedStride *= sizes[i];
  }
  if (contiguous) {
    std::memcpy(out, base, count * elementSize);
    return std::move(*allocated);
  }

  // General case: walk the indices in row-major order.
  SmallVector<int64_t> index(rank, 0);
  for (int64_t linear = 0; linear < count; ++linear) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d)
      offset += index[d] * strides[d];
    std::memcpy(out + linear * elementSize, base + offset * elementSize,
                elementSize);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < sizes[d])
        break;
      index[d] = 0;
    }
  }
  return std::move(*allocated);
}

llvm::Expected<std::vector<HostTensor>>
CompiledEntry::invoke(ArrayRef<HostTensor> inputs, double *elapsedMs) {
  SmallVector<HostTensorRef> refs;
  for (const HostTensor &input : inputs)
    refs.push_back(input.getRef());
  return invoke(refs, elapsedMs);
}

/// Checks that `tensor` can be passed as `argument` (number `index`).
static llvm::Error checkArgument(const HostTensorRef &tensor,
                                 const TensorSignature &argument,
                                 unsigned index) {
  auto fail = [&](const llvm::Twine &what) {
    return makeError("argument #" + llvm::Twine(index) + " (" +
                     argument.typeString + "): " + what);
  };
  if (tensor.elementType != argument.elementType)
    return fail("got " + getHostElementTypeName(tensor.elementType) +
                " elements");
  if (tensor.shape.size() != argument.shape.size())
    return fail("got a tensor of rank " + llvm::Twine(tensor.shape.size()));
  int64_t count = 1;
  for (auto [size, expected] : llvm::zip_equal(tensor.shape, argument.shape)) {
    if (size < 0)
      return fail("got a negative size");
    if (!ShapedType::isDynamic(expected) && size != expected)
      return fail("got size " + llvm::Twine(size) + " where the type has " +
                  llvm::Twine(expected));
    count *= size;
  }
  size_t elementSize = getHostElementSize(tensor.elementType);
  if (count != 0 && !tensor.data)
    return fail("got no data");
  if (reinterpret_cast<uintptr_t>(tensor.data) % elementSize != 0)
    return fail("the data is not aligned to its element size");
  return llvm::Error::success();
}

llvm::Expected<std::vector<HostTensor>>
CompiledEntry::invoke(ArrayRef<HostTensorRef> inputs, double *elapsedMs) {
  if (inputs.size() != signature.arguments.size())
    return makeError("function '" + signature.name + "' takes " +
                     llvm::Twine(signature.arguments.size()) +
                     " arguments but " + llvm::Twine(inputs.size()) +
                     " were bound");
  for (auto [index, input] : llvm::enumerate(inputs))
    if (llvm::Error error =
            checkArgument(input, signature.arguments[index], index))
      return std::move(error);

  // compile() marked the arguments read-only: the compiled code reads the
  // inputs where they are. (Copying them before every call would also leave
  // the copies dirty in the caches for the timed call to write back.)
  ArrayRef<HostTensorRef> arguments = inputs;
  SmallVector<SmallVector<int64_t>> argumentDescriptors;
  SmallVector<void *> argumentPointers;
  for (const HostTensorRef &argument : arguments)
    argumentDescriptors.push_back(makeDescriptor(argument));
  for (SmallVector<int64_t> &descriptor : argumentDescriptors)
    argumentPointers.push_back(descriptor.data());

  // The results come back as consecutive descriptors.
  size_t resultWords = 0;
  for (const TensorSignature &result : signature.results)
    resultWords += 3 + 2 * result.shape.size();
  SmallVector<int64_t> resultDescriptors(resultWords, 0);
  void *resultPointer = resultDescriptors.data();

  // Sizes that the compiled code relies on but the types leave open.
  if (packedShapeCheck) {
    SmallVector<void *> checkArguments;
    for (void *&pointer : argumentPointers)
      checkArguments.push_back(&pointer);
    const char *broken = nullptr;
    checkArguments.push_back(&broken);
    packedShapeCheck(checkArguments.data());
    if (broken) {
      std::string shapes;
      for (auto [index, input] : llvm::enumerate(inputs))
        shapes += (index ? ", " : "") + formatShape(input.shape);
      return makeError("function '" + signature.name +
                       "' cannot run on arguments of shapes " + shapes + ": " +
                       broken);
    }
  }

  SmallVector<void *> packedArguments;
  if (!signature.results.empty())
    packedArguments.push_back(&resultPointer);
  for (void *&pointer : argumentPointers)
    packedArguments.push_back(&pointer);

  auto start = std::chrono::steady_clock::now();
  packedFunction(packedArguments.data());
  auto end = std::chrono::steady_clock::now();
  if (elapsedMs)
    *elapsedMs = std::chrono::duration<double, std::milli>(end - start).count();

  // Copy the results out, then free what the compiled code allocated. A
  // result may alias an argument or another result, or come from a constant
  // global (whose allocated pointer is a 0xdeadbeef marker): free only fresh
  // allocations, once.
  llvm::DenseSet<const void *> notOwned;
  for (const HostTensorRef &argument : arguments)
    notOwned.insert(argument.data);
  notOwned.insert(reinterpret_cast<const void *>(0xdeadbeef));
  notOwned.insert(nullptr);

  std::vector<HostTensor> results;
  llvm::Error error = llvm::Error::success();
  const int64_t *descriptor = resultDescriptors.data();
  for (const TensorSignature &result : signature.results) {
    size_t rank = result.shape.size();
    llvm::Expected<HostTensor> copy =
        copyFromDescriptor(descriptor, rank, result.elementType);
    if (copy)
      results.push_back(std::move(*copy));
    else
      error = llvm::joinErrors(std::move(error), copy.takeError());
    auto *allocated = reinterpret_cast<void *>(descriptor[0]);
    if (notOwned.insert(allocated).second)
      std::free(allocated);
    descriptor += 3 + 2 * rank;
  }
  if (error)
    return std::move(error);
  return results;
}

void mlir::tessera::retainFreedHostMemory() {
#ifdef __GLIBC__
  // Large blocks come from the heap (not mmap, whose pages are fresh on
  // every call), and free() never gives the heap top back.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1);
#endif
}

//===----------------------------------------------------------------------===//
// The tessera-run driver
//===----------------------------------------------------------------------===//

llvm::Expected<RunnerEntry>
mlir::tessera::prepareRunnerEntry(ModuleOp module,
                                  const CPURunnerOptions &options) {
  auto func = module.lookupSymbol<func::FuncOp>(options.entry);
  if (!func)
    return makeError("no function '" + options.entry + "' in " +
                     options.inputFileName);
  llvm::Expected<EntrySignature> signature = getEntrySignature(func);
  if (!signature)
    return signature.takeError();

  size_t numResults = signature->results.size();
  if (options.outputFiles.size() > numResults)
    return makeError(llvm::Twine(options.outputFiles.size()) +
                     " --output files given but function '" + options.entry +
                     "' returns " + llvm::Twine(numResults) + " result" +
                     (numResults == 1 ? "" : "s"));
  if (options.randomSeed && !options.inputFiles.empty())
    return makeError("--input and --random-inputs cannot be combined");

  llvm::Expected<std::vector<HostTensor>> inputs =
      options.randomSeed ? makeRandomInputs(*signature, *options.randomSeed)
                         : loadInputs(*signature, options.inputFiles);
  if (!inputs)
    return inputs.takeError();
  return RunnerEntry{std::move(*signature), std::move(*inputs)};
}

llvm::Expected<bool> mlir::tessera::checkAgainstReference(
    ModuleOp module, const RunnerEntry &entry, ArrayRef<HostTensor> results,
    const CPURunnerOptions &options, raw_ostream &os) {
  llvm::Expected<std::unique_ptr<CompiledEntry>> reference =
      CompiledEntry::compile(module, entry.signature,
                             buildRunnerReferencePipeline,
                             options.configurePassManager);
  if (!reference)
    return reference.takeError();
  llvm::Expected<std::vector<HostTensor>> expected =
      (*reference)->invoke(entry.inputs);
  if (!expected)
    return expected.takeError();
  return reportComparisons(results, *expected, os);
}

namespace {
/// Evicts the inputs of a timed run from the caches (--bench-cold): reads a
/// buffer several times the size of a last-level cache, untimed, so the next
/// run reads its operands from memory as a decode step reads its KV cache.
/// Reading (not writing) leaves clean lines: the timed run then has no
/// write-backs of the evictor's data to pay for.
class CacheEvictor {
public:
  explicit CacheEvictor(bool enabled) {
    // Filled once so that every page is backed (untouched pages all map the
    // same zero page and would evict nothing).
    if (enabled)
      buffer.assign(kBytes / sizeof(uint64_t), 1);
  }
  void evict() {
    uint64_t sum = 0;
    for (size_t i = 0; i < buffer.size(); i += kLineWords)
      sum += buffer[i];
    sink = sum;
  }

private:
  /// 4x the 32 MiB L3 of a Zen 4/5 CCD (which a VM may misreport).
  static constexpr size_t kBytes = size_t(128) << 20;
  static constexpr size_t kLineWords = 64 / sizeof(uint64_t);
  std::vector<uint64_t> buffer;
  volatile uint64_t sink = 0;
};
} // namespace

llvm::Expected<bool> mlir::tessera::runCPUEntry(ModuleOp module,
                                                const CPURunnerOptions &options,
                                                raw_ostream &os) {
  llvm::Expected<RunnerEntry> entry = prepareRunnerEntry(module, options);
  if (!entry)
    return entry.takeError();
  const std::vector<HostTensor> &inputs = entry->inputs;

  std::unique_ptr<TesseraCPUPipelineOptions> pipelineOptions =
      TesseraCPUPipelineOptions::createFromString(options.pipelineOptions);
  if (!pipelineOptions)
    return makeError("invalid --pipeline-options '" + options.pipelineOptions +
                     "'");
  if (llvm::Error error = verifyTesseraCPUPipelineOptions(*pipelineOptions))
    return std::move(error);
  llvm::Expected<std::unique_ptr<CompiledEntry>> compiled =
      CompiledEntry::compile(
          module, entry->signature,
          [&](OpPassManager &pm) {
            buildTesseraCPUPipeline(pm, *pipelineOptions);
          },
          options.configurePassManager);
  if (!compiled)
    return compiled.takeError();

  double elapsedMs = 0.0;
  llvm::Expected<std::vector<HostTensor>> results =
      (*compiled)->invoke(inputs, &elapsedMs);
  if (!results)
    return results.takeError();
  os << "time: " << llvm::format("%.4g", elapsedMs) << " ms\n";

  if (llvm::Error error = writeResults(*results, options.outputFiles, os))
    return std::move(error);

  bool passed = true;
  if (options.check) {
    llvm::Expected<bool> checked =
        checkAgainstReference(module, *entry, *results, options, os);
    if (!checked)
      return checked.takeError();
    passed = *checked;
  }

  if (options.benchIterations > 0) {
    // One warm-up run, then the timed ones.
    if (llvm::Error error = (*compiled)->invoke(inputs).takeError())
      return std::move(error);
    std::vector<double> times;
    CacheEvictor evictor(options.benchCold);
    for (unsigned i = 0; i < options.benchIterations; ++i) {
      evictor.evict();
      double ms = 0.0;
      if (llvm::Error error = (*compiled)->invoke(inputs, &ms).takeError())
        return std::move(error);
      times.push_back(ms);
    }
    reportBench(times, os);
  }
  return passed;
}

llvm::Error mlir::tessera::writeResults(ArrayRef<HostTensor> results,
                                        ArrayRef<std::string> fileNames,
                                        raw_ostream &os) {
  for (auto [index, fileName] : llvm::enumerate(fileNames)) {
    const HostTensor &result = results[index];
    if (llvm::Error error = writeNpyFile(result.toNpy(), fileName))
      return error;
    os << "result #" << index << ": " << result.getTypeString()
       << " written to " << fileName << "\n";
  }
  return llvm::Error::success();
}

bool mlir::tessera::reportComparisons(ArrayRef<HostTensor> results,
                                      ArrayRef<HostTensor> expected,
                                      raw_ostream &os) {
  bool passed = true;
  for (size_t i = 0; i < results.size(); ++i) {
    TensorComparison comparison = compareTensors(results[i], expected[i]);
    passed &= comparison.passed;
    os << "result #" << i << ": ";
    if (!comparison.mismatch.empty())
      os << "type mismatch " << comparison.mismatch;
    else
      os << "max abs err " << llvm::format("%g", comparison.maxAbsError)
         << ", max rel err " << llvm::format("%g", comparison.maxRelError);
    os << ": " << (comparison.passed ? "PASS" : "FAIL") << "\n";
  }
  return passed;
}

void mlir::tessera::reportBench(std::vector<double> times, raw_ostream &os) {
  std::sort(times.begin(), times.end());
  size_t n = times.size();
  double median =
      n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2.0;
  os << "bench: " << n << " runs, median " << llvm::format("%.4g", median)
     << " ms, min " << llvm::format("%.4g", times.front()) << " ms\n";
}
