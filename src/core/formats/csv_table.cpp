// SPDX-License-Identifier: Apache-2.0
#include "csv_table.hpp"

#include <fast_float/fast_float.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <thread>

#include "count_text.hpp"
#include "error.hpp"
#include "quoted_name.hpp"

namespace bnorm {
namespace {

// Blocks as large as the passes' chunks of values take in text, so that one read serves a
// chunk; a row longer than a block grows the buffer.
constexpr std::size_t block_size = 1 << 18;
// A checkpoint every so many rows: a read anywhere parses at most this many rows it does not
// need, and 100 MiB of 16 columns keeps a few thousand checkpoints.
constexpr std::size_t checkpoint_rows = 256;
// A body at least twice this large is scanned at open in parts, one a thread.
constexpr std::size_t parallel_scan_bytes = 4 << 20;
// Fields are taken this many at a time, so that a row of millions of columns is never held
// whole (nor parsed again for each chunk of values read from it).
constexpr std::size_t fields_at_once = 4096;

// A fault of a table's text at a line (and column, 0 for a whole row), counted from the line
// its scan began at: a part of the file scanned on its own thread learns later where it lies.
struct table_fault {
  std::size_t line;
  std::size_t column;
  std::string what;
  bool empty_field = false;  // what a caller may ask to read as NaN
};

[[noreturn]] void throw_fault(const std::string& name, const table_fault& fault,
                              std::size_t lines_before) {
  std::string text = name + ": line " + std::to_string(fault.line + lines_before);
  if (fault.column > 0) text += ", column " + std::to_string(fault.column);
  text += ": " + fault.what;
  if (fault.empty_field) throw data_error(bnorm::fault::empty_field, text);
  throw data_error(text);
}

struct field_text {
  const char* begin;  // the text, without a quoted field's quotes ("" not yet unescaped)
  const char* end;
  bool quoted;
  bool escaped;  // holds "" (a quote)
  std::size_t line;
  std::size_t column;
};

std::string unescaped(const field_text& f) {
  std::string text(f.begin, f.end);
  if (!f.escaped) return text;
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '"') ++i;  // the second of a pair
  }
  return out;
}

// The rows of a table's bytes from a row's start up to `limit`, one at a time.  A row's
// fields point into the buffer, valid until the next row is read.
class csv_scanner {
 public:
  csv_scanner(const byte_source& bytes, char separator, csv_row_start at, std::size_t limit,
              std::vector<char>& buffer, bool inside_row = false)
      : bytes_(bytes),
        separator_(separator),
        buffer_(buffer),
        buffer_offset_(at.offset),
        line_(at.line),
        line_start_(at.offset),
        limit_(limit),
        row_ended_(!inside_row) {
    special_.fill(false);
    for (const char c : {separator, '\n', '\r', '"', '\0'}) {
      special_[static_cast<unsigned char>(c)] = true;
    }
    if (buffer_.size() < block_size) buffer_.resize(block_size);
    fill();
  }

  /// Reads the next row's fields, or only its next `max_fields` of them (the position then
  /// stays inside the row, at the next field); false at the end.  Throws data_error.
  bool next_row(std::vector<field_text>& fields,
                std::size_t max_fields = std::numeric_limits<std::size_t>::max()) {
    max_fields_ = max_fields;
    for (;;) {
      switch (parse(fields)) {
        case outcome::row:
          return true;
        case outcome::end:
          return false;
        case outcome::more:
          fill();
          break;
      }
    }
  }

  /// Where the next row begins.
  csv_row_start position() const { return {buffer_offset_ + begin_, line_}; }

  /// Whether the last next_row read up to its row's end.
  bool row_ended() const { return row_ended_; }

  /// Whether a field has begun with a quote, or met one, so far.
  bool saw_quote() const { return saw_quote_; }

 private:
  enum class outcome { row, more, end };

