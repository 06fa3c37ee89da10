// SPDX-License-Identifier: Apache-2.0
// A tensor whose elements lie back to back at a known offset of a container file: a stored
// .npz member's data or a safetensors tensor.
#pragma once

#include <cstddef>
#include <memory>

#include "byte_source.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// A source decoding `info`'s elements from `bytes` starting at `offset`; the caller has
/// checked that [offset, offset + info.size_in_bytes()) lies inside the bytes.
std::unique_ptr<tensor_source> raw_source(std::shared_ptr<const byte_source> bytes,
                                          std::size_t offset, tensor_info info);

}  // namespace bnorm
