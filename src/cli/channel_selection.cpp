// SPDX-License-Identifier: Apache-2.0
#include "channel_selection.hpp"

#include <charconv>
#include <limits>
#include <optional>

#include "count_text.hpp"
#include "error.hpp"

namespace bnorm::cli {
namespace {

// An integer as Python's int() reads a slice bound or step; one too large for long long is
// clamped, which changes nothing: a bound is clamped to the channels anyway, and a step of
// 2^63 or more selects at most the start, as one of LLONG_MAX does.
long long parse_bound(const std::string& part, const std::string& text) {
  const bool plus = part.starts_with('+');
  const char* first = part.data() + (plus ? 1 : 0);
  const char* last = part.data() + part.size();
  long long value = 0;
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (first == last || ptr != last || (plus && *first == '-') ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    throw usage_error("--channels takes an index or a Python slice (A:B, A:B:STEP), not '" + text +
                      "'");
  }
  if (ec == std::errc::result_out_of_range) {
    return *first == '-' ? std::numeric_limits<long long>::min()
                         : std::numeric_limits<long long>::max();
  }
  return value;
}

}  // namespace

channel_spec parse_channels(const std::string& text) {
  channel_spec spec;
  spec.text = text;
  if (text.empty()) return spec;
  std::vector<std::string> parts{""};
  for (char ch : text) {
    if (ch == ':') {
      parts.emplace_back();
    } else {
      parts.back() += ch;
    }
  }
  if (parts.size() > 3) {
    throw usage_error("--channels takes an index or a Python slice (A:B, A:B:STEP), not '" + text +
                      "'");
  }
  const auto bound = [&](const std::string& part) -> std::optional<long long> {
    if (part.empty()) return std::nullopt;
    return parse_bound(part, text);
  };
  if (parts.size() == 1) {
    spec.is_index = true;
    spec.index = *bound(parts[0]);
    return spec;
  }
  const std::optional<long long> given_step = parts.size() == 3 ? bound(parts[2]) : std::nullopt;
  spec.step = given_step.value_or(1);
  if (spec.step == 0) throw usage_error("--channels " + text + ": a slice's step cannot be 0");
  spec.start = bound(parts[0]);
  spec.stop = bound(parts[1]);
  return spec;
}

std::vector<std::size_t> select_channels(const channel_spec& spec, std::size_t channels) {
  const long long count = static_cast<long long>(channels);
  std::vector<std::size_t> selected;
  if (spec.text.empty()) {
    for (std::size_t c = 0; c < channels; ++c) selected.push_back(c);
    return selected;
  }
  if (spec.is_index) {
    const long long resolved = spec.index < 0 ? spec.index + count : spec.index;
    if (resolved < 0 || resolved >= count) {
      throw data_error("--channels " + spec.text + " is outside the " +
                       count_text(channels, "channel"));
    }
    return {static_cast<std::size_t>(resolved)};
  }
  const long long step = spec.step;
  // slice.indices(): negative bounds count from the end, then clamp to [lower, upper].
  const long long lower = step < 0 ? -1 : 0;
  const long long upper = step < 0 ? count - 1 : count;
  const auto resolve = [&](std::optional<long long> value, long long fallback) {
    if (!value) return fallback;
    long long v = *value < 0 ? *value + count : *value;
    if (v < lower) v = lower;
    if (v > upper) v = upper;
    return v;
  };
  const long long start = resolve(spec.start, step < 0 ? upper : lower);
  const long long stop = resolve(spec.stop, step < 0 ? lower : upper);
  // len(range(start, stop, step)) as Python counts it, then start + i·step for i below it: the
  // step may be anything down to LLONG_MIN, so neither c += step nor -step is computed.  start
  // and stop lie in [-1, count], and i·|step| stays below |stop - start|.
  using wide = unsigned long long;
  const wide span = step > 0 ? (start < stop ? static_cast<wide>(stop - start) : 0)
                             : (start > stop ? static_cast<wide>(start - stop) : 0);
  const wide stride = step > 0 ? static_cast<wide>(step) : wide{0} - static_cast<wide>(step);
  const wide length = span == 0 ? 0 : (span - 1) / stride + 1;
  for (wide i = 0; i < length; ++i) {
    const wide offset = i * stride;
    selected.push_back(static_cast<std::size_t>(step > 0 ? static_cast<wide>(start) + offset
                                                         : static_cast<wide>(start) - offset));
  }
  return selected;
}

}  // namespace bnorm::cli
