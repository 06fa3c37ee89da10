// SPDX-License-Identifier: Apache-2.0
// What folding a model's batch normalizations into the layers before them did: each one
// folded, into which node, and each one left, with the reason.  A format that holds graphs
// (ONNX) fills it; the command line prints it.  Knows no format.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace bnorm {

/// Why a batch normalization was not folded.
enum class fold_refusal {
  input_shared,             ///< the layer's output feeds another node too, or is a graph output
  after_activation,         ///< it follows an activation (Relu, ...), which does not commute
  unsupported_op,           ///< it follows a node of another op, or a graph input
  weight_not_constant,      ///< the layer's weight (or bias) is not a constant of the model
  weight_shared,            ///< the layer's weight (or bias) feeds another node too
  parameters_not_constant,  ///< scale, B, input_mean or input_var is not a constant
  training_mode,            ///< the node computes batch statistics (training_mode, extra outputs)
  shape_mismatch,           ///< the parameters' or the weight's shape is not the layer's channels
  unsupported_type,         ///< the weight's type is not float16, bfloat16, float32 or float64
  not_finite,               ///< the folded weight or bias would not be finite in its type
};

/// The stable word for a refusal in JSON reports: "input_shared".
const char* fold_refusal_code(fold_refusal refusal);

struct folded_layer {
  std::string batch_norm;     ///< bnorm's name of the BatchNormalization node (its layer name)
  std::string into;           ///< the name of the node it was folded into (or its output's)
  std::string op;             ///< that node's op: Conv, ConvTranspose or Gemm
  bool bias_created = false;  ///< the node had no bias, and has one now
};

struct unfolded_layer {
  std::string batch_norm;
  fold_refusal refusal;
  std::string reason;  ///< one sentence, naming the node and tensors concerned
};

struct model_fold_report {
  std::vector<folded_layer> folded;
  std::vector<unfolded_layer> not_folded;
  /// Initializers and Constant nodes removed because only the folded nodes used them.
  std::size_t removed_initializers = 0;
  std::size_t removed_constant_nodes = 0;
};

}  // namespace bnorm
