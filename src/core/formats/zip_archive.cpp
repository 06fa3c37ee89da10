// SPDX-License-Identifier: Apache-2.0
#include "zip_archive.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include "count_text.hpp"
#include "crc32.hpp"
#include "error.hpp"
#include "quoted_name.hpp"
#include "utf8.hpp"
#include "zip_format.hpp"

namespace bnorm {
namespace {

using namespace zip_format;

constexpr std::uint16_t unicode_path_extra_id = 0x7075;
constexpr std::uint16_t flag_encrypted = 0x0001;
constexpr std::uint16_t flag_strong_encryption = 0x0040;
constexpr std::uint16_t flag_masked_directory = 0x2000;
// Bits 1 and 2 say how hard deflate worked, and change nothing in how a member is read.
constexpr std::uint16_t flags_understood = 0x0002 | 0x0004 | flag_utf8_name;
constexpr unsigned max_version_needed = 63;  // 6.3, as Python's zipfile
constexpr std::uint32_t dos_directory = 0x10;
constexpr std::size_t io_chunk = std::size_t{1} << 20;

std::uint64_t le(const char* p, int bytes) {
  std::uint64_t value = 0;
  for (int i = bytes; i-- > 0;) value = value << 8 | static_cast<unsigned char>(p[i]);
  return value;
}
std::uint16_t le16(const char* p) {
  return static_cast<std::uint16_t>(le(p, 2));
}
std::uint32_t le32(const char* p) {
  return static_cast<std::uint32_t>(le(p, 4));
}
std::uint64_t le64(const char* p) {
  return le(p, 8);
}

std::string at_byte(std::uint64_t offset) {
  return " at byte " + std::to_string(offset);
}

// The values a ZIP64 extra field replaces, in the order APPNOTE 4.5.3 gives them: each is
// present only when its 32-bit (or 16-bit) field holds the marker.
struct zip64_fields {
  std::uint64_t* uncompressed = nullptr;
  std::uint64_t* compressed = nullptr;
  std::uint64_t* offset = nullptr;
  std::uint32_t* disk = nullptr;
};

// How a ZIP64 extra field is read where its header has no marker for a value it holds.
enum class zip64_surplus { refused, ignored };

// Walks the extra-field records (id, size, data) of the header naming `name`, applies the
// ZIP64 one and checks an Info-ZIP Unicode Path one.  Returns an error message, or "" when the
// fields are well formed.
std::string apply_extra(std::string_view extra, const zip64_fields& fields, std::string_view name,
                        zip64_surplus surplus) {
  bool seen = false;
  while (!extra.empty()) {
    if (extra.size() < 4) return "extra field ends inside a record header";
    const std::uint16_t id = le16(extra.data());
    const std::uint16_t size = le16(extra.data() + 2);
    if (extra.size() - 4 < size) return "extra field record runs past the extra field";
    std::string_view data = extra.substr(4, size);
    extra.remove_prefix(4 + std::size_t{size});
    if (id == unicode_path_extra_id) {
      // Info-ZIP's unzip, 7-Zip and libarchive take this name instead of the header's (version
      // 1, the CRC-32 of the header's name, the name in UTF-8); NumPy does not.
      if (data.size() < 5 || data[0] != 1 || data.substr(5) != name) {
        return "has an Info-ZIP Unicode Path extra field (0x7075) naming " +
               quoted_name(data.substr(std::min<std::size_t>(5, data.size()))) +
               ", which some readers take instead of the name";
      }
      continue;
    }
    if (id != zip64_extra_id) continue;
    if (seen) return "two ZIP64 extra fields";
    seen = true;
    for (std::uint64_t* value : {fields.uncompressed, fields.compressed, fields.offset}) {
      if (value == nullptr) continue;
      if (data.size() < 8) return "ZIP64 extra field is too short for the values it replaces";
      *value = le64(data.data());
      data.remove_prefix(8);
    }
    if (fields.disk != nullptr) {
      if (data.size() < 4) return "ZIP64 extra field is too short for the values it replaces";
      *fields.disk = le32(data.data());
      data.remove_prefix(4);
    }
    if (!data.empty() && surplus == zip64_surplus::refused) {
      // A reader that takes the values in order without looking for markers would read
      // these as sizes or an offset.
      return "ZIP64 extra field holds " + count_text(data.size(), "byte") +
             " more than the values its header defers to it";
    }
  }
  if (!seen && (fields.uncompressed || fields.compressed || fields.offset || fields.disk)) {
    return "a size or offset says it is in a ZIP64 extra field, which is missing";
  }
  return "";
}

// True when an extra field holds a ZIP64 record (its data descriptor then has 8-byte sizes).
bool has_zip64_extra(std::string_view extra) {
  while (extra.size() >= 4) {
    const std::uint16_t id = le16(extra.data());
    const std::uint16_t size = le16(extra.data() + 2);
    if (id == zip64_extra_id) return true;
    if (extra.size() - 4 < size) return false;
    extra.remove_prefix(4 + std::size_t{size});
  }
  return false;
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string hex16(std::uint16_t value) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) text += digits[(value >> shift) & 15];
  return text;
}

bool add_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& sum) {
  return __builtin_add_overflow(a, b, &sum);
}

