// SPDX-License-Identifier: Apache-2.0
// Errors carry their fault beside the message, in the library's terms, through every wrap that
// adds a file or a place; the core's messages name no flag and no subcommand.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "batch_norm.hpp"
#include "error.hpp"
#include "file_io.hpp"
#include "fold.hpp"
#include "formats/registry.hpp"
#include "json_document.hpp"
#include "partial_stats.hpp"
#include "tensor_stream.hpp"
#include "test_support.hpp"

using bnorm::fault;

namespace {

// The bnorm::error `run` throws.
bnorm::error thrown_by(const std::function<void()>& run) {
  try {
    run();
  } catch (const bnorm::error& e) {
    return e;
  }
  FAIL("nothing was thrown");
  return bnorm::error("");
}

// What the CLI does with a partial document: parse it, and name the file on a failure.
void wrap_like_merge(const std::string& path, const std::function<void()>& parse) {
  try {
    parse();
  } catch (const bnorm::data_error& e) {
    throw bnorm::data_error(e, path + ": ", " (partial statistics are JSON)");
  }
}

}  // namespace

TEST_CASE("an error names its fault and the words that state it") {
  const bnorm::usage_error e(fault::tensor_not_chosen, "s.npz holds 2 tensors ('a', 'b')",
                             ", and no name picks one");
  CHECK(std::string(e.what()) == "s.npz holds 2 tensors ('a', 'b'), and no name picks one");
  CHECK(e.fault() == fault::tensor_not_chosen);
  CHECK(e.fault_words() == ", and no name picks one");
  CHECK(e.reworded(": pick one with -t") == "s.npz holds 2 tensors ('a', 'b'): pick one with -t");

  // Words in the middle, and an empty point to insert at.
  const bnorm::usage_error middle(fault::whole_batch_in_eval, "", "a name", " picks; x holds one");
  CHECK(middle.reworded("-t") == "-t picks; x holds one");
  const bnorm::usage_error at_end(fault::input_format_unknown, "cannot tell");
  CHECK(at_end.fault_words().empty());
  CHECK(at_end.reworded("; say -f") == "cannot tell; say -f");

  const bnorm::data_error plain("x.npy: bad header");
  CHECK(plain.fault() == fault::none);
  CHECK(plain.reworded("") == "x.npy: bad header");
}

TEST_CASE("a wrap that adds the file and a hint keeps the fault and its words") {
  const bnorm::error e = thrown_by([] {
    wrap_like_merge("p.json", [] {
      throw bnorm::data_error(fault::not_partial_statistics, "not partial", " (no flag)");
    });
  });
  CHECK(std::string(e.what()) == "p.json: not partial (no flag) (partial statistics are JSON)");
  CHECK(e.fault() == fault::not_partial_statistics);
  CHECK(e.fault_words() == " (no flag)");
  CHECK(e.reworded(" (advice)") == "p.json: not partial (advice) (partial statistics are JSON)");

  // Two wraps, the outer one adding a place.
  const bnorm::error twice = thrown_by([] {
    try {
      wrap_like_merge("p.json", [] {
        throw bnorm::data_error(fault::not_partial_statistics, "not partial", " (no flag)");
      });
    } catch (const bnorm::data_error& inner) {
      throw bnorm::data_error(inner, "shard 2: ");
    }
  });
  CHECK(twice.reworded(" (advice)") ==
        "shard 2: p.json: not partial (advice) (partial statistics are JSON)");
}

TEST_CASE("an error made from another's message, not wrapping it, has no fault") {
  const bnorm::error e = thrown_by([] {
    try {
      throw bnorm::usage_error(fault::input_format_unknown, "cannot tell the format of 'x'");
    } catch (const bnorm::usage_error& inner) {
      throw bnorm::usage_error(inner.what());
    }
  });
  CHECK(e.fault() == fault::none);
  CHECK(e.fault_words().empty());
  CHECK(std::string(e.what()) == "cannot tell the format of 'x'");
}

