// SPDX-License-Identifier: Apache-2.0
// A picture of per-channel statistics: a self-contained SVG a person can open in a browser.
#pragma once

#include <string>
#include <vector>

#include "channel_stats.hpp"

namespace bnorm {

/// What a chart's values are, which its y axis says: a tensor's elements, in its own units,
/// or a batch normalization's output, standardized, then scaled by weight and shifted by bias.
enum class plot_values { elements, normalized };

/// One chart: a label ("before", "after normalization") and its channels' moments.
struct plot_panel {
  std::string label;
  std::vector<channel_moments> channels;
  std::size_t first_channel = 0;  ///< the index of channels[0], for the axis labels
  std::vector<std::size_t> indices{};  ///< when not empty, the index of each channel instead
  plot_values values = plot_values::elements;
};

/// An SVG with one chart per panel, side by side: for every channel (x axis) its mean as a
/// dot, mean ± std as an error bar, and min to max as a thin line; `title` heads the picture.
/// Channels whose statistics are NaN are skipped and counted in the chart's caption.
std::string stats_svg(const std::string& title, const std::vector<plot_panel>& panels);

}  // namespace bnorm
