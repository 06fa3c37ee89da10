// SPDX-License-Identifier: Apache-2.0
// A CSV or TSV table of numbers (RFC 4180: quoted fields, "" for a quote, LF or CRLF line
// ends), read in blocks by position so that a table larger than memory is never held whole:
// one pass at open validates every field and keeps where every few rows begin, and any range
// of values is read again from the nearest of those rows.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "byte_source.hpp"

namespace bnorm {

/// How a table's text is read.
struct csv_dialect {
  char separator = ',';
  /// An empty field is NaN rather than an error.
  bool missing_as_nan = false;
};

/// Where a row of the table begins: its byte offset and its 1-based line.
struct csv_row_start {
  std::size_t offset = 0;
  std::size_t line = 1;
};

/// A validated table: its shape, its header, and where its rows begin.
class csv_table {
 public:
  /// Reads `bytes` once, whole, and validates it: every row has as many fields as the first,
  /// every field (below the header) is a number.  Throws data_error "<name>: line L, column
  /// C: <what>" for the first fault.
  static std::shared_ptr<const csv_table> scan(std::shared_ptr<const byte_source> bytes,
                                               csv_dialect dialect);

  std::size_t rows() const { return rows_; }
  std::size_t columns() const { return columns_; }
  /// The header's names, one per column; empty when the first row is numbers.
  const std::vector<std::string>& names() const { return names_; }

  /// The values at row-major positions [first, first + out.size()).  Safe from several
  /// threads at once; a thread reading consecutive ranges continues where it stopped.
  void read_at(std::size_t first, std::span<double> out) const;

 private:
  csv_table() = default;
  csv_row_start start_of_row(std::size_t row, std::size_t& start_row) const;

  std::shared_ptr<const byte_source> bytes_;
  csv_dialect dialect_;
  std::size_t rows_ = 0;
  std::size_t columns_ = 0;
  std::vector<std::string> names_;
  // Where rows begin: every K-th row's (row 0 the first below a header), and the first of each
  // part of a parallel scan; checkpoint_row_ holds their rows, in increasing order.
  std::vector<csv_row_start> checkpoints_;
  std::vector<std::size_t> checkpoint_row_;
  std::size_t serial_ = 0;  // tells this table's cursors from another's
};

/// Parses a field's text as a number the way Python's float() does, for the spellings both it
/// and a CSV writer use: an optional sign, decimal digits with a point and an exponent, inf,
/// infinity and nan in any case, surrounded by spaces or not.  False for anything else
/// (underscores, hexadecimal, an empty field).
bool parse_csv_number(const char* begin, const char* end, double& value);

/// Whether parse_csv_number reads [begin, end) as a number, told by its spelling alone: the
/// pass at open checks every field, and converting each there as well took half its time.
bool spells_csv_number(const char* begin, const char* end);

}  // namespace bnorm
