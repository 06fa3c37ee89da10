// SPDX-License-Identifier: Apache-2.0
// `bnorm merge`: combine the partial statistics of shards into those of the whole batch.
#pragma once

#include <string>
#include <vector>

#include "cli11_forward.hpp"
#include "input_list.hpp"

namespace bnorm::cli {

struct merge_options {
  input_list_options inputs;
  std::string output;
};

CLI::App* add_merge_command(CLI::App& app, merge_options& options);

/// What `merge` runs: the paths checked, in canonical order.
struct merge_run {
  std::vector<std::string> inputs;
  std::string output;
};

/// Checks the paths, before any file is read.
merge_run resolve(const merge_options& options);

int run_merge(const merge_run& run);

}  // namespace bnorm::cli
