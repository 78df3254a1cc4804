//===- Status.h - Error handling of the GPU runtime -------------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The GPU runtime is plain C++17 with no LLVM dependency, so it cannot use
// llvm::Error. A `Status` is either success or an error message; an
// `Expected<T>` is either a T or an error `Status`. Both are [[nodiscard]]
// and never abort: a failure is always returned to the caller.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_RUNTIME_GPU_STATUS_H
#define TESSERA_RUNTIME_GPU_STATUS_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace tessera {
namespace gpu {

/// Success, or an error with a message.
class [[nodiscard]] Status {
public:
  static Status success() { return Status(); }
  static Status error(std::string message) {
    Status status;
    status.failed = true;
    status.message = std::move(message);
    return status;
  }

  bool succeeded() const { return !failed; }
  bool hasFailed() const { return failed; }
  /// The error message ("" on success).
  const std::string &getMessage() const { return message; }

private:
  Status() = default;

  bool failed = false;
  std::string message;
};

/// A value of type T, or an error.
template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : value(std::move(value)), status(Status::success()) {}
  Expected(Status error) : status(std::move(error)) {
    assert(status.hasFailed() && "an Expected needs a value or an error");
  }

  explicit operator bool() const { return value.has_value(); }
  T &operator*() { return *value; }
  const T &operator*() const { return *value; }
  T *operator->() { return &*value; }
  const T *operator->() const { return &*value; }

  /// The error (success when a value is held).
  const Status &getStatus() const { return status; }
  /// The error message ("" when a value is held).
  const std::string &getError() const { return status.getMessage(); }

private:
  std::optional<T> value;
  Status status;
};

} // namespace gpu
} // namespace tessera

#endif // TESSERA_RUNTIME_GPU_STATUS_H
