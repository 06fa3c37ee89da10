// `bnorm convert`: .npy ↔ JSON and float16/32/64, with the same readers and writers as apply.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace bnorm::cli {

struct convert_options {
  std::string input;
  std::string output;
  std::string input_format;
  std::string tensor;
  std::string output_format;
  std::string dtype;
};

CLI::App* add_convert_command(CLI::App& app, convert_options& options);

int run_convert(const convert_options& options);

}  // namespace bnorm::cli
