// SPDX-License-Identifier: Apache-2.0
// Every batch normalization of an ONNX model's graph folded into the Conv, ConvTranspose or
// Gemm before it, in double and rounded once, with a report of what was folded and why the
// rest was not: the codec's fold_model.
#pragma once

#include <memory>

#include "file_io.hpp"
#include "model_fold.hpp"

namespace bnorm {

/// Folds each BatchNormalization of the top-level graph, in graph order (so that Conv→BN→BN
/// folds both), whose input comes from a Conv, ConvTranspose or Gemm that feeds nothing else,
/// whose weight (and bias) are constants used by that layer alone, whose parameters are
/// constants of one value per output channel, and which runs in eval mode: W′ = W·s and
/// b′ = (b − mean)·s + β with s = scale/√(input_var + epsilon), in double, rounded once to
/// the weight's type.  The layer's output takes the BN's output name, the BN node goes, and
/// the constants only the folded nodes used go; everything else is kept as it is.  Writes the
/// folded model to `out` when it is not null.  A tensor left in a side file (external data)
/// names its file relative to the model's folder, so `out` must be in that folder when any
/// is left: usage_error otherwise, before anything is written.  Throws data_error for a
/// model it cannot read, io_error when reading or writing fails.
model_fold_report fold_onnx_model(std::unique_ptr<input_file> original, output_file* out);

}  // namespace bnorm
