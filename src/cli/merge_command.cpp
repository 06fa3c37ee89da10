// SPDX-License-Identifier: Apache-2.0
#include "merge_command.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>

#include "count_text.hpp"
#include "dataset_stats.hpp"
#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "json_document.hpp"
#include "output_paths.hpp"
#include "partial_stats.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {

CLI::App* add_merge_command(CLI::App& app, merge_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "merge",
      "Combine shards' partial statistics (stats --partial) into the whole batch's, exactly "
      "(Chan's update), in any order and grouping.");
  cmd->add_option("PARTIAL", o.inputs.paths,
                  "Partial statistics files, one per shard (or merged), or folders of them")
      ->type_name("FILE");
  add_input_list_options(cmd, o.inputs);
  cmd->add_option("-o,--output", o.output, "The merged statistics; - writes standard output")
      ->type_name("FILE")
      ->required();
  return cmd;
}

merge_run resolve(const merge_options& o) {
  std::vector<std::string> paths = expand_inputs(o.inputs);
  if (std::count(paths.begin(), paths.end(), std::string(standard_stream)) +
          (o.inputs.files_from == standard_stream ? 1 : 0) >
      1) {
    throw usage_error(
        "standard input is read once: name - at most once, and not with "
        "--files-from -");
  }
  std::vector<file_role> inputs;
  for (const std::string& path : paths) inputs.push_back({"PARTIAL", path});
  check_output_paths(inputs, {{"-o", o.output}}, {{"-o", "PARTIAL"}});
  // In byte order, merged by a fixed tree: the same bytes whatever order they were named in.
  return {canonical_order(std::move(paths)), o.output};
}

int run_merge(const merge_run& o) {
  moments_tree tree;
  std::size_t channels = 0;
  for (const std::string& path : o.inputs) {
    const std::string text = read_text_file(path);
    std::vector<channel_moments> shard;
    try {
      shard = parse_partial(parse_json_document(text));
    } catch (const data_error& e) {
      throw data_error(e, input_name(path) + ": ",
                       format_hint(path, "partial statistics are the JSON of stats --partial"));
    }
    if (&path == &o.inputs.front()) channels = shard.size();
    if (shard.size() != channels) {
      throw data_error(input_name(path) + ": " + count_text(shard.size(), "channel") + ", but " +
                       input_name(o.inputs.front()) + " has " + std::to_string(channels));
    }
    tree.push(std::move(shard));
  }
  nlohmann::ordered_json doc = partial_document(tree.total(), true);
  doc["shards"] = o.inputs.size();
  output_file out(o.output);
  out.write(format_json_document(doc));
  out.commit();
  return exit_ok;
}

}  // namespace bnorm::cli