// inflateEnd on every path out.
struct inflater {
  z_stream stream{};
  inflater() {
    // Raw deflate (negative window bits): ZIP members carry no zlib header.
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) throw std::bad_alloc();
  }
  ~inflater() { inflateEnd(&stream); }
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;
};

}  // namespace

void zip_archive::fail(const std::string& what) const {
  throw data_error(bytes_->name() + ": " + what);
}

std::uint64_t zip_inflation_limit(std::uint64_t compressed_size) {
  std::uint64_t by_ratio = 0;
  if (__builtin_mul_overflow(compressed_size, zip_max_inflation_ratio, &by_ratio)) {
    by_ratio = std::numeric_limits<std::uint64_t>::max();
  }
  return std::max(zip_max_inflated, by_ratio);
}

std::string zip_name_problem(std::string_view name, bool utf8_flag) {
  if (name.empty()) return "is empty";
  if (name.find('\0') != std::string_view::npos) {
    return "holds a NUL byte (Python's zipfile cuts the name there)";
  }
  if (!is_valid_utf8(name)) return "is not valid UTF-8";
  if (!utf8_flag && !is_ascii(name)) {
    return "is not ASCII and its UTF-8 flag (bit 11) is not set, so Python's zipfile reads it "
           "as CP437";
  }
  if (name.find('\\') != std::string_view::npos) {
    return "holds a backslash (a folder separator on Windows)";
  }
  if (name.front() == '/') return "is an absolute path";
  if (name.size() >= 2 && name[1] == ':' && std::isalpha(static_cast<unsigned char>(name[0]))) {
    return "starts with a drive letter";
  }
  for (std::size_t first = 0;;) {
    const std::size_t slash = std::min(name.find('/', first), name.size());
    const std::string_view segment = name.substr(first, slash - first);
    if (segment == "..") return "has a '..' segment (it leaves the folder it is extracted to)";
    if (segment.empty() || segment == ".") {
      return "has an empty or '.' segment (an extractor would store it under another name)";
    }
    if (slash == name.size()) break;
    first = slash + 1;
  }
  return "";
}

zip_archive::zip_archive(std::shared_ptr<const byte_source> bytes, zip_name_check check_name)
    : bytes_(std::move(bytes)) {
  read_central_directory(check_name);
}