  // Keeps the unparsed bytes, moved to the buffer's front, and appends what follows them.
  void fill() {
    const std::size_t kept = end_ - begin_;
    if (begin_ > 0) std::memmove(buffer_.data(), buffer_.data() + begin_, kept);
    buffer_offset_ += begin_;
    begin_ = 0;
    end_ = kept;
    if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    const std::size_t at = buffer_offset_ + end_;
    const std::size_t size = std::min(buffer_.size() - end_, limit_ - at);
    bytes_.read_exact(at, buffer_.data() + end_, size);
    end_ += size;
    ended_ = buffer_offset_ + end_ == limit_;
  }

  [[noreturn]] void fail(std::size_t line, std::size_t column, const std::string& what) const {
    throw table_fault{line, column, what};
  }

  outcome parse(std::vector<field_text>& fields) {
    const char* const data = buffer_.data();
    const char* p = data + begin_;
    const char* const e = data + end_;
    // Inside a row, after a separator, an empty last field remains even at the end.
    if (p == e && row_ended_) return ended_ ? outcome::end : outcome::more;
    fields.clear();
    std::size_t line = line_;
    std::size_t line_start = line_start_;
    const auto offset_of = [&](const char* q) {
      return buffer_offset_ + static_cast<std::size_t>(q - data);
    };
    const auto column_of = [&](const char* q) { return offset_of(q) - line_start + 1; };
    const auto row_ends = [&](const char* next, bool ended = true) {
      row_ended_ = ended;
      begin_ = static_cast<std::size_t>(next - data);
      line_ = line;
      line_start_ = line_start;
      return outcome::row;
    };
    for (;;) {
      field_text f{p, p, false, false, line, column_of(p)};
      if (p < e && *p == '"') {
        saw_quote_ = true;
        f.quoted = true;
        const char* q = p + 1;
        f.begin = q;
        for (;; ++q) {
          while (q < e && *q != '"' && *q != '\n' && *q != '\0') ++q;
          if (q == e) {
            if (ended_) fail(f.line, f.column, "a quoted field that never ends");
            return outcome::more;
          }
          if (*q == '\n') {
            ++line;
            line_start = offset_of(q + 1);
            continue;
          }
          if (*q == '\0') fail(line, column_of(q), "a NUL byte");
          if (q + 1 == e && !ended_) return outcome::more;
          if (q + 1 < e && q[1] == '"') {
            f.escaped = true;
            ++q;
            continue;
          }
          break;
        }
        f.end = q;
        p = q + 1;
      } else {
        while (p < e && !special_[static_cast<unsigned char>(*p)]) ++p;
        if (p < e && *p == '"') {
          saw_quote_ = true;
          fail(line, column_of(p), "a quote inside a field that does not begin with one");
        }
        if (p < e && *p == '\0') fail(line, column_of(p), "a NUL byte");
        f.end = p;
      }
      if (p == e) {
        if (!ended_) return outcome::more;
        fields.push_back(f);
        return row_ends(p);
      }
      if (*p == separator_) {
        fields.push_back(f);
        ++p;
        if (fields.size() == max_fields_) return row_ends(p, false);
        continue;
      }
      if (*p == '\n') {
        fields.push_back(f);
        ++line;
        line_start = offset_of(p + 1);
        return row_ends(p + 1);
      }
      if (*p == '\r') {
        if (p + 1 == e && !ended_) return outcome::more;
        if (p + 1 < e && p[1] == '\n') {
          fields.push_back(f);
          ++line;
          line_start = offset_of(p + 2);
          return row_ends(p + 2);
        }
        fail(line, column_of(p), "a carriage return not followed by a line feed");
      }
      if (*p == '\0') fail(line, column_of(p), "a NUL byte");
      fail(line, column_of(p), "text after a quoted field's closing quote");
    }
  }

  const byte_source& bytes_;
  char separator_;
  std::array<bool, 256> special_{};
  std::vector<char>& buffer_;
  std::size_t buffer_offset_;  // the file offset of buffer_[0]
  std::size_t begin_ = 0;      // the next row's first byte in the buffer
  std::size_t end_ = 0;
  std::size_t line_;
  std::size_t line_start_;  // the file offset where line_ begins
  std::size_t limit_;
  bool ended_ = false;
  bool saw_quote_ = false;
  bool row_ended_;
  std::size_t max_fields_ = std::numeric_limits<std::size_t>::max();
};

