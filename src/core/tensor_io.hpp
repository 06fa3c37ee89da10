// Streams of tensor values between files and the batch-normalization passes: sources decode
// a file's elements to double block by block, sinks encode them back.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "file_io.hpp"
#include "tensor_info.hpp"

namespace bnorm {

/// The file formats bnorm reads and writes.
enum class tensor_format { npy, json };

/// The format a path's extension names (".npy", ".json"); throws usage_error otherwise.
tensor_format format_from_extension(const std::string& path);

/// Parses "npy" or "json"; throws usage_error otherwise.
tensor_format parse_format(const std::string& name);

/// Values of a tensor in file order, as doubles, read in blocks and readable more than once.
class tensor_source {
 public:
  virtual ~tensor_source() = default;
  virtual const tensor_info& info() const = 0;
  /// Fills `out` with the next values; returns how many (less than out.size() only at the end).
  virtual std::size_t read(std::span<double> out) = 0;
  /// Starts again from the first value.
  virtual void rewind() = 0;
};

/// Receives output values in the order the source produced them.
class tensor_sink {
 public:
  virtual ~tensor_sink() = default;
  virtual void write(std::span<const double> values) = 0;
  /// Called once after the last value; writes whatever is still held.
  virtual void finish() = 0;
};

/// Opens a tensor file ("-" for standard input) of the given format.  A .npy regular file is
/// read in blocks, twice if needed; standard input and JSON are read into memory.  Throws
/// data_error ("<name>: <what and where>") or io_error.
std::unique_ptr<tensor_source> open_tensor(const std::string& path, tensor_format format);

/// A source over values already in memory (file order given by `info`).
std::unique_ptr<tensor_source> memory_source(tensor_info info, std::vector<double> values);

/// A sink writing `info` (its dtype and order) to `out` in `format`.  For .npy the data
/// streams; JSON output is assembled in memory since its nesting is always in C order.
std::unique_ptr<tensor_sink> make_sink(output_file& out, tensor_format format, tensor_info info);

/// A sink that keeps the values in memory, in file order.
class memory_sink : public tensor_sink {
 public:
  void write(std::span<const double> values) override {
    values_.insert(values_.end(), values.begin(), values.end());
  }
  void finish() override {}
  std::vector<double>& values() { return values_; }

 private:
  std::vector<double> values_;
};

}  // namespace bnorm
