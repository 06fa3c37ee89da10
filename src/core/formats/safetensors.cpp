// SPDX-License-Identifier: Apache-2.0
#include "safetensors.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_set>

#include "codec.hpp"
#include "count_text.hpp"
#include "error.hpp"
#include "fortran_order.hpp"
#include "json_document.hpp"
#include "npy_header.hpp"
#include "quoted_name.hpp"
#include "raw_source.hpp"
#include "sinks.hpp"

namespace bnorm {
namespace {

using json = nlohmann::ordered_json;

constexpr std::size_t length_size = 8;  // the little-endian u64 before the header
// A header's JSON values become a document in memory at some 50 to 100 bytes each: counting
// them first keeps a forged header (100 MB of "[0,0,0,...") from costing gigabytes.  A real
// header has 11 to 14 values per tensor (its object, dtype, shape and offsets with their
// numbers, counted as the census counts them); this allows some 70,000 tensors.
constexpr std::size_t max_header_values = 1'000'000;

struct dtype_name {
  const char* name;
  dtype type;
  int alignment_rank;  // position in safetensors' Dtype enum, which its writer sorts by
};

constexpr std::array<dtype_name, 13> dtype_names{{
    {"BOOL", {scalar_kind::boolean, 1, false}, 0},
    {"U8", {scalar_kind::unsigned_int, 1, false}, 1},
    {"I8", {scalar_kind::signed_int, 1, false}, 2},
    {"I16", {scalar_kind::signed_int, 2, false}, 5},
    {"U16", {scalar_kind::unsigned_int, 2, false}, 6},
    {"F16", dtype::float16(), 7},
    {"BF16", dtype::bfloat16(), 8},
    {"I32", {scalar_kind::signed_int, 4, false}, 9},
    {"U32", {scalar_kind::unsigned_int, 4, false}, 10},
    {"F32", dtype::float32(), 11},
    {"F64", dtype::float64(), 12},
    {"I64", {scalar_kind::signed_int, 8, false}, 13},
    {"U64", {scalar_kind::unsigned_int, 8, false}, 14},
}};

// Types safetensors defines that bnorm does not read.
constexpr std::array<const char*, 8> unsupported_dtypes{"F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",
                                                        "F6_E2M3", "F6_E3M2", "C64",     "C128"};

int alignment_rank(dtype type) {
  for (const dtype_name& d : dtype_names) {
    if (d.type == type) return d.alignment_rank;
  }
  return 0;
}

// What a header's text holds, counted before it is parsed: its values (commas, colons and
// openings outside strings bound them) and its longest key (the string before a colon, as
// spelled, escapes included).
struct json_census {
  std::size_t values = 1;
  std::size_t longest_key = 0;
  std::size_t longest_key_at = 0;
};

json_census take_json_census(std::string_view text) {
  json_census census;
  bool in_string = false;
  std::size_t string_start = 0;
  std::size_t last_string_start = 0;
  std::size_t last_string_size = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        last_string_start = string_start;
        last_string_size = i - string_start - 1;
      }
    } else if (c == '"') {
      in_string = true;
      string_start = i;
    } else if (c == ',' || c == ':' || c == '[' || c == '{') {
      ++census.values;
      if (c == ':' && last_string_size > census.longest_key) {
        census.longest_key = last_string_size;
        census.longest_key_at = last_string_start;
      }
    }
  }
  return census;
}

std::size_t non_negative(const json& value, const std::string& what) {
  if (!value.is_number_integer() ||
      (value.is_number_integer() && !value.is_number_unsigned() && value.get<std::int64_t>() < 0)) {
    throw data_error(what + " is not a non-negative integer");
  }
  return value.get<std::size_t>();
}

class safetensors_archive : public tensor_archive {
 public:
  explicit safetensors_archive(std::shared_ptr<const byte_source> bytes)
      : bytes_(std::move(bytes)) {
    const std::size_t size = bytes_->size();
    if (size < length_size) {
      fail("not a safetensors file: " + count_text(size, "byte") +
           ", fewer than the 8-byte header length");
    }
    char length[length_size];
    bytes_->read_exact(0, length, length_size);
    std::uint64_t header_size = 0;
    for (std::size_t i = length_size; i-- > 0;) {
      header_size = header_size << 8 | static_cast<unsigned char>(length[i]);
    }
    if (header_size > safetensors_max_header_size) {
      fail("header length " + std::to_string(header_size) + " at byte 0 is larger than " +
           std::to_string(safetensors_max_header_size) + " (the safetensors limit)");
    }
    if (header_size > size - length_size) {
      fail("header length " + std::to_string(header_size) +
           " at byte 0 runs past the end of the file (which has " + std::to_string(size) +
           " bytes)");
    }
    data_offset_ = length_size + static_cast<std::size_t>(header_size);
    const std::string header = bytes_->read_string(length_size, data_offset_ - length_size);
    try {
      entries_ = parse_safetensors_header(header, size - data_offset_);
    } catch (const data_error& e) {
      fail(std::string("header at byte 8: ") + e.what());
    }
  }

