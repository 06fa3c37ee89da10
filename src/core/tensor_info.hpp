// SPDX-License-Identifier: Apache-2.0
// What a tensor file says about its data before any of the data is read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dtype.hpp"

namespace bnorm {

/// Element type, shape and memory order of a tensor, as a file header declares them.
struct tensor_info {
  dtype type = dtype::float64();
  std::vector<std::size_t> shape;
  bool fortran_order = false;
  /// The tensor's name inside a container (.npz member without ".npy", safetensors key);
  /// empty for .npy and JSON.  Sinks of containers name their tensor after it.
  std::string name = {};
  /// The names of the last axis's entries, where the file gives them: a table's header row,
  /// whose columns are its channels.  Empty when it gives none, else one per entry.  Sinks of
  /// formats that hold such names write them back; reports name channels by them when the
  /// channel axis is the last.
  std::vector<std::string> channel_names = {};

  /// Number of elements: the product of the shape (1 for rank 0).  Header readers guarantee
  /// that this and size_in_bytes() do not overflow.
  std::size_t element_count() const;
  std::size_t size_in_bytes() const { return element_count() * type.size; }
};

/// "(4, 3, 5, 5)", as Python prints a shape tuple; "(3,)" for rank 1 and "()" for rank 0.
std::string shape_to_string(const std::vector<std::size_t>& shape);

}  // namespace bnorm
