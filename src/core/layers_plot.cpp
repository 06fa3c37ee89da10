// SPDX-License-Identifier: Apache-2.0
#include "layers_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "number_format.hpp"
#include "svg_text.hpp"

namespace bnorm {
namespace {

constexpr double label_width = 230, panel_width = 360, gap = 24, margin_right = 16;
constexpr double top = 64, row_height = 22, bottom_margin = 76;
// The slots at each end of a panel for what a log axis cannot place.
constexpr double end_slot = 22;
// Up to this many channels in a row, each is its own dot.
constexpr std::size_t dots_per_channel_up_to = 64;

std::string decade_label(int k) {
  if (k >= -3 && k <= 3) return format_number(std::pow(10.0, k), dtype::float64());
  return "1e" + std::to_string(k);
}

// One panel's axis: whole decades covering every finite positive value (and the threshold).
struct log_axis {
  int first = -1, last = 1;
  double left = 0, right = 0;  // where the decades are drawn, inside the end slots
  double x_of(double value) const {
    return left + (std::log10(value) - first) / (last - first) * (right - left);
  }
};

log_axis axis_over(const std::vector<model_layer>& layers, bool gamma, double threshold,
                   double x0) {
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  const auto take = [&](double v) {
    if (std::isfinite(v) && v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
  };
  for (const model_layer& layer : layers) {
    for (double v : gamma ? layer.weight : layer.running_var) take(gamma ? std::fabs(v) : v);
  }
  if (gamma && threshold > 0) take(threshold);
  log_axis axis;
  if (lo <= hi) {
    axis.first = static_cast<int>(std::floor(std::log10(lo)));
    axis.last = static_cast<int>(std::ceil(std::log10(hi)));
    if (axis.last <= axis.first) axis.last = axis.first + 1;
  }
  axis.left = x0 + end_slot;
  axis.right = x0 + panel_width - end_slot;
  return axis;
}

// Counts of what the axis cannot place.
struct unplaced {
  std::size_t zero = 0, negative = 0, nan = 0, inf = 0;
};

void draw_mark(std::string& svg, const char* kind, double x, double y, std::size_t count,
               const std::string& what) {
  if (count == 0) return;
  svg += "<g class=\"mark " + std::string(kind) + "\"><title>" + std::to_string(count) + " " +
         what + "</title>";
  const std::string cx = svg_number(x), cy = svg_number(y);
  if (std::string_view(kind) == "zero") {
    svg += "<rect x=\"" + svg_number(x - 5) + "\" y=\"" + svg_number(y - 5) +
           "\" width=\"10\" height=\"10\"/>";
  } else if (std::string_view(kind) == "negative") {
    svg += "<path d=\"M" + svg_number(x) + " " + svg_number(y + 6) + "L" + svg_number(x - 6) + " " +
           svg_number(y - 5) + "L" + svg_number(x + 6) + " " + svg_number(y - 5) + "Z\"/>";
  } else if (std::string_view(kind) == "nan") {
    svg += "<path d=\"M" + svg_number(x - 5) + " " + svg_number(y - 5) + "L" + svg_number(x + 5) +
           " " + svg_number(y + 5) + "M" + svg_number(x - 5) + " " + svg_number(y + 5) + "L" +
           svg_number(x + 5) + " " + svg_number(y - 5) + "\"/>";
  } else {
    svg += "<path d=\"M" + svg_number(x) + " " + svg_number(y - 6) + "L" + svg_number(x + 6) + " " +
           svg_number(y) + "L" + svg_number(x) + " " + svg_number(y + 6) + "L" + svg_number(x - 6) +
           " " + svg_number(y) + "Z\"/>";
  }
  svg += "</g>\n";
}

void draw_row(std::string& svg, const std::vector<double>& values, bool gamma, const log_axis& axis,
              double y, double threshold) {
  unplaced u;
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  // Each placed channel's x, and whether its |γ| is under the threshold.
  std::vector<std::pair<double, bool>> placed;
  for (double raw : values) {
    const double v = gamma ? std::fabs(raw) : raw;
    if (std::isnan(v)) {
      ++u.nan;
    } else if (std::isinf(v)) {
      ++u.inf;
    } else if (v == 0) {
      ++u.zero;
    } else if (v < 0) {
      ++u.negative;
    } else {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      placed.emplace_back(axis.x_of(v), gamma && v < threshold);
    }
  }
  // A layer of thousands of channels draws a dot per pixel it covers, not per channel: the
  // picture looks the same and stays small.  Small gammas are drawn over the others.
  if (placed.size() > dots_per_channel_up_to) {
    for (auto& [x, small] : placed) x = std::round(x);
    std::sort(placed.begin(), placed.end());
    placed.erase(std::unique(placed.begin(), placed.end()), placed.end());
  }
  std::stable_partition(placed.begin(), placed.end(), [](const auto& p) { return !p.second; });
  std::string dots;
  for (const auto& [x, small] : placed) {
    dots += "<circle cx=\"" + svg_number(x) + "\" cy=\"" + svg_number(y) + "\" r=\"2.5\" class=\"" +
            (small ? "dot small" : "dot") + "\"/>";
  }
  if (lo < hi) {
    svg += "<line x1=\"" + svg_number(axis.x_of(lo)) + "\" x2=\"" + svg_number(axis.x_of(hi)) +
           "\" y1=\"" + svg_number(y) + "\" y2=\"" + svg_number(y) + "\" class=\"spread\"/>";
  }
  svg += dots + "\n";
  const double left_end = axis.left - end_slot / 2, right_end = axis.right + end_slot / 2;
  draw_mark(svg, "zero", left_end, y, u.zero, "zero");
  draw_mark(svg, "negative", left_end, y, u.negative, "negative");
  draw_mark(svg, "nan", right_end, y, u.nan, "NaN");
  draw_mark(svg, "inf", right_end, y, u.inf, "infinite");
  // How many share an end mark, beside it.
  const auto count_at = [&](double x, std::size_t count, const char* anchor) {
    if (count <= 1) return;
    svg += "<text x=\"" + svg_number(x) + "\" y=\"" + svg_number(y - 7) +
           "\" class=\"count\" text-anchor=\"" + anchor + "\">" + std::to_string(count) +
           "</text>\n";
  };
  count_at(left_end + 7, u.zero + u.negative, "start");
  count_at(right_end - 7, u.nan + u.inf, "end");
}

void draw_axis(std::string& svg, const log_axis& axis, double x0, double rows_bottom,
               const std::string& heading) {
  svg += "<text x=\"" + svg_number(x0 + panel_width / 2) + "\" y=\"" + svg_number(top - 12) +
         "\" class=\"heading\">" + svg_escape(heading) + "</text>\n";
  svg += "<rect x=\"" + svg_number(x0) + "\" y=\"" + svg_number(top) + "\" width=\"" +
         svg_number(panel_width) + "\" height=\"" + svg_number(rows_bottom - top) +
         "\" class=\"frame\"/>\n";
  for (const double x : {axis.left, axis.right}) {
    svg += "<line x1=\"" + svg_number(x) + "\" x2=\"" + svg_number(x) + "\" y1=\"" +
           svg_number(top) + "\" y2=\"" + svg_number(rows_bottom) + "\" class=\"end\"/>\n";
  }
  const int decades = axis.last - axis.first;
  const int every = std::max(1, (decades + 7) / 8);  // at most about eight labels
  for (int k = axis.first; k <= axis.last; ++k) {
    const std::string x = svg_number(axis.x_of(std::pow(10.0, k)));
    svg += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + svg_number(top) + "\" y2=\"" +
           svg_number(rows_bottom) + "\" class=\"grid\"/>\n";
    if ((k - axis.first) % every == 0) {
      svg += "<text x=\"" + x + "\" y=\"" + svg_number(rows_bottom + 14) + "\" class=\"tick\">" +
             decade_label(k) + "</text>\n";
    }
  }
  // Under the decades, which may sit as close to the ends as a label is wide.
  svg += "<text x=\"" + svg_number(axis.left - end_slot / 2) + "\" y=\"" +
         svg_number(rows_bottom + 28) + "\" class=\"tick\">0</text>\n";
  svg += "<text x=\"" + svg_number(axis.right + end_slot / 2) + "\" y=\"" +
         svg_number(rows_bottom + 28) + "\" class=\"tick\">NaN, Inf</text>\n";
}

// The most characters of a prefix the label column holds, in its monospace font.
constexpr std::size_t max_label = 30;

std::size_t characters(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

// The last `count` characters of UTF-8 `text`, not cutting a character.
std::string last_characters(const std::string& text, std::size_t count) {
  std::size_t start = text.size();
  for (std::size_t seen = 0; start > 0 && seen < count;) {
    --start;
    if ((static_cast<unsigned char>(text[start]) & 0xc0) != 0x80) ++seen;
  }
  return text.substr(start);
}

bool flagged(const model_layer& layer) {
  const layer_flags_count& f = layer.flags;
  return f.var_zero + f.var_nan + f.var_inf + f.var_negative + f.gamma_small > 0 ||
         !layer.problem.empty();
}

}  // namespace

std::string layers_svg(const std::string& title, const std::vector<model_layer>& layers,
                       double gamma_threshold) {
  const double gamma_x = label_width, var_x = label_width + panel_width + gap;
  const double width = var_x + panel_width + margin_right;
  const double rows_bottom = top + row_height * static_cast<double>(layers.size());
  const double height = rows_bottom + bottom_margin;
  const log_axis gamma_axis = axis_over(layers, true, gamma_threshold, gamma_x);
  const log_axis var_axis = axis_over(layers, false, 0, var_x);

  std::string svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + svg_number(width) + "\" height=\"" +
      svg_number(height) + "\" viewBox=\"0 0 " + svg_number(width) + " " + svg_number(height) +
      "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
      "<style>\n"
      ".title{font-size:15px;font-weight:bold;text-anchor:middle}\n"
      ".heading{font-size:13px;text-anchor:middle}.heading.rows{text-anchor:end}\n"
      ".name{font-size:12px;text-anchor:end;font-family:DejaVu Sans Mono,monospace}\n"
      ".name.flagged{fill:#b00000;font-weight:bold}\n"
      ".tick{font-size:11px;fill:#444;text-anchor:middle}\n"
      ".count{font-size:10px;fill:#444}\n"
      ".stripe{fill:#f3f3f3}\n"
      ".frame{fill:none;stroke:#888;stroke-width:1}\n"
      ".end{stroke:#bbb;stroke-width:1;stroke-dasharray:2 2}\n"
      ".grid{stroke:#e4e4e4;stroke-width:1}\n"
      ".threshold{stroke:#d94801;stroke-width:1.5;stroke-dasharray:5 3}\n"
      ".spread{stroke:#9ecae1;stroke-width:4;stroke-linecap:round}\n"
      ".dot{fill:#08519c;fill-opacity:0.6}.dot.small{fill:#d94801;fill-opacity:1}\n"
      ".mark.zero{fill:#d62728}\n"
      ".mark.negative{fill:#9467bd}\n"
      ".mark.nan{fill:none;stroke:#000000;stroke-width:2.5}\n"
      ".mark.inf{fill:#ff7f0e}\n"
      "</style>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"" +
      svg_number(width / 2) + "\" y=\"22\" class=\"title\">" + svg_escape(title) + "</text>\n";
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (i % 2 == 1) {
      svg += "<rect x=\"0\" y=\"" + svg_number(top + row_height * static_cast<double>(i)) +
             "\" width=\"" + svg_number(width) + "\" height=\"" + svg_number(row_height) +
             "\" class=\"stripe\"/>\n";
    }
  }
  // The y axis: one row per layer, named by the prefix its tensors' names share.
  svg += "<text x=\"" + svg_number(label_width - 10) + "\" y=\"" + svg_number(top - 12) +
         "\" class=\"heading rows\">layer (name prefix)</text>\n";
  draw_axis(svg, gamma_axis, gamma_x, rows_bottom, "|γ| (weight), log scale");
  draw_axis(svg, var_axis, var_x, rows_bottom, "running_var, log scale");
  if (gamma_threshold > 0 && std::isfinite(gamma_threshold)) {
    const std::string x = svg_number(gamma_axis.x_of(gamma_threshold));
    svg += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + svg_number(top) + "\" y2=\"" +
           svg_number(rows_bottom) + "\" class=\"threshold\"><title>threshold " +
           format_number(gamma_threshold, dtype::float64()) + "</title></line>\n";
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const model_layer& layer = layers[i];
    const double y = top + row_height * (static_cast<double>(i) + 0.5);
    svg += "<g class=\"layer\" data-row=\"" + std::to_string(i) + "\" data-y=\"" + svg_number(y) +
           "\">\n";
    // A long prefix keeps its end, which tells layers apart; the whole is its tooltip.
    const std::string shown = shown_prefix(layer.prefix);
    const std::string label =
        characters(shown) > max_label ? "..." + last_characters(shown, max_label - 3) : shown;
    svg += "<text x=\"" + svg_number(label_width - 10) + "\" y=\"" + svg_number(y + 4) +
           "\" class=\"" + (flagged(layer) ? "name flagged" : "name") + "\"><title>" +
           svg_escape(shown) + "</title>" + svg_escape(label) + "</text>\n";
    svg += "<g class=\"gamma\">";
    draw_row(svg, layer.weight, true, gamma_axis, y, gamma_threshold);
    svg += "</g>\n<g class=\"var\">";
    draw_row(svg, layer.running_var, false, var_axis, y, 0);
    svg += "</g>\n</g>\n";
  }
  // The legend, once, under the panels.
  const double ly = rows_bottom + 56;
  double lx = gamma_x;
  const auto legend = [&](const char* kind, const std::string& text) {
    draw_mark(svg, kind, lx, ly - 4, 1, text);
    svg += "<text x=\"" + svg_number(lx + 10) + "\" y=\"" + svg_number(ly) + "\" class=\"count\">" +
           svg_escape(text) + "</text>\n";
    lx += 26 + 6.5 * static_cast<double>(text.size());
  };
  svg += "<g class=\"legend\">\n<circle cx=\"" + svg_number(lx) + "\" cy=\"" + svg_number(ly - 4) +
         "\" r=\"2.5\" class=\"dot\"/><text x=\"" + svg_number(lx + 10) + "\" y=\"" +
         svg_number(ly) + "\" class=\"count\">a channel</text>\n";
  lx += 86;
  legend("zero", "zero");
  legend("negative", "negative");
  legend("nan", "NaN");
  legend("inf", "Inf");
  svg += "<circle cx=\"" + svg_number(lx) + "\" cy=\"" + svg_number(ly - 4) +
         "\" r=\"2.5\" class=\"dot small\"/><text x=\"" + svg_number(lx + 10) + "\" y=\"" +
         svg_number(ly) +
         "\" class=\"count\">|γ| under the threshold (dashed)</text>\n</g>\n</svg>\n";
  return svg;
}

}  // namespace bnorm
