// SPDX-License-Identifier: Apache-2.0
// Tables of numbers as text: CSV (comma-separated) and TSV (tab-separated), one parser
// (csv_table).  A table is a rank-2 tensor (rows, columns) whose columns are its channels, the
// header's names their names; it is read in place from a regular file, in blocks, and written
// row by row.
#include <array>
#include <cmath>
#include <cstring>

#include "codec.hpp"
#include "csv_field.hpp"
#include "csv_table.hpp"
#include "error.hpp"
#include "fortran_order.hpp"
#include "number_format.hpp"
#include "sinks.hpp"

namespace bnorm {
namespace {

class csv_source : public tensor_source {
 public:
  csv_source(tensor_info info, std::shared_ptr<const csv_table> table)
      : info_(std::move(info)), table_(std::move(table)) {}
  const tensor_info& info() const override { return info_; }
  void read_at(std::size_t first, std::span<double> out) const override {
    table_->read_at(first, out);
  }

 private:
  tensor_info info_;
  std::shared_ptr<const csv_table> table_;
};

// The bytes of a table, read where they lie from a regular file.  A stream is read whole, up
// to its first NUL byte, which no table holds and the scan refuses there whatever follows: a
// stream of NULs (/dev/zero) would otherwise be read until memory ran out.
std::shared_ptr<const byte_source> table_bytes(std::unique_ptr<input_file> file) {
  if (file->seekable()) return byte_source::from_file(std::move(file));
  std::string bytes;
  std::array<char, 1 << 16> block;
  while (const std::size_t size = file->read(block.data(), block.size())) {
    const void* nul = std::memchr(block.data(), '\0', size);
    const std::size_t kept =
        nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - block.data()) + 1 : size;
    bytes.append(block.data(), kept);
    if (nul) break;
  }
  return byte_source::from_memory(file->name(), std::move(bytes));
}

std::unique_ptr<tensor_archive> open_table(std::unique_ptr<input_file> file,
                                           const read_options& options, char separator) {
  const std::string name = file->name();
  const auto table =
      csv_table::scan(table_bytes(std::move(file)), {separator, options.missing_as_nan});
  tensor_info info{dtype::float64(), {table->rows(), table->columns()}, false};
  info.channel_names = table->names();
  return single_tensor_archive(name,
                               [info, table] { return std::make_unique<csv_source>(info, table); });
}

std::unique_ptr<tensor_archive> open_csv(std::unique_ptr<input_file> file,
                                         const read_options& options) {
  return open_table(std::move(file), options, ',');
}

std::unique_ptr<tensor_archive> open_tsv(std::unique_ptr<input_file> file,
                                         const read_options& options) {
  return open_table(std::move(file), options, '\t');
}

// A name as RFC 4180 writes it (csv_field), and an empty one as "", which a line of one
// column would otherwise lose.
void append_field(std::string& out, const std::string& text, char separator) {
  out += text.empty() ? std::string("\"\"") : csv_field(text, separator);
}

// Python's spelling of the values a float has no digits for, which pandas and float() read.
void append_value(std::string& out, double value, dtype type) {
  if (std::isnan(value)) {
    out += "nan";
  } else if (std::isinf(value)) {
    out += value < 0 ? "-inf" : "inf";
  } else {
    append_number(out, value, type);
  }
}

// Writes rows as their values arrive, in order; a Fortran-ordered tensor is held whole and
// written in C order at the end.
class csv_sink : public tensor_sink {
 public:
  csv_sink(output_file& out, tensor_info info, char separator)
      : out_(out), info_(std::move(info)), separator_(separator) {
    info_.type = written_without_bfloat16(info_.type);
    if (info_.shape.size() != 2) {
      throw data_error(out_.name() + ": a table holds a tensor of rank 2 (rows, columns), not " +
                       "the shape " + shape_to_string(info_.shape) +
                       "; write .npy, .npz, .safetensors or JSON");
    }
    columns_ = info_.shape[1];
    if (info_.fortran_order) held_.resize(info_.element_count());
    std::string header;
    if (!info_.channel_names.empty() && info_.channel_names.size() == columns_) {
      for (std::size_t i = 0; i < columns_; ++i) {
        if (i > 0) header += separator_;
        append_field(header, info_.channel_names[i], separator_);
      }
      header += '\n';
    }
    out_.write(header);
  }

