// SPDX-License-Identifier: Apache-2.0
// torch.save's archive (torch >= 1.6), read: a ZIP whose records sit under one folder, the
// pickle data.pkl that says what the file holds, and one record data/<key> per storage.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "byte_source.hpp"
#include "dtype.hpp"
#include "pickle.hpp"
#include "zip_archive.hpp"

namespace bnorm {

/// A validated torch.save archive.  Throws data_error: for a ZIP that is not one (a
/// TorchScript archive, records under two folders, no data.pkl), for a pickle that pickle::load
/// refuses, and for a storage whose record is missing or of another size than numel x itemsize.
class torch_checkpoint {
 public:
  explicit torch_checkpoint(std::shared_ptr<const byte_source> bytes);

  const zip_archive& zip() const { return zip_; }
  /// The records' folder: "bn" for "bn/data.pkl".
  const std::string& folder() const { return folder_; }
  /// What data.pkl holds.
  const pickle::value_ptr& root() const { return root_; }
  /// The dict whose tensors are the file's named tensors: the root itself, or its
  /// 'state_dict', 'model_state_dict' or 'model' entry (in that order of preference) when the
  /// root is a checkpoint around one, even one with tensors of its own; null when the root is
  /// one tensor.
  const pickle::value* tensors() const { return tensors_; }
  /// The record "data/<key>" of a storage, checked against its numel and type.
  const zip_member& record(const pickle::storage& storage) const;
  /// The element type of a storage type ("FloatStorage" -> float32, little-endian unless the
  /// archive's byteorder record says "big").  Throws data_error for a type bnorm does not read.
  dtype element_type(const pickle::storage& storage) const;

 private:
  zip_archive zip_;
  std::string folder_;
  pickle::value_ptr root_;
  const pickle::value* tensors_ = nullptr;
  bool big_endian_ = false;
  std::unordered_map<std::string, std::size_t> records_by_key_;  ///< "0" -> its member's index
};

}  // namespace bnorm
