//===- Compiler.cpp - Tessera ahead-of-time compiler ----------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Options in, artifact out: the pass pipeline, the translation to LLVM IR,
// LLVM's O3 pipeline and code generation for a named or the host CPU.
//
//===----------------------------------------------------------------------===//

#include "tessera/Compiler/Compiler.h"
#include "tessera/Target/CPU/CPUPipeline.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Target/LLVMIR/LLVMTranslationInterface.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
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

/// The message of a pass pipeline parser error without its location, source
/// line and caret, which do not fit a one-line message.
static StringRef pipelineParserMessage(StringRef text) {
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
          .Default(std::nullopt);
  if (!kind)
    return makeError("unknown emit kind '" + name +
                     "' (expected mlir, llvm, asm or obj)");
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
static llvm::Expected<std::unique_ptr<TesseraCPUPipelineOptions>>
getPipelineOptions(const CompilerOptions &options) {
  std::unique_ptr<TesseraCPUPipelineOptions> pipelineOptions =
      TesseraCPUPipelineOptions::createFromString(options.pipelineOptions);
  if (!pipelineOptions)
    return makeError("invalid options for tessera-cpu-pipeline: '" +
                     options.pipelineOptions + "'");
  if (pipelineOptions->cpu.getNumOccurrences() == 0 && !options.cpu.empty())
    pipelineOptions->cpu = options.cpu;
  return std::move(pipelineOptions);
}

llvm::Error
mlir::tessera::verifyCompilerOptions(const CompilerOptions &options) {
  if (options.target != CompileTarget::CPU)
    return makeError("target '" + stringifyCompileTarget(options.target) +
                     "' is not supported yet");

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
                       pipelineParserMessage(message));
    StringRef anchor = parsed->getOpAnchorName();
    if (anchor != ModuleOp::getOperationName())
      return makeError("the pass pipeline must be anchored on '" +
                       ModuleOp::getOperationName() + "', not '" + anchor +
                       "'");
  } else {
    llvm::Expected<std::unique_ptr<TesseraCPUPipelineOptions>> pipelineOptions =
        getPipelineOptions(options);
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
                       pipelineParserMessage(message));
    static_cast<OpPassManager &>(pm) = std::move(*parsed);
  } else {
    llvm::Expected<std::unique_ptr<TesseraCPUPipelineOptions>> pipelineOptions =
        getPipelineOptions(options);
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

llvm::Error mlir::tessera::compileModule(ModuleOp module,
                                         const CompilerOptions &options,
                                         raw_ostream &os) {
  TimingScope timing;
  return compileModule(module, options, os, timing);
}

void mlir::tessera::registerCompilerDialects(DialectRegistry &registry) {
  registerTesseraCPUPipelineDialects(registry);
  registerAllToLLVMIRTranslations(registry);
}
