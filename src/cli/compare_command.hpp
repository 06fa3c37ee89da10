// SPDX-License-Identifier: Apache-2.0
// `bnorm compare`: are two tensors (or two statistics/state files) equal within a tolerance?
// Exit 0 when they are, 1 when they are not, like cmp and diff.
#pragma once

#include <string>

#include "cli11_forward.hpp"
#include "formats/codec.hpp"
#include "tensor_compare.hpp"

namespace bnorm::cli {

struct compare_options {
  std::string actual;
  std::string expected;
  std::string rtol = "1e-05";
  std::string atol = "1e-08";
  std::string ulp;
  std::string tensor;
  std::string missing;  ///< --missing as typed
  std::string format = "text";
  bool equal_nan = false;
  bool ignore_extra_keys = false;
};

CLI::App* add_compare_command(CLI::App& app, compare_options& options);

/// How compare reports: for a person, or as a JSON document.
enum class compare_report { text, json };

/// What `compare` runs: the flags validated, every default resolved.
struct compare_run {
  std::string actual;
  std::string expected;
  std::string tensor;
  read_options reading;  ///< --missing
  tolerance tol;
  compare_report report = compare_report::text;
  bool ignore_extra_keys = false;
};

/// Validates the flags and the paths, before any file is read.
compare_run resolve(const compare_options& options);

int run_compare(const compare_run& run);

}  // namespace bnorm::cli