  bool parallel() const override { return info_.fortran_order; }

  void write_at(std::size_t first, std::span<const double> values) override {
    if (info_.fortran_order) {
      std::copy(values.begin(), values.end(), held_.begin() + static_cast<std::ptrdiff_t>(first));
      return;
    }
    append_rows(values);
  }

  void finish() override {
    if (info_.fortran_order) append_rows(fortran_to_c_order(held_, info_.shape));
    out_.write(text_);
    text_.clear();
  }

 private:
  void append_rows(std::span<const double> values) {
    for (const double value : values) {
      append_value(text_, value, info_.type);
      text_ += ++column_ == columns_ ? '\n' : separator_;
      if (column_ == columns_) column_ = 0;
    }
    if (text_.size() >= (1 << 16)) {
      out_.write(text_);
      text_.clear();
    }
  }

  output_file& out_;
  tensor_info info_;
  char separator_;
  std::size_t columns_ = 0;
  std::size_t column_ = 0;
  std::vector<double> held_;
  std::string text_;
};

std::unique_ptr<tensor_sink> make_csv_sink(output_file& out, tensor_info info) {
  return std::make_unique<csv_sink>(out, std::move(info), ',');
}

std::unique_ptr<tensor_sink> make_tsv_sink(output_file& out, tensor_info info) {
  return std::make_unique<csv_sink>(out, std::move(info), '\t');
}

// A table begins with anything: only its name, or a named format, tells it.
bool recognizes_nothing(std::string_view /*head*/) {
  return false;
}

constexpr std::array<std::string_view, 1> csv_extensions{".csv"};
constexpr std::array<std::string_view, 2> tsv_extensions{".tsv", ".tab"};

}  // namespace

extern const codec csv_codec{
    .name = "csv",
    .a_file = "a CSV file",
    .manual =
        "CSV tables (RFC 4180: quoted fields, \"\" for a quote, LF or CRLF line ends, UTF-8 "
        "without a byte order mark) are rank-2 tensors (rows, columns) whose columns are the "
        "channels, read as float64 in blocks from where they lie. The first row is a header "
        "when any of its fields is not a number; its names, non-empty and distinct, name the "
        "channels and are written back. A number is what Python's float() reads, without "
        "underscores: surrounding spaces, a sign, inf, infinity and nan in any case. An empty "
        "field is refused unless **--missing nan** is given. Nothing tells a table by its "
        "bytes: standard input needs **--input-format csv**. Written with LF line ends, the "
        "shortest text of each value, and quotes only where a name needs them.",
    .extensions = csv_extensions,
    .recognizes = recognizes_nothing,
    .holds_many = false,
    .keeps_dtype = false,
    .holds_documents = false,
    .text = true,
    .written_type = written_without_bfloat16,
    .open = open_csv,
    .make_sink = make_csv_sink,
    .write_set = nullptr,
    .update_set = nullptr,
    .fold_model = nullptr,
};

extern const codec tsv_codec{
    .name = "tsv",
    .a_file = "a TSV file",
    .manual = "TSV tables (.tsv, .tab) are CSV tables whose fields are separated by tabs.",
    .extensions = tsv_extensions,
    .recognizes = recognizes_nothing,
    .holds_many = false,
    .keeps_dtype = false,
    .holds_documents = false,
    .text = true,
    .written_type = written_without_bfloat16,
    .open = open_tsv,
    .make_sink = make_tsv_sink,
    .write_set = nullptr,
    .update_set = nullptr,
    .fold_model = nullptr,
};

}  // namespace bnorm
