// SPDX-License-Identifier: Apache-2.0
// PyTorch's torch.save files (torch >= 1.6), read: the tensors of a state_dict, of a
// checkpoint around one, or the one tensor of torch.save(tensor).
#pragma once

#include <memory>

#include "byte_source.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// Validates the archive (torch_checkpoint) and gives its tensors: the keys of
/// torch_checkpoint::tensors() that hold tensors, or one unnamed tensor.  A contiguous view is
/// read where it lies, any other view through its strides; a record's CRC-32 is checked when a
/// tensor of it is first opened.  Throws data_error, for the legacy format (before 1.6) too.
std::unique_ptr<tensor_archive> open_torch(std::shared_ptr<const byte_source> bytes);

}  // namespace bnorm
