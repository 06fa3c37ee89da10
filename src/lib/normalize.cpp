// SPDX-License-Identifier: Apache-2.0
// normalize(): an array in memory through the same plan and passes as a file of its type.
#include <algorithm>
#include <bnorm/batch_norm.hpp>

#include "batch_norm.hpp"
#include "public_types.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

namespace {

// The file type whose arithmetic an array of T gets (float64's double-double moments).
template <class T>
constexpr dtype dtype_of() {
  if constexpr (std::is_same_v<T, float>) return dtype::float32();
  if constexpr (std::is_same_v<T, double>) return dtype::float64();
  if constexpr (std::is_same_v<T, half>) return dtype::float16();
}

template <class T>
normalized<T> normalize_as(const array<T>& x, const options& opts, const layer_state& state) {
  const tensor_info info{dtype_of<T>(), {x.shape().begin(), x.shape().end()}, false};
  const bn_plan plan = plan_batch_norm(info, lib::config_of(opts), lib::state_of(state), true);
  std::vector<double> values(x.size());
  std::transform(x.storage().begin(), x.storage().end(), values.begin(),
                 [](T v) { return static_cast<double>(v); });
  const auto source = memory_source(info, std::move(values));
  memory_sink sink(info.element_count());
  const bn_result result = run_batch_norm(plan, *source, sink);

  normalized<T> out;
  out.state = lib::public_state(result.state);
  out.batch = lib::public_statistics(result.batch);
  out.output = array<T>::from_shape(x.shape());
  std::transform(sink.values().begin(), sink.values().end(), out.output.storage().begin(),
                 [](double v) { return static_cast<T>(v); });
  return out;
}

}  // namespace

normalized<float> normalize(const array<float>& x, const options& opts, const layer_state& state) {
  return normalize_as(x, opts, state);
}

normalized<double> normalize(const array<double>& x, const options& opts,
                             const layer_state& state) {
  return normalize_as(x, opts, state);
}

normalized<half> normalize(const array<half>& x, const options& opts, const layer_state& state) {
  return normalize_as(x, opts, state);
}

}  // namespace bnorm
