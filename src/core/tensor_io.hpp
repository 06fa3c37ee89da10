// Tensor values between files and the passes: sources decode a file's elements to double at
// any position a thread asks for, sinks encode them back into place.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "file_io.hpp"
#include "tensor_info.hpp"

namespace bnorm {

/// The file formats bnorm reads and writes.
enum class tensor_format { npy, json, npz, safetensors };

/// The format a path's extension names (".npy", ".json", ".npz", ".safetensors"); throws
/// usage_error otherwise.
tensor_format format_from_extension(const std::string& path);

/// Parses "npy", "json", "npz" or "safetensors"; throws usage_error otherwise.
tensor_format parse_format(const std::string& name);

/// Values of a tensor in file order, as doubles, read by position so that several threads can
/// read different parts at once.
class tensor_source {
 public:
  virtual ~tensor_source() = default;
  virtual const tensor_info& info() const = 0;
  /// Decodes the out.size() values at file positions [first, first + out.size()), which must
  /// lie inside the tensor.  Safe to call from several threads at once.
  virtual void read_at(std::size_t first, std::span<double> out) const = 0;
  /// The element at file position `index` exactly, when the tensor holds integers (a counter
  /// such as num_batches_tracked, which a double rounds past 2^53) and the value fits int64;
  /// std::nullopt otherwise, and for sources that do not keep the file's integers.
  virtual std::optional<std::int64_t> read_int64_at(std::size_t /*index*/) const {
    return std::nullopt;
  }
};

/// Receives output values by file position.
class tensor_sink {
 public:
  virtual ~tensor_sink() = default;
  /// True when write_at may be called from several threads at once, for disjoint ranges in
  /// any order; otherwise ranges must come one at a time, in order.
  virtual bool parallel() const = 0;
  /// Writes the values of file positions [first, first + values.size()).
  virtual void write_at(std::size_t first, std::span<const double> values) = 0;
  /// Called once after the last value; writes whatever is still held.
  virtual void finish() = 0;
};

/// Opens a tensor file ("-" for standard input) of the given format.  A .npy regular file is
/// read where it lies, as often as needed; standard input and JSON are read into memory.  Throws
/// data_error ("<name>: <what and where>") or io_error.  `tensor_name` picks a tensor of an
/// .npz or .safetensors file (see open_archive_tensor); for the others it must be empty.
std::unique_ptr<tensor_source> open_tensor(const std::string& path, tensor_format format,
                                           const std::string& tensor_name = {});

/// A source over values already in memory (file order given by `info`).
std::unique_ptr<tensor_source> memory_source(tensor_info info, std::vector<double> values);

/// A sink writing `info`'s shape and order to `out` in `format`, as the floating type
/// output_type_for(info.type).  .npy data goes straight to its place in a regular file (from
/// several threads) or in order to a stream; JSON output is assembled in memory, since its
/// nesting is always in C order.  bfloat16 is written as float32 (exactly) where the format
/// has no bfloat16 (.npy, JSON, .npz); .npz and .safetensors: see make_archive_sink.
std::unique_ptr<tensor_sink> make_sink(output_file& out, tensor_format format, tensor_info info);

/// A sink writing `header`, then the values encoded as `type` (a little-endian floating type),
/// each range at its place after the header: the layout of .npy and .safetensors.  Parallel
/// to a regular file; in order to a stream.
std::unique_ptr<tensor_sink> make_headed_sink(output_file& out, const std::string& header,
                                              dtype type);

/// A sink that keeps the values in memory, in file order; parallel when its size is given.
class memory_sink : public tensor_sink {
 public:
  explicit memory_sink(std::size_t size = 0) : values_(size), sized_(size > 0) {}
  bool parallel() const override { return sized_; }
  void write_at(std::size_t first, std::span<const double> values) override {
    if (values_.size() < first + values.size()) values_.resize(first + values.size());
    std::copy(values.begin(), values.end(), values_.begin() + static_cast<std::ptrdiff_t>(first));
  }
  void finish() override {}
  std::vector<double>& values() { return values_; }

 private:
  std::vector<double> values_;
  bool sized_;
};

}  // namespace bnorm
