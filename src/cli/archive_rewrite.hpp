// SPDX-License-Identifier: Apache-2.0
// An output renamed over its input replaces the whole file: over a container (.npz,
// .safetensors) that is only safe when the new version holds every tensor the old one did.
#pragma once

#include <string>
#include <vector>

#include "formats/registry.hpp"
#include "output_paths.hpp"

namespace bnorm::cli {

/// When `output` names the same existing file as `input`, a file of named tensors (in the format
/// `named`, or the one its name and bytes tell), refuses (usage_error) if it holds a tensor
/// not in `rewritten`, which the rewrite would drop.
void check_archive_rewrite(const file_role& output, const file_role& input, const codec* named,
                           const std::vector<std::string>& rewritten);

/// True when `output` names the same existing file as `input`, a file of named tensors whose
/// format can replace some of its tensors and keep the others (a codec's update_set).
bool updates_in_place(const file_role& output, const file_role& input);

/// The same for an output that rewrites the tensor `tensor` of its input: refuses a file that
/// holds more than one.
void check_single_tensor_rewrite(const file_role& output, const file_role& input,
                                 const codec* named, const std::string& tensor);

}  // namespace bnorm::cli
