// The three ways bnorm fails, each with its own exit status (mapped in the CLI's main).
#pragma once

#include <stdexcept>
#include <string>

namespace bnorm {

/// Base of every error bnorm throws; what() is one line, ready for `bnorm: error: ...`.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A flag, a value or a combination of them is wrong: the user must change the command.
class usage_error : public error {
 public:
  using error::error;
};

/// A file's content is malformed, unsupported or inconsistent with the command.
class data_error : public error {
 public:
  using error::error;
};

/// Reading or writing failed: a missing file, a full disk, a folder we cannot write to.
class io_error : public error {
 public:
  using error::error;
};

}  // namespace bnorm
