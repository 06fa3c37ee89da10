// Errors carry their fault beside the message, in the library's terms, through every wrap that
// adds a file or a place.
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "error.hpp"

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
    throw bnorm::data_error(path + ": " + e.what() + " (partial statistics are JSON)");
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
  const bnorm::usage_error middle(fault::tensor_named_in_single, "", "a name",
                                  " picks; x holds one");
  CHECK(middle.reworded("-t") == "-t picks; x holds one");
  const bnorm::usage_error at_end(fault::format_unknown, "cannot tell");
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
      throw bnorm::data_error(std::string("shard 2: ") + inner.what());
    }
  });
  CHECK(twice.reworded(" (advice)") ==
        "shard 2: p.json: not partial (advice) (partial statistics are JSON)");
}

TEST_CASE("an error made while another is handled, not wrapping it, has no fault") {
  const bnorm::error e = thrown_by([] {
    try {
      throw bnorm::usage_error(fault::format_unknown, "cannot tell the format of 'x'");
    } catch (const bnorm::usage_error&) {
      throw bnorm::io_error("x: No such file or directory");
    }
  });
  CHECK(e.fault() == fault::none);
  CHECK(e.fault_words().empty());
  CHECK(std::string(e.what()) == "x: No such file or directory");
}
