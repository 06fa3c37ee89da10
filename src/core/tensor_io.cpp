#include "tensor_io.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "count_text.hpp"
#include "error.hpp"
#include "fortran_order.hpp"
#include "json_tensor.hpp"
#include "npy_header.hpp"
#include "tensor_archive.hpp"

namespace bnorm {
namespace {

std::string extension_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::size_t dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// A .npy file: the header is parsed strictly, the data size checked against the file before
// anything is read, and the data read with pread where each caller asks.  Input that cannot
// seek (a pipe) is read into memory once, growing only as bytes arrive.
class npy_source : public tensor_source {
 public:
  explicit npy_source(const std::string& path) : file_(path) {
    try {
      read_header();
    } catch (const data_error& e) {
      throw data_error(file_.name() + ": " + e.what());
    }
  }

  const tensor_info& info() const override { return info_; }

  void read_at(std::size_t first, std::span<double> out) const override {
    const std::size_t item = info_.type.size;
    if (!file_.seekable()) {
      decode(info_.type, memory_.data() + first * item, out.size(), out.data());
      return;
    }
    // Each thread reads into its own buffer; callers ask for cache-sized spans.
    thread_local std::vector<std::byte> raw;
    raw.resize(out.size() * item);
    if (file_.read_at(data_offset_ + first * item, raw.data(), raw.size()) != raw.size()) {
      throw io_error(file_.name() + ": the file shrank while being read");
    }
    decode(info_.type, raw.data(), out.size(), out.data());
  }

 private:
  void read_header() {
    // Read exactly the preamble, then exactly the header: a pipe cannot give back bytes that
    // were read too far, and a short header length must not be trusted to cover them.
    std::string prefix(npy_magic_size + 2, '\0');
    prefix.resize(file_.read(prefix.data(), prefix.size()));
    if (prefix.size() == npy_magic_size + 2 && (prefix[6] == 2 || prefix[6] == 3)) {
      char more[2];
      prefix.append(more, file_.read(more, sizeof more));  // versions 2 and 3: 4-byte length
    }
    const npy_preamble preamble = parse_npy_preamble(prefix);
    std::string header(preamble.header_size, '\0');
    const std::size_t got = file_.read(header.data(), header.size());
    if (got < header.size()) {
      throw data_error("header at byte " + std::to_string(npy_magic_size) + ": header length " +
                       std::to_string(preamble.header_size) +
                       " runs past the end of the file (which has " +
                       count_text(preamble.header_offset + got, "byte") + ")");
    }
    info_ = parse_npy_header(header, preamble.header_offset, preamble.major_version);
    data_offset_ = preamble.data_offset();
    if (file_.seekable()) {
      check_data_size(file_.size() - std::min(file_.size(), data_offset_));
      return;
    }
    // Grow with the bytes that arrive, never with the header's claim, and read at most one
    // byte past the expected size: enough to tell "too long" apart.
    const std::size_t expected = info_.size_in_bytes();
    constexpr std::size_t chunk = 1 << 20;
    while (memory_.size() <= expected) {
      const std::size_t want = std::min(chunk, expected + 1 - memory_.size());
      const std::size_t old = memory_.size();
      memory_.resize(old + want);
      const std::size_t n = file_.read(memory_.data() + old, want);
      memory_.resize(old + n);
      if (n < want) break;
    }
    if (memory_.size() > expected) {
      // Longer than the shape says: refuse at once, without reading (or holding) the rest,
      // which may never end.
      throw data_error("data at byte " + std::to_string(data_offset_) + " is longer than the " +
                       count_text(expected, "byte") + " shape " + shape_to_string(info_.shape) +
                       " of " + name_of(info_.type) + " needs");
    }
    check_data_size(memory_.size());
  }

  void check_data_size(std::size_t actual) const {
    const std::size_t expected = info_.size_in_bytes();
    if (actual == expected) return;
    throw data_error("data at byte " + std::to_string(data_offset_) + " is " +
                     count_text(actual, "byte") + ", but shape " + shape_to_string(info_.shape) +
                     " of " + name_of(info_.type) + " needs " + std::to_string(expected));
  }

  input_file file_;
  tensor_info info_;
  std::size_t data_offset_ = 0;
  std::vector<std::byte> memory_;  // the data, for input that cannot seek
};

class values_source : public tensor_source {
 public:
  values_source(tensor_info info, std::vector<double> values)
      : info_(std::move(info)), values_(std::move(values)) {}

  const tensor_info& info() const override { return info_; }

