// SPDX-License-Identifier: Apache-2.0
#include "stats_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "number_format.hpp"
#include "svg_text.hpp"

namespace bnorm {
namespace {

constexpr double panel_width = 560, panel_height = 380;
constexpr double margin_left = 80, margin_right = 16, margin_top = 56, margin_bottom = 52;
// What the y axis measures: the elements' values themselves, so the tensor's own units, or,
// after normalization, z = (x - mean) / sqrt(var + eps), which has none, scaled and shifted
// (the std drawn is the biased one, which the legend says).
const char* y_axis_label(plot_values values) {
  return values == plot_values::normalized ? "normalized value (weight·z + bias)"
                                           : "element value (the tensor's own units)";
}

// A tick step of 1, 2 or 5 times a power of ten giving about five ticks over [lo, hi].
double tick_step(double lo, double hi) {
  const double raw = (hi - lo) / 5;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (raw <= m * power) return m * power;
  }
  return 10 * power;
}

std::string tick_label(double value, double step) {
  if (std::fabs(value) < step * 1e-9) value = 0;  // no "-0" or 1e-17 at the origin
  return format_number(value, dtype::float32());
}

void draw_panel(std::string& svg, const plot_panel& panel, double x0) {
  // Value range over every finite min, max and mean ± std.
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  std::size_t skipped = 0;
  for (const channel_moments& m : panel.channels) {
    const double std_dev = std::sqrt(m.var());
    if (!std::isfinite(m.mean) || !std::isfinite(std_dev)) {
      ++skipped;
      continue;
    }
    for (double v : {m.min, m.max, m.mean - std_dev, m.mean + std_dev}) {
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  }
  if (lo > hi) lo = -1, hi = 1;  // nothing finite to show
  // Halving keeps hi − lo finite for values near ±DBL_MAX.
  if (!std::isfinite(hi - lo)) lo /= 2, hi /= 2;
  // A range too narrow to label (a constant, or 1e16 and 1e16 + 2) is widened in proportion
  // to the values, so that adding a step always moves.
  const double magnitude = std::max({1.0, std::fabs(lo), std::fabs(hi)});
  if (hi - lo < 1e-9 * magnitude) {
    lo -= 1e-6 * magnitude;
    hi += 1e-6 * magnitude;
  }
  const double step = tick_step(lo, hi);
  // Ticks by integer index: a bounded loop whatever rounding does.
  const double first_tick = std::floor(lo / step), last_tick = std::ceil(hi / step);
  lo = first_tick * step;
  hi = last_tick * step;
  const int ticks = static_cast<int>(std::min(last_tick - first_tick, 20.0));

  const double left = x0 + margin_left, right = x0 + panel_width - margin_right;
  const double top = margin_top, bottom = panel_height - margin_bottom;
  const auto y_of = [&](double v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); };
  const std::size_t n = panel.channels.size();
  const double slot = (right - left) / static_cast<double>(std::max<std::size_t>(n, 1));
  const auto x_of = [&](std::size_t c) { return left + (static_cast<double>(c) + 0.5) * slot; };

  svg += "<g class=\"panel\">\n";
  svg += "<text x=\"" + svg_number((left + right) / 2) + "\" y=\"40\" class=\"label\">" +
         svg_escape(panel.label) + "</text>\n";
  for (int k = 0; k <= ticks; ++k) {
    const double v = (first_tick + k) * step;
    const std::string y = svg_number(y_of(v));
    svg += "<line x1=\"" + svg_number(left) + "\" x2=\"" + svg_number(right) + "\" y1=\"" + y +
           "\" y2=\"" + y + "\" class=\"" + (std::fabs(v) < step / 2 ? "zero" : "grid") + "\"/>\n";
    svg += "<text x=\"" + svg_number(left - 6) + "\" y=\"" + svg_number(y_of(v) + 4) +
           "\" class=\"tick y\">" + tick_label(v, step) + "</text>\n";
  }
  svg += "<rect x=\"" + svg_number(left) + "\" y=\"" + svg_number(top) + "\" width=\"" +
         svg_number(right - left) + "\" height=\"" + svg_number(bottom - top) +
         "\" class=\"frame\"/>\n";
  // Label every channel when they fit, else about ten of them.
  const std::size_t label_every = std::max<std::size_t>(1, (n + 9) / 10);
  const auto channel_number = [&](std::size_t c) {
    return panel.indices.empty() ? panel.first_channel + c : panel.indices[c];
  };
  for (std::size_t c = 0; c < n; ++c) {
    if (c % label_every == 0) {
      svg += "<text x=\"" + svg_number(x_of(c)) + "\" y=\"" + svg_number(bottom + 16) +
             "\" class=\"tick x\">" + std::to_string(channel_number(c)) + "</text>\n";
    }
    const channel_moments& m = panel.channels[c];
    const double std_dev = std::sqrt(m.var());
    if (!std::isfinite(m.mean) || !std::isfinite(std_dev)) continue;
    const std::string x = svg_number(x_of(c));
    svg += "<g class=\"channel\"><title>channel " + std::to_string(channel_number(c)) + ": mean " +
           format_number(m.mean, dtype::float64()) + ", std " +
           format_number(std_dev, dtype::float64()) + ", min " +
           format_number(m.min, dtype::float64()) + ", max " +
           format_number(m.max, dtype::float64()) + "</title>\n";
    if (std::isfinite(m.min) && std::isfinite(m.max)) {
      svg += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + svg_number(y_of(m.min)) +
             "\" y2=\"" + svg_number(y_of(m.max)) + "\" class=\"range\"/>\n";
    }
    const std::string y_low = svg_number(y_of(m.mean - std_dev)),
                      y_high = svg_number(y_of(m.mean + std_dev));
    svg += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + y_low + "\" y2=\"" + y_high +
           "\" class=\"std\"/>\n";
    const double cap = std::min(6.0, slot / 3);  // half the width of the error bar's caps
    for (const std::string& y : {y_low, y_high}) {
      svg += "<line x1=\"" + svg_number(x_of(c) - cap) + "\" x2=\"" + svg_number(x_of(c) + cap) +
             "\" y1=\"" + y + "\" y2=\"" + y + "\" class=\"std\"/>\n";
    }
    svg += "<circle cx=\"" + x + "\" cy=\"" + svg_number(y_of(m.mean)) + "\" r=\"" +
           svg_number(std::clamp(slot / 4, 1.5, 4.0)) + "\" class=\"mean\"/></g>\n";
  }
  // The y axis's label, turned up along it, left of the tick labels.
  const double label_x = x0 + 16, label_y = (top + bottom) / 2;
  svg += "<text x=\"" + svg_number(label_x) + "\" y=\"" + svg_number(label_y) +
         "\" transform=\"rotate(-90 " + svg_number(label_x) + " " + svg_number(label_y) +
         ")\" class=\"axis y\">" + y_axis_label(panel.values) + "</text>\n";
  std::string caption = "channel";
  if (skipped > 0)
    caption += " (" + std::to_string(skipped) + " with NaN/Inf statistics not shown)";
  svg += "<text x=\"" + svg_number((left + right) / 2) + "\" y=\"" + svg_number(bottom + 38) +
         "\" class=\"axis\">" + svg_escape(caption) + "</text>\n</g>\n";
}

}  // namespace

