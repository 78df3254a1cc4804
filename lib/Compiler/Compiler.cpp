//===- Compiler.cpp - Tessera ahead-of-time compiler ----------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Options in, artifact out. CPU: the pass pipeline, the translation to LLVM
// IR, LLVM's O3 pipeline and code generation for a named or the host CPU.
// GPU: the target's pipeline, the kernels serialized by gpu-module-to-binary
// (PTX, cubin via ptxas, HSACO via lld) and, for artifacts, the launch
// manifest of the host functions (GPUArtifact.h).
//
//===----------------------------------------------------------------------===//

#include "tessera/Compiler/Compiler.h"
#include "tessera/Target/CPU/CPUPipeline.h"
#include "tessera/Target/GPU/GPUPipeline.h"

#include "GPUArtifact.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVM/ROCDL/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Target/LLVMIR/LLVMTranslationInterface.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>
#include <mutex>

using namespace mlir;
using namespace mlir::tessera;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

StringRef mlir::tessera::getPipelineParserMessage(StringRef text) {
  StringRef line = text.trim().split('\n').first.rtrim();
  size_t error = line.find("error: ");
  return error == StringRef::npos ? line : line.drop_front(error + 7);
}

//===----------------------------------------------------------------------===//
// Option parsing
//===----------------------------------------------------------------------===//

llvm::Expected<CompileTarget>
mlir::tessera::parseCompileTarget(StringRef name) {
  std::optional<CompileTarget> target =
      llvm::StringSwitch<std::optional<CompileTarget>>(name)
          .Case("cpu", CompileTarget::CPU)
          .Case("nvptx", CompileTarget::NVPTX)
          .Case("amdgpu", CompileTarget::AMDGPU)
          .Default(std::nullopt);
  if (!target)
    return makeError("unknown target '" + name +
                     "' (expected cpu, nvptx or amdgpu)");
  return *target;
}

StringRef mlir::tessera::stringifyCompileTarget(CompileTarget target) {
  switch (target) {
  case CompileTarget::CPU:
    return "cpu";
  case CompileTarget::NVPTX:
    return "nvptx";
  case CompileTarget::AMDGPU:
    return "amdgpu";
  }
  llvm_unreachable("unknown CompileTarget");
}

llvm::Expected<EmitKind> mlir::tessera::parseEmitKind(StringRef name) {
  std::optional<EmitKind> kind =
      llvm::StringSwitch<std::optional<EmitKind>>(name)
          .Case("mlir", EmitKind::MLIR)
          .Case("llvm", EmitKind::LLVMIR)
          .Case("asm", EmitKind::Assembly)
          .Case("obj", EmitKind::Object)
          .Case("ptx", EmitKind::PTX)
          .Case("cubin", EmitKind::Cubin)
          .Case("hsaco", EmitKind::HSACO)
          .Case("artifact", EmitKind::Artifact)
          .Default(std::nullopt);
  if (!kind)
    return makeError("unknown emit kind '" + name +
                     "' (expected mlir, llvm, asm, obj, ptx, cubin, hsaco or "
                     "artifact)");
  return *kind;
}

//===----------------------------------------------------------------------===//
// Target machine
//===----------------------------------------------------------------------===//

static void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

namespace {
/// Where code for the CPU target goes: the host's triple with a named CPU,
/// or with the host CPU and its features for `native`.
struct CPUTargetDescription {
  llvm::Triple triple;
  std::string cpu;
  std::string features;
  const llvm::Target *target = nullptr;
};
} // namespace