void zip_archive::read_central_directory(const zip_name_check& check_name) {
  const std::size_t size = bytes_->size();
  if (size < end_record_size) {
    fail("not a zip archive: " + count_text(size, "byte") +
         ", fewer than the 22-byte end-of-central-directory record");
  }
  // The end record is the last 22 bytes plus a comment of up to 65535 bytes: search backwards
  // for its signature at a place where the comment length reaches exactly the end of the file.
  const std::size_t tail_size = std::min(size, end_record_size + 0xffff);
  const std::size_t tail_start = size - tail_size;
  const std::string tail = bytes_->read_string(tail_start, tail_size);
  const auto reaches_end = [&](std::size_t pos) {
    return le32(tail.data() + pos) == end_signature &&
           le16(tail.data() + pos + 20) == tail_size - pos - end_record_size;
  };
  std::size_t found = std::string::npos;
  for (std::size_t pos = tail_size - end_record_size + 1; pos-- > 0;) {
    if (reaches_end(pos)) {
      found = pos;
      break;
    }
  }
  if (found == std::string::npos) {
    fail(
        "not a zip archive (or a truncated one): no end-of-central-directory record whose "
        "comment reaches the end of the file");
  }
  const std::uint64_t end_offset = tail_start + found;
  // Readers disagree on which end record is the one: Python's zipfile takes the last signature
  // whatever its comment length says, Go the last whose comment fits, others the first whose
  // comment reaches the end.  One archive must give them all the same record, so no other
  // signature may follow it (in its fields or its comment; without a comment the record is the
  // last 22 bytes, which every reader tries first), and no earlier record may also reach the end.
  if (found + end_record_size < tail_size) {
    const std::size_t other = tail.find("PK\x05\x06", found + 1);
    if (other != std::string::npos) {
      fail("the end-of-central-directory record" + at_byte(end_offset) +
           " is followed by another end-record signature" + at_byte(tail_start + other) +
           " (in its comment), which Python's zipfile would read as the end record");
    }
  }
  for (std::size_t pos = found; pos-- > 0;) {
    if (reaches_end(pos)) {
      fail("two end-of-central-directory records" + at_byte(tail_start + pos) + " and" +
           at_byte(end_offset) +
           " both reach the end of the file (the first holds the second in its comment): "
           "readers that take the first and readers that take the last read two archives");
    }
  }
  const char* end = tail.data() + found;
  std::uint64_t disk = le16(end + 4);
  std::uint64_t directory_disk = le16(end + 6);
  std::uint64_t entries_on_disk = le16(end + 8);
  std::uint64_t entries = le16(end + 10);
  std::uint64_t directory_size = le32(end + 12);
  std::uint64_t directory_offset = le32(end + 16);
  std::uint64_t directory_end = end_offset;  // where the central directory must stop

  const bool has_locator = end_offset >= zip64_locator_size &&
                           le32(bytes_->read_string(end_offset - zip64_locator_size, 4).data()) ==
                               zip64_locator_signature;
  if (has_locator) {
    const std::uint64_t locator_offset = end_offset - zip64_locator_size;
    const std::string locator = bytes_->read_string(locator_offset, zip64_locator_size);
    const std::uint64_t record_offset = le64(locator.data() + 8);
    if (le32(locator.data() + 4) != 0 || le32(locator.data() + 16) != 1) {
      fail("multi-disk archives are not supported (ZIP64 locator" + at_byte(locator_offset) + ")");
    }
    if (record_offset > locator_offset || locator_offset - record_offset < zip64_end_size) {
      fail("ZIP64 end record offset " + std::to_string(record_offset) + " (locator" +
           at_byte(locator_offset) + ") does not leave room for the record before the locator");
    }
    const std::string record = bytes_->read_string(record_offset, zip64_end_size);
    if (le32(record.data()) != zip64_end_signature) {
      fail("no ZIP64 end record" + at_byte(record_offset) + ", where the locator points");
    }
    // Python's zipfile reads the record 56 bytes before the locator, whatever the locator says,
    // and falls back to the 32-bit end record when it finds none there: extensible data after
    // the record would give it the other record's values.
    if (record_offset != locator_offset - zip64_end_size ||
        le64(record.data() + 4) != zip64_end_size - 12) {
      fail("ZIP64 end record" + at_byte(record_offset) +
           " does not end where the ZIP64 locator starts" + at_byte(locator_offset) +
           " (bnorm reads no ZIP64 extensible data)");
    }
    // Go's archive/zip consults the ZIP64 record only when a 32-bit field holds its marker, and
    // Python's zipfile always: each field of the 32-bit record must be the marker or the value.
    struct field {
      const char* what;
      std::uint64_t narrow;
      std::uint64_t marker;
      std::uint64_t wide;
    };
    const field fields[] = {
        {"disk number", disk, marker16, le32(record.data() + 16)},
        {"central directory's disk", directory_disk, marker16, le32(record.data() + 20)},
        {"entries on this disk", entries_on_disk, marker16, le64(record.data() + 24)},
        {"entries", entries, marker16, le64(record.data() + 32)},
        {"central directory size", directory_size, marker32, le64(record.data() + 40)},
        {"central directory offset", directory_offset, marker32, le64(record.data() + 48)},
    };
    for (const field& f : fields) {
      if (f.narrow != f.marker && f.narrow != f.wide) {
        fail("end record" + at_byte(end_offset) + " gives " + f.what + " " +
             std::to_string(f.narrow) + ", its ZIP64 end record" + at_byte(record_offset) + " " +
             std::to_string(f.wide) +
             ": readers that consult the ZIP64 record only for a field set to all ones read the "
             "first");
      }
    }
    disk = fields[0].wide;
    directory_disk = fields[1].wide;
    entries_on_disk = fields[2].wide;
    entries = fields[3].wide;
    directory_size = fields[4].wide;
    directory_offset = fields[5].wide;
    directory_end = record_offset;
  } else if (directory_size == marker32 || directory_offset == marker32) {
    // 65,535 entries without a ZIP64 record is what Python's zipfile writes for exactly that
    // many members: the count is read as it is.
    fail("end record" + at_byte(end_offset) + " defers to a ZIP64 end record that is missing");
  }
  if (disk != 0 || directory_disk != 0 || entries_on_disk != entries) {
    fail("multi-disk archives are not supported (end record" + at_byte(end_offset) + ")");
  }
  std::uint64_t directory_stop = 0;
  if (add_overflows(directory_offset, directory_size, directory_stop) ||
      directory_stop != directory_end) {
    fail("central directory (" + count_text(directory_size, "byte") + " at byte " +
         std::to_string(directory_offset) + ") does not end where the end record starts (byte " +
         std::to_string(directory_end) + ")");
  }
  if (directory_size > zip_max_central_directory) {
    fail("central directory of " + std::to_string(directory_size) + " bytes is larger than " +
         std::to_string(zip_max_central_directory) + " (bnorm's limit)");
  }
  if (entries > zip_max_members) {
    fail("end record" + at_byte(end_offset) + " claims " + std::to_string(entries) +
         " members, more than " + std::to_string(zip_max_members) + " (bnorm's limit)");
  }
  if (entries > directory_size / central_header_size) {
    fail("end record" + at_byte(end_offset) + " claims " + count_text(entries, "entry", "entries") +
         ", more than its " + std::to_string(directory_size) + "-byte central directory can hold");
  }

  const std::string directory = bytes_->read_string(directory_offset, directory_size);
  std::unordered_set<std::string> names;
  std::size_t pos = 0;
  members_.reserve(entries);
  for (std::uint64_t i = 0; i < entries; ++i) {
    const std::uint64_t where = directory_offset + pos;
    if (directory.size() - pos < central_header_size ||
        le32(directory.data() + pos) != central_signature) {
      fail("central directory entry " + std::to_string(i) + at_byte(where) +
           " is missing or truncated");
    }
    const char* h = directory.data() + pos;
    const std::uint16_t flags = le16(h + 8);
    zip_member m;
    m.method = le16(h + 10);
    m.crc32 = le32(h + 16);
    m.compressed_size = le32(h + 20);
    m.uncompressed_size = le32(h + 24);
    const std::size_t name_size = le16(h + 28);
    const std::size_t extra_size = le16(h + 30);
    const std::size_t comment_size = le16(h + 32);
    std::uint32_t start_disk = le16(h + 34);
    m.header_offset = le32(h + 42);
    if (directory.size() - pos - central_header_size < name_size + extra_size + comment_size) {
      fail("central directory entry " + std::to_string(i) + at_byte(where) +
           " runs past the central directory");
    }
    m.name.assign(h + central_header_size, name_size);
    const std::string_view extra(h + central_header_size + name_size, extra_size);
    const std::string what =
        "member " + quoted_name(m.name) + " (central directory" + at_byte(where) + ")";
    if (const std::string problem = zip_name_problem(m.name, (flags & flag_utf8_name) != 0);
        !problem.empty()) {
      fail(what + ": the name " + problem);
    }
    if (check_name) {
      if (const std::string problem = check_name(m.name); !problem.empty()) {
        fail(what + " " + problem);
      }
    }
    zip64_fields fields;
    if (m.uncompressed_size == marker32) fields.uncompressed = &m.uncompressed_size;
    if (m.compressed_size == marker32) fields.compressed = &m.compressed_size;
    if (m.header_offset == marker32) fields.offset = &m.header_offset;
    if (start_disk == marker16) fields.disk = &start_disk;
    if (const std::string problem = apply_extra(extra, fields, m.name, zip64_surplus::refused);
        !problem.empty()) {
      fail(what + ": " + problem);
    }
    if ((flags & (flag_encrypted | flag_strong_encryption | flag_masked_directory)) != 0) {
      fail(what + " is encrypted, which bnorm does not read");
    }
    if ((flags & ~(flags_understood | flag_data_descriptor)) != 0) {
      fail(what + " sets general-purpose flags " + hex16(flags & ~flags_understood) +
           ", which bnorm does not read");
    }
    if (const unsigned version = static_cast<unsigned char>(h[6]); version > max_version_needed) {
      fail(what + " needs ZIP version " + std::to_string(version / 10) + "." +
           std::to_string(version % 10) + " to extract; Python's zipfile reads up to 6.3");
    }
    // An extractor creates what the attributes say (Info-ZIP's unzip a symbolic link, for one),
    // whose content NumPy would read as the member's data.  The Unix file type in the high 16
    // bits counts whatever host made the member: unzip takes it from hosts 2, 3, 5, 16 and 30,
    // and from MS-DOS (0) where the mode agrees with the DOS attributes.
    const std::uint32_t attributes = le32(h + 38);
    const std::uint32_t unix_type = (attributes >> 16) & 0170000;
    if ((attributes & dos_directory) != 0 || (unix_type != 0 && unix_type != 0100000)) {
      fail(what + " is not a regular file (external attributes " + std::to_string(attributes) +
           ")");
    }
    if (m.method != 0 && m.method != 8) {
      fail(what + " uses compression method " + std::to_string(m.method) +
           "; bnorm reads stored (0) and deflated (8)");
    }
    if (start_disk != 0)
      fail(what + " starts on disk " + std::to_string(start_disk) +
           "; multi-disk archives are not supported");
    if (m.stored() && m.compressed_size != m.uncompressed_size) {
      fail(what + " is stored, but its compressed size " + std::to_string(m.compressed_size) +
           " differs from its size " + std::to_string(m.uncompressed_size));
    }
    if (!names.insert(m.name).second) fail(what + ": the name appears twice");
    check_local_header(m, flags, directory_offset);
    members_.push_back(std::move(m));
    pos += central_header_size + name_size + extra_size + comment_size;
  }
  if (pos != directory.size()) {
    fail("central directory has " + count_text(directory.size() - pos, "byte") +
         " after its last entry" + at_byte(directory_offset + pos));
  }
  // Members in file order must not share bytes, and must leave none unread: the first starts
  // the file and each ends where the next local header (or the central directory) starts.
  // Bytes no member holds could hold other local headers, which a reader walking the file from
  // its start (or Python's zipfile, which shifts every offset to absorb a prefix) would read.
  std::vector<const zip_member*> by_offset;
  for (const zip_member& m : members_) by_offset.push_back(&m);
  std::sort(by_offset.begin(), by_offset.end(), [](const zip_member* a, const zip_member* b) {
    return a->header_offset < b->header_offset;
  });
  std::uint64_t covered = 0;  // where the previous member ends
  const zip_member* before = nullptr;
  for (const zip_member* m : by_offset) {
    if (before != nullptr && covered > m->header_offset) {
      fail("members " + quoted_name(before->name) + " and " + quoted_name(m->name) + " overlap" +
           at_byte(m->header_offset));
    }
    if (covered != m->header_offset) {
      const std::uint64_t gap = m->header_offset - covered;
      fail(count_text(gap, "byte") + at_byte(covered) + (gap == 1 ? " belongs" : " belong") +
           " to no member (" + (before == nullptr ? "before the first, " : "") + "member " +
           quoted_name(m->name) + " starts" + at_byte(m->header_offset) + ")");
    }
    covered = m->data_offset + m->compressed_size + m->descriptor_size;
    before = m;
  }
  if (covered != directory_offset) {
    const std::uint64_t gap = directory_offset - covered;
    fail(count_text(gap, "byte") + at_byte(covered) + (gap == 1 ? " belongs" : " belong") +
         " to no member (the central directory starts" + at_byte(directory_offset) + ")");
  }
}

