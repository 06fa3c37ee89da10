// SPDX-License-Identifier: Apache-2.0
// The one reader of .npy bytes, for a whole .npy file and for an .npz member alike.
#pragma once

#include <cstddef>
#include <string_view>

#include "byte_source.hpp"
#include "tensor_info.hpp"

namespace bnorm {

/// A .npy tensor's info and where its data starts.
struct npy_layout {
  tensor_info info;
  std::size_t data_offset = 0;  // from the start of the .npy bytes
};

/// Reads the .npy file that is the `size` bytes at `base` of `bytes`: its preamble and header,
/// parsed strictly, and its data checked to fill the rest exactly.  `whole` is what messages
/// call those bytes ("file", "member"); offsets in them count from `base`.  Throws data_error
/// without the file's name.
npy_layout read_npy(const byte_source& bytes, std::size_t base, std::size_t size,
                    std::string_view whole);

}  // namespace bnorm