static llvm::Expected<CPUTargetDescription>
describeCPUTarget(StringRef cpuName) {
  initializeNativeTarget();
  CPUTargetDescription description;
  description.triple = llvm::Triple(llvm::sys::getProcessTriple());
  std::string error;
  description.target =
      llvm::TargetRegistry::lookupTarget(description.triple, error);
  if (!description.target)
    return makeError("no LLVM target for '" + description.triple.str() +
                     "': " + error);

  if (cpuName.empty() || cpuName == "native") {
    description.cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures features;
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features.AddFeature(feature.first(), feature.second);
    description.features = features.getString();
    return description;
  }

  // Ask a subtarget for the generic CPU whether the name is known: creating
  // one for an unknown name only warns and falls back to the generic CPU.
  std::unique_ptr<llvm::MCSubtargetInfo> subtargetInfo(
      description.target->createMCSubtargetInfo(description.triple, "", ""));
  if (!subtargetInfo || !subtargetInfo->isCPUStringValid(cpuName))
    return makeError("unknown CPU '" + cpuName + "' for target '" +
                     description.triple.str() + "'");
  description.cpu = cpuName.str();
  return description;
}

static std::unique_ptr<llvm::TargetMachine>
createTargetMachine(const CPUTargetDescription &description) {
  llvm::TargetOptions targetOptions;
  return std::unique_ptr<llvm::TargetMachine>(
      description.target->createTargetMachine(
          description.triple, description.cpu, description.features,
          targetOptions, llvm::Reloc::PIC_, std::nullopt,
          llvm::CodeGenOptLevel::Aggressive));
}

//===----------------------------------------------------------------------===//
// Pass pipeline
//===----------------------------------------------------------------------===//

/// The options of the default pipeline: `pipelineOptions`, with `cpu` taken
/// from the compiler's --cpu unless the pipeline options name one.
/// Parses `text` into pipeline options of type `T`; the parser's complaint
/// becomes the error's message instead of going to stderr.
template <typename T>
static llvm::Expected<std::unique_ptr<T>>
parsePipelineOptions(StringRef text, const llvm::Twine &pipelineName) {
  auto pipelineOptions = std::make_unique<T>();
  std::string message;
  llvm::raw_string_ostream errorStream(message);
  if (failed(pipelineOptions->parseFromString(text, errorStream))) {
    // A value that does not parse is reported by llvm::cl itself, on stderr.
    StringRef reason = StringRef(message).trim();
    return makeError(
        "invalid options for " + pipelineName + " '" + text + "': " +
        (reason.empty() ? "a value does not parse as its type" : reason.str()));
  }
  return std::move(pipelineOptions);
}

/// Sets a pipeline option from a field of CompilerOptions (`field`); setting
/// it in the pipeline options text as well is an error.
template <typename T, typename V>
static llvm::Error setPipelineOption(detail::PassOptions::Option<T> &option,
                                     V value, StringRef field) {
  if (option.getNumOccurrences())
    return makeError(field +
                     " is given twice: in the compiler options and "
                     "as the pipeline option '" +
                     option.ArgStr + "'");
  option = value;
  return llvm::Error::success();
}

/// The options of tessera-cpu-pipeline: `pipelineOptions`, with the CPU,
/// thread count and tile sizes of the compiler's options.
llvm::Expected<std::unique_ptr<TesseraCPUPipelineOptions>>
mlir::tessera::getCPUPipelineOptions(const CompilerOptions &options) {
  llvm::Expected<std::unique_ptr<TesseraCPUPipelineOptions>> parsed =
      parsePipelineOptions<TesseraCPUPipelineOptions>(options.pipelineOptions,
                                                      "tessera-cpu-pipeline");
  if (!parsed)
    return parsed.takeError();
  TesseraCPUPipelineOptions &pipelineOptions = **parsed;
  if (pipelineOptions.cpu.getNumOccurrences() == 0 && !options.cpu.empty())
    pipelineOptions.cpu = options.cpu;
  const TileSizes &tiles = options.tileSizes;
  auto set = [](auto &option, auto value, StringRef field) -> llvm::Error {
    if (!value)
      return llvm::Error::success();
    return setPipelineOption(option, value, field);
  };
  if (llvm::Error error =
          set(pipelineOptions.threads, options.threads, "the thread count"))
    return std::move(error);
  if (llvm::Error error =
          set(pipelineOptions.attentionQueryBlock, tiles.attentionQueryBlock,
              "the attention query block"))
    return std::move(error);
  if (llvm::Error error = set(pipelineOptions.attentionKVBlock,
                              tiles.attentionKVBlock, "the attention KV block"))
    return std::move(error);
  if (llvm::Error error = set(pipelineOptions.moeColumnBlock,
                              tiles.moeColumnBlock, "the MoE column block"))
    return std::move(error);
  if (llvm::Error error =
          set(pipelineOptions.moeKBlock, tiles.moeKBlock, "the MoE K block"))
    return std::move(error);
  return std::move(*parsed);
}

