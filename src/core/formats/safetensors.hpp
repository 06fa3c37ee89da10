// SPDX-License-Identifier: Apache-2.0
// Hugging Face's .safetensors: an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype", "shape", "data_offsets"}, optional "__metadata__"}), then the tensors'
// little-endian C-order data, offsets counted from the byte after the header.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "byte_source.hpp"
#include "file_io.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// The reference implementation's limit on the header, which bnorm keeps.
inline constexpr std::size_t safetensors_max_header_size = 100'000'000;

/// bnorm's limit on a key (tensor name) as the header spells it: names a real model uses are
/// short, and a name of many megabytes would be copied into every list and message.
inline constexpr std::size_t safetensors_max_key_size = 65'536;

/// One tensor of a header: name, type and shape in `info`, bytes [begin, end) of the data.
struct safetensors_entry {
  tensor_info info;
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// The dtype a safetensors dtype name stands for (F16, BF16, F32, F64, I8 to I64, U8 to U64,
/// BOOL).  Throws data_error naming the type, also for the real ones bnorm does not read
/// (F8_E4M3, C64 ...).
dtype parse_safetensors_dtype(std::string_view name);

/// The safetensors name of `type`.  Throws data_error for big-endian types.
std::string safetensors_dtype_name(dtype type);

/// Parses and checks a header for a data area of `data_size` bytes: a JSON object (the
/// project's strict parser: valid UTF-8, no duplicate keys), each tensor with exactly dtype,
/// shape (non-negative integers) and data_offsets [begin, end] where end - begin is the shape's
/// size (overflow-checked), __metadata__ a string-to-string object, and the tensors covering
/// the data area exactly, without overlap or hole, as the reference implementation requires;
/// no key longer than safetensors_max_key_size (checked before the JSON is parsed).  Returns
/// the tensors in data order, tensors at the same offset (empty ones) in the header's order. Throws
/// data_error (without the file name).
std::vector<safetensors_entry> parse_safetensors_header(std::string_view json,
                                                        std::size_t data_size);

/// Opens a .safetensors file: header length bounded by safetensors_max_header_size and by the
/// file, then parse_safetensors_header.  Tensors are read where they lie in a regular file.
std::unique_ptr<tensor_archive> open_safetensors(std::shared_ptr<const byte_source> bytes);

/// The 8-byte length and the JSON header, padded with spaces to a multiple of 8 bytes, that
/// the Python safetensors library writes for `tensors`: sorted by decreasing alignment of
/// their dtype, then by name, with consecutive offsets.  Reorders `tensors` into that order.
/// Sizes come from the tensors' info, so that a header can precede data not yet computed.
/// Throws data_error for a name that is not valid UTF-8 (JSON cannot hold it) or is
/// "__metadata__".
std::string format_safetensors_header(std::vector<named_tensor>& tensors);

/// Writes `tensors` (C order; Fortran-order tensors are reordered) as a .safetensors file.
void write_safetensors(output_file& out, std::vector<named_tensor> tensors);

}  // namespace bnorm