void zip_archive::check_local_header(zip_member& m, std::uint16_t flags,
                                     std::uint64_t central_start) {
  const std::string what =
      "member " + quoted_name(m.name) + ": local header" + at_byte(m.header_offset);
  if (m.header_offset > central_start || central_start - m.header_offset < local_header_size) {
    fail(what + " lies outside the members' area, which ends at byte " +
         std::to_string(central_start));
  }
  const std::string h = bytes_->read_string(m.header_offset, local_header_size);
  if (le32(h.data()) != local_signature) fail(what + ": no local header signature");
  const std::size_t name_size = le16(h.data() + 26);
  const std::size_t extra_size = le16(h.data() + 28);
  std::uint64_t data_offset = m.header_offset + local_header_size + name_size + extra_size;
  if (data_offset > central_start) fail(what + " runs into the central directory");
  const std::string name_and_extra =
      bytes_->read_string(m.header_offset + local_header_size, name_size + extra_size);
  if (std::string_view(name_and_extra).substr(0, name_size) != m.name) {
    fail(what + " names " + quoted_name(std::string_view(name_and_extra).substr(0, name_size)) +
         ", not the central directory's name");
  }
  if (le16(h.data() + 6) != flags || le16(h.data() + 8) != m.method) {
    fail(what + ": flags or method differ from the central directory's");
  }
  // With a data descriptor (torch.save, a stream), the local header may hold zeros where the
  // CRC-32 and sizes were not yet known; the descriptor after the data must then agree.
  const bool descriptor = (flags & flag_data_descriptor) != 0;
  const std::uint32_t local_crc = le32(h.data() + 14);
  if (local_crc != m.crc32 && !(descriptor && local_crc == 0)) {
    fail(what + ": CRC-32 differs from the central directory's");
  }
  std::uint64_t compressed = le32(h.data() + 18);
  std::uint64_t uncompressed = le32(h.data() + 22);
  zip64_fields fields;
  if (uncompressed == marker32) fields.uncompressed = &uncompressed;
  if (compressed == marker32) fields.compressed = &compressed;
  const std::string_view local_extra = std::string_view(name_and_extra).substr(name_size);
  if (const std::string problem = apply_extra(local_extra, fields, m.name, zip64_surplus::ignored);
      !problem.empty()) {
    fail(what + ": " + problem);
  }
  const bool deferred = descriptor && compressed == 0 && uncompressed == 0;
  if (!deferred && (compressed != m.compressed_size || uncompressed != m.uncompressed_size)) {
    fail(what + ": sizes " + std::to_string(compressed) + "/" + std::to_string(uncompressed) +
         " differ from the central directory's " + std::to_string(m.compressed_size) + "/" +
         std::to_string(m.uncompressed_size));
  }
  std::uint64_t data_end = 0;
  if (add_overflows(data_offset, m.compressed_size, data_end) || data_end > central_start) {
    fail("member " + quoted_name(m.name) + ": " + std::to_string(m.compressed_size) +
         " bytes at byte " + std::to_string(data_offset) +
         " run past the members' area, which ends at byte " + std::to_string(central_start));
  }
  m.data_offset = data_offset;
  if (descriptor) {
    const bool zip64 = has_zip64_extra(local_extra) || m.compressed_size >= marker32 ||
                       m.uncompressed_size >= marker32;
    m.descriptor_size = check_descriptor(m, data_end, central_start, zip64);
  }
}

