// SPDX-License-Identifier: Apache-2.0
#include "in_memory.hpp"

#include <xtensor/xadapt.hpp>

namespace bnorm {

xt::xarray<double> batch_norm(const xt::xarray<double>& x, const bn_config& config, bn_state& state,
                              std::vector<channel_moments>* batch) {
  tensor_info info{dtype::float64(), {x.shape().begin(), x.shape().end()}, false};
  const bn_plan plan = plan_batch_norm(info, config, state, batch != nullptr);
  auto source = memory_source(info, std::vector<double>(x.begin(), x.end()));
  memory_sink sink(info.element_count());
  bn_result result = run_batch_norm(plan, *source, sink);
  state = std::move(result.state);
  if (batch) *batch = std::move(result.batch);
  xt::xarray<double> y = xt::adapt(sink.values(), x.shape());
  return y;
}

}  // namespace bnorm
