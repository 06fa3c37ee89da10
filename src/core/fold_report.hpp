// SPDX-License-Identifier: Apache-2.0
// A model fold's report as a person reads it (a line per batch normalization and a summary)
// and as a JSON document.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model_fold.hpp"

namespace bnorm {

/// "folded bn1 into conv1 (Conv)", "not folded bn2: <reason>", one line each, folded ones
/// first, each in graph order; then "2 of 3 batch normalizations folded; 8 initializers and
/// 0 Constant nodes removed".  Every line ends in a newline.
std::string fold_report_text(const model_fold_report& report);

/// {"model", "folded": [{"batch_norm", "into", "op", "bias_created"}], "not_folded":
/// [{"batch_norm", "reason_code", "reason"}], "folded_count", "not_folded_count",
/// "removed_initializers", "removed_constant_nodes"}; `model` names the model's file.
nlohmann::ordered_json fold_report_json(const model_fold_report& report, const std::string& model);

}  // namespace bnorm
