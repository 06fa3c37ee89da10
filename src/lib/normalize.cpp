// SPDX-License-Identifier: Apache-2.0
// normalize(): an array in memory through the same plan and passes as a file of its type.
#include <algorithm>
#include <bnorm/batch_norm.hpp>

#include "in_memory.hpp"
#include "public_types.hpp"

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
  std::vector<double> values(x.size());
  std::transform(x.storage().begin(), x.storage().end(), values.begin(),
                 [](T v) { return static_cast<double>(v); });
  bn_state next = lib::state_of(state);
  std::vector<channel_moments> batch;
  const std::vector<double> y =
      batch_norm(info, std::move(values), lib::config_of(opts), next, &batch);

  normalized<T> out;
  out.state = lib::public_state(next);
  out.batch = lib::public_statistics(batch);
  out.output = array<T>::from_shape(x.shape());
  std::transform(y.begin(), y.end(), out.output.storage().begin(),
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
