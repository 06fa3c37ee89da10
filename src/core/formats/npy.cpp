// SPDX-License-Identifier: Apache-2.0
// NumPy's .npy: one tensor, its header (npy_header) then its data.  A regular file is read where
// it lies, by position, from every thread; input that cannot seek (a pipe) is read into memory
// once, growing only as bytes arrive.
#include "npy.hpp"

#include <algorithm>
#include <array>

#include "codec.hpp"
#include "count_text.hpp"
#include "error.hpp"
#include "npy_header.hpp"
#include "raw_source.hpp"
#include "sinks.hpp"

namespace bnorm {

npy_layout read_npy(const byte_source& bytes, std::size_t base, std::size_t size,
                    std::string_view whole) {
  const std::string prefix = bytes.read_string(base, std::min(size, npy_magic_size + 4));
  const npy_preamble preamble = parse_npy_preamble(prefix);
  if (preamble.data_offset() > size) {
    throw data_error("header at byte " + std::to_string(npy_magic_size) + ": header length " +
                     std::to_string(preamble.header_size) + " runs past the end of the " +
                     std::string(whole) + " (which has " + count_text(size, "byte") + ")");
  }
  const std::string header = bytes.read_string(base + preamble.header_offset, preamble.header_size);
  npy_layout layout{parse_npy_header(header, preamble.header_offset, preamble.major_version),
                    preamble.data_offset()};
  const std::size_t data_size = size - layout.data_offset;
  const std::size_t expected = layout.info.size_in_bytes();
  if (data_size != expected) {
    throw data_error("data at byte " + std::to_string(layout.data_offset) + " is " +
                     count_text(data_size, "byte") + ", but shape " +
                     shape_to_string(layout.info.shape) + " of " + name_of(layout.info.type) +
                     " needs " + std::to_string(expected));
  }
  return layout;
}

namespace {

// The bytes of a .npy file that cannot seek, read exactly as far as its header says and one
// byte more: a pipe cannot give back bytes read too far, a short header length must not be
// trusted to cover them, and data longer than the shape is refused at once, without reading
// (or holding) the rest, which may never end.
std::string read_npy_stream(input_file& file) {
  std::string bytes(npy_magic_size + 2, '\0');
  bytes.resize(file.read(bytes.data(), bytes.size()));
  if (bytes.size() == npy_magic_size + 2 && (bytes[6] == 2 || bytes[6] == 3)) {
    char more[2];
    bytes.append(more, file.read(more, sizeof more));  // versions 2 and 3: 4-byte length
  }
  const npy_preamble preamble = parse_npy_preamble(bytes);
  const auto read_up_to = [&](std::size_t size) {
    constexpr std::size_t chunk = 1 << 20;  // grow with what arrives, never with a claim
    while (bytes.size() < size) {
      const std::size_t old = bytes.size();
      bytes.resize(std::min(size, old + chunk));
      const std::size_t n = file.read(bytes.data() + old, bytes.size() - old);
      bytes.resize(old + n);
      if (old + n < std::min(size, old + chunk)) return;
    }
  };
  read_up_to(preamble.data_offset());
  if (bytes.size() < preamble.data_offset()) return bytes;  // read_npy says what is short
  const std::string header = bytes.substr(preamble.header_offset, preamble.header_size);
  const tensor_info info = parse_npy_header(header, preamble.header_offset, preamble.major_version);
  const std::size_t expected = preamble.data_offset() + info.size_in_bytes();
  read_up_to(expected + 1);
  if (bytes.size() > expected) {
    throw data_error("data at byte " + std::to_string(preamble.data_offset()) +
                     " is longer than the " + count_text(info.size_in_bytes(), "byte") + " shape " +
                     shape_to_string(info.shape) + " of " + name_of(info.type) + " needs");
  }
  return bytes;
}

std::unique_ptr<tensor_archive> open_npy(std::unique_ptr<input_file> file,
                                         const read_options& /*options*/) {
  const std::string name = file->name();
  try {
    std::shared_ptr<const byte_source> bytes;
    if (file->seekable()) {
      bytes = byte_source::from_file(std::move(file));
    } else {
      bytes = byte_source::from_memory(name, read_npy_stream(*file));
    }
    const npy_layout layout = read_npy(*bytes, 0, bytes->size(), "file");
    return single_tensor_archive(
        name, [bytes, layout] { return raw_source(bytes, layout.data_offset, layout.info); });
  } catch (const data_error& e) {
    throw data_error(name + ": " + e.what());
  }
}

std::unique_ptr<tensor_sink> make_npy_sink(output_file& out, tensor_info info) {
  info.type = written_without_bfloat16(info.type);
  return make_headed_sink(out, format_npy_header(info), info.type);
}

bool recognizes_npy(std::string_view head) {
  return head.starts_with("\x93NUMPY");
}

constexpr std::array<std::string_view, 1> npy_extensions{".npy"};

}  // namespace

extern const codec npy_codec{
    .name = "npy",
    .a_file = "a .npy file",
    .manual =
        "**.npy** versions 1.0, 2.0 and 3.0, little- and big-endian, C and Fortran order, "
        "float16, float32 and float64 (written back in the same type), booleans and integers "
        "(read as numbers, written as float32); a regular file is read where it lies.",
    .extensions = npy_extensions,
    .recognizes = recognizes_npy,
    .holds_many = false,
    .keeps_dtype = true,
    .holds_documents = false,
    .text = false,
    .written_type = written_without_bfloat16,
    .open = open_npy,
    .make_sink = make_npy_sink,
    .write_set = nullptr,
    .update_set = nullptr,
    .fold_model = nullptr,
};

}  // namespace bnorm