// The offset just after the first line feed at or after `offset` (and not before `floor`), or
// the file's end.
std::size_t line_start_after(const byte_source& bytes, std::size_t offset, std::size_t floor) {
  offset = std::max(offset, floor);
  char block[4096];
  while (offset < bytes.size()) {
    const std::size_t size = std::min(sizeof block, bytes.size() - offset);
    bytes.read_exact(offset, block, size);
    if (const void* end = std::memchr(block, '\n', size)) {
      return offset + static_cast<std::size_t>(static_cast<const char*>(end) - block) + 1;
    }
    offset += size;
  }
  return bytes.size();
}

bool is_blank(const field_text& f) {
  return std::all_of(f.begin, f.end, [](char c) { return c == ' ' || c == '\t'; });
}

// The value of a field below the header; false when it is not one.
bool field_value(const field_text& f, bool missing_as_nan, double& value) {
  if (parse_csv_number(f.begin, f.end, value)) return true;
  if (missing_as_nan && is_blank(f)) {
    value = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  return false;
}

std::atomic<std::size_t> next_serial{1};

}  // namespace

bool spells_csv_number(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  while (end > p && (end[-1] == ' ' || end[-1] == '\t')) --end;
  if (p < end && (*p == '+' || *p == '-')) ++p;
  if (p == end) return false;
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!is_digit(*p) && *p != '.') {
    // inf, infinity, nan, in any case
    std::string word(p, end);
    for (char& c : word) c = static_cast<char>(c | 0x20);
    return word == "inf" || word == "infinity" || word == "nan";
  }
  const char* digits = p;
  while (p < end && is_digit(*p)) ++p;
  bool any = p > digits;
  if (p < end && *p == '.') {
    const char* fraction = ++p;
    while (p < end && is_digit(*p)) ++p;
    any = any || p > fraction;
  }
  if (!any) return false;
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    const char* exponent = p;
    while (p < end && is_digit(*p)) ++p;
    if (p == exponent) return false;
  }
  return p == end;
}

bool parse_csv_number(const char* begin, const char* end, double& value) {
  while (begin < end && (*begin == ' ' || *begin == '\t')) ++begin;
  while (end > begin && (end[-1] == ' ' || end[-1] == '\t')) --end;
  if (begin == end) return false;
  if (*begin == '+') {
    ++begin;
    if (begin == end || *begin == '-' || *begin == '+') return false;
  }
  // fast_float takes "nan(payload)", which Python's float() does not.
  if (std::memchr(begin, '(', static_cast<std::size_t>(end - begin))) return false;
  const auto result = fast_float::from_chars(begin, end, value);
  if (result.ptr != end) return false;
  // Beyond float64's range is ±inf or ±0, as float() reads it.
  return result.ec == std::errc() || result.ec == std::errc::result_out_of_range;
}

