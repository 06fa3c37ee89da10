// SPDX-License-Identifier: Apache-2.0
// The batch-normalization layers of a file of named tensors (a model's state_dict): found by
// their names, read, summarized and checked for what a person looks for in a trained model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tensor_stream.hpp"

namespace bnorm {

/// One tensor of a layer as the file holds it.
struct layer_tensor {
  std::string suffix;  ///< its name after the layer's prefix, in the file's words: "gamma"
  std::string role;    ///< PyTorch's word for it: "weight"
  std::string name;    ///< its whole name
  tensor_info info;
};

/// Where a layer's tensors are, found by names alone.
struct layer_names {
  std::string prefix;
  std::vector<layer_tensor> tensors;  ///< PyTorch's order: weight, bias, running_mean, ...
};

/// The layers of `names`: every prefix P with P + running_mean and P + running_var (or Keras's
/// moving_mean and moving_variance), with whichever of weight, bias and num_batches_tracked
/// (gamma, beta) it has, in the order of their running means.  Only names and roles are
/// filled in; the infos come from read_layers.
std::vector<layer_names> find_layer_names(const std::vector<std::string>& names);

/// `prefix` as a table or a picture shows it: itself when it is printable UTF-8, else (and
/// when empty, as a lone layer's state_dict has it) in quoted_name's quotes and escapes, so that a
/// name holding a line break or a control byte (which XML forbids) breaks neither.
std::string shown_prefix(const std::string& prefix);

/// A statistic of a layer summarized over its finite values.
struct value_summary {
  std::size_t count = 0;                          ///< every value
  std::size_t nonfinite = 0;                      ///< NaN and infinities, left out of what follows
  double min = 0, max = 0, mean = 0, median = 0;  ///< NaN when no value is finite
};

value_summary summarize(const std::vector<double>& values);

/// What is wrong with channels of a layer.
struct layer_flags_count {
  std::size_t var_zero = 0;      ///< running_var == 0: a dead channel (nothing reached it)
  std::size_t var_nan = 0;       ///< running_var NaN: broken
  std::size_t var_inf = 0;       ///< running_var infinite: broken
  std::size_t var_negative = 0;  ///< running_var < 0: no variance is
  std::size_t gamma_small = 0;   ///< |weight| < the threshold: what Network Slimming prunes
};

/// One batch-normalization layer read from a file.
struct model_layer {
  std::string prefix;
  std::vector<layer_tensor> tensors;
  std::size_t channels = 0;  ///< running_mean's length
  std::optional<std::int64_t> num_batches_tracked;
  /// Per channel, as read; empty when the layer has no such tensor (or it is not 1-D).
  std::vector<double> running_mean, running_var, weight, bias;
  layer_flags_count flags;
  /// What the file says of the layer besides its tensors (an ONNX node's epsilon and
  /// momentum); std::nullopt for a state_dict.
  std::optional<layer_settings> settings;
  /// What does not fit a layer (lengths that differ, a tensor that is not 1-D, a counter
  /// that is not one integer); empty when nothing.
  std::string problem;
};

/// Every batch-normalization layer of `archive`, read and flagged with `gamma_threshold`.
/// A layer whose tensors do not agree is reported with its problem, not refused.  Throws
/// data_error when the archive holds no layer (naming what it holds), or on a bad file.
std::vector<model_layer> read_layers(const tensor_archive& archive, double gamma_threshold);

/// The flags of a layer's channels.
layer_flags_count flag_channels(const model_layer& layer, double gamma_threshold);

/// The `percentile` (0 to 100) of |weight| over every finite weight of every layer, as
/// numpy.percentile computes it (linear between the two nearest ranks): the global threshold
/// of Network Slimming.  Throws data_error, naming `file`, when no layer has a weight.
double gamma_percentile(const std::vector<model_layer>& layers, double percentile,
                        const std::string& file);

/// The flags of every layer added up.
layer_flags_count total_flags(const std::vector<model_layer>& layers);

}  // namespace bnorm
