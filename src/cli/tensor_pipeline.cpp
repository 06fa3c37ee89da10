// SPDX-License-Identifier: Apache-2.0
#include "tensor_pipeline.hpp"

#include "archive_rewrite.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {

tensor_route resolve_route(const std::string& input, const std::string& input_format,
                           const std::string& tensor, const std::string& output,
                           const std::string& output_format, const read_options& reading) {
  tensor_route route{input, tensor, {}, output, {}, reading};
  route.input_format = cli::input_format(input, input_format);
  route.output_format = cli::output_format(output, output_format);
  return route;
}

void check_route_rewrite(const tensor_route& route, const std::string& output_flag,
                         const std::string& input_flag) {
  check_single_tensor_rewrite({output_flag, route.output}, {input_flag, route.input},
                              route.input_format, route.tensor);
}

tensor_pipeline::tensor_pipeline(const tensor_route& route) : route_(route) {
  input_tensor input =
      open_input_tensor(route.input, route.input_format, route.tensor, true, true, route.reading);
  source_ = std::move(input.source);
  input_format_ = input.format;
}

tensor_pipeline::tensor_pipeline(const tensor_route& route, opened_input opened) : route_(route) {
  input_tensor input =
      open_input_tensor(std::move(opened), route.input, route.tensor, true, route.reading);
  source_ = std::move(input.source);
  input_format_ = input.format;
}

tensor_info tensor_pipeline::output_info(std::optional<dtype> type) const {
  tensor_info info = source_->info();
  info.type = type ? *type : output_type_for(info.type);
  return info;
}

tensor_sink& tensor_pipeline::open_output(const tensor_info& info, bool release_when_finished) {
  refuse_unwritable(route_.output, output_format(), !route_.output_format);
  refuse_binary_on_terminal(route_.output, output_format());
  output_ = std::make_unique<output_file>(route_.output, release_when_finished);
  sink_ = output_format().make_sink(*output_, info);
  return *sink_;
}

void tensor_pipeline::commit(output_file* other) {
  commit_together({output_.get(), other});
}

std::unique_ptr<output_file> tensor_pipeline::finish_output() {
  sink_.reset();
  output_->finish();
  return std::move(output_);
}

}  // namespace bnorm::cli
