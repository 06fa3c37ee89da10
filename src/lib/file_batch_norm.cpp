// SPDX-License-Identifier: Apache-2.0
#include <bnorm/file_batch_norm.hpp>

#include "batch_norm.hpp"
#include "error.hpp"
#include "file_io.hpp"
#include "formats/registry.hpp"
#include "passes.hpp"
#include "public_types.hpp"
#include "source_file.hpp"

namespace bnorm {

step_result apply_file(const std::string& input, const std::string& output, const options& opts,
                       const layer_state& state, const file_options& files) {
  // Both formats are settled before anything is read or created.
  const codec* output_format = codec_for_output(output, lib::format_named(files.output_format));
  lib::source_file in(input, files);
  const codec& format = output_format ? *output_format : in.format();
  if (!format.make_sink) {
    throw usage_error(output + ": bnorm writes no tensor as " + std::string(format.a_file));
  }
  const tensor_source& source = in.source();
  const bn_plan plan = plan_batch_norm(source.info(), lib::config_of(opts), lib::state_of(state),
                                       true, input, "state");
  tensor_info written = source.info();
  written.type = output_type_for(written.type);
  output_file out(output);
  bn_result result;
  {
    const std::unique_ptr<tensor_sink> sink = format.make_sink(out, written);
    result = run_batch_norm(plan, source, *sink);
  }
  out.commit();
  return {lib::public_state(result.state), lib::public_statistics(result.batch)};
}

std::vector<channel_statistics> file_statistics(const std::string& path, long long axis,
                                                const file_options& files) {
  lib::source_file in(path, files);
  const channel_layout layout = batch_layout(in.source().info(), axis, path);
  return lib::public_statistics(channel_moments_of(in.source(), layout));
}

}  // namespace bnorm