// The data descriptor after a member's data: an optional signature, the CRC-32 and both sizes
// (8 bytes each for a ZIP64 member), which must agree with the central directory.  Exactly one
// of the two layouts must: where both would, a reader could take either length.
std::uint64_t zip_archive::check_descriptor(const zip_member& m, std::uint64_t at,
                                            std::uint64_t central_start, bool zip64) const {
  const std::size_t size_bytes = zip64 ? 8 : 4;
  const std::size_t plain = 4 + 2 * size_bytes;
  const std::uint64_t room = central_start - at;
  const std::string d =
      bytes_->read_string(at, static_cast<std::size_t>(std::min<std::uint64_t>(room, plain + 4)));
  const auto matches = [&](std::size_t skip) {
    if (d.size() < skip + plain) return false;
    const char* p = d.data() + skip;
    return le32(p) == m.crc32 && le(p + 4, static_cast<int>(size_bytes)) == m.compressed_size &&
           le(p + 4 + size_bytes, static_cast<int>(size_bytes)) == m.uncompressed_size;
  };
  const bool with_signature = d.size() >= 4 && le32(d.data()) == descriptor_signature && matches(4);
  const bool without = matches(0);
  const std::string what = "member " + quoted_name(m.name) + ": data descriptor" + at_byte(at);
  if (with_signature && without) {
    fail(what + " reads both with and without its signature, which readers take two ways");
  }
  if (!with_signature && !without) {
    fail(what + " is missing or disagrees with the central directory's CRC-32 and sizes (" +
         std::to_string(size_bytes) + "-byte sizes)");
  }
  return with_signature ? plain + 4 : plain;
}

