// SPDX-License-Identifier: Apache-2.0
#include "manual.hpp"

#include <string>
#include <utility>
#include <vector>

#include "formats/registry.hpp"

namespace bnorm::cli {

const std::string_view manual_summary =
    "batch normalization for tensor files, as PyTorch, Keras and ONNX compute it";

const std::string_view manual_exit_status_line =
    "Exit status: 0 ok, 1 compare found differences, 2 usage error, 3 invalid data, 4 I/O "
    "error.";

namespace {

constexpr std::string_view description =
    R"(**bnorm** applies batch normalization to tensor files ({formats}), exactly as PyTorch, Keras 3 and ONNX compute it, and says which convention every number follows. **bnorm apply** normalizes a batch in train mode (batch statistics; the running statistics are updated with the momentum) or eval mode (running statistics), and writes the batch's statistics and the updated running state as JSON: the state file of the next batch. **bnorm stats** shows a tensor's per-channel statistics; **bnorm compare** checks tensors or statistics against golden files within a tolerance; **bnorm convert** converts between formats and floating types; **bnorm merge** combines the statistics of shards; **bnorm backward** computes the gradients of a step; **bnorm fold** folds an eval-mode layer into the layer before it, or every one of a model's that it can into its own.

A file name of **-** is standard input or output. A file's format is named by **--input-format** or **--output-format**, else by its extension ({extensions}), else told by its first bytes; an output with no name to tell (**-**, a device, a FIFO, a name without an extension) is written in its input's format, and a file whose extension and first bytes name two formats is invalid data. **--tensor NAME** picks the tensor of a file that holds several. Tensors that lie in a regular file are read in cache-sized chunks on every core, in one or two passes, and never held whole; standard input and a pipe are read into memory (see Tensor files under FILES). Outputs to regular files are written to a temporary file in the same folder and renamed over the target only when the whole run succeeded, so a failed run leaves no output; SIGINT, SIGTERM and SIGHUP remove the temporaries.

Errors are one line on standard error, **bnorm: error:** followed by the file and what is wrong where; warnings start with **bnorm: warning:**. Help goes to standard output. **bnorm help** ~~SUBCOMMAND~~ is **bnorm** ~~SUBCOMMAND~~ **--help**.

@ Progress and messages
When standard error is a terminal and a pass over the data is expected to take more than about a second, a one-line progress bar (bytes done, rate, time left) is drawn on it for each pass, redrawn at most ten times a second and erased when the pass ends. **--quiet** turns it off (warnings and errors are still printed); on a pipe or a file there is none. **--verbose** reports on standard error, before the work starts, the convention, the momentum as the weight of the new batch, the layout of the channels (outer, channels, inner) and the passes that will be made. Both flags are accepted, after its name, by every subcommand that makes passes over the data: apply, stats, convert, backward and fold (compare and merge make none, and take neither).

bnorm reads no configuration file: every default is on the command line and in this page.)";

constexpr std::string_view files =
    R"(@ State file (apply --state, stats --state, backward --state, fold --state)
A JSON object, or {named} file of tensors (a PyTorch state_dict saved as such, with **--state-prefix** naming the layer, e.g. **layer1.0.bn1.**; Keras's **gamma**, **beta**, **moving_mean** and **moving_variance** are read as weight, bias, running_mean and running_var), with any of these keys; a missing key takes PyTorch's initial value. **weight**: the scale (gamma), one number per channel, initially 1. **bias**: the shift (beta), initially 0. **running_mean**: initially 0. **running_var**: must not be negative, initially 1. **num_batches_tracked**: an integer, initially 0. Any other key is refused, so that a typo cannot fall back to a default silently, except the keys of a statistics file, which are ignored: a statistics file is a state file. A layer whose file states its epsilon and momentum (a model's node, by its attributes) brings them too: they are the run's **--eps** and momentum, converted to the run's convention, unless those flags are given, with a warning where a given one differs.

@ Statistics file (apply --stats-out)
A JSON object holding, in this order: **convention**, **mode**, **eps**: how the step ran; **momentum** and **momentum_meaning**: the momentum in the convention's meaning and that meaning (null and "cumulative average" for **--momentum none**); **running_var_fed**: which batch variance updated running_var, "unbiased" or "biased"; **axis**, **shape**, **dtype**, **affine**, **track_running_stats**: the input and the layer; **num_features**, **count**: channels, and values per channel (n); **mean**; **var**: the biased variance, sum((x-mean)^2)/n, which train mode divides by; **var_unbiased**: sum((x-mean)^2)/(n-1); **min**, **max** (NaN skipped) and **nonfinite** (the count of NaN and infinite values); **weight** and **bias** when affine; **running_mean**, **running_var** and **num_batches_tracked**, the state after the step, when tracked. Per-channel values are arrays with one number per channel. In eval mode the batch statistics are reported for inspection and the running state is passed through unchanged. With {written-named} name, **--stats-out** writes the state alone instead, as tensors with PyTorch's names (float64; **num_batches_tracked** an int64 scalar), readable by **--state**.

@ Partial statistics (stats --partial, merge)
A JSON object with **count**, **mean** and **m2** (the sum of squared deviations) per channel, which **bnorm merge** combines exactly, in any order and grouping, into the statistics of the whole batch for **apply --batch-stats**.

@ Tensor files
{format-paragraphs} Any rank from 2, any channel axis.)";

constexpr std::string_view environment = R"(@ BNORM_PROGRESS_THRESHOLD
The number of seconds a pass must be expected to take for its progress bar to be drawn (default 1; 0 draws it for every pass on a terminal).)";

constexpr std::string_view exit_status = R"(@ 0
Success; for **compare**, the files match.

@ 1
**compare** only: the files differ.

@ 2
Usage error: an unknown flag, a bad value (**--eps -1**, **--momentum 2**), eval mode without running statistics.

@ 3
Invalid data: a malformed or unsupported file, an axis outside the input's rank, a state that does not fit the input, one value per channel in training under torch.

@ 4
I/O error: a missing input or a directory given as one, an output folder that does not exist or cannot be written, a full disk; or the system refused memory or a thread.)";

