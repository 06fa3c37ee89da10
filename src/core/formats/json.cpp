// SPDX-License-Identifier: Apache-2.0
// A tensor as JSON text: nested arrays of numbers (json_tensor), read whole into memory and
// written in C order, since the nesting is the shape.
#include <array>

#include "codec.hpp"
#include "error.hpp"
#include "fortran_order.hpp"
#include "json_tensor.hpp"
#include "sinks.hpp"

namespace bnorm {
namespace {

std::unique_ptr<tensor_archive> open_json(std::unique_ptr<input_file> file,
                                          const read_options& /*options*/) {
  const std::string text = file->read_all();
  json_tensor parsed;
  try {
    parsed = parse_json_tensor(text);
  } catch (const data_error& e) {
    throw data_error(file->name() + ": " + e.what());
  }
  // Held once, shared by every source opened from it.
  tensor_info info{dtype::float64(), std::move(parsed.shape), false};
  auto values = std::make_shared<const std::vector<double>>(std::move(parsed.values));
  return single_tensor_archive(file->name(),
                               [info, values] { return memory_source(info, values); });
}

class json_sink : public tensor_sink {
 public:
  json_sink(output_file& out, tensor_info info)
      : out_(out), info_(std::move(info)), values_(info_.element_count()) {
    // JSON's numbers carry no type: each is the shortest text that reads back to the value
    // of the type it was computed as.
    info_.type = written_without_bfloat16(info_.type);
    if (!json_holds_shape(info_.shape)) {
      throw data_error(out_.name() + ": JSON cannot hold the shape " +
                       shape_to_string(info_.shape) +
                       " (an empty array keeps no dimension below it); write .npy, .npz or "
                       ".safetensors");
    }
  }

  bool parallel() const override { return true; }

  void write_at(std::size_t first, std::span<const double> values) override {
    std::copy(values.begin(), values.end(), values_.begin() + static_cast<std::ptrdiff_t>(first));
  }

  void finish() override {
    if (info_.fortran_order && info_.shape.size() > 1) {
      values_ = fortran_to_c_order(values_, info_.shape);
    }
    std::string text;
    append_json_tensor(text, values_.data(), info_.shape, info_.type);
    out_.write(text);
  }

 private:
  output_file& out_;
  tensor_info info_;
  std::vector<double> values_;
};

std::unique_ptr<tensor_sink> make_json_sink(output_file& out, tensor_info info) {
  return std::make_unique<json_sink>(out, std::move(info));
}

// A tensor is an array and a document an object: after any white space, '[' or '{'.  Text
// holds no NUL byte, which tells it from a binary format whose first byte happens to be one
// of those (a safetensors header length, little-endian, of 0x5b or 0x7b: its high bytes are
// 0).  A number alone (a rank-0 tensor) is left to the name, so that other text formats
// (CSV) can be told from it.
bool recognizes_json(std::string_view head) {
  if (head.find('\0') != std::string_view::npos) return false;
  const std::size_t first = head.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && (head[first] == '[' || head[first] == '{');
}

constexpr std::array<std::string_view, 1> json_extensions{".json"};

}  // namespace

extern const codec json_codec{
    .name = "json",
    .a_file = "a JSON file",
    .manual =
        "JSON tensors are nested arrays of numbers, read as float64 and held in memory; NaN, "
        "Infinity and -Infinity are spelled as Python's json module spells them.",
    .extensions = json_extensions,
    .recognizes = recognizes_json,
    .holds_many = false,
    .keeps_dtype = false,
    .holds_documents = true,
    .text = true,
    .written_type = written_without_bfloat16,
    .open = open_json,
    .make_sink = make_json_sink,
    .write_set = nullptr,
    .update_set = nullptr,
    .fold_model = nullptr,
};

}  // namespace bnorm
