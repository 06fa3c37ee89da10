// SPDX-License-Identifier: Apache-2.0
// `bnorm convert`: .npy ↔ JSON and float16/32/64, with the same readers and writers as apply.
#pragma once

#include <optional>
#include <string>

#include "cli11_forward.hpp"
#include "dtype.hpp"
#include "tensor_pipeline.hpp"

namespace bnorm::cli {

struct convert_options {
  std::string input;
  std::string output;       ///< OUTPUT, the positional
  std::string output_flag;  ///< -o, the same output named as the other subcommands name it
  std::string input_format;
  std::string tensor;
  std::string missing;  ///< --missing as typed
  std::string output_format;
  std::string dtype;
};

CLI::App* add_convert_command(CLI::App& app, convert_options& options);

/// What `convert` runs: the flags validated, every default resolved.
struct convert_run {
  tensor_route files;
  std::optional<dtype> type;  ///< --dtype; else the type the input's is written back as
};

/// Validates the flags, their formats and their paths, before any tensor is read.
convert_run resolve(const convert_options& options);

int run_convert(const convert_run& run);

}  // namespace bnorm::cli
