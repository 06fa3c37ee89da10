// `bnorm compare`: are two tensors (or two statistics/state files) equal within a tolerance?
// Exit 0 when they are, 1 when they are not, like cmp and diff.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace bnorm::cli {

struct compare_options {
  std::string actual;
  std::string expected;
  std::string rtol = "1e-05";
  std::string atol = "1e-08";
  std::string ulp;
  std::string tensor;
  std::string format = "text";
  bool equal_nan = false;
  bool ignore_extra_keys = false;
};

CLI::App* add_compare_command(CLI::App& app, compare_options& options);

int run_compare(const compare_options& options);

}  // namespace bnorm::cli
