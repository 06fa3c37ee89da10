// SPDX-License-Identifier: Apache-2.0
// What `apply` runs, as the one-file run and the run over many files share it: the flags as
// typed, the run they resolve to, and the steps both runs take.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "batch_norm.hpp"
#include "file_io.hpp"
#include "input_list.hpp"
#include "layer_flags.hpp"
#include "state_input.hpp"
#include "tensor_pipeline.hpp"

namespace bnorm::cli {

/// The flags of `apply` as typed; numbers stay text until validated.
struct apply_options {
  input_list_options inputs;
  bool no_output = false;
  bool reset_running_stats = false;
  std::string threads;
  std::string output;
  std::string input_format;
  std::string tensor;
  std::string missing;  ///< --missing as typed
  std::string output_format;
  std::string stats_out;
  std::string batch_stats;
  std::string virtual_batch_size;
  layer_options layer;
};

/// What `apply` runs: the flags validated, every default resolved.
struct apply_run {
  bn_config config;  ///< --virtual-batch-size included
  tensor_route files;
  state_input state;
  std::string stats_out;  ///< empty: none
  /// --stats-out names the --state file of tensors: only the layer's tensors are replaced.
  bool update_in_place = false;
  std::string batch_stats;  ///< empty: the input's own statistics
  /// Many inputs (or -o naming a folder, or --no-output): one route per input, in the order
  /// given, each output under the folder; empty for the one-file run, `files` above.
  std::vector<tensor_route> many;
  bool no_output = false;
  /// --reset-running-stats: start from running_mean 0, running_var 1, num_batches_tracked 0.
  bool reset_running_stats = false;
  std::string output_folder;  ///< of `many`; empty with --no-output
  bool creates_output_folder = false;
  std::size_t threads = 1;
};

/// The statistics --batch-stats names (none for an empty path), its name in errors.
std::vector<channel_moments> read_batch_statistics(const std::string& path);
/// Forgets the running statistics, as reset_running_stats() does: the plan starts them anew.
void reset_running_statistics(bn_state& state);
/// Warns of a momentum that reads like the other convention's default.
void warn_about_momentum(const bn_config& config);
/// Whether --stats-out updates --state in place (run.update_in_place); else refuses one that
/// would rewrite an archive holding more than the state's tensors.  Needs run.config.
void resolve_stats_out(const apply_options& o, apply_run& run);
/// Writes the updated state to --stats-out `stats` in the form its name asks: the layer
/// updated in place in --state, named tensors, or the JSON `document`.
void write_stats_out(const apply_run& run, read_state_result& read, const bn_result& result,
                     output_file& stats, const nlohmann::ordered_json& document);

}  // namespace bnorm::cli
