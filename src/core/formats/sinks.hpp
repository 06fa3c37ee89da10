// SPDX-License-Identifier: Apache-2.0
// The two ways a format's writer takes values, shared by the codecs: straight to their place
// after a header, or held until the tensor is whole.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dtype.hpp"
#include "file_io.hpp"
#include "tensor_info.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// The type a format without bfloat16 writes a tensor computed as `type` in: float32, which
/// holds every bfloat16 exactly, for bfloat16; else output_type_for's floating type.
dtype written_without_bfloat16(dtype type);

/// A sink writing `header`, then the values encoded as `type` (a little-endian floating type),
/// each range at its place after the header: the layout of .npy and .safetensors.  Parallel
/// to a regular file; in order to a stream.
std::unique_ptr<tensor_sink> make_headed_sink(output_file& out, const std::string& header,
                                              dtype type);

/// A sink holding one tensor `info` (its type already the one to write), encoded, until
/// finish() hands it to `write_set` as a set of one.
std::unique_ptr<tensor_sink> make_held_sink(output_file& out, tensor_info info,
                                            void (*write_set)(output_file&,
                                                              std::vector<named_tensor>));

}  // namespace bnorm