TEST_CASE("the core states each fault in its own terms, naming no flag and no subcommand") {
  const bnorm::tensor_info batch{bnorm::dtype::float64(), {2, 2}, false};
  bnorm::bn_config eval = bnorm::default_config(bnorm::find_convention("torch"));
  eval.mode = bnorm::bn_mode::eval;
  const bnorm::bn_state full{{1, 1}, {0, 0}, {0, 0}, {1, 1}, 0};
  const std::vector<bnorm::channel_moments> whole_batch(2);
  auto weight = bnorm::memory_source(batch, {1, 2, 3, 4});
  bnorm::memory_sink sink(4);
  bnorm_test::temp_dir dir;
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(bnorm::make_named_tensor({bnorm::dtype::float32(), {1}, false, "a"}, {1}));
  tensors.push_back(bnorm::make_named_tensor({bnorm::dtype::float32(), {1}, false, "b"}, {2}));
  {
    bnorm::output_file out(dir.file("two.npz"));
    bnorm::codec_named("npz")->write_set(out, std::move(tensors));
    out.commit();
  }
  const auto two_tensors = bnorm::open_tensor_file(dir.file("two.npz"));
  const std::string no_format = dir.file("notes.txt");
  bnorm_test::write_bytes(no_format, "hello");

  struct site {
    const char* what;
    std::function<void()> run;
    fault expected;
    std::string message;
    std::string words;
  };
  const std::vector<site> sites = {
      {"eval mode without running statistics",
       [&] { bnorm::plan_batch_norm(batch, eval, {}, false); }, fault::running_statistics_missing,
       "eval mode normalizes with running_mean and running_var, and the state has none",
       ", and the state has none"},
      {"eval mode with only running_mean",
       [&] {
         bnorm::plan_batch_norm(batch, eval, {{}, {}, {0, 0}, {}, 0}, false);
       },
       fault::running_statistics_missing,
       "eval mode normalizes with running_mean and running_var, and the state has none",
       ", and the state has none"},
      {"folding without running statistics",
       [&] { bnorm::fold_batch_norm(*weight, 0, {}, eval, {}, sink); },
       fault::running_statistics_missing,
       "folding uses eval mode, and the state has no running_mean and running_var",
       ", and the state has no running_mean and running_var"},
      {"whole-batch statistics in eval mode",
       [&] { bnorm::plan_batch_norm(batch, eval, full, false, "x", "s", &whole_batch, "b"); },
       fault::whole_batch_in_eval, "whole-batch statistics are given, which eval mode does not use",
       "whole-batch statistics are given"},
      {"a document that is not partial statistics",
       [] { bnorm::parse_partial(bnorm::parse_json_document(R"({"weight": [1]})")); },
       fault::not_partial_statistics, "not partial statistics (no \"partial\": true)",
       " (no \"partial\": true)"},
      {"an array that is not partial statistics",
       [] { bnorm::parse_partial(bnorm::parse_json_document("[1, 2]")); },
       fault::not_partial_statistics, "not partial statistics (no \"partial\": true)",
       " (no \"partial\": true)"},
      {"an archive of several tensors, none chosen", [&] { bnorm::pick_tensor(*two_tensors, ""); },
       fault::tensor_not_chosen, two_tensors->file_name() + " holds 2 tensors ('a', 'b'): pick one",
       ": pick one"},
      {"an input whose name and bytes tell no format", [&] { bnorm::open_input(no_format); },
       fault::input_format_unknown,
       "cannot tell the format of '" + no_format +
           "' from its name (.npy, .json, .pt, .npz, .safetensors, .onnx, .csv or .tsv) or from "
           "its first "
           "bytes",
       ""},
      {"an output whose extension no format has", [] { bnorm::codec_for_output("y.bin", nullptr); },
       fault::output_format_unknown,
       "cannot tell the format of 'y.bin' from its name (.npy, .json, .pt, .npz, .safetensors, "
       ".csv or .tsv)",
       ""},
  };
  for (const site& s : sites) {
    CAPTURE(s.what);
    const bnorm::error e = thrown_by(s.run);
    const std::string message = e.what();
    CHECK(message.find("--") == std::string::npos);
    CHECK(message.find("bnorm ") == std::string::npos);
    CHECK(message == s.message);
    CHECK(e.fault() == s.expected);
    CHECK(e.fault_words() == s.words);
  }
}
