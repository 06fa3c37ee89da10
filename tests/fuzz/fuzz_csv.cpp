// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as a CSV or TSV table (the first byte picks the separator
// and --missing), read whole and again in ranges of every size from the checkpoints, then
// written and read back.  Anything but a clean bnorm::error, values that differ between the
// reads, a field the spelling check and the parser disagree on, or a table that does not read
// back as written is a finding.
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "error.hpp"
#include "formats/csv_table.hpp"
#include "formats/registry.hpp"
#include "tensor_stream.hpp"

namespace {

const std::string& scratch_path(const char* extension) {
  static const std::string base = "/dev/shm/bnorm-fuzz-csv-" + std::to_string(::getpid());
  static std::string path;
  path = base + extension;
  return path;
}

bool same(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
}

std::vector<double> read_in_ranges(const bnorm::tensor_source& source, std::size_t step) {
  const std::size_t count = source.info().element_count();
  std::vector<double> values(count);
  for (std::size_t p = 0; p < count; p += step) {
    const std::size_t n = std::min(step, count - p);
    source.read_at(p, std::span<double>(values.data() + p, n));
  }
  return values;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char options = static_cast<char>(data[0]);
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  // The spelling check at open and the parser when read agree on every field.
  double ignored = 0;
  if (bnorm::spells_csv_number(text.data(), text.data() + text.size()) !=
      bnorm::parse_csv_number(text.data(), text.data() + text.size(), ignored)) {
    std::abort();
  }
  const bool tabs = options & 1;
  bnorm::read_options read;
  read.missing_as_nan = options & 2;
  const bnorm::codec* format = bnorm::codec_named(tabs ? "tsv" : "csv");
  try {
    const std::string& input = scratch_path(tabs ? ".tsv" : ".csv");
    {
      bnorm::output_file out(input);
      out.write(text);
      out.commit();
    }
    const auto source = bnorm::open_tensor(input, format, {}, read);
    const std::size_t count = source->info().element_count();
    if (count > (1u << 16)) return 0;
    const std::vector<double> whole = read_in_ranges(*source, count);
    for (const std::size_t step : {std::size_t{1}, std::size_t{7}, count / 3 + 1}) {
      const std::vector<double> ranges = read_in_ranges(*source, step);
      for (std::size_t i = 0; i < count; ++i) {
        if (!same(whole[i], ranges[i])) std::abort();
      }
    }
    // Written and read back, the table is the same: names and every value's bits (NaN's
    // sign and payload aside).
    const std::string& output = scratch_path(tabs ? ".out.tsv" : ".out.csv");
    {
      bnorm::output_file out(output);
      const auto sink = format->make_sink(out, source->info());
      sink->write_at(0, whole);
      sink->finish();
      out.commit();
    }
    const auto back = bnorm::open_tensor(output, format);
    if (back->info().shape != source->info().shape ||
        back->info().channel_names != source->info().channel_names) {
      std::abort();
    }
    const std::vector<double> again = read_in_ranges(*back, count);
    for (std::size_t i = 0; i < count; ++i) {
      if (!same(whole[i], again[i])) std::abort();
    }
  } catch (const bnorm::error&) {
  }
  return 0;
}