  const std::string& file_name() const override { return bytes_->name(); }

  std::vector<std::string> names() const override {
    std::vector<std::string> names;
    for (const safetensors_entry& e : entries_) names.push_back(e.info.name);
    return names;
  }

  const std::shared_ptr<const byte_source>& bytes() const { return bytes_; }
  std::size_t data_offset() const { return data_offset_; }
  /// The tensors in the order of their data.
  const std::vector<safetensors_entry>& entries() const { return entries_; }

  std::unique_ptr<tensor_source> open(const std::string& name) const override {
    for (const safetensors_entry& e : entries_) {
      if (e.info.name == name) return raw_source(bytes_, data_offset_ + e.begin, e.info);
    }
    fail("no tensor " + quoted_name(name));
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw data_error(bytes_->name() + ": " + what);
  }

  std::shared_ptr<const byte_source> bytes_;
  std::size_t data_offset_ = 0;
  std::vector<safetensors_entry> entries_;
};

}  // namespace

dtype parse_safetensors_dtype(std::string_view name) {
  for (const dtype_name& d : dtype_names) {
    if (name == d.name) return d.type;
  }
  for (const char* unsupported : unsupported_dtypes) {
    if (name == unsupported) {
      throw data_error("dtype " + quoted_name(name) +
                       " is not supported (F16, BF16, F32, F64, I8-I64, U8-U64 and BOOL are)");
    }
  }
  throw data_error("unknown dtype " + quoted_name(name));
}

std::string safetensors_dtype_name(dtype type) {
  for (const dtype_name& d : dtype_names) {
    if (d.type == type) return d.name;
  }
  throw data_error("safetensors has no dtype for " + name_of(type));
}

std::vector<safetensors_entry> parse_safetensors_header(std::string_view text,
                                                        std::size_t data_size) {
  const json_census census = take_json_census(text);
  if (census.values > max_header_values) {
    throw data_error("holds more than " + std::to_string(max_header_values) +
                     " JSON values (bnorm's limit)");
  }
  if (census.longest_key > safetensors_max_key_size) {
    throw data_error("a key of " + std::to_string(census.longest_key) + " bytes (at byte " +
                     std::to_string(census.longest_key_at) + " of the header) is longer than " +
                     std::to_string(safetensors_max_key_size) + " bytes (bnorm's limit)");
  }
  const json document = parse_json_document(text);
  if (!document.is_object()) throw data_error("is not a JSON object");
  std::vector<safetensors_entry> entries;
  for (const auto& [key, value] : document.items()) {
    const std::string what = "tensor " + quoted_name(key);
    if (key == "__metadata__") {
      if (!value.is_object()) throw data_error("__metadata__ is not an object");
      for (const auto& [meta_key, meta_value] : value.items()) {
        if (!meta_value.is_string()) {
          throw data_error("__metadata__ " + quoted_name(meta_key) + " is not a string");
        }
      }
      continue;
    }
    if (!value.is_object()) throw data_error(what + " is not an object");
    for (const auto& [field, field_value] : value.items()) {
      if (field != "dtype" && field != "shape" && field != "data_offsets") {
        throw data_error(what + " has an unknown key " + quoted_name(field) +
                         " (known: dtype, shape, data_offsets)");
      }
    }
    if (!value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets")) {
      throw data_error(what + " lacks dtype, shape or data_offsets");
    }
    if (!value["dtype"].is_string()) throw data_error(what + ": dtype is not a string");
    safetensors_entry entry;
    entry.info.name = key;
    try {
      entry.info.type = parse_safetensors_dtype(value["dtype"].get<std::string>());
    } catch (const data_error& e) {
      throw data_error(what + ": " + e.what());
    }
    const json& shape = value["shape"];
    if (!shape.is_array()) throw data_error(what + ": shape is not an array");
    if (shape.size() > npy_max_rank) {
      throw data_error(what + ": shape has " + std::to_string(shape.size()) +
                       " dimensions, more than " + std::to_string(npy_max_rank) +
                       " (NumPy's limit, which bnorm keeps)");
    }
    std::size_t bytes = entry.info.type.size;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      const std::size_t dim = non_negative(shape[d], what + ": shape[" + std::to_string(d) + "]");
      entry.info.shape.push_back(dim);
      if (__builtin_mul_overflow(bytes, dim, &bytes)) {
        throw data_error(what + ": shape " + shape_to_string(entry.info.shape) +
                         "... overflows the size of a file");
      }
    }
    const json& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2) {
      throw data_error(what + ": data_offsets is not a pair [begin, end]");
    }
    entry.begin = non_negative(offsets[0], what + ": data_offsets[0]");
    entry.end = non_negative(offsets[1], what + ": data_offsets[1]");
    if (entry.end < entry.begin || entry.end - entry.begin != bytes) {
      throw data_error(what + ": data_offsets [" + std::to_string(entry.begin) + ", " +
                       std::to_string(entry.end) + "] do not span the " +
                       count_text(bytes, "byte") + " shape " + shape_to_string(entry.info.shape) +
                       " of " + value["dtype"].get<std::string>() + " needs");
    }
    entries.push_back(std::move(entry));
  }
  // Stable: empty tensors share an offset, and names() promises the header's order for them.
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // The reference implementation's rule: the tensors tile the data area exactly.
  std::size_t expected = 0;
  for (const safetensors_entry& e : entries) {
    if (e.begin != expected) {
      throw data_error("tensor " + quoted_name(e.info.name) + " starts at data byte " +
                       std::to_string(e.begin) + ", but the tensors before it end at " +
                       std::to_string(expected) +
                       (e.begin < expected ? " (overlap)" : " (a hole)"));
    }
    expected = e.end;
  }
  if (expected != data_size) {
    throw data_error("the tensors cover " + count_text(expected, "byte") + " of the " +
                     std::to_string(data_size) + "-byte data area");
  }
  return entries;
}

