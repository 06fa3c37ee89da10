// SPDX-License-Identifier: Apache-2.0
#include "command_line.hpp"

#include <algorithm>
#include <iterator>

#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "manual.hpp"
#include "version_text.hpp"

namespace bnorm::cli {

command_line::command_line(std::string_view only)
    : app("bnorm: " + std::string(manual_summary) + ".", "bnorm") {
  app.set_version_flag("--version", version_text(),
                       "Print the versions of bnorm and of its libraries and exit");
  app.require_subcommand(1);
  app.footer(std::string(manual_exit_status_line));

  const bool just_one = std::find(std::begin(subcommand_names), std::end(subcommand_names), only) !=
                        std::end(subcommand_names);
  const auto wanted = [&](std::string_view name) { return !just_one || name == only; };
  if (wanted("apply")) {
    subcommands.emplace_back(add_apply_command(app, apply_),
                             [this] { return run_apply(resolve(apply_)); });
  }
  if (wanted("stats")) {
    subcommands.emplace_back(add_stats_command(app, stats_),
                             [this] { return run_stats(resolve(stats_)); });
  }
  if (wanted("layers")) {
    subcommands.emplace_back(add_layers_command(app, layers_),
                             [this] { return run_layers(resolve(layers_)); });
  }
  if (wanted("compare")) {
    subcommands.emplace_back(add_compare_command(app, compare_),
                             [this] { return run_compare(resolve(compare_)); });
  }
  if (wanted("convert")) {
    subcommands.emplace_back(add_convert_command(app, convert_),
                             [this] { return run_convert(resolve(convert_)); });
  }
  if (wanted("merge")) {
    subcommands.emplace_back(add_merge_command(app, merge_),
                             [this] { return run_merge(resolve(merge_)); });
  }
  if (wanted("backward")) {
    subcommands.emplace_back(add_backward_command(app, backward_),
                             [this] { return run_backward(resolve(backward_)); });
  }
  if (wanted("fold")) {
    subcommands.emplace_back(add_fold_command(app, fold_),
                             [this] { return run_fold(resolve(fold_)); });
  }
  // What --verbose reports; compare and merge make no pass that a bar or --verbose describes.
  const std::pair<std::string_view, std::string_view> reports[] = {
      {"apply", "the convention, momentum, layout and passes"},
      {"stats", "the layout and passes (with --after, the convention)"},
      {"backward", "the convention, layout and passes"},
      {"convert", "the passes"},
      {"fold", "the passes"}};
  for (const auto& [command, run] : subcommands) {
    for (const auto& [name, reported] : reports) {
      if (command->get_name() == name) {
        add_feedback_options(command, feedback, std::string(reported));
      }
    }
  }

  help = app.add_subcommand(
      "help", "Print a subcommand's help, as SUBCOMMAND --help does; alone, bnorm's help");
  help->add_option("SUBCOMMAND", help_topic, "The subcommand to describe")->type_name("NAME");
}

bool command_line::names_subcommand(std::string_view word) {
  return word == "help" || std::find(std::begin(subcommand_names), std::end(subcommand_names),
                                     word) != std::end(subcommand_names);
}

std::string command_line::subcommand_list() {
  std::string names;
  for (std::string_view name : subcommand_names) {
    names.append(names.empty() ? "" : ", ").append(name);
  }
  return names;
}

void write_standard_output(const std::string& text) {
  output_file out{std::string(standard_stream)};
  out.write(text);
  out.commit();
}

int command_line::run_help() const {
  if (help_topic.empty()) {
    // Not app.help(): with `help` parsed it would describe the `help` subcommand.
    write_standard_output(
        app.get_formatter()->make_help(&app, "bnorm", CLI::AppFormatMode::Normal));
    return exit_ok;
  }
  if (help_topic == "help") {  // offered by the completions, as every subcommand is
    write_standard_output(help->help("bnorm"));
    return exit_ok;
  }
  for (const auto& [command, run] : subcommands) {
    if (command->get_name() == help_topic) {
      write_standard_output(command->help("bnorm"));
      return exit_ok;
    }
  }
  throw usage_error("help: no subcommand '" + help_topic + "': there are " + subcommand_list());
}

}  // namespace bnorm::cli
