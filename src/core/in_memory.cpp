// SPDX-License-Identifier: Apache-2.0
#include "in_memory.hpp"

#include <xtensor/xadapt.hpp>

namespace bnorm {

std::vector<double> batch_norm(const tensor_info& info, std::vector<double> values,
                               const bn_config& config, bn_state& state,
                               std::vector<channel_moments>* batch) {
  const bn_plan plan = plan_batch_norm(info, config, state, batch != nullptr);
  auto source = memory_source(info, std::move(values));
  memory_sink sink(info.element_count());
  bn_result result = run_batch_norm(plan, *source, sink);
  state = std::move(result.state);
  if (batch) *batch = std::move(result.batch);
  return std::move(sink.values());
}

xt::xarray<double> batch_norm(const xt::xarray<double>& x, const bn_config& config, bn_state& state,
                              std::vector<channel_moments>* batch) {
  const tensor_info info{dtype::float64(), {x.shape().begin(), x.shape().end()}, false};
  const std::vector<double> y =
      batch_norm(info, std::vector<double>(x.begin(), x.end()), config, state, batch);
  return xt::adapt(y, x.shape());
}

}  // namespace bnorm