std::shared_ptr<const csv_table> csv_table::scan(std::shared_ptr<const byte_source> bytes,
                                                 csv_dialect dialect) {
  std::shared_ptr<csv_table> table(new csv_table);
  table->bytes_ = bytes;
  table->dialect_ = dialect;
  table->serial_ = next_serial++;
  const std::string& name = bytes->name();
  if (bytes->size() == 0) throw data_error(name + ": the file is empty, and a table has rows");
  if (bytes->size() >= 3 && bytes->read_string(0, 3) == "\xEF\xBB\xBF") {
    throw data_error(name +
                     ": line 1, column 1: a UTF-8 byte order mark, which a table of numbers "
                     "does not begin with (save the file without it)");
  }
  std::vector<char> buffer;
  std::vector<field_text> fields;
  std::size_t columns = 0;
  const auto fail = [](const field_text& f, const std::string& what) {
    throw table_fault{f.line, f.column, what};
  };
  // The fault of a field that is no number, at `index` in its row; none when it is one.
  const auto value_fault = [&](const field_text& f,
                               std::size_t index) -> std::optional<table_fault> {
    if (spells_csv_number(f.begin, f.end)) return std::nullopt;
    if (dialect.missing_as_nan && is_blank(f)) return std::nullopt;
    if (is_blank(f)) {
      return table_fault{
          f.line, f.column,
          "an empty field (column " + std::to_string(index + 1) + "), where a number is expected",
          true};
    }
    return table_fault{
        f.line, f.column,
        quoted_name(unescaped(f)) + " (column " + std::to_string(index + 1) + ") is not a number"};
  };
  // Checks the row `rows_scanner` stands at, of `row_line`, a chunk of fields at a time;
  // false at the end.  Throws table_fault for a row that is not `columns` numbers (its
  // number of fields first).
  const auto check_row = [&](csv_scanner& rows_scanner, std::vector<field_text>& row,
                             std::size_t row_line) {
    std::size_t count = 0;
    bool empty_line = false;
    std::optional<table_fault> fault;
    do {
      if (!rows_scanner.next_row(row, fields_at_once)) return false;
      if (count == 0) {
        empty_line = rows_scanner.row_ended() && row.size() == 1 && row[0].begin == row[0].end &&
                     !row[0].quoted;
      }
      for (std::size_t i = 0; i < row.size() && !fault && count + i < columns; ++i) {
        fault = value_fault(row[i], count + i);
      }
      count += row.size();
    } while (!rows_scanner.row_ended());
    if (count != columns) {
      if (empty_line) {
        throw table_fault{
            row_line, 0,
            "an empty line, where a row of " + count_text(columns, "field") + " is expected"};
      }
      throw table_fault{
          row_line, 0,
          count_text(count, "field") + ", where the first row has " + std::to_string(columns)};
    }
    if (fault) throw *fault;
    return true;
  };
  // The rows from where `rows_scanner` stands: checkpoints (counted from `first_row`) and
  // the number of rows.
  const auto scan_rows = [&](csv_scanner& rows_scanner, std::vector<field_text>& row,
                             std::size_t first_row, std::vector<csv_row_start>& checkpoints,
                             std::vector<std::size_t>& checkpoint_rows_at) {
    std::size_t count = 0;
    for (;;) {
      const csv_row_start at = rows_scanner.position();
      if (!check_row(rows_scanner, row, at.line)) break;
      if ((first_row + count) % checkpoint_rows == 0 || count == 0) {
        checkpoints.push_back(at);
        checkpoint_rows_at.push_back(first_row + count);
      }
      ++count;
    }
    return count;
  };
  csv_row_start body;
  try {
    // The first row, read twice: whether it is a header is known only at its end.
    bool header = false;
    {
      csv_scanner first_row(*bytes, dialect.separator, {}, bytes->size(), buffer);
      do {
        first_row.next_row(fields, fields_at_once);
        header = header || std::any_of(fields.begin(), fields.end(), [&](const field_text& f) {
                   double value = 0;
                   return !is_blank(f) && !parse_csv_number(f.begin, f.end, value);
                 });
        columns += fields.size();
      } while (!first_row.row_ended());
    }
    table->columns_ = columns;
    csv_scanner first_row(*bytes, dialect.separator, {}, bytes->size(), buffer);
    if (header) {
      do {
        first_row.next_row(fields, fields_at_once);
        for (const field_text& field : fields) table->names_.push_back(unescaped(field));
      } while (!first_row.row_ended());
      // The first column, in order, whose name is empty or repeats an earlier one: found by
      // sorting (a hash set of millions of names took seconds), then told where it lies.
      const std::vector<std::string>& names = table->names_;
      std::vector<std::size_t> order(names.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return names[a] != names[b] ? names[a] < names[b] : a < b;
      });
      std::size_t faulty = names.size();
      for (std::size_t k = 0; k < order.size(); ++k) {
        if (names[order[k]].empty()) faulty = std::min(faulty, order[k]);
        if (k > 0 && names[order[k]] == names[order[k - 1]]) faulty = std::min(faulty, order[k]);
      }
      if (faulty < names.size()) {
        csv_scanner again(*bytes, dialect.separator, {}, bytes->size(), buffer);
        std::size_t before = 0;  // the fields of the header before `fields`
        for (;;) {
          again.next_row(fields, fields_at_once);
          if (faulty < before + fields.size()) break;
          before += fields.size();
        }
        const field_text& field = fields[faulty - before];
        const std::string column = "column " + std::to_string(faulty + 1);
        if (names[faulty].empty()) fail(field, column + " of the header has no name");
        fail(field, column + " of the header repeats the name " + quoted_name(names[faulty]));
      }
    } else {
      check_row(first_row, fields, 1);
      table->checkpoints_.push_back({});
      table->checkpoint_row_.push_back(0);
      table->rows_ = 1;
    }
    body = first_row.position();

  } catch (const table_fault& fault) {
    throw_fault(name, fault, 0);
  }

  // A large body is scanned in parts on several threads, each from a line start.  Without a
  // quote in it every line end ends a row, so the parts' rows are the table's; a part that
  // meets a quote sends the whole body to one scan, which alone can tell where quotes end.
  const std::size_t body_size = bytes->size() - body.offset;
  const std::size_t parts = std::min<std::size_t>(
      {std::max(1u, std::thread::hardware_concurrency()), 8, body_size / parallel_scan_bytes});
  if (parts >= 2) {
    struct part_result {
      std::size_t begin = 0, end = 0, rows = 0, lines = 0;
      std::vector<csv_row_start> checkpoints;
      std::vector<std::size_t> checkpoint_rows_at;
      std::optional<table_fault> fault;
      std::exception_ptr error;  // what else stopped it (a read that failed)
      bool saw_quote = false;
    };
    std::vector<part_result> results(parts);
    std::size_t begin = body.offset;
    for (std::size_t k = 0; k < parts; ++k) {
      results[k].begin = begin;
      begin = k + 1 == parts
                  ? bytes->size()
                  : line_start_after(*bytes, body.offset + body_size / parts * (k + 1), begin);
      results[k].end = begin;
    }
    const auto scan_part = [&](part_result& part) {
      std::vector<char> part_buffer;
      std::vector<field_text> row;
      if (part.begin == part.end) return;
      // Nothing may escape a thread (that ends the process), nor the main thread's part
      // before the others are joined.
      try {
        csv_scanner part_scanner(*bytes, dialect.separator, {part.begin, 1}, part.end, part_buffer);
        try {
          part.rows = scan_rows(part_scanner, row, 0, part.checkpoints, part.checkpoint_rows_at);
          part.lines = part_scanner.position().line - 1;
        } catch (const table_fault& fault) {
          part.fault = fault;
        }
        part.saw_quote = part_scanner.saw_quote();
      } catch (...) {
        part.error = std::current_exception();
      }
    };
    std::vector<std::thread> pool;
    for (std::size_t k = 1; k < parts; ++k) pool.emplace_back([&, k] { scan_part(results[k]); });
    scan_part(results[0]);
    for (std::thread& thread : pool) thread.join();
    for (const part_result& part : results) {
      if (part.error) std::rethrow_exception(part.error);
    }
    const bool quoted = std::any_of(results.begin(), results.end(),
                                    [](const part_result& part) { return part.saw_quote; });
    if (!quoted) {
      std::size_t lines_before = body.line - 1;
      for (const part_result& part : results) {
        if (part.fault) throw_fault(name, *part.fault, lines_before);
        for (std::size_t i = 0; i < part.checkpoints.size(); ++i) {
          const std::size_t row = table->rows_ + part.checkpoint_rows_at[i];
          table->checkpoints_.push_back(
              {part.checkpoints[i].offset, part.checkpoints[i].line + lines_before});
          table->checkpoint_row_.push_back(row);
        }
        table->rows_ += part.rows;
        lines_before += part.lines;
      }
      if (table->rows_ == 0) throw data_error(name + ": a header and no rows below it");
      return table;
    }
  }
  csv_scanner scanner(*bytes, dialect.separator, body, bytes->size(), buffer);
  try {
    table->rows_ +=
        scan_rows(scanner, fields, table->rows_, table->checkpoints_, table->checkpoint_row_);
  } catch (const table_fault& fault) {
    throw_fault(name, fault, 0);
  }
  if (table->rows_ == 0) throw data_error(name + ": a header and no rows below it");
  return table;
}