constexpr std::string_view examples =
    R"(Train mode on a batch, keeping the statistics and the updated running state; the statistics file is the state of the next batch:

  bnorm apply batch.npy -o normalized.npy --stats-out stats.json
  bnorm apply next.npy -o y2.npy --state stats.json --stats-out stats.json

Eval mode with a trained layer's state:

  bnorm apply batch.npy -o evaluated.npy --mode eval --state state.json

The same batch as Keras normalizes it (channels last, eps 1e-3), JSON through a pipe:

  bnorm apply - -o - --convention keras < features.json

Per-channel statistics as a table, and a golden-file check for CI (exit status 1 when they differ):

  bnorm stats batch.npy --format table
  bnorm compare y.npy golden_y.npy --atol 1e-6

Statistics of a batch too large for one machine, sharded (see **--partial** and **merge**):

  bnorm stats shard1.npy --partial > p1.json
  bnorm stats shard2.npy --partial > p2.json
  bnorm merge p1.json p2.json -o batch.json
  bnorm apply shard1.npy -o y1.npy --batch-stats batch.json

A model's batch-normalization layers, then each one folded into the layer before it, with a report of what was folded and why the rest was not:

  bnorm layers model.onnx --format table
  bnorm fold model.onnx -o folded.onnx)";

constexpr std::string_view see_also =
    R"(**python3**(1), **jq**(1), **parallel**(1). PyTorch's torch.nn.BatchNorm2d, Keras's BatchNormalization and ONNX's BatchNormalization operator, whose documented formulas bnorm follows. In bnorm's sources, the README tours bnorm and docs/ holds the reference: docs/GUIDE.md (every subcommand, with examples), docs/FORMATS.md, docs/CONVENTIONS.md, docs/STATE-FILES.md, docs/EXIT-STATUS.md, docs/BENCHMARKS.md and docs/ARCHITECTURE.md (the design).)";