std::string stats_svg(const std::string& title, const std::vector<plot_panel>& panels) {
  const double width = panel_width * static_cast<double>(std::max<std::size_t>(panels.size(), 1));
  std::string svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + svg_number(width) + "\" height=\"" +
      svg_number(panel_height + 24) + "\" viewBox=\"0 0 " + svg_number(width) + " " +
      svg_number(panel_height + 24) +
      "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
      "<style>\n"
      ".title{font-size:15px;font-weight:bold;text-anchor:middle}\n"
      ".label{font-size:13px;text-anchor:middle}\n"
      ".tick{font-size:11px;fill:#444}.tick.y{text-anchor:end}.tick.x{text-anchor:middle}\n"
      ".axis{font-size:12px;text-anchor:middle;fill:#444}.axis.y{dominant-baseline:middle}\n"
      ".grid{stroke:#e4e4e4;stroke-width:1}.zero{stroke:#999;stroke-width:1}\n"
      ".frame{fill:none;stroke:#888;stroke-width:1}\n"
      ".range{stroke:#9ecae1;stroke-width:2}\n"
      ".std{stroke:#08519c;stroke-width:2}\n"
      ".mean{fill:#d94801}\n"
      "</style>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"" +
      svg_number(width / 2) + "\" y=\"20\" class=\"title\">" + svg_escape(title) + "</text>\n";
  for (std::size_t i = 0; i < panels.size(); ++i) {
    draw_panel(svg, panels[i], panel_width * static_cast<double>(i));
  }
  // The legend, once, bottom right.
  const double y = panel_height + 12, x = width - 330;
  svg +=
      "<g class=\"legend\" font-size=\"11\">"
      "<circle cx=\"" +
      svg_number(x) + "\" cy=\"" + svg_number(y - 4) +
      "\" r=\"4\" class=\"mean\"/>"
      "<text x=\"" +
      svg_number(x + 8) + "\" y=\"" + svg_number(y) +
      "\">mean</text>"
      "<line x1=\"" +
      svg_number(x + 60) + "\" x2=\"" + svg_number(x + 60) + "\" y1=\"" + svg_number(y - 10) +
      "\" y2=\"" + svg_number(y + 2) +
      "\" class=\"std\"/>"
      "<text x=\"" +
      svg_number(x + 66) + "\" y=\"" + svg_number(y) +
      "\">mean ± std (biased)</text>"
      "<line x1=\"" +
      svg_number(x + 200) + "\" x2=\"" + svg_number(x + 200) + "\" y1=\"" + svg_number(y - 10) +
      "\" y2=\"" + svg_number(y + 2) +
      "\" class=\"range\"/>"
      "<text x=\"" +
      svg_number(x + 206) + "\" y=\"" + svg_number(y) + "\">min to max</text></g>\n";
  svg += "</svg>\n";
  return svg;
}

}  // namespace bnorm