  void read_at(std::size_t first, std::span<double> out) const override {
    std::copy_n(values_.begin() + static_cast<std::ptrdiff_t>(first), out.size(), out.begin());
  }

 private:
  tensor_info info_;
  std::vector<double> values_;
};

// A header, then the values as little-endian floats of one type, each range at its place.
class headed_sink : public tensor_sink {
 public:
  headed_sink(output_file& out, const std::string& header, dtype type)
      : out_(out), type_(type), data_offset_(header.size()) {
    if (out_.direct()) {
      out_.write(header);
    } else {
      out_.write_at(0, header.data(), header.size());
    }
  }

  bool parallel() const override { return !out_.direct(); }

  void write_at(std::size_t first, std::span<const double> values) override {
    thread_local std::vector<std::byte> encoded;
    encoded.resize(values.size() * type_.size);
    encode(type_, values.data(), values.size(), encoded.data());
    if (out_.direct()) {
      out_.write(encoded.data(), encoded.size());
    } else {
      out_.write_at(data_offset_ + first * type_.size, encoded.data(), encoded.size());
    }
  }

  void finish() override {}

 private:
  output_file& out_;
  dtype type_;
  std::size_t data_offset_;
};

std::vector<double> fortran_to_c_order(const std::vector<double>& fortran,
                                       const std::vector<std::size_t>& shape) {
  std::vector<double> c_order;
  c_order.reserve(fortran.size());
  for_each_fortran_offset(shape, [&](std::size_t offset) { c_order.push_back(fortran[offset]); });
  return c_order;
}

class json_sink : public tensor_sink {
 public:
  json_sink(output_file& out, tensor_info info)
      : out_(out), info_(std::move(info)), values_(info_.element_count()) {
    info_.type = output_type_for(info_.type);
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

}  // namespace

tensor_format format_from_extension(const std::string& path) {
  const std::string ext = extension_of(path);
  if (ext == ".npy") return tensor_format::npy;
  if (ext == ".json") return tensor_format::json;
  if (ext == ".npz") return tensor_format::npz;
  if (ext == ".safetensors") return tensor_format::safetensors;
  throw usage_error("cannot tell the format of '" + path +
                    "' from its name (.npy, .json, .npz or .safetensors); name it with "
                    "--input-format or --output-format");
}

tensor_format parse_format(const std::string& name) {
  if (name == "npy") return tensor_format::npy;
  if (name == "json") return tensor_format::json;
  if (name == "npz") return tensor_format::npz;
  if (name == "safetensors") return tensor_format::safetensors;
  throw usage_error("unknown format '" + name + "' (known: npy, json, npz, safetensors)");
}

std::unique_ptr<tensor_source> open_tensor(const std::string& path, tensor_format format,
                                           const std::string& tensor_name) {
  if (is_archive(format)) return open_archive_tensor(*open_archive(path, format), tensor_name);
  if (!tensor_name.empty()) {
    throw usage_error("--tensor picks a tensor of an .npz or .safetensors file; " +
                      (path == "-" ? std::string("<stdin>") : path) + " holds only one");
  }
  if (format == tensor_format::npy) return std::make_unique<npy_source>(path);
  input_file file(path);
  const std::string text = file.read_all();
  json_tensor parsed;
  try {
    parsed = parse_json_tensor(text);
  } catch (const data_error& e) {
    throw data_error(file.name() + ": " + e.what());
  }
  tensor_info info{dtype::float64(), std::move(parsed.shape), false};
  return memory_source(std::move(info), std::move(parsed.values));
}

std::unique_ptr<tensor_source> memory_source(tensor_info info, std::vector<double> values) {
  return std::make_unique<values_source>(std::move(info), std::move(values));
}

std::unique_ptr<tensor_sink> make_headed_sink(output_file& out, const std::string& header,
                                              dtype type) {
  return std::make_unique<headed_sink>(out, header, type);
}

std::unique_ptr<tensor_sink> make_sink(output_file& out, tensor_format format, tensor_info info) {
  if (is_archive(format)) return make_archive_sink(out, format, std::move(info));
  if (info.type.kind == scalar_kind::bfloat) info.type = dtype::float32();
  if (format == tensor_format::npy) {
    // encode() writes little-endian floats: the header says so, whatever type was asked for.
    info.type = output_type_for(info.type);
    return make_headed_sink(out, format_npy_header(info), info.type);
  }
  return std::make_unique<json_sink>(out, std::move(info));
}

}  // namespace bnorm
