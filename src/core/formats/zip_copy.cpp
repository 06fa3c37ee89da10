#include "zip_copy.hpp"

#include <zlib.h>

#include <algorithm>

#include "error.hpp"
#include "quoted_name.hpp"

namespace bnorm {
namespace {

constexpr std::uint32_t local_signature = 0x04034b50;
constexpr std::uint32_t central_signature = 0x02014b50;
constexpr std::uint32_t end_signature = 0x06054b50;
constexpr std::uint32_t zip64_end_signature = 0x06064b50;
constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
constexpr std::size_t zip64_end_size = 56;
constexpr std::uint16_t zip64_extra_id = 0x0001;
constexpr std::uint32_t marker32 = 0xffffffff;
constexpr std::uint16_t marker16 = 0xffff;
constexpr std::uint16_t zip64_version = 45;  // what Python's zipfile writes with ZIP64 fields
constexpr std::uint16_t dos_date = 0x21;     // 1980-01-01, as write_zip
constexpr std::uint16_t made_by_unix = 3 << 8;
constexpr std::uint32_t mode_rw = 0600u << 16;
constexpr std::size_t copy_chunk = std::size_t{1} << 20;

void put(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::uint16_t name_flags(std::string_view name) {
  return is_ascii(name) ? 0 : 0x0800;  // bit 11: the name is UTF-8
}

std::uint32_t crc_of(std::uint32_t crc, const void* data, std::size_t size) {
  return static_cast<std::uint32_t>(
      crc32_z(crc, static_cast<const Bytef*>(data), static_cast<z_size_t>(size)));
}

}  // namespace

void zip_copy_writer::write_local_header(const written& m) {
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
  out_.write(local);
  offset_ += local.size();
}

void zip_copy_writer::add(const std::string& name, std::string_view header,
                          std::string_view content) {
  if (name.size() > zip_max_name_size) {
    throw data_error(out_.name() + ": member name " + quoted_name(name) + " is longer than the " +
                     std::to_string(zip_max_name_size) + " bytes a ZIP archive holds");
  }
  if (const std::string problem = zip_name_problem(name, true); !problem.empty()) {
    throw data_error(out_.name() + ": member name " + quoted_name(name) + " " + problem +
                     "; bnorm does not write it");
  }
  const std::uint32_t crc =
      crc_of(crc_of(0, header.data(), header.size()), content.data(), content.size());
  const std::uint64_t size = header.size() + content.size();
  members_.push_back({name, 0, crc, size, size, offset_});
  write_local_header(members_.back());
  out_.write(header);
  out_.write(content);
  offset_ += size;
}

void zip_copy_writer::copy(const zip_archive& from, const zip_member& member) {
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
    if (member.stored()) crc = crc_of(crc, chunk.data(), want);
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

void zip_copy_writer::finish() {
  std::string directory;
  for (const written& m : members_) {
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
  const std::uint64_t count = members_.size();
  const bool zip64 = count >= marker16 || directory.size() >= marker32 || offset_ >= marker32;
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
    put(end, offset_, 8);
    put(end, zip64_locator_signature, 4);
    put(end, 0, 4);
    put(end, offset_ + directory.size(), 8);
    put(end, 1, 4);
  }
  put(end, end_signature, 4);
  put(end, 0, 2);
  put(end, 0, 2);
  put(end, std::min<std::uint64_t>(count, marker16), 2);
  put(end, std::min<std::uint64_t>(count, marker16), 2);
  put(end, std::min<std::uint64_t>(directory.size(), marker32), 4);
  put(end, std::min<std::uint64_t>(offset_, marker32), 4);
  put(end, 0, 2);
  out_.write(directory);
  out_.write(end);
}

}  // namespace bnorm