static llvm::Error verifyGPUCompilerOptions(const CompilerOptions &options);

llvm::Error
mlir::tessera::verifyCompilerOptions(const CompilerOptions &options) {
  if (options.target != CompileTarget::CPU)
    return verifyGPUCompilerOptions(options);

  if (!options.passPipeline.empty()) {
    if (!options.pipelineOptions.empty())
      return makeError("pipeline options apply to the default pipeline only, "
                       "not to a given pass pipeline");
    std::string message;
    llvm::raw_string_ostream errorStream(message);
    FailureOr<OpPassManager> parsed =
        parsePassPipeline(options.passPipeline, errorStream);
    if (failed(parsed))
      return makeError("invalid pass pipeline: " +
                       getPipelineParserMessage(message));
    StringRef anchor = parsed->getOpAnchorName();
    if (anchor != ModuleOp::getOperationName())
      return makeError("the pass pipeline must be anchored on '" +
                       ModuleOp::getOperationName() + "', not '" + anchor +
                       "'");
  } else {
    llvm::Expected<std::unique_ptr<TesseraCPUPipelineOptions>> pipelineOptions =
        getCPUPipelineOptions(options);
    if (!pipelineOptions)
      return pipelineOptions.takeError();
    if (llvm::Error error = verifyTesseraCPUPipelineOptions(**pipelineOptions))
      return error;
  }

  if (llvm::Expected<CPUTargetDescription> description =
          describeCPUTarget(options.cpu);
      !description)
    return description.takeError();
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// GPU targets
//===----------------------------------------------------------------------===//

static void registerGPUTargetInterfaces(DialectRegistry &registry) {
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  ROCDL::registerROCDLTargetInterfaceExternalModels(registry);
}

static const GPUTarget &getGPUTarget(CompileTarget target) {
  return target == CompileTarget::NVPTX ? getNVPTXTarget() : getAMDGPUTarget();
}

/// The options of the GPU pipeline: `pipelineOptions`, with `chip` taken
/// from the compiler's chip unless the pipeline options name one. An error
/// for a pass pipeline (the GPU targets run their own).
static llvm::Expected<std::unique_ptr<TesseraGPUPipelineOptions>>
getGPUPipelineOptions(const CompilerOptions &options) {
  if (!options.passPipeline.empty())
    return makeError("the GPU targets run their own pipeline; give options "
                     "with pipeline options instead of a pass pipeline");
  const GPUTarget &target = getGPUTarget(options.target);
  llvm::Expected<std::unique_ptr<TesseraGPUPipelineOptions>> parsed =
      parsePipelineOptions<TesseraGPUPipelineOptions>(
          options.pipelineOptions, "tessera-" + target.getName() + "-pipeline");
  if (!parsed)
    return parsed.takeError();
  TesseraGPUPipelineOptions &pipelineOptions = **parsed;
  if (pipelineOptions.chip.empty())
    pipelineOptions.chip =
        options.chip.empty() ? target.getDefaultChip().str() : options.chip;

  const TileSizes &tiles = options.tileSizes;
  if (options.threads)
    return makeError("the thread count is an option of the cpu target");
  if (tiles.attentionKVBlock || tiles.moeKBlock)
    return makeError("the GPU pipelines take query-block and column-block "
                     "tile sizes only (their KV and K blocks are fixed)");
  if (tiles.attentionQueryBlock)
    if (llvm::Error error = setPipelineOption(pipelineOptions.tensorCoreQBlock,
                                              tiles.attentionQueryBlock,
                                              "the attention query block"))
      return std::move(error);
  if (tiles.moeColumnBlock)
    if (llvm::Error error =
            setPipelineOption(pipelineOptions.tensorCoreTileN,
                              tiles.moeColumnBlock, "the MoE column block"))
      return std::move(error);
  return std::move(*parsed);
}

static llvm::Error verifyGPUCompilerOptions(const CompilerOptions &options) {
  const GPUTarget &target = getGPUTarget(options.target);
  bool nvptx = options.target == CompileTarget::NVPTX;
  switch (options.emit) {
  case EmitKind::MLIR:
  case EmitKind::Artifact:
    break;
  case EmitKind::PTX:
  case EmitKind::Cubin:
    if (!nvptx)
      return makeError("ptx and cubin are for the nvptx target");
    break;
  case EmitKind::Assembly:
  case EmitKind::HSACO:
    if (nvptx)
      return makeError("asm and hsaco are for the amdgpu target (nvptx "
                       "emits ptx or cubin)");
    break;
  case EmitKind::LLVMIR:
  case EmitKind::Object:
    return makeError("target '" + target.getName() +
                     "' emits mlir, artifact or its device code (" +
                     (nvptx ? "ptx, cubin" : "asm, hsaco") + ")");
  }
  llvm::Expected<std::unique_ptr<TesseraGPUPipelineOptions>> pipelineOptions =
      getGPUPipelineOptions(options);
  if (!pipelineOptions)
    return pipelineOptions.takeError();
  if ((*pipelineOptions)->stopBeforeKernelLowering)
    return makeError("stop-before-kernel-lowering leaves kernels no GPU "
                     "can run; use it with tessera-opt (for "
                     "tessera-gpu-emulate)");
  return verifyTesseraGPUPipelineOptions(target, **pipelineOptions);
}

/// The first existing directory among `candidates` that holds `probe`.
static std::string findToolkit(ArrayRef<std::string> candidates,
                               StringRef probe) {
  for (const std::string &candidate : candidates) {
    if (candidate.empty())
      continue;
    SmallString<256> path(candidate);
    llvm::sys::path::append(path, probe);
    if (llvm::sys::fs::exists(path))
      return candidate;
  }
  return "";
}

static std::string getEnvironment(const char *name) {
  const char *value = std::getenv(name);
  return value ? value : "";
}

namespace {
/// Where the vendor tools and device libraries are.
struct GPUToolkit {
  /// The CUDA root or ROCm device-library directory; empty if none.
  std::string root;
  /// Bitcode libraries to link (libdevice, ocml, ...).
  SmallVector<std::string> libraries;
  /// Whether binaries can be made (ptxas found; lld is always there).
  bool canAssemble = false;
};
} // namespace

static GPUToolkit findGPUToolkit(const CompilerOptions &options) {
  GPUToolkit toolkit;
  if (options.target == CompileTarget::NVPTX) {
    SmallVector<std::string> candidates = {options.toolkitPath};
    if (options.toolkitPath.empty())
      candidates = {getEnvironment("CUDA_ROOT"), getEnvironment("CUDA_HOME"),
                    getEnvironment("CUDA_PATH"), "/usr/local/cuda"};
    std::string libdevice = "nvvm/libdevice/libdevice.10.bc";
    toolkit.root = findToolkit(candidates, libdevice);
    if (!toolkit.root.empty()) {
      SmallString<256> path(toolkit.root);
      llvm::sys::path::append(path, libdevice);
      toolkit.libraries.push_back(std::string(path));
      SmallString<256> ptxas(toolkit.root);
      llvm::sys::path::append(ptxas, "bin", "ptxas");
      toolkit.canAssemble = llvm::sys::fs::can_execute(ptxas);
    }
    return toolkit;
  }
  SmallVector<std::string> candidates = {options.toolkitPath};
  if (options.toolkitPath.empty())
    candidates = {getEnvironment("ROCM_PATH"), "/opt/rocm",
                  "/usr/lib/x86_64-linux-gnu"};
  toolkit.root = findToolkit(candidates, "amdgcn/bitcode/ocml.bc");
  if (!toolkit.root.empty())
    for (StringRef library : {"ocml.bc", "ockl.bc"}) {
      SmallString<256> path(toolkit.root);
      llvm::sys::path::append(path, "amdgcn", "bitcode", library);
      if (llvm::sys::fs::exists(path))
        toolkit.libraries.push_back(std::string(path));
    }
  toolkit.canAssemble = true;
  return toolkit;
}

/// The device math functions a kernel module calls (`__nv_expf`,
/// `__ocml_exp_f32`): they need the vendor's bitcode library.
static SmallVector<std::string> getDeviceLibraryCalls(ModuleOp module) {
  SmallVector<std::string> calls;
  module.walk([&](LLVM::LLVMFuncOp func) {
    StringRef name = func.getSymName();
    if (func.isExternal() &&
        (name.starts_with("__nv_") || name.starts_with("__ocml_")))
      calls.push_back(name.str());
  });
  return calls;
}

/// Reports each public function of `module` with a dynamically shaped
/// argument or result at its location, in the tensor types the user wrote
/// (the GPU pipeline would name the bufferized memrefs, deep in
/// tessera-map-to-gpu); true if there is one.
static bool reportDynamicShapes(ModuleOp module) {
  bool found = false;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isDeclaration())
      continue;
    auto isDynamic = [](Type type) {
      auto shaped = dyn_cast<ShapedType>(type);
      return shaped && !shaped.hasStaticShape();
    };
    FunctionType type = func.getFunctionType();
    auto report = [&](StringRef what, unsigned index, Type dynamic) {
      emitError(func.getLoc())
          << "'@" << func.getSymName() << "' " << what << " #" << index
          << " has the dynamic shape " << dynamic
          << "; GPU code needs static shapes: compile an artifact per shape, "
             "or run dynamic shapes with --target=cpu";
      found = true;
    };
    auto inputs = llvm::find_if(type.getInputs(), isDynamic);
    auto results = llvm::find_if(type.getResults(), isDynamic);
    if (inputs != type.getInputs().end())
      report("argument", inputs - type.getInputs().begin(), *inputs);
    else if (results != type.getResults().end())
      report("result", results - type.getResults().begin(), *results);
  }
  return found;
}

