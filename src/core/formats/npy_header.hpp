// SPDX-License-Identifier: Apache-2.0
// The .npy header (NumPy's format.py, NEP 1): parsed strictly, never evaluated, and written
// byte for byte as NumPy 1.24 writes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tensor_info.hpp"

namespace bnorm {

/// Size of the fixed prefix before the header length: "\x93NUMPY", major, minor.
inline constexpr std::size_t npy_magic_size = 8;
/// NumPy refuses headers longer than this (max_header_size); so does bnorm.
inline constexpr std::size_t npy_max_header_size = 10000;
/// NumPy's limit on the number of dimensions.
inline constexpr std::size_t npy_max_rank = 32;

/// Where the header text starts and how long it is, read from the file's first bytes.
struct npy_preamble {
  int major_version = 1;
  std::size_t header_offset = 0;  // 10 for version 1.0, 12 for 2.0 and 3.0
  std::size_t header_size = 0;    // bytes of header text, padding and '\n' included
  std::size_t data_offset() const { return header_offset + header_size; }
};

/// Reads the magic string, version and header length from the first `bytes` of a file, which
/// must hold at least npy_magic_size + 4 bytes or the whole file if shorter.  Throws data_error
/// with a byte offset.
npy_preamble parse_npy_preamble(std::string_view bytes);

/// Parses the header dictionary (the text after the preamble).  `offset` is the text's byte
/// offset in the file, for messages.  Checks that the element count times the item size fits
/// in size_t.
tensor_info parse_npy_header(std::string_view text, std::size_t offset, int major_version);

/// The complete preamble and header NumPy would write for `info` (version 1.0 when it fits,
/// 2.0 otherwise), padded so that the data starts on a 64-byte boundary.
std::string format_npy_header(const tensor_info& info);

}  // namespace bnorm
