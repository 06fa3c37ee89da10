// SPDX-License-Identifier: Apache-2.0
// Any tensor file bnorm reads, opened as named tensors: their names, shapes and types, and
// each read into an xt::xarray (a bnorm::array) when asked.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <bnorm/array.hpp>
#include <bnorm/half.hpp>

namespace bnorm {

/// What a file says of one of its tensors before its data is read.
struct tensor_entry {
  /// Its name in the file ("bn1.running_mean"); "" for a file of one unnamed tensor (.npy,
  /// JSON, CSV).
  std::string name;
  /// Its shape, outermost first.
  std::vector<std::size_t> shape;
  /// Its type as NumPy names it: "float32", "int64", "bool", "bfloat16" (">f4" big-endian
  /// types as ">float32").
  std::string dtype;
};

/// A tensor file of any format bnorm reads (.npy, .npz, .safetensors, JSON, CSV and TSV,
/// PyTorch's .pt, ONNX), opened and validated.  Tensors are read only when asked.
class tensor_file {
 public:
  /// Opens `path`, its format told by its extension and first bytes, or named by `format`
  /// ("npz").  Throws io_error or data_error naming the file.
  explicit tensor_file(const std::string& path, const std::string& format = {});
  /// Closes the file.
  ~tensor_file();
  /// Takes over `other`'s file.
  tensor_file(tensor_file&& other) noexcept;
  /// Takes over `other`'s file.
  tensor_file& operator=(tensor_file&& other) noexcept;

  /// The path it was opened with.
  const std::string& path() const;
  /// Its format's name: "npy", "npz", "safetensors", "json", "csv", "tsv", "pt", "onnx".
  std::string format() const;
  /// Its tensors, in the file's order.
  std::vector<tensor_entry> tensors() const;

  /// The tensor `name` (its only tensor when empty), converted to T (float, double or half)
  /// by correct rounding.  Throws usage_error for a name the file lacks (listing them), or
  /// for an empty name in a file of several; data_error for malformed data.
  template <class T>
  array<T> read(const std::string& name = {}) const;

 private:
  class archive;
  std::unique_ptr<archive> archive_;
};

extern template array<float> tensor_file::read<float>(const std::string&) const;
extern template array<double> tensor_file::read<double>(const std::string&) const;
extern template array<half> tensor_file::read<half>(const std::string&) const;

}  // namespace bnorm