/// Runs the GPU pipeline of `options`' target with `pipelineOptions` on
/// `module`.
static llvm::Error
runGPUPipeline(ModuleOp module, const CompilerOptions &options,
               const TesseraGPUPipelineOptions &pipelineOptions,
               TimingScope &timing) {
  if (reportDynamicShapes(module))
    return makeError("GPU targets compile statically shaped functions only");
  // The artifact's inputs are read-only: a bench loop runs a function many
  // times on the same input buffers, so bufferization must not write them.
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isDeclaration())
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        if (isa<TensorType>(func.getArgumentTypes()[i]))
          func.setArgAttr(i, "bufferization.writable",
                          BoolAttr::get(module.getContext(), false));
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  if (options.configurePassManager && failed(options.configurePassManager(pm)))
    return makeError("invalid pass manager options");
  pm.enableTiming(timing);
  buildTesseraGPUPipeline(pm, getGPUTarget(options.target), pipelineOptions);
  if (failed(pm.run(module)))
    return makeError("the pass pipeline failed");
  return llvm::Error::success();
}

static llvm::Error compileGPUModule(ModuleOp module,
                                    const CompilerOptions &options,
                                    raw_ostream &os, TimingScope &timing) {
  const GPUTarget &target = getGPUTarget(options.target);
  bool nvptx = options.target == CompileTarget::NVPTX;
  llvm::Expected<std::unique_ptr<TesseraGPUPipelineOptions>> pipelineOptions =
      getGPUPipelineOptions(options);
  if (!pipelineOptions)
    return pipelineOptions.takeError();
  GPUToolkit toolkit = findGPUToolkit(options);
  if ((*pipelineOptions)->link.empty())
    (*pipelineOptions)->link = toolkit.libraries;
  if (llvm::Error error =
          runGPUPipeline(module, options, **pipelineOptions, timing))
    return error;
  if (options.emit == EmitKind::MLIR) {
    TimingScope printTiming = timing.nest("Print MLIR");
    module.print(os);
    return llvm::Error::success();
  }

  SmallVector<std::string> calls = getDeviceLibraryCalls(module);
  if (!calls.empty() && (*pipelineOptions)->link.empty())
    return makeError(
        Twine("the kernels call device math functions (") + calls.front() +
        ", ...) but " +
        (nvptx ? "no CUDA toolkit with nvvm/libdevice/libdevice.10.bc was "
                 "found: set CUDA_ROOT or --toolkit-path"
               : "no ROCm device libraries (amdgcn/bitcode/ocml.bc) were "
                 "found: install rocm-device-libs, set ROCM_PATH or "
                 "--toolkit-path"));

  bool binary = options.emit == EmitKind::Cubin ||
                options.emit == EmitKind::HSACO ||
                (options.emit == EmitKind::Artifact && toolkit.canAssemble);
  if (binary && !toolkit.canAssemble)
    return makeError("cubin needs ptxas from the CUDA toolkit, which was not "
                     "found: set CUDA_ROOT or --toolkit-path, or emit ptx");
  // MLIR's ROCDL serializer runs `<toolkit>/llvm/bin/ld.lld`: give it the
  // lld of the LLVM Tessera is built with.
  std::string linkerRoot = toolkit.root;
  if (!nvptx && binary) {
    SmallString<256> root;
    if (std::error_code error =
            llvm::sys::fs::createUniqueDirectory("tessera-lld", root))
      return makeError("cannot create a temporary directory: " +
                       error.message());
    SmallString<256> bin(root);
    llvm::sys::path::append(bin, "llvm", "bin");
    SmallString<256> lld(bin);
    llvm::sys::path::append(lld, "ld.lld");
    if (llvm::sys::fs::create_directories(bin) ||
        llvm::sys::fs::create_link(TESSERA_LLD_PATH, lld))
      return makeError("cannot link " TESSERA_LLD_PATH " into " + bin);
    // The serializer also takes the device libraries' control files
    // (oclc_*) from `<toolkit>/amdgcn/bitcode`.
    if (!toolkit.root.empty()) {
      SmallString<256> from(toolkit.root), to(root);
      llvm::sys::path::append(from, "amdgcn");
      llvm::sys::path::append(to, "amdgcn");
      if (llvm::sys::fs::create_link(from, to))
        return makeError("cannot link " + from + " into " + root);
    }
    linkerRoot = std::string(root);
  }
  llvm::scope_exit removeLinkerRoot([&] {
    if (linkerRoot != toolkit.root)
      llvm::sys::fs::remove_directories(linkerRoot);
  });
  {
    TimingScope serializeTiming = timing.nest("Serialize kernels");
    PassManager pm(module.getContext(), ModuleOp::getOperationName());
    GpuModuleToBinaryPassOptions toBinary;
    toBinary.compilationTarget = binary ? "bin" : "isa";
    toBinary.toolkitPath = linkerRoot;
    // Serialization errors name the module; its text would bury them. The
    // caller's setting comes back afterwards.
    MLIRContext *context = module.getContext();
    bool printOp = context->shouldPrintOpOnDiagnostic();
    context->printOpOnDiagnostic(false);
    llvm::scope_exit restorePrintOp(
        [&] { context->printOpOnDiagnostic(printOp); });
    pm.addPass(createGpuModuleToBinaryPass(toBinary));
    if (failed(pm.run(module)))
      return makeError("serializing the kernels failed");
  }

  auto binaryOp = module.lookupSymbol<gpu::BinaryOp>("tessera_kernels");
  if (!binaryOp)
    return makeError("the module has no kernels");
  auto object = cast<gpu::ObjectAttr>(binaryOp.getObjects()[0]);
  StringRef image = object.getObject().getValue();
  if (nvptx && !binary && image.contains(".extern .func __nv_"))
    return makeError("the PTX calls libdevice functions that were not "
                     "linked");

  switch (options.emit) {
  case EmitKind::PTX:
  case EmitKind::Cubin:
  case EmitKind::Assembly:
  case EmitKind::HSACO:
    os << image;
    return llvm::Error::success();
  case EmitKind::Artifact: {
    StringRef format =
        !binary ? (nvptx ? "ptx" : "asm") : (nvptx ? "cubin" : "hsaco");
    return writeGPUArtifact(module, target.getName(), (*pipelineOptions)->chip,
                            format, image, os);
  }
  default:
    llvm_unreachable("checked by verifyGPUCompilerOptions");
  }
}

