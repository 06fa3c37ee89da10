// Files that hold several named tensors (.npz, .safetensors): listing them, picking one, and
// writing a set of them.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "file_io.hpp"
#include "tensor_io.hpp"

namespace bnorm {

/// A validated multi-tensor file.
class tensor_archive {
 public:
  virtual ~tensor_archive() = default;
  /// The file's name, for messages.
  virtual const std::string& file_name() const = 0;
  /// The tensors' names, in the file's order.
  virtual std::vector<std::string> names() const = 0;
  /// The tensor `name` (one of names()), its info named after it.  Throws data_error.
  virtual std::unique_ptr<tensor_source> open(const std::string& name) const = 0;
};

/// Opens and validates a .npz or .safetensors file ("-" for standard input, read into memory).
/// Throws data_error ("<file>: ...") or io_error.
std::unique_ptr<tensor_archive> open_archive(const std::string& path, tensor_format format);

/// The tensor `wanted` of `archive`, or its only tensor when `wanted` is empty.  Throws
/// usage_error listing the names when `wanted` is missing, or empty with several tensors.
std::unique_ptr<tensor_source> open_archive_tensor(const tensor_archive& archive,
                                                   const std::string& wanted);

/// True for formats that hold named tensors.
inline bool is_archive(tensor_format format) {
  return format == tensor_format::npz || format == tensor_format::safetensors;
}

/// The container format a path's extension names (.npz, .safetensors), if it names one.
bool names_archive(const std::string& path, tensor_format& format);

/// A tensor to write: its name, type, shape and order, and its little-endian bytes in
/// that order.
struct named_tensor {
  tensor_info info;
  std::string data;
};

/// Encodes `values` (file order of `info`) as `info.type` (a floating type, or int64 for
/// counters) into a named_tensor.
named_tensor make_named_tensor(tensor_info info, const std::vector<double>& values);

/// Writes `tensors` as one .npz or .safetensors file.  Types the format cannot hold (bfloat16
/// in .npz) are written as float32.  Throws io_error.
void write_archive(output_file& out, tensor_format format, std::vector<named_tensor> tensors);

/// A sink writing one tensor named `info.name` (or "x" when empty) to a container file.  A
/// C-order .safetensors output and an .npz output to a regular file stream like .npy (the
/// member's CRC-32, which precedes its data, is combined from the ranges' and patched in at
/// the end); an .npz output to a stream (whose CRC-32 must be written before its data) and a
/// Fortran-order .safetensors output (reordered to C order) are held in memory, encoded,
/// until finish().  Throws data_error for a name the format cannot hold.
std::unique_ptr<tensor_sink> make_archive_sink(output_file& out, tensor_format format,
                                               tensor_info info);

}  // namespace bnorm
