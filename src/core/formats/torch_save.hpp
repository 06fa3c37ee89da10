// SPDX-License-Identifier: Apache-2.0
// torch.save's archive, written as torch 1.13 writes it, so that torch.load(weights_only=True)
// reads it: data.pkl, one stored record per storage aligned to 64 bytes, and version.
#pragma once

#include <memory>
#include <vector>

#include "file_io.hpp"
#include "tensor_info.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// A sink writing one tensor as torch.save(tensor) would, or as torch.save({name: tensor})
/// when info.name is not empty.
std::unique_ptr<tensor_sink> make_torch_sink(output_file& out, tensor_info info);

/// Writes an OrderedDict of the tensors (a state_dict), in the order given.
void write_torch_set(output_file& out, std::vector<named_tensor> tensors);

/// Writes `original` (a torch.save archive) with the tensors of `replaced` in the place of the
/// named tensors of those names, added where there are none; every other value, tensor and
/// storage keeps its name, type, shape and bytes.
void update_torch_set(std::unique_ptr<input_file> original, output_file& out,
                      std::vector<named_tensor> replaced);

}  // namespace bnorm