/// Gives every public function with a body a C wrapper,
/// `_mlir_ciface_<name>`, that takes memref descriptors by pointer.
static void addCInterfaces(ModuleOp module) {
  UnitAttr unit = UnitAttr::get(module.getContext());
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isDeclaration())
      func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), unit);
}

static llvm::Error runPassPipeline(ModuleOp module,
                                   const CompilerOptions &options,
                                   TimingScope &timing) {
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  if (options.configurePassManager && failed(options.configurePassManager(pm)))
    return makeError("invalid pass manager options");
  pm.enableTiming(timing);

  if (!options.passPipeline.empty()) {
    // verifyCompilerOptions checked the anchor: the parsed pipeline replaces
    // the empty one (instrumentation and timing stay with `pm`).
    std::string message;
    llvm::raw_string_ostream errorStream(message);
    FailureOr<OpPassManager> parsed =
        parsePassPipeline(options.passPipeline, errorStream);
    if (failed(parsed))
      return makeError("invalid pass pipeline: " +
                       getPipelineParserMessage(message));
    static_cast<OpPassManager &>(pm) = std::move(*parsed);
  } else {
    llvm::Expected<std::unique_ptr<TesseraCPUPipelineOptions>> pipelineOptions =
        getCPUPipelineOptions(options);
    if (!pipelineOptions)
      return pipelineOptions.takeError();
    buildTesseraCPUPipeline(pm, **pipelineOptions);
  }

  if (failed(pm.run(module)))
    return makeError("the pass pipeline failed");
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// LLVM IR and code generation
//===----------------------------------------------------------------------===//

/// Records the CPU on every definition, as clang does, so that the LLVM IR
/// compiles the same way with `llc` or `clang`.
static void setTargetAttributes(llvm::Module &llvmModule,
                                const llvm::TargetMachine &targetMachine) {
  StringRef cpu = targetMachine.getTargetCPU();
  StringRef features = targetMachine.getTargetFeatureString();
  for (llvm::Function &function : llvmModule) {
    if (function.isDeclaration())
      continue;
    if (!function.hasFnAttribute("target-cpu"))
      function.addFnAttr("target-cpu", cpu);
    if (!features.empty() && !function.hasFnAttribute("target-features"))
      function.addFnAttr("target-features", features);
  }
}

/// Checks that every op of `module` translates to LLVM IR, so that a pass
/// pipeline that stops short of the LLVM dialect gets a one-line error.
static llvm::Error verifyTranslatable(ModuleOp module) {
  Operation *untranslatable = nullptr;
  module.walk([&](Operation *op) {
    if (op == module.getOperation())
      return WalkResult::advance();
    Dialect *dialect = op->getDialect();
    if (dialect &&
        dialect->getRegisteredInterface<LLVMTranslationDialectInterface>())
      return WalkResult::advance();
    untranslatable = op;
    return WalkResult::interrupt();
  });
  if (!untranslatable)
    return llvm::Error::success();
  return makeError("'" + untranslatable->getName().getStringRef() +
                   "' has no translation to LLVM IR: the pass pipeline must "
                   "end in the LLVM dialect for llvm, asm and obj");
}

static llvm::Error emitWithLLVM(ModuleOp module, const CompilerOptions &options,
                                raw_ostream &os, TimingScope &timing) {
  llvm::Expected<CPUTargetDescription> description =
      describeCPUTarget(options.cpu);
  if (!description)
    return description.takeError();
  std::unique_ptr<llvm::TargetMachine> targetMachine =
      createTargetMachine(*description);
  if (!targetMachine)
    return makeError("cannot create a target machine for '" +
                     description->triple.str() + "'");

  if (llvm::Error error = verifyTranslatable(module))
    return error;
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule;
  {
    TimingScope translateTiming = timing.nest("Translate to LLVM IR");
    llvmModule = translateModuleToLLVMIR(module, llvmContext, "tessera");
    if (!llvmModule)
      return makeError("cannot translate the module to LLVM IR");
  }
  llvmModule->setTargetTriple(targetMachine->getTargetTriple());
  llvmModule->setDataLayout(targetMachine->createDataLayout());
  setTargetAttributes(*llvmModule, *targetMachine);

  {
    TimingScope optimizeTiming = timing.nest("Optimize LLVM IR (O3)");
    std::function<llvm::Error(llvm::Module *)> optimize =
        makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                  targetMachine.get());
    if (llvm::Error error = optimize(llvmModule.get()))
      return makeError("LLVM optimization failed: " +
                       llvm::toString(std::move(error)));
  }

  if (options.emit == EmitKind::LLVMIR) {
    llvmModule->print(os, /*AAW=*/nullptr);
    return llvm::Error::success();
  }

  TimingScope codegenTiming = timing.nest("Generate code");
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream bufferStream(buffer);
  llvm::legacy::PassManager codegen;
  llvm::CodeGenFileType fileType = options.emit == EmitKind::Assembly
                                       ? llvm::CodeGenFileType::AssemblyFile
                                       : llvm::CodeGenFileType::ObjectFile;
  if (targetMachine->addPassesToEmitFile(codegen, bufferStream,
                                         /*DwoOut=*/nullptr, fileType))
    return makeError("the target cannot emit this file type");
  codegen.run(*llvmModule);
  os << buffer;
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

llvm::Error mlir::tessera::compileModule(ModuleOp module,
                                         const CompilerOptions &options,
                                         raw_ostream &os, TimingScope &timing) {
  if (llvm::Error error = verifyCompilerOptions(options))
    return error;
  if (options.target != CompileTarget::CPU) {
    DialectRegistry registry;
    registerTesseraGPUPipelineDialects(registry);
    registerAllToLLVMIRTranslations(registry);
    registerGPUTargetInterfaces(registry);
    module.getContext()->appendDialectRegistry(registry);
    return compileGPUModule(module, options, os, timing);
  }

  DialectRegistry registry;
  registerAllToLLVMIRTranslations(registry);
  module.getContext()->appendDialectRegistry(registry);

  addCInterfaces(module);
  if (llvm::Error error = runPassPipeline(module, options, timing))
    return error;

  if (options.emit == EmitKind::MLIR) {
    TimingScope printTiming = timing.nest("Print MLIR");
    module.print(os);
    return llvm::Error::success();
  }
  return emitWithLLVM(module, options, os, timing);
}

llvm::Error
mlir::tessera::lowerForGPUEmulation(ModuleOp module,
                                    const CompilerOptions &options) {
  if (options.target == CompileTarget::CPU)
    return makeError("emulation is for the GPU targets (nvptx, amdgpu)");
  llvm::Expected<std::unique_ptr<TesseraGPUPipelineOptions>> pipelineOptions =
      getGPUPipelineOptions(options);
  if (!pipelineOptions)
    return pipelineOptions.takeError();
  (*pipelineOptions)->stopBeforeKernelLowering = true;
  if (llvm::Error error = verifyTesseraGPUPipelineOptions(
          getGPUTarget(options.target), **pipelineOptions))
    return error;
  DialectRegistry registry;
  registerTesseraGPUPipelineDialects(registry);
  module.getContext()->appendDialectRegistry(registry);
  TimingScope timing;
  return runGPUPipeline(module, options, **pipelineOptions, timing);
}

llvm::Error mlir::tessera::compileModule(ModuleOp module,
                                         const CompilerOptions &options,
                                         raw_ostream &os) {
  TimingScope timing;
  return compileModule(module, options, os, timing);
}

void mlir::tessera::registerCompilerDialects(DialectRegistry &registry) {
  registerTesseraCPUPipelineDialects(registry);
  registerTesseraGPUPipelineDialects(registry);
  registerGPUTargetInterfaces(registry);
  registerAllToLLVMIRTranslations(registry);
}
