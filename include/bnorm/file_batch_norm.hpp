// SPDX-License-Identifier: Apache-2.0
// Batch normalization and statistics of tensor files, streamed: as `bnorm apply` and
// `bnorm stats` run them, on every core, without a whole tensor in memory.
#pragma once

#include <string>
#include <vector>

#include <bnorm/batch_norm.hpp>

namespace bnorm {

/// Which tensor of a file, and in which formats.
struct file_options {
  /// The tensor of a file of several; empty: its only tensor.
  std::string tensor;
  /// The input's format ("npy"); empty: told by its extension and first bytes.
  std::string input_format;
  /// The output's format; empty: its extension's, else the input's.
  std::string output_format;
};

/// One step from the tensor file `input` to the file `output` ("-": standard output), as
/// `bnorm apply` computes it: the output keeps the input's shape and floating type (integers
/// and bools become float32), and replaces `output` only once complete.  Returns the state
/// after the step and the batch's statistics.  Throws usage_error, data_error or io_error.
step_result apply_file(const std::string& input, const std::string& output,
                       const options& opts = {}, const layer_state& state = {},
                       const file_options& files = {});

/// The per-channel statistics of a tensor file along the channel axis `axis`, in one pass,
/// as `bnorm stats` measures them.  Throws data_error or io_error.
std::vector<channel_statistics> file_statistics(const std::string& path, long long axis = 1,
                                                const file_options& files = {});

}  // namespace bnorm