// The prose names formats through these words, filled in from the registry, so that the
// manual lists what the registry holds: {formats} "**.npy**, ... and **.safetensors**",
// {extensions} the same with "or", {named} "a **.pt**, **.npz** or **.safetensors**",
// {written-named} the same of those bnorm also writes, and {format-paragraphs} each format's own
// paragraph.
std::string with_formats(std::string_view text) {
  std::string paragraphs;
  std::vector<std::string> all, many, written_many;
  std::string_view article = "a";          // the first of `many`'s, from its a_file
  std::string_view written_article = "a";  // the first of `written_many`'s
  for (const codec* format : all_codecs()) {
    std::string bold = "**";  // appended, not +: GCC 12 warns falsely (-Wrestrict, PR 105651)
    bold.append(format->extensions.front()).append("**");
    all.push_back(bold);
    if (format->holds_many && many.empty()) {
      article = format->a_file.substr(0, format->a_file.find(' '));
    }
    if (format->holds_many) many.push_back(bold);
    if (format->holds_many && format->write_set) {
      if (written_many.empty())
        written_article = format->a_file.substr(0, format->a_file.find(' '));
      written_many.push_back(bold);
    }
    if (!paragraphs.empty()) paragraphs += ' ';
    paragraphs.append(format->manual);
  }
  const auto join = [](const std::vector<std::string>& words, std::string_view last) {
    std::string out;
    for (std::size_t i = 0; i < words.size(); ++i) {
      out += std::string(i == 0 ? "" : i + 1 == words.size() ? last : ", ") + words[i];
    }
    return out;
  };
  const std::pair<std::string_view, std::string> words[] = {
      {"{formats}", join(all, " and ")},
      {"{extensions}", join(all, " or ")},
      {"{named}", std::string(article) + " " + join(many, " or ")},
      {"{written-named}", std::string(written_article) + " " + join(written_many, " or ")},
      {"{format-paragraphs}", paragraphs},
  };
  std::string out(text);
  for (const auto& [word, replacement] : words) {
    for (std::size_t at = out.find(word); at != std::string::npos;
         at = out.find(word, at + replacement.size())) {
      out.replace(at, word.size(), replacement);
    }
  }
  return out;
}

// A section whose text is built once, the first time the manual is read.
struct built_section {
  std::string_view title;
  std::string text;
};

std::span<const manual_section> as_sections(const std::vector<built_section>& built,
                                            std::vector<manual_section>& sections) {
  for (const built_section& section : built) sections.push_back({section.title, section.text});
  return sections;
}

}  // namespace

const std::string_view manual_conventions =
    R"(**--convention** selects the defaults of **--eps**, **--momentum** and **--axis**, the meaning of **--momentum**, and which batch variance feeds running_var. Explicit flags override the defaults and keep the convention's meaning: **--convention keras --momentum 0.99** is Keras's default. **--momentum none** is PyTorch's momentum=None: a cumulative average in which batch k weighs 1/k. Every convention normalizes in train mode with the biased variance: y = (x - mean) / sqrt(var + eps) * weight + bias, computed in double and rounded once to the output's type. The defaults:)";

std::span<const manual_section> manual_introduction() {
  static const std::vector<built_section> built{{"DESCRIPTION", with_formats(description)}};
  static std::vector<manual_section> sections;
  static const std::span<const manual_section> introduction = as_sections(built, sections);
  return introduction;
}

std::span<const manual_section> manual_reference() {
  static const std::vector<built_section> built{
      {"FILES", with_formats(files)},
      {"ENVIRONMENT", std::string(environment)},
      {"EXIT STATUS", std::string(exit_status)},
      {"EXAMPLES", std::string(examples)},
      {"SEE ALSO", std::string(see_also)},
  };
  static std::vector<manual_section> sections;
  static const std::span<const manual_section> reference = as_sections(built, sections);
  return reference;
}

std::string plain_text(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.substr(i, 2) == "**" || text.substr(i, 2) == "~~") {
      ++i;
    } else if (text.substr(i, 2) == "@ " && (i == 0 || text[i - 1] == '\n')) {
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace bnorm::cli
