// SPDX-License-Identifier: Apache-2.0
// Reading CLI11's definitions back, for what is generated from them (man page, completions).
#pragma once

#include <CLI/CLI.hpp>
#include <cctype>
#include <string>
#include <vector>

namespace bnorm::cli {

/// Every subcommand of `app`, in the order they were added (CLI11's own getter without a
/// filter returns only the ones parsed).
inline std::vector<const CLI::App*> subcommands_of(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

/// Every option of `app`, positionals and --help included, in the order they were added.
inline std::vector<const CLI::Option*> options_of(const CLI::App& app) {
  return app.get_options([](const CLI::Option*) { return true; });
}

inline bool is_positional(const CLI::Option& o) {
  return o.get_positional() && !o.nonpositional();
}

/// True for an option that takes no value.
inline bool is_flag(const CLI::Option& o) {
  return o.get_expected_max() == 0;  // a flag's type size is 1 in CLI11 2.1: it counts
}

/// The values an option takes when its type name lists them ("train|eval"); empty when the
/// type name is a placeholder ("FILE", "E", "M|none", "A:B").
inline std::vector<std::string> value_choices(const CLI::Option& o) {
  const std::string type = o.get_type_name();
  if (type.find('|') == std::string::npos) return {};
  std::vector<std::string> choices(1);
  for (const char c : type) {
    if (c == '|') {
      choices.emplace_back();
    } else if (std::islower(static_cast<unsigned char>(c)) || std::isdigit(c) || c == '-') {
      choices.back() += c;
    } else {
      return {};  // an upper-case placeholder: any value
    }
  }
  return choices;
}

/// True when an option's value (or a positional) names a file.
inline bool takes_file(const CLI::Option& o) {
  return o.get_type_name().rfind("FILE", 0) == 0;
}

}  // namespace bnorm::cli