std::unique_ptr<tensor_archive> open_safetensors(std::shared_ptr<const byte_source> bytes) {
  return std::make_unique<safetensors_archive>(std::move(bytes));
}

std::string format_safetensors_header(std::vector<named_tensor>& tensors) {
  std::stable_sort(tensors.begin(), tensors.end(),
                   [](const named_tensor& a, const named_tensor& b) {
                     const int ra = alignment_rank(a.info.type);
                     const int rb = alignment_rank(b.info.type);
                     return ra != rb ? ra > rb : a.info.name < b.info.name;
                   });
  json header = json::object();
  std::size_t offset = 0;
  for (const named_tensor& t : tensors) {
    if (t.info.name == "__metadata__") {
      // The format reserves the key; a reader would take the tensor for metadata.
      throw data_error("a safetensors tensor cannot be named __metadata__");
    }
    json entry;
    entry["dtype"] = safetensors_dtype_name(t.info.type);
    entry["shape"] = t.info.shape;
    entry["data_offsets"] = {offset, offset + t.info.size_in_bytes()};
    header[t.info.name] = std::move(entry);
    offset += t.info.size_in_bytes();
  }
  std::string text;
  try {
    text = header.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::type_error&) {
    // A name from an .npz member need not be UTF-8; replacing bytes would rename the tensor.
    for (const named_tensor& t : tensors) {
      try {
        (void)json(t.info.name).dump();
      } catch (const json::type_error&) {
        throw data_error("tensor name " + quoted_name(t.info.name) +
                         " is not valid UTF-8, which a safetensors header must be");
      }
    }
    throw;
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  for (std::size_t i = 0; i < length_size; ++i) {
    out += static_cast<char>((text.size() >> (8 * i)) & 0xff);
  }
  return out + text;
}

void write_safetensors(output_file& out, std::vector<named_tensor> tensors) {
  for (named_tensor& t : tensors) {
    if (t.info.fortran_order && t.info.shape.size() > 1) {
      t.data = fortran_to_c_order(t.data, t.info.type.size, t.info.shape);
    }
    t.info.fortran_order = false;
  }
  std::string header;
  try {
    header = format_safetensors_header(tensors);
  } catch (const data_error& e) {
    throw data_error(out.name() + ": " + e.what());  // messages name a file: the output here
  }
  out.write(header);
  for (const named_tensor& t : tensors) out.write(t.data);
}

namespace {

std::unique_ptr<tensor_archive> open_safetensors_file(std::unique_ptr<input_file> file,
                                                      const read_options& /*options*/) {
  return open_safetensors(byte_source::from_file(std::move(file)));
}

// One tensor's bytes in the new file: copied from the original, or a replacement's.
struct data_piece {
  std::size_t original_offset = 0;
  std::size_t size = 0;
  const named_tensor* replacement = nullptr;
};

constexpr std::size_t copy_chunk = std::size_t{1} << 20;

// The header keeps the original's keys in their order, __metadata__ as it was, and each kept
// tensor's dtype and shape; the data keeps its order, replaced tensors in their place and added
// ones after it, so that only the offsets from the first replaced tensor on move.
void update_safetensors(std::unique_ptr<input_file> original, output_file& out,
                        std::vector<named_tensor> replaced) {
  const safetensors_archive archive(byte_source::from_file(std::move(original)));
  const byte_source& bytes = *archive.bytes();
  for (named_tensor& t : replaced) {
    if (t.info.fortran_order && t.info.shape.size() > 1) {
      t.data = fortran_to_c_order(t.data, t.info.type.size, t.info.shape);
    }
    t.info.fortran_order = false;
    if (t.info.name == "__metadata__") {
      throw data_error(out.name() + ": a safetensors tensor cannot be named __metadata__");
    }
  }
  const auto replacement = [&](const std::string& name) -> const named_tensor* {
    for (const named_tensor& t : replaced) {
      if (t.info.name == name) return &t;
    }
    return nullptr;
  };
  json header =
      parse_json_document(bytes.read_string(length_size, archive.data_offset() - length_size));
  std::vector<data_piece> pieces;
  std::size_t offset = 0;
  const auto place = [&](json& entry, std::size_t size) {
    entry["data_offsets"] = {offset, offset + size};
    offset += size;
  };
  try {
    for (const safetensors_entry& e : archive.entries()) {
      json& entry = header[e.info.name];
      if (const named_tensor* t = replacement(e.info.name)) {
        entry["dtype"] = safetensors_dtype_name(t->info.type);
        entry["shape"] = t->info.shape;
        place(entry, t->data.size());
        pieces.push_back({0, t->data.size(), t});
      } else {
        place(entry, e.end - e.begin);
        pieces.push_back({archive.data_offset() + e.begin, e.end - e.begin, nullptr});
      }
    }
    for (const named_tensor& t : replaced) {
      if (header.contains(t.info.name)) continue;
      json& entry = header[t.info.name];
      entry["dtype"] = safetensors_dtype_name(t.info.type);
      entry["shape"] = t.info.shape;
      place(entry, t.data.size());
      pieces.push_back({0, t.data.size(), &t});
    }
  } catch (const data_error& e) {
    throw data_error(out.name() + ": " + e.what());
  }
  std::string text;
  try {
    text = header.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::type_error&) {
    throw data_error(out.name() +
                     ": a tensor name is not valid UTF-8, which a safetensors "
                     "header must be");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string length;
  for (std::size_t i = 0; i < length_size; ++i) {
    length += static_cast<char>((text.size() >> (8 * i)) & 0xff);
  }
  out.write(length);
  out.write(text);
  std::string chunk;
  for (const data_piece& piece : pieces) {
    if (piece.replacement != nullptr) {
      out.write(piece.replacement->data);
      continue;
    }
    for (std::size_t done = 0; done < piece.size;) {
      const std::size_t want = std::min(copy_chunk, piece.size - done);
      chunk.resize(want);
      bytes.read_exact(piece.original_offset + done, chunk.data(), want);
      out.write(chunk);
      done += want;
    }
  }
}

// Every floating type, bfloat16 included, little-endian.
dtype safetensors_written_type(dtype type) {
  return output_type_for(type);
}

// C order streams as .npy does: the header first, then each range straight to its place.
// The format has no Fortran order: such a tensor is held, then reordered by write_safetensors.
std::unique_ptr<tensor_sink> make_safetensors_sink(output_file& out, tensor_info info) {
  info.type = safetensors_written_type(info.type);
  // push_back, not = "x": GCC 12 warns falsely about the latter (-Wrestrict, PR 105651).
  if (info.name.empty()) info.name.push_back('x');
  if (info.fortran_order && info.shape.size() > 1) {
    return make_held_sink(out, std::move(info), write_safetensors);
  }
  std::vector<named_tensor> tensors(1);
  tensors[0].info = std::move(info);
  std::string header;
  try {
    header = format_safetensors_header(tensors);
  } catch (const data_error& e) {
    throw data_error(out.name() + ": " + e.what());
  }
  return make_headed_sink(out, header, tensors[0].info.type);
}

// The 8-byte little-endian length of a JSON header, which opens with '{': a length below
// 2^56 has a zero last byte, which no text format has.
bool recognizes_safetensors(std::string_view head) {
  return head.size() > length_size && head[length_size - 1] == '\0' && head[length_size] == '{';
}

constexpr std::array<std::string_view, 1> safetensors_extensions{".safetensors"};

}  // namespace

extern const codec safetensors_codec{
    .name = "safetensors",
    .a_file = "a .safetensors file",
    .manual =
        "**.safetensors**: F16, BF16, F32, F64, integers and BOOL, read where they lie in a "
        "regular file; bfloat16 is computed in double and written back as bfloat16 here, as "
        "float32 in the other formats.",
    .extensions = safetensors_extensions,
    .recognizes = recognizes_safetensors,
    .holds_many = true,
    .keeps_dtype = true,
    .holds_documents = false,
    .text = false,
    .written_type = safetensors_written_type,
    .open = open_safetensors_file,
    .make_sink = make_safetensors_sink,
    .write_set = write_safetensors,
    .update_set = update_safetensors,
    .fold_model = nullptr,
};

}  // namespace bnorm
