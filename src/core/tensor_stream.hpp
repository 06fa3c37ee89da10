// SPDX-License-Identifier: Apache-2.0
// The streams between files and the kernels: a source decodes a tensor's elements to double at
// any position a thread asks for, a sink encodes them back into place, and an archive is a
// set of named tensors.  Nothing here knows a file format: formats/ makes these, the kernels
// (batch_norm, passes, backward, fold) use them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tensor_info.hpp"

namespace bnorm {

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

/// What a model file says of a batch-normalization layer besides its tensors, as an ONNX
/// node's attributes do; a state_dict says nothing.
struct layer_settings {
  std::optional<double> epsilon;
  /// The momentum in the meaning of `convention` (ONNX's: running = running·momentum +
  /// batch·(1 − momentum)).
  std::optional<double> momentum;
  std::string convention;  ///< the name of a convention (convention.hpp): "onnx"
  /// Whether the layer runs in training mode (batch statistics), or in inference mode (running
  /// statistics), as the file says.
  std::optional<bool> training;
};

/// A validated file of tensors.  A file of one unnamed tensor (.npy, JSON) is an archive of
/// one tensor named "".
class tensor_archive {
 public:
  virtual ~tensor_archive() = default;
  /// The file's name, for messages.
  virtual const std::string& file_name() const = 0;
  /// The tensors' names, in the file's order.
  virtual std::vector<std::string> names() const = 0;
  /// The tensor `name` (one of names()), its info named after it.  Throws data_error.
  virtual std::unique_ptr<tensor_source> open(const std::string& name) const = 0;
  /// False for a file of one unnamed tensor (.npy, JSON), whose names() is {""}.
  virtual bool names_tensors() const { return true; }
  /// What the file says of the layer whose tensors' names start with `prefix` (as
  /// find_layer_names gives it: "bn1."), besides its tensors; std::nullopt when nothing.
  virtual std::optional<layer_settings> settings_of(const std::string& /*prefix*/) const {
    return std::nullopt;
  }
};

/// An archive of the one unnamed tensor of the file `file_name`, which `open_source` opens.
std::unique_ptr<tensor_archive> single_tensor_archive(
    std::string file_name, std::function<std::unique_ptr<tensor_source>()> open_source);

/// The tensor `wanted` of `archive`, or its only tensor when `wanted` is empty.  Throws
/// usage_error listing the names when `wanted` is missing, or empty with several tensors
/// (fault::tensor_not_chosen), and when `wanted` is given for a file of one unnamed tensor.
std::unique_ptr<tensor_source> pick_tensor(const tensor_archive& archive,
                                           const std::string& wanted);

/// A source over values already in memory (file order given by `info`).
std::unique_ptr<tensor_source> memory_source(tensor_info info, std::vector<double> values);

/// A source over values in memory that other sources may share.
std::unique_ptr<tensor_source> memory_source(tensor_info info,
                                             std::shared_ptr<const std::vector<double>> values);

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

/// A tensor to write as one of a set: its name, type, shape and order, and its little-endian
/// bytes in that order.
struct named_tensor {
  tensor_info info;
  std::string data;
};

/// Encodes `values` (file order of `info`) as `info.type` (a floating type, or int64 for
/// counters) into a named_tensor.
named_tensor make_named_tensor(tensor_info info, const std::vector<double>& values);

}  // namespace bnorm
