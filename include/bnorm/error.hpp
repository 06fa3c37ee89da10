// SPDX-License-Identifier: Apache-2.0
// The three ways bnorm fails, each with its own exit status (mapped in the CLI's main), and the
// faults a caller can fix, which a front end may advise on in its own terms.  Public: the core
// throws these, and so does every function of <bnorm/bnorm.hpp>.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bnorm {

/// What a caller can fix, named in the library's terms, so that a front end can give its own
/// advice (the CLI names the flag) without reading the message.
enum class fault {
  /// Nothing the library can name.
  none,
  /// Eval mode, or folding, needs running_mean and running_var, and the state lacks one.
  running_statistics_missing,
  /// Whole-batch statistics were given to a run in eval mode, which normalizes without them.
  whole_batch_in_eval,
  /// A document given as partial (or merged) statistics is not one.
  not_partial_statistics,
  /// An archive holds several tensors, and no name picks one.
  tensor_not_chosen,
  /// Neither an input's name nor its first bytes tell its format, and none was named.
  input_format_unknown,
  /// An output's name has an extension no format has, and no format was named.
  output_format_unknown,
  /// A table's field is empty, and no one asked to read an empty field as NaN.
  empty_field,
};

/// Base of every error bnorm throws; what() is one line, ready for `bnorm: error: ...`.
class error : public std::runtime_error {
 public:
  /// An error that names no fault.
  explicit error(const std::string& what) : std::runtime_error(what) {}

  /// `before + inner.what() + after`, keeping `inner`'s fault and its words: a wrap that adds
  /// the file, a place or a hint to an error of the layer below.
  error(const error& inner, const std::string& before, std::string_view after = {})
      : std::runtime_error(before + inner.what() + std::string(after)),
        fault_(inner.fault_),
        words_at_(before.size() + inner.words_at_),
        words_size_(inner.words_size_) {}

  /// `before + words + after`, where `words` state `f` in the library's terms: the part a
  /// front end may replace with its own advice.  `words` may be empty, a point to insert at.
  error(bnorm::fault f, const std::string& before, std::string_view words = {},
        std::string_view after = {})
      : std::runtime_error(before + std::string(words) + std::string(after)),
        fault_(f),
        words_at_(before.size()),
        words_size_(words.size()) {}

  /// What a caller can fix, or fault::none.
  bnorm::fault fault() const noexcept { return fault_; }

  /// The words of what() that state the fault in the library's terms ("" for none).
  std::string_view fault_words() const noexcept {
    return std::string_view(what()).substr(words_at_, words_size_);
  }

  /// what(), with the fault's words replaced by `advice`: a front end's own terms.
  std::string reworded(std::string_view advice) const {
    std::string line = what();
    return line.replace(words_at_, words_size_, advice);
  }

 private:
  bnorm::fault fault_ = bnorm::fault::none;
  std::size_t words_at_ = 0;
  std::size_t words_size_ = 0;
};

/// A value, a flag or a combination of them is wrong: the caller must change the call (or the
/// user the command).
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