csv_row_start csv_table::start_of_row(std::size_t row, std::size_t& start_row) const {
  const auto after = std::upper_bound(checkpoint_row_.begin(), checkpoint_row_.end(), row);
  const auto index = static_cast<std::size_t>(after - checkpoint_row_.begin()) - 1;
  start_row = checkpoint_row_[index];
  return checkpoints_[index];
}

void csv_table::read_at(std::size_t first, std::span<double> out) const {
  if (out.empty()) return;
  // Where this thread's last read stopped: a field's start, inside a row or at its beginning,
  // so that a row of millions of columns read in chunks is not parsed again for each.
  struct cursor {
    std::size_t serial = 0;
    std::size_t row = 0;
    std::size_t column = 0;
    csv_row_start at;
  };
  // A few, so that a thread reading two tables in turn (compare) continues in each.
  thread_local std::array<cursor, 4> cursors;
  thread_local std::size_t oldest = 0;
  cursor* last = nullptr;
  for (cursor& c : cursors) {
    if (c.serial == serial_) last = &c;
  }
  if (!last) {
    last = &cursors[oldest];
    oldest = (oldest + 1) % cursors.size();
    *last = {};
  }
  thread_local std::vector<char> buffer;
  thread_local std::vector<field_text> fields;

  const std::size_t row = first / columns_;
  std::size_t column = first % columns_;
  const std::size_t last_row = (first + out.size() - 1) / columns_;
  std::size_t at_row = 0;
  std::size_t at_column = 0;
  csv_row_start at = start_of_row(row, at_row);
  if (last->serial == serial_ && last->row >= at_row &&
      (last->row < row || (last->row == row && last->column <= column))) {
    at_row = last->row;
    at_column = last->column;
    at = last->at;
  }
  const auto after = static_cast<std::size_t>(
      std::upper_bound(checkpoint_row_.begin(), checkpoint_row_.end(), last_row) -
      checkpoint_row_.begin());
  const std::size_t limit =
      after < checkpoints_.size() ? checkpoints_[after].offset : bytes_->size();
  csv_scanner scanner(*bytes_, dialect_.separator, at, limit, buffer, at_column > 0);
  const auto changed = [&] {
    return data_error(bytes_->name() + ": the file changed while being read");
  };
  // Reads up to `count` fields of the row at (at_row, at_column), which must hold them.
  const auto take = [&](std::size_t count) {
    bool read = false;
    try {
      read = scanner.next_row(fields, count);
    } catch (const table_fault&) {  // the text validated at open is no longer there
      throw changed();
    }
    if (!read || fields.size() != count || scanner.row_ended() != (at_column + count == columns_)) {
      throw changed();
    }
    at_column += count;
    if (at_column == columns_) {
      at_column = 0;
      ++at_row;
    }
  };
  while (at_row < row || at_column < column) {
    const std::size_t to = at_row < row ? columns_ : column;
    take(std::min(fields_at_once, to - at_column));
  }
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t count = std::min({fields_at_once, columns_ - at_column, out.size() - done});
    take(count);
    for (std::size_t i = 0; i < count; ++i, ++done) {
      if (!field_value(fields[i], dialect_.missing_as_nan, out[done])) throw changed();
    }
  }
  *last = {serial_, at_row, at_column, scanner.position()};
}

}  // namespace bnorm
