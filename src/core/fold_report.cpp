// SPDX-License-Identifier: Apache-2.0
#include "fold_report.hpp"

#include "count_text.hpp"
#include "model_layers.hpp"

namespace bnorm {

std::string fold_report_text(const model_fold_report& report) {
  std::string text;
  for (const folded_layer& f : report.folded) {
    text += "folded " + shown_prefix(f.batch_norm) + " into " + shown_prefix(f.into) + " (" + f.op +
            ")" + (f.bias_created ? ", its bias created" : "") + "\n";
  }
  for (const unfolded_layer& u : report.not_folded) {
    text += "not folded " + shown_prefix(u.batch_norm) + ": " + u.reason + "\n";
  }
  const std::size_t total = report.folded.size() + report.not_folded.size();
  text += std::to_string(report.folded.size()) + " of " + count_text(total, "batch normalization") +
          " folded; " + count_text(report.removed_initializers, "initializer") + " and " +
          count_text(report.removed_constant_nodes, "Constant node") + " removed\n";
  return text;
}

nlohmann::ordered_json fold_report_json(const model_fold_report& report, const std::string& model) {
  nlohmann::ordered_json folded = nlohmann::ordered_json::array();
  for (const folded_layer& f : report.folded) {
    folded.push_back({{"batch_norm", f.batch_norm},
                      {"into", f.into},
                      {"op", f.op},
                      {"bias_created", f.bias_created}});
  }
  nlohmann::ordered_json not_folded = nlohmann::ordered_json::array();
  for (const unfolded_layer& u : report.not_folded) {
    not_folded.push_back({{"batch_norm", u.batch_norm},
                          {"reason_code", fold_refusal_code(u.refusal)},
                          {"reason", u.reason}});
  }
  return {{"model", model},
          {"folded", std::move(folded)},
          {"not_folded", std::move(not_folded)},
          {"folded_count", report.folded.size()},
          {"not_folded_count", report.not_folded.size()},
          {"removed_initializers", report.removed_initializers},
          {"removed_constant_nodes", report.removed_constant_nodes}};
}

}  // namespace bnorm
