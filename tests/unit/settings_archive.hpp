// SPDX-License-Identifier: Apache-2.0
// An archive that says something of its layers besides their tensors, as an ONNX model's
// does (epsilon and momentum attributes), over another archive's tensors: what the state and
// layer readers take from settings_of, tested without the ONNX codec.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensor_stream.hpp"

namespace bnorm_test {

class settings_archive : public bnorm::tensor_archive {
 public:
  settings_archive(std::unique_ptr<bnorm::tensor_archive> tensors,
                   std::map<std::string, bnorm::layer_settings> settings)
      : tensors_(std::move(tensors)), settings_(std::move(settings)) {}
  const std::string& file_name() const override { return tensors_->file_name(); }
  std::vector<std::string> names() const override { return tensors_->names(); }
  std::unique_ptr<bnorm::tensor_source> open(const std::string& name) const override {
    return tensors_->open(name);
  }
  std::optional<bnorm::layer_settings> settings_of(const std::string& prefix) const override {
    asked.push_back(prefix);
    const auto it = settings_.find(prefix);
    if (it == settings_.end()) return std::nullopt;
    return it->second;
  }
  /// The prefixes settings_of was asked for, in order.
  mutable std::vector<std::string> asked;

 private:
  std::unique_ptr<bnorm::tensor_archive> tensors_;
  std::map<std::string, bnorm::layer_settings> settings_;
};

}  // namespace bnorm_test