void zip_archive::verify_stored(const zip_member& m) const {
  std::string chunk;
  std::uint32_t crc = 0;
  for (std::uint64_t done = 0; done < m.compressed_size;) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(io_chunk, m.compressed_size - done));
    chunk.resize(want);
    bytes_->read_exact(m.data_offset + done, chunk.data(), want);
    crc = crc32_of(crc, chunk.data(), want);
    done += want;
  }
  if (crc != m.crc32)
    fail("member " + quoted_name(m.name) + at_byte(m.data_offset) +
         ": CRC-32 mismatch (the data is corrupt)");
}

std::string zip_archive::extract(const zip_member& m) const {
  const std::string what = "member " + quoted_name(m.name) + at_byte(m.data_offset);
  std::string out;
  if (m.stored()) {
    verify_stored(m);
    return bytes_->read_string(m.data_offset, m.compressed_size);
  }
  const std::uint64_t limit = zip_inflation_limit(m.compressed_size);
  if (m.uncompressed_size > limit) {
    fail(what + " declares " + std::to_string(m.uncompressed_size) +
         " bytes; bnorm inflates a compressed member in memory, at most " + std::to_string(limit) +
         " bytes for its " + std::to_string(m.compressed_size) + " compressed (" +
         std::to_string(zip_max_inflated >> 20) + " MiB, or " +
         std::to_string(zip_max_inflation_ratio) +
         " times the compressed size; store it uncompressed, as np.savez does, to read it in "
         "place)");
  }
  // Capacity once, after the check: growing by chunks would leave up to twice what is used.
  out.reserve(static_cast<std::size_t>(m.uncompressed_size) + 1);
  inflater z;
  std::string input;
  std::uint64_t consumed = 0;
  std::size_t produced = 0;
  // Room for one byte past the declared size: producing it proves the declaration false.
  const std::uint64_t room = m.uncompressed_size + 1;
  while (true) {
    if (z.stream.avail_in == 0 && consumed < m.compressed_size) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(io_chunk, m.compressed_size - consumed));
      input.resize(want);
      bytes_->read_exact(m.data_offset + consumed, input.data(), want);
      consumed += want;
      z.stream.next_in = reinterpret_cast<Bytef*>(input.data());
      z.stream.avail_in = static_cast<uInt>(want);
    }
    if (produced == out.size()) {
      if (out.size() >= room) {
        fail(what + " inflates to more than its declared " +
             count_text(m.uncompressed_size, "byte"));
      }
      out.resize(out.size() +
                 static_cast<std::size_t>(std::min<std::uint64_t>(io_chunk, room - out.size())));
    }
    z.stream.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.stream.avail_out = static_cast<uInt>(out.size() - produced);
    const int status = inflate(&z.stream, Z_NO_FLUSH);
    produced = out.size() - z.stream.avail_out;
    if (status == Z_STREAM_END) break;
    if (status == Z_BUF_ERROR && z.stream.avail_in == 0 && consumed == m.compressed_size) {
      fail(what + ": the deflate data ends before its end marker (truncated)");
    }
    if (status != Z_OK && status != Z_BUF_ERROR) {
      fail(what + ": corrupt deflate data (" + (z.stream.msg ? z.stream.msg : "zlib error") + ")");
    }
  }
  if (z.stream.avail_in != 0 || consumed != m.compressed_size) {
    fail(what + ": the deflate data ends before the member's " + std::to_string(m.compressed_size) +
         " bytes do");
  }
  if (produced != m.uncompressed_size) {
    fail(what + " inflates to " + count_text(produced, "byte") + ", not its declared " +
         std::to_string(m.uncompressed_size));
  }
  out.resize(produced);
  if (crc32_of(0, out.data(), out.size()) != m.crc32) {
    fail(what + ": CRC-32 mismatch (the data is corrupt)");
  }
  return out;
}

}  // namespace bnorm
