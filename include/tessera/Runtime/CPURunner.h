//===- CPURunner.h - JIT-compile and run an entry function ------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The library behind `tessera-run`: binds `.npy` files (or seeded random data)
// to the ranked-tensor arguments of a `func.func`, lowers a clone of the
// module with a CPU pipeline, JIT-compiles it with the MLIR ExecutionEngine,
// calls the entry through its C interface and copies the results back into
// host tensors, which can be written as `.npy` files or compared against the
// results of a reference lowering.
//
// Calling convention. With `llvm.emit_c_interface`, the entry `@f` gets a
// wrapper `_mlir_ciface_f(results *, desc0 *, desc1 *, ...)`: each argument is
// a pointer to a strided memref descriptor
//   { T *allocated, T *aligned, int64 offset, int64 sizes[r], int64 strides[r]
//   }
// (8 * (3 + 2r) bytes), and the results, when there are any, come back through
// a pointer to a struct of such descriptors laid out one after another. The
// result buffers are allocated by the compiled code with malloc and are owned
// by the caller.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_RUNTIME_CPURUNNER_H
#define TESSERA_RUNTIME_CPURUNNER_H

#include "tessera/Support/Npy.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class ExecutionEngine;
class OpPassManager;
class PassManager;

namespace func {
class FuncOp;
} // namespace func

namespace tessera {

//===----------------------------------------------------------------------===//
// Host tensors
//===----------------------------------------------------------------------===//

/// Element types that can cross the boundary of a compiled entry function.
enum class HostElementType { F32, F16, BF16, I32, I64 };

/// Returns the size in bytes of one element of `type`.
size_t getHostElementSize(HostElementType type);

/// Returns the MLIR spelling of `type`: "f32", "f16", "bf16", "i32", "i64".
StringRef getHostElementTypeName(HostElementType type);

/// Returns the host element type of an MLIR element type, if supported.
std::optional<HostElementType> getHostElementType(Type type);

/// A dense, row-major tensor owned by someone else (a HostTensor, a numpy
/// array): what a compiled entry reads its arguments from.
struct HostTensorRef {
  HostElementType elementType;
  ArrayRef<int64_t> shape;
  /// The first element, aligned to the element size; may be null when the
  /// tensor has no elements.
  const void *data;
};

/// A dense, row-major, 64-byte-aligned host buffer with a static shape.
class HostTensor {
public:
  /// Creates a zero-filled tensor; aborts when memory runs out. For sizes
  /// that come from outside the program use allocate().
  HostTensor(HostElementType elementType, ArrayRef<int64_t> shape);

  /// Creates a zero-filled tensor, or an error when a size is negative, the
  /// byte count overflows or the memory cannot be allocated.
  static llvm::Expected<HostTensor> allocate(HostElementType elementType,
                                             ArrayRef<int64_t> shape);

  HostElementType getElementType() const { return elementType; }
  ArrayRef<int64_t> getShape() const { return shape; }
  int64_t getNumElements() const;
  size_t getNumBytes() const;
  void *getData() { return storage.get(); }
  const void *getData() const { return storage.get(); }

  /// Returns element `index` (in row-major order) as a double; f16 and bf16
  /// are widened exactly.
  double getAsDouble(int64_t index) const;

  /// Returns a deep copy.
  HostTensor clone() const;

  /// Returns the type as MLIR prints it, e.g. "tensor<2x3xf32>".
  std::string getTypeString() const;

  /// Converts to an `.npy` array: f16 and bf16 are widened to f32.
  NpyArray toNpy() const;

  /// A view of this tensor, valid while it lives.
  HostTensorRef getRef() const { return {elementType, shape, getData()}; }

private:
  struct FreeDeleter {
    void operator()(void *pointer) const;
  };
  struct NoStorage {};
  HostTensor(HostElementType elementType, ArrayRef<int64_t> shape, NoStorage)
      : elementType(elementType), shape(shape.begin(), shape.end()) {}
  /// Allocates and zeroes `bytes` (at least 1, 64-byte aligned); false when
  /// out of memory.
  bool allocateStorage(size_t bytes);

