// SPDX-License-Identifier: Apache-2.0
// The way of the subcommands that turn one tensor file into another (apply, backward, fold,
// convert): both formats resolved before anything is opened, the input opened, the output
// created with the type the input is written back as, and committed with the run's other
// outputs, all or none.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include "file_io.hpp"
#include "formats/registry.hpp"

namespace bnorm::cli {

/// A run's tensor input and output, formats resolved.
struct tensor_route {
  std::string input;                     ///< "-": standard input
  std::string tensor;                    ///< --tensor: the tensor of a container input, else empty
  const codec* input_format = nullptr;   ///< --input-format; null: told when it is opened
  std::string output;                    ///< "-": standard output
  const codec* output_format = nullptr;  ///< null: the input's
  read_options reading;                  ///< --missing: what the input's reader is asked
};

/// The formats of `input` and `output`, in that order, as far as their flags and names tell
/// before anything is read.  Throws io_error for a directory, else usage_error.
tensor_route resolve_route(const std::string& input, const std::string& input_format,
                           const std::string& tensor, const std::string& output,
                           const std::string& output_format, const read_options& reading = {});

/// Refuses an output renamed over a container input that holds more than the one tensor the
/// run rewrites; `output_flag` and `input_flag` name the two in the message.
void check_route_rewrite(const tensor_route& route, const std::string& output_flag,
                         const std::string& input_flag);

/// One run along a route.  Opens the input on construction; the output when asked.
class tensor_pipeline {
 public:
  explicit tensor_pipeline(const tensor_route& route);
  /// The same, with the input already opened (its first bytes read to tell its format).
  tensor_pipeline(const tensor_route& route, opened_input input);

  const tensor_source& source() const { return *source_; }

  /// The format the input was read in.  Another output of the run that has no name to tell
  /// its format (fold's --bias-out on -) is written in it.
  const codec& input_format() const { return *input_format_; }

  /// The format the output is written in: the route's, else the input's.
  const codec& output_format() const {
    return route_.output_format ? *route_.output_format : *input_format_;
  }

  /// The output's shape and order are the input's; its type `type`, else the type the input's
  /// is written back as (output_type_for).
  tensor_info output_info(std::optional<dtype> type = std::nullopt) const;

  /// Creates the output for `info` and returns its sink.  With `release_when_finished`, the
  /// output's temporary holds no descriptor once finished (see output_file).
  tensor_sink& open_output(const tensor_info& info, bool release_when_finished = false);

  /// The output, finished and not yet committed, for a commit with a run's other outputs;
  /// the pipeline keeps none.
  std::unique_ptr<output_file> finish_output();

  /// Commits the output together with `other`, when given: both or neither.
  void commit(output_file* other = nullptr);

 private:
  tensor_route route_;
  std::unique_ptr<tensor_source> source_;
  const codec* input_format_ = nullptr;
  std::unique_ptr<output_file> output_;
  std::unique_ptr<tensor_sink> sink_;
};

}  // namespace bnorm::cli
