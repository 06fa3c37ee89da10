// SPDX-License-Identifier: Apache-2.0
// The bytes of a container file (.npz, .safetensors), read by position: a regular file where it
// lies, anything else (standard input, a pipe) read into memory first, since a container's
// index comes after or before data that must be revisited.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "file_io.hpp"

namespace bnorm {

/// Random access to a file's bytes, shareable between the tensors read from it.
class byte_source {
 public:
  /// Opens `path` ("-" for standard input).  Throws io_error.
  static std::shared_ptr<const byte_source> open(const std::string& path);
  /// The bytes of an open file, peeked at or not.  Throws io_error.
  static std::shared_ptr<const byte_source> from_file(std::unique_ptr<input_file> file);
  /// Bytes already in memory, named `name` in messages (tests, fuzzers, inflated members).
  static std::shared_ptr<const byte_source> from_memory(std::string name, std::string bytes);

  const std::string& name() const { return name_; }
  std::size_t size() const { return size_; }

  /// Reads exactly `size` bytes at `offset`, which the caller has checked lie inside size().
  /// Safe from several threads at once.  Throws io_error when the file shrank meanwhile.
  void read_exact(std::size_t offset, void* buffer, std::size_t size) const;

  /// Reads [offset, offset + size) into a string (the caller bounds `size`).
  std::string read_string(std::size_t offset, std::size_t size) const;

 private:
  byte_source() = default;
  std::unique_ptr<input_file> file_;  // a regular file, or null when the bytes are in memory_
  std::string memory_;
  std::string name_;
  std::size_t size_ = 0;
};

}  // namespace bnorm