  HostElementType elementType;
  SmallVector<int64_t> shape;
  std::unique_ptr<uint8_t[], FreeDeleter> storage;
};

//===----------------------------------------------------------------------===//
// Entry signatures and inputs
//===----------------------------------------------------------------------===//

/// One ranked-tensor argument or result of an entry function. Dynamic
/// dimensions are `ShapedType::kDynamic`.
struct TensorSignature {
  HostElementType elementType;
  SmallVector<int64_t> shape;
  /// The MLIR type, e.g. "tensor<?x4xf16>", for messages.
  std::string typeString;
};

/// The arguments and results of an entry function.
struct EntrySignature {
  std::string name;
  SmallVector<TensorSignature> arguments;
  SmallVector<TensorSignature> results;
};

/// Checks that every argument and result of `func` is a ranked tensor of a
/// supported element type and describes them.
llvm::Expected<EntrySignature> getEntrySignature(func::FuncOp func);

/// Converts `array`, read from `fileName`, into the host tensor bound to
/// argument `index` of `signature`. An f32 array is accepted (and rounded to
/// nearest even) for an f16 or bf16 argument; otherwise the element types must
/// be equal. Dynamic dimensions take their size from the array.
llvm::Expected<HostTensor> bindInput(const NpyArray &array, StringRef fileName,
                                     const EntrySignature &signature,
                                     unsigned index);

/// Reads one `.npy` file per argument of `signature` and binds it.
llvm::Expected<std::vector<HostTensor>>
loadInputs(const EntrySignature &signature, ArrayRef<std::string> fileNames);

/// Fills every argument of `signature` deterministically from `seed`:
/// floating-point elements are uniform in [-1, 1) (drawn as f32 with 24
/// random bits, then rounded to f16/bf16), integer elements are uniform in
/// [0, 4) so that they are valid small ids, indices and lengths. Each argument
/// has its own stream derived from `seed` and its position. Dynamic
/// dimensions are an error.
llvm::Expected<std::vector<HostTensor>>
makeRandomInputs(const EntrySignature &signature, uint64_t seed);

//===----------------------------------------------------------------------===//
// Compilation and invocation
//===----------------------------------------------------------------------===//

/// Builds a pipeline from the input dialects down to the LLVM dialect.
using PipelineBuilder = std::function<void(OpPassManager &)>;

/// Configures the pass manager before the pipeline runs (a tool passes
/// `applyPassManagerCLOptions` to honour `--mlir-print-ir-after-all` and
/// friends); the library itself reads no global options.
using PassManagerConfigurator = std::function<LogicalResult(PassManager &)>;

/// The pipeline `tessera-run` compiles with by default (today
/// `tessera-cpu-pipeline` with default options).
void buildRunnerDefaultPipeline(OpPassManager &pm);

/// The reference lowering that `--check` compares the default pipeline
/// against: `tessera-cpu-pipeline{reference=true}`, i.e.
/// convert-tessera-to-linalg followed by the standard, unoptimized lowering.
void buildRunnerReferencePipeline(OpPassManager &pm);

/// An entry function lowered to LLVM and JIT-compiled for the host.
class CompiledEntry {
public:
  /// Lowers a clone of `module` with `buildPipeline` (after marking the entry
  /// `llvm.emit_c_interface` and its tensor arguments
  /// `bufferization.writable = false`) and JIT-compiles it. Pass failures are
  /// reported through the diagnostics of the module's context.
  static llvm::Expected<std::unique_ptr<CompiledEntry>>
  compile(ModuleOp module, const EntrySignature &signature,
          const PipelineBuilder &buildPipeline,
          const PassManagerConfigurator &configure = nullptr);

  ~CompiledEntry();

  /// Calls the entry on `inputs`, which it reads in place and never writes
  /// (see compile()), and returns its results as host tensors; the buffers
  /// allocated by the compiled code are freed. If `elapsedMs` is given, it
  /// receives the time spent in the call itself.
  llvm::Expected<std::vector<HostTensor>> invoke(ArrayRef<HostTensor> inputs,
                                                 double *elapsedMs = nullptr);
  /// As above, on tensors the caller owns. Each must have the element type
  /// and rank of its argument and its static sizes, and the dynamic sizes
  /// must satisfy the rules of the ops (the entry's `_shape_check`, see
  /// tessera-shape-checks); anything else is an error naming the argument or
  /// the rule, and nothing runs.
  llvm::Expected<std::vector<HostTensor>> invoke(ArrayRef<HostTensorRef> inputs,
                                                 double *elapsedMs = nullptr);

  /// The entry's arguments and results.
  const EntrySignature &getSignature() const { return signature; }

private:
  explicit CompiledEntry(EntrySignature signature);

