// SPDX-License-Identifier: Apache-2.0
#include "zip_writer.hpp"

#include <algorithm>

#include "crc32.hpp"
#include "error.hpp"
#include "quoted_name.hpp"
#include "zip_format.hpp"

namespace bnorm {
namespace {

using namespace zip_format;

constexpr std::uint16_t dos_date = 0x21;  // 1980-01-01, the earliest a DOS date holds
constexpr std::uint16_t made_by_unix = 3 << 8;
constexpr std::uint32_t mode_rw = 0600u << 16;  // external attributes: -rw------- as NumPy's
constexpr std::size_t local_crc_offset = 14;
constexpr std::size_t copy_chunk = std::size_t{1} << 20;

void put(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

std::uint16_t name_flags(std::string_view name) {
  const bool ascii = std::all_of(name.begin(), name.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  return ascii ? 0 : 0x0800;  // bit 11: the name is UTF-8
}

void check_member_name(const output_file& out, std::string_view name) {
  if (name.size() > zip_max_name_size) {
    throw data_error(out.name() + ": member name " + quoted_name(name) + " is longer than the " +
                     std::to_string(zip_max_name_size) + " bytes a ZIP archive holds");
  }
  // name_flags sets the UTF-8 flag for every name that is not ASCII.
  if (const std::string problem = zip_name_problem(name, true); !problem.empty()) {
    throw data_error(out.name() + ": member name " + quoted_name(name) + " " + problem +
                     "; bnorm does not write it");
  }
}

// A member as its local header and the central directory record it.
struct member_record {
  std::string_view name;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t offset = 0;  // of its local header
};

// Python's zipfile with force_zip64: both sizes in a ZIP64 extra field, the markers in their
// 32-bit fields.
std::string local_header(const member_record& m) {
  std::string local;
  put(local, local_signature, 4);
  put(local, zip64_version, 2);
  put(local, name_flags(m.name), 2);
  put(local, m.method, 2);
  put(local, 0, 2);
  put(local, dos_date, 2);
  put(local, m.crc, 4);
  put(local, marker32, 4);
  put(local, marker32, 4);
  put(local, m.name.size(), 2);
  put(local, 20, 2);
  local += m.name;
  put(local, zip64_extra_id, 2);
  put(local, 16, 2);
  put(local, m.uncompressed_size, 8);  // APPNOTE 4.5.3: the original size first
  put(local, m.compressed_size, 8);
  return local;
}

// The central directory and end records of `members`, the last of which ends at `offset`.
std::string directory_and_end(const std::vector<member_record>& members, std::uint64_t offset) {
  std::string directory;
  for (const member_record& m : members) {
    std::string values;
    const bool big_size = m.compressed_size >= marker32 || m.uncompressed_size >= marker32;
    const bool big_offset = m.offset >= marker32;
    if (big_size) {
      put(values, m.uncompressed_size, 8);
      put(values, m.compressed_size, 8);
    }
    if (big_offset) put(values, m.offset, 8);
    std::string extra;
    if (!values.empty()) {
      put(extra, zip64_extra_id, 2);
      put(extra, values.size(), 2);
      extra += values;
    }
    put(directory, central_signature, 4);
    put(directory, made_by_unix | zip64_version, 2);
    put(directory, zip64_version, 2);
    put(directory, name_flags(m.name), 2);
    put(directory, m.method, 2);
    put(directory, 0, 2);
    put(directory, dos_date, 2);
    put(directory, m.crc, 4);
    put(directory, big_size ? marker32 : m.compressed_size, 4);
    put(directory, big_size ? marker32 : m.uncompressed_size, 4);
    put(directory, m.name.size(), 2);
    put(directory, extra.size(), 2);
    put(directory, 0, 2);  // comment
    put(directory, 0, 2);  // disk
    put(directory, 0, 2);  // internal attributes
    put(directory, mode_rw, 4);
    put(directory, big_offset ? marker32 : m.offset, 4);
    directory += m.name;
    directory += extra;
  }
  const std::uint64_t count = members.size();
  const bool zip64 = count >= marker16 || directory.size() >= marker32 || offset >= marker32;
  std::string end;
  if (zip64) {
    put(end, zip64_end_signature, 4);
    put(end, zip64_end_size - 12, 8);
    put(end, made_by_unix | zip64_version, 2);
    put(end, zip64_version, 2);
    put(end, 0, 4);
    put(end, 0, 4);
    put(end, count, 8);
    put(end, count, 8);
    put(end, directory.size(), 8);
    put(end, offset, 8);
    put(end, zip64_locator_signature, 4);
    put(end, 0, 4);
    put(end, offset + directory.size(), 8);
    put(end, 1, 4);
  }
  put(end, end_signature, 4);
  put(end, 0, 2);
  put(end, 0, 2);
  put(end, std::min<std::uint64_t>(count, marker16), 2);
  put(end, std::min<std::uint64_t>(count, marker16), 2);
  put(end, std::min<std::uint64_t>(directory.size(), marker32), 4);
  put(end, std::min<std::uint64_t>(offset, marker32), 4);
  put(end, 0, 2);
  return directory + end;
}

}  // namespace

void write_zip(output_file& out, const std::vector<zip_entry>& entries) {
  // Every name checked before the first byte is written: the header field keeps 16 bits.
  for (const zip_entry& e : entries) check_member_name(out, e.name);
  zip_writer writer(out);
  for (const zip_entry& e : entries) writer.add(e.name, e.header, e.content);
  writer.finish();
}

zip_member_writer::zip_member_writer(output_file& out, std::string name, std::string header,
                                     std::uint64_t data_size)
    : out_(out), name_(std::move(name)), header_(std::move(header)), data_size_(data_size) {
  check_member_name(out_, name_);
  const std::uint64_t size = header_.size() + data_size_;
  const std::string local = local_header({name_, 0, 0, size, size, 0});
  data_offset_ = local.size() + header_.size();
  out_.write_at(0, local.data(), local.size());
  out_.write_at(local.size(), header_.data(), header_.size());
}

void zip_member_writer::write_at(std::uint64_t first, const void* data, std::size_t size) {
  out_.write_at(static_cast<std::size_t>(data_offset_ + first), data, size);
  crcs_.add(first, data, size);
}

void zip_member_writer::finish() {
  const std::uint32_t crc = crcs_.combined(crc32_of(header_), data_size_, "zip_member_writer");
  std::string crc_bytes;
  put(crc_bytes, crc, 4);
  out_.write_at(local_crc_offset, crc_bytes.data(), crc_bytes.size());
  const std::uint64_t end = data_offset_ + data_size_;
  const std::uint64_t size = header_.size() + data_size_;
  const std::string tail = directory_and_end({{name_, 0, crc, size, size, 0}}, end);
  out_.write_at(static_cast<std::size_t>(end), tail.data(), tail.size());
}

void zip_writer::write_local_header(const written& m) {
  const std::string local =
      local_header({m.name, m.method, m.crc, m.compressed_size, m.uncompressed_size, m.offset});
  out_.write(local);
  offset_ += local.size();
}

void zip_writer::add(const std::string& name, std::string_view header, std::string_view content) {
  check_member_name(out_, name);
  const std::uint32_t crc =
      crc32_of(crc32_of(0, header.data(), header.size()), content.data(), content.size());
  const std::uint64_t size = header.size() + content.size();
  members_.push_back({name, 0, crc, size, size, offset_});
  write_local_header(members_.back());
  out_.write(header);
  out_.write(content);
  offset_ += size;
}

void zip_writer::copy(const zip_archive& from, const zip_member& member) {
  members_.push_back({member.name, member.method, member.crc32, member.compressed_size,
                      member.uncompressed_size, offset_});
  write_local_header(members_.back());
  std::string chunk;
  std::uint32_t crc = 0;
  for (std::uint64_t done = 0; done < member.compressed_size;) {
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(copy_chunk, member.compressed_size - done));
    chunk.resize(want);
    from.bytes()->read_exact(member.data_offset + done, chunk.data(), want);
    if (member.stored()) crc = crc32_of(crc, chunk.data(), want);
    out_.write(chunk);
    done += want;
  }
  if (member.stored() && crc != member.crc32) {
    throw data_error(from.bytes()->name() + ": member " + quoted_name(member.name) + " at byte " +
                     std::to_string(member.data_offset) +
                     ": CRC-32 mismatch (the data is corrupt)");
  }
  offset_ += member.compressed_size;
}

void zip_writer::finish() {
  std::vector<member_record> records;
  records.reserve(members_.size());
  for (const written& m : members_) {
    records.push_back({m.name, m.method, m.crc, m.compressed_size, m.uncompressed_size, m.offset});
  }
  out_.write(directory_and_end(records, offset_));
}

}  // namespace bnorm
