#include "merge_command.hpp"

#include "count_text.hpp"
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
  cmd->add_option("PARTIAL", o.inputs, "Partial statistics files, one per shard (or merged)")
      ->type_name("FILE")
      ->required();
  cmd->add_option("-o,--output", o.output, "The merged statistics; - writes standard output")
      ->type_name("FILE")
      ->required();
  return cmd;
}

merge_run resolve(const merge_options& o) {
  std::vector<file_role> inputs;
  for (const std::string& path : o.inputs) inputs.push_back({"PARTIAL", path});
  check_output_paths(inputs, {{"-o", o.output}}, {{"-o", "PARTIAL"}});
  return {o.inputs, o.output};
}

int run_merge(const merge_run& o) {
  std::vector<std::vector<channel_moments>> shards;
  for (const std::string& path : o.inputs) {
    const std::string text = read_text_file(path);
    try {
      shards.push_back(parse_partial(parse_json_document(text)));
    } catch (const data_error& e) {
      throw data_error(e, input_name(path) + ": ",
                       format_hint(path, "partial statistics are the JSON of stats --partial"));
    }
    if (shards.back().size() != shards.front().size()) {
      throw data_error(input_name(path) + ": " + count_text(shards.back().size(), "channel") +
                       ", but " + input_name(o.inputs.front()) + " has " +
                       std::to_string(shards.front().size()));
    }
  }
  nlohmann::ordered_json doc = partial_document(merge_partials(shards), true);
  doc["shards"] = o.inputs.size();
  output_file out(o.output);
  out.write(format_json_document(doc));
  out.commit();
  return exit_ok;
}

}  // namespace bnorm::cli