  EntrySignature signature;
  std::unique_ptr<ExecutionEngine> engine;
  /// The packed wrapper of `_mlir_ciface_<entry>`: takes an array of pointers
  /// to the arguments (the result pointer first).
  void (*packedFunction)(void **) = nullptr;
  /// The packed wrapper of `_mlir_ciface_<entry>_shape_check`
  /// (tessera-shape-checks) when the entry has dynamic sizes to check: the
  /// argument pointers, then a pointer to the `const char *` result.
  void (*packedShapeCheck)(void **) = nullptr;
};

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

/// The outcome of comparing a result with its reference.
struct TensorComparison {
  double maxAbsError = 0.0;
  /// Largest |actual - expected| / |expected| over nonzero expected values.
  double maxRelError = 0.0;
  bool passed = true;
  /// Set when the shapes or element types differ.
  std::string mismatch;
};

/// Compares `actual` with `expected` elementwise. An element passes when
/// |actual - expected| <= tol * max(1, max|expected|), i.e. relative to the
/// scale of the whole result, with tol = 1e-4 for f32, 1e-2 for f16 and
/// 4e-2 for bf16; NaNs must be NaNs and infinities equal. Integers must
/// match exactly.
TensorComparison compareTensors(const HostTensor &actual,
                                const HostTensor &expected);

//===----------------------------------------------------------------------===//
// The tessera-run driver
//===----------------------------------------------------------------------===//

/// What `tessera-run` was asked to do.
struct CPURunnerOptions {
  /// The name of the input file, for messages.
  std::string inputFileName;
  std::string entry;
  std::vector<std::string> inputFiles;
  std::optional<uint64_t> randomSeed;
  std::vector<std::string> outputFiles;
  bool check = false;
  /// Number of timed runs after one warm-up; 0 disables benchmarking.
  unsigned benchIterations = 0;
  /// Evict the caches before every timed run (operands come from memory).
  bool benchCold = false;
  /// Applied to every pass manager the runner creates, if set.
  PassManagerConfigurator configurePassManager;
  /// Options of the default pipeline in `tessera-cpu-pipeline` syntax, e.g.
  /// "threads=1 attention-q-block=32"; empty for the defaults.
  std::string pipelineOptions;
};

/// The entry `options` names, with its inputs (from files or the seed).
struct RunnerEntry {
  EntrySignature signature;
  std::vector<HostTensor> inputs;
};

/// Finds the entry, checks the number of --output files and loads or draws
/// the inputs; every misuse is a one-line error.
llvm::Expected<RunnerEntry> prepareRunnerEntry(ModuleOp module,
                                               const CPURunnerOptions &options);

/// Runs the reference lowering of the entry on its inputs and reports each
/// of `results` against it (reportComparisons); true when all pass.
llvm::Expected<bool> checkAgainstReference(ModuleOp module,
                                           const RunnerEntry &entry,
                                           ArrayRef<HostTensor> results,
                                           const CPURunnerOptions &options,
                                           raw_ostream &os);

/// Writes `results[i]` to `fileNames[i]` (as many as there are names) and
/// reports each file on `os`.
llvm::Error writeResults(ArrayRef<HostTensor> results,
                         ArrayRef<std::string> fileNames, raw_ostream &os);

/// Compares each result with its reference (compareTensors), reports one
/// "result #i: max abs err ..., max rel err ...: PASS|FAIL" line each and
/// returns whether all passed.
bool reportComparisons(ArrayRef<HostTensor> results,
                       ArrayRef<HostTensor> expected, raw_ostream &os);

/// Reports "bench: N runs, median M ms, min m ms" for per-run `times` (ms).
void reportBench(std::vector<double> times, raw_ostream &os);

/// Makes the C allocator keep freed memory for reuse instead of returning it
/// to the operating system (glibc: no mmap for large blocks, no trimming).
/// Compiled kernels malloc their results and workspaces on every call; the
/// first touch of a fresh page costs microseconds, so without this a call
/// producing tens of MiB spends much of its time in page faults. A process
/// that calls kernels repeatedly should do this (or use a caching allocator
/// such as jemalloc). No effect outside glibc. Process-wide; call it once,
/// before the threads start.
void retainFreedHostMemory();

/// Runs the entry of `module` as `options` say, printing the terse report
/// (timings, written results, check verdicts) to `os`. Returns an error with
/// a one-line message on misuse; returns `false` when a `--check` failed.
llvm::Expected<bool>
runCPUEntry(ModuleOp module, const CPURunnerOptions &options, raw_ostream &os);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_RUNTIME_CPURUNNER_H
