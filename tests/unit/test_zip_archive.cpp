// SPDX-License-Identifier: Apache-2.0
// The ZIP reader and writer: round trips (stored, deflated, ZIP64 end records), the CRC-32
// check value from the standard, and refusals of falsified archives, every truncation and
// every single-byte corruption included.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "formats/byte_source.hpp"
#include "formats/zip_archive.hpp"
#include "formats/zip_writer.hpp"
#include "quoted_name.hpp"
#include "test_support.hpp"

using bnorm::byte_source;
using bnorm::data_error;
using bnorm::zip_archive;
using bnorm_test::temp_dir;

namespace {

std::string written_zip(const std::vector<bnorm::zip_entry>& entries) {
  temp_dir dir;
  {
    bnorm::output_file out(dir.file("a.zip"));
    bnorm::write_zip(out, entries);
    out.commit();
  }
  return bnorm_test::read_bytes(dir.file("a.zip"));
}

zip_archive archive_of(std::string bytes) {
  return zip_archive(byte_source::from_memory("a.zip", std::move(bytes)));
}

void put(std::string& bytes, std::size_t offset, std::uint64_t value, int size) {
  for (int i = 0; i < size; ++i) bytes[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

std::string le(std::uint64_t value, int size) {
  std::string bytes(static_cast<std::size_t>(size), '\0');
  put(bytes, 0, value, size);
  return bytes;
}

std::string raw_deflate(const std::string& data) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// One deflated member "m", laid out by hand (no ZIP64), declaring `declared` as its size.
std::string deflated_zip(const std::string& content, std::uint32_t declared) {
  const std::string data = raw_deflate(content);
  const auto crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size())));
  const std::string fields = le(20, 2) + le(0, 2) + le(8, 2) + le(0, 2) + le(0x21, 2) + le(crc, 4) +
                             le(data.size(), 4) + le(declared, 4) + le(1, 2) + le(0, 2);
  const std::string local = le(0x04034b50, 4) + fields + "m";
  const std::string central = le(0x02014b50, 4) + le(20, 2) + fields + le(0, 2) + le(0, 2) +
                              le(0, 2) + le(0, 4) + le(0, 4) + "m";
  const std::string end = le(0x06054b50, 4) + le(0, 4) + le(1, 2) + le(1, 2) +
                          le(central.size(), 4) + le(local.size() + data.size(), 4) + le(0, 2);
  return local + data + central + end;
}

}  // namespace

TEST_CASE("write_zip and zip_archive round-trip stored members as np.savez lays them out") {
  const std::string check = "123456789";
  const std::string zip =
      written_zip({{"a.npy", "", check}, {"b.npy", "", ""}, {"dir/ü.npy", "", "xyz"}});
  const zip_archive archive = archive_of(zip);
  REQUIRE(archive.members().size() == 3);
  const bnorm::zip_member& a = archive.members()[0];
  CHECK(a.name == "a.npy");
  CHECK(a.stored());
  CHECK(a.crc32 == 0xcbf43926);  // CRC-32's standard check value
  CHECK(a.uncompressed_size == 9);
  CHECK(archive.extract(a) == check);
  CHECK(archive.extract(archive.members()[1]).empty());
  CHECK(archive.members()[2].name == "dir/ü.npy");
  // force_zip64: both local size fields defer to a ZIP64 extra field holding them.
  CHECK(bnorm_test::hex(zip.substr(18, 8)) == "ffffffffffffffff");
  CHECK(bnorm_test::hex(zip.substr(35, 4)) == "01001000");
  CHECK(a.data_offset == 30 + 5 + 20);
}

TEST_CASE("an archive of 65,536 members is written and read with ZIP64 end records") {
  std::vector<bnorm::zip_entry> entries;
  std::vector<std::string> names;
  for (int i = 0; i < 65536; ++i) names.push_back(std::to_string(i));
  for (const std::string& name : names) entries.push_back({name, "", "v"});
  const zip_archive archive = archive_of(written_zip(entries));
  REQUIRE(archive.members().size() == 65536);
  CHECK(archive.members().back().name == "65535");
  CHECK(archive.extract(archive.members().back()) == "v");
}

TEST_CASE("an archive of more members than bnorm's limit is refused before they are read") {
  // 1.26 million empty members once cost more memory than 256 MiB.
  std::vector<bnorm::zip_entry> entries;
  std::vector<std::string> names;
  for (std::size_t i = 0; i <= bnorm::zip_max_members; ++i) names.push_back(std::to_string(i));
  for (const std::string& name : names) entries.push_back({name, "", ""});
  CHECK_THROWS_WITH_AS(archive_of(written_zip(entries)),
                       doctest::Contains("claims 65537 members, more than 65536 (bnorm's limit)"),
                       data_error);
}

TEST_CASE("a name check refuses a member as the central directory is read") {
  const std::string zip = written_zip({{"a.npy", "", "1"}, {"b.txt", "", "2"}});
  const auto check = [](const std::string& name) {
    return name.ends_with(".npy") ? std::string() : std::string("is not wanted");
  };
  CHECK_THROWS_WITH_AS(zip_archive(byte_source::from_memory("a.zip", zip), check),
                       doctest::Contains("member 'b.txt' (central directory at byte"), data_error);
  CHECK_THROWS_WITH_AS(zip_archive(byte_source::from_memory("a.zip", zip), check),
                       doctest::Contains(") is not wanted"), data_error);
}

TEST_CASE("write_zip writes a member's header and content one after the other, CRC over both") {
  const std::string zip = written_zip({{"a.npy", "1234", "56789"}});
  const zip_archive archive = archive_of(zip);
  CHECK(archive.members()[0].crc32 == 0xcbf43926);  // CRC-32 of "123456789"
  CHECK(archive.extract(archive.members()[0]) == "123456789");
}

TEST_CASE("write_zip refuses a name longer than a ZIP header holds, before writing anything") {
  // The name length field keeps 16 bits: a longer name once gave a corrupt archive and exit 0.
  temp_dir dir;
  bnorm::output_file out(dir.file("a.zip"));
  const std::string name(65536, 'n');
  CHECK_THROWS_WITH_AS(bnorm::write_zip(out, {{"ok.npy", "", "1"}, {name, "", "2"}}),
                       doctest::Contains("is longer than the 65535 bytes a ZIP archive holds"),
                       data_error);
  out.commit();
  CHECK(bnorm_test::read_bytes(dir.file("a.zip")).empty());
  CHECK(archive_of(written_zip({{std::string(65535, 'n'), "", "1"}})).members()[0].name.size() ==
        65535);
}

TEST_CASE("deflated members are inflated and checked against their declared size") {
  const std::string content(100000, 'a');
  SUBCASE("the declared size") {
    const zip_archive archive = archive_of(deflated_zip(content, 100000));
    CHECK(archive.extract(archive.members()[0]) == content);
  }
  SUBCASE("a declared size below what it inflates to stops one byte past it") {
    const zip_archive archive = archive_of(deflated_zip(content, 1000));
    CHECK_THROWS_WITH_AS(
        archive.extract(archive.members()[0]),
        "a.zip: member 'm' at byte 31 inflates to more than its declared 1000 bytes", data_error);
  }
  SUBCASE("a declared size above what it inflates to") {
    const zip_archive archive = archive_of(deflated_zip(content, 200000));
    CHECK_THROWS_WITH_AS(
        archive.extract(archive.members()[0]),
        "a.zip: member 'm' at byte 31 inflates to 100000 bytes, not its declared 200000",
        data_error);
  }
  SUBCASE("a declared size past the in-memory limit is refused before inflating") {
    // A 611 KB bomb declaring and inflating to 600 MiB once ran out of memory.
    const zip_archive archive = archive_of(deflated_zip(content, 0xfffffff0));
    CHECK_THROWS_WITH_AS(archive.extract(archive.members()[0]),
                         doctest::Contains("a.zip: member 'm' at byte 31 declares 4294967280 "
                                           "bytes; bnorm inflates a compressed member in memory, "
                                           "at most 67108864 bytes"),
                         data_error);
  }
  SUBCASE("the limit grows with the compressed size") {
    CHECK(bnorm::zip_inflation_limit(1000) == bnorm::zip_max_inflated);
    CHECK(bnorm::zip_inflation_limit(std::uint64_t{100} << 20) == std::uint64_t{400} << 20);
    CHECK(bnorm::zip_inflation_limit(~std::uint64_t{0}) == ~std::uint64_t{0});
  }
}

TEST_CASE("falsified archives are refused with the field and its byte") {
  const std::string zip = written_zip({{"a.npy", "", "123456789"}, {"b.npy", "", "xy"}});
  const std::size_t central = zip.find("PK\x01\x02");
  const std::size_t end = zip.find("PK\x05\x06");
  SUBCASE("a corrupted byte of stored data fails the CRC-32") {
    std::string bad = zip;
    bad[55] ^= 1;
    const zip_archive archive = archive_of(bad);
    CHECK_THROWS_WITH_AS(archive.verify_stored(archive.members()[0]),
                         "a.zip: member 'a.npy' at byte 55: CRC-32 mismatch (the data is corrupt)",
                         data_error);
  }
  SUBCASE("two entries naming one local header") {
    std::string bad = zip;
    const std::size_t second = zip.find("PK\x01\x02", central + 4);
    put(bad, second + 42, 0, 4);
    CHECK_THROWS_WITH_AS(archive_of(bad), doctest::Contains("names 'a.npy', not the central"),
                         data_error);
  }
  SUBCASE("a comment length that does not reach the end of the file") {
    std::string bad = zip + "x";
    CHECK_THROWS_WITH_AS(archive_of(bad), doctest::Contains("no end-of-central-directory record"),
                         data_error);
  }
  SUBCASE("a comment that does reach the end is fine") {
    std::string commented = zip + "note";
    put(commented, end + 20, 4, 2);
    CHECK(archive_of(commented).members().size() == 2);
  }
  SUBCASE("encryption") {
    std::string bad = zip;
    put(bad, 6, 1, 2);
    put(bad, central + 8, 1, 2);
    CHECK_THROWS_WITH_AS(archive_of(bad), doctest::Contains("is encrypted"), data_error);
  }
  SUBCASE("a central directory offset moved by one") {
    std::string bad = zip;
    put(bad, end + 16, central - 1, 4);
    CHECK_THROWS_WITH_AS(archive_of(bad), doctest::Contains("does not end where the end record"),
                         data_error);
  }
}

TEST_CASE("every truncation and every single-byte change gives an archive or a data_error") {
  const std::string zip = written_zip({{"a.npy", "", "123456789"}, {"b.npy", "", "xy"}});
  for (std::size_t size = 0; size < zip.size(); ++size) {
    CHECK_THROWS_AS(archive_of(zip.substr(0, size)), data_error);
  }
  for (std::size_t i = 0; i < zip.size(); ++i) {
    for (const int value : {0x80, 0xff, 0x01}) {
      std::string changed = zip;
      changed[i] = static_cast<char>(changed[i] ^ value);
      try {
        const zip_archive archive = archive_of(changed);
        for (const auto& m : archive.members()) archive.extract(m);
      } catch (const data_error&) {
      }
    }
  }
}

TEST_CASE("zip_member_writer writes ranges in any order and equals write_zip byte for byte") {
  const std::string header = "HEADER";
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>(i * 7);
  temp_dir dir;
  {
    bnorm::output_file out(dir.file("s.zip"));
    bnorm::zip_member_writer writer(out, "x.npy", header, data.size());
    writer.write_at(600, data.data() + 600, 400);
    writer.write_at(0, data.data(), 250);
    writer.write_at(250, data.data() + 250, 350);
    writer.finish();
    out.commit();
  }
  const std::string streamed = bnorm_test::read_bytes(dir.file("s.zip"));
  CHECK(streamed == written_zip({{"x.npy", header, data}}));
  const zip_archive archive = archive_of(streamed);
  CHECK(archive.extract(archive.members()[0]) == header + data);
}

// Archives with two readings, built byte by byte: each case is what some reader reads one way
// and another reader another way (Python's zipfile, Go's archive/zip, a reader walking local
// headers from the start, an extractor), and each must be refused with the reason.
namespace {

struct hand_member {
  hand_member(std::string name_, std::string content_, std::uint16_t flags_ = 0)
      : name(std::move(name_)), content(std::move(content_)), flags(flags_) {}
  std::string name;
  std::string content;
  std::uint16_t flags = 0;
  std::string local_extra;
  std::string central_extra;
  std::uint32_t attributes = 0600u << 16;
  std::uint8_t made_by_host = 3;  // Unix
  std::uint8_t version_needed = 20;
};

struct hand_zip {
  std::string bytes;
  std::size_t directory_offset = 0;
  std::size_t end_offset = 0;
};

// Stored members laid out as Python's zipfile lays them out, `prefix` before the first and
// `gap` after each, offsets counted from the start of the file, then the central directory,
// the end record and `comment`.
hand_zip stored_zip(const std::vector<hand_member>& members, const std::string& prefix = "",
                    const std::string& gap = "", const std::string& comment = "") {
  std::string body = prefix;
  std::string central;
  for (const hand_member& m : members) {
    const auto crc = static_cast<std::uint32_t>(crc32(
        0, reinterpret_cast<const Bytef*>(m.content.data()), static_cast<uInt>(m.content.size())));
    const std::string fields = le(m.version_needed, 2) + le(m.flags, 2) + le(0, 2) + le(0, 2) +
                               le(0x21, 2) + le(crc, 4) + le(m.content.size(), 4) +
                               le(m.content.size(), 4) + le(m.name.size(), 2);
    central += le(0x02014b50, 4) + le(std::uint32_t{m.made_by_host} << 8 | 20, 2) + fields +
               le(m.central_extra.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) +
               le(m.attributes, 4) + le(body.size(), 4) + m.name + m.central_extra;
    body += le(0x04034b50, 4) + fields + le(m.local_extra.size(), 2) + m.name + m.local_extra +
            m.content + gap;
  }
  hand_zip zip;
  zip.directory_offset = body.size();
  zip.end_offset = body.size() + central.size();
  zip.bytes = body + central + le(0x06054b50, 4) + le(0, 4) + le(members.size(), 2) +
              le(members.size(), 2) + le(central.size(), 4) + le(body.size(), 4) +
              le(comment.size(), 2) + comment;
  return zip;
}

void check_refused(const std::string& bytes, const std::string& message) {
  CAPTURE(message);
  CHECK_THROWS_WITH_AS(archive_of(bytes), doctest::Contains(message.c_str()), data_error);
}

}  // namespace

TEST_CASE("the hand-made archive is read: the builder itself is sound") {
  const hand_zip zip = stored_zip({{"a.npy", "1"}, {"dir/ü.npy", "22", 0x0800}});
  const zip_archive archive = archive_of(zip.bytes);
  REQUIRE(archive.members().size() == 2);
  CHECK(archive.extract(archive.members()[1]) == "22");
}

TEST_CASE("an end record whose comment holds a second end record and directory is refused") {
  // The comment holds a second central directory and an end record that also reaches the end
  // of the file: readers taking the first record and readers taking the last read different
  // directories.
  const hand_zip zip = stored_zip({{"a.npy", "1"}});
  const std::string directory =
      zip.bytes.substr(zip.directory_offset, zip.end_offset - zip.directory_offset);
  const std::string second_end = le(0x06054b50, 4) + le(0, 4) + le(1, 2) + le(1, 2) +
                                 le(directory.size(), 4) + le(zip.end_offset + 22, 4) + le(0, 2);
  std::string bytes = zip.bytes + directory + second_end;
  put(bytes, zip.end_offset + 20, directory.size() + second_end.size(), 2);
  check_refused(bytes, "two end-of-central-directory records at byte " +
                           std::to_string(zip.end_offset) + " and at byte " +
                           std::to_string(bytes.size() - 22) + " both reach the end of the file");
}

TEST_CASE("an end-record signature after the end record is refused") {
  const hand_zip zip = stored_zip({{"a.npy", "1"}}, "", "", std::string("note PK\x05\x06 x", 12));
  check_refused(zip.bytes, "is followed by another end-record signature at byte " +
                               std::to_string(zip.end_offset + 27));
  // A signature cut short by the end of the file too: Python's zipfile finds it and gives up.
  check_refused(stored_zip({{"a.npy", "1"}}, "", "", std::string("PK\x05\x06", 4)).bytes,
                "is followed by another end-record signature");
  // A comment without one is read.
  CHECK(archive_of(stored_zip({{"a.npy", "1"}}, "", "", "PK\x05").bytes).members().size() == 1);
}

TEST_CASE("a ZIP64 end record with extensible data or disagreeing with the 32-bit one is refused") {
  const std::string zip = written_zip({{"a.npy", "", "1"}});
  // bnorm writes a ZIP64 end record only when needed: add one here by hand, with the values of
  // the 32-bit record, and check each way of falsifying it.
  const std::size_t end = zip.find("PK\x05\x06");
  const std::size_t directory = zip.find("PK\x01\x02");
  const auto with_zip64 = [&](const std::string& extensible, std::uint64_t entries,
                              std::uint16_t entries32) {
    const std::string record = le(0x06064b50, 4) + le(44 + extensible.size(), 8) + le(45, 2) +
                               le(45, 2) + le(0, 4) + le(0, 4) + le(entries, 8) + le(entries, 8) +
                               le(end - directory, 8) + le(directory, 8) + extensible;
    const std::string locator = le(0x07064b50, 4) + le(0, 4) + le(end, 8) + le(1, 4);
    std::string end_record = zip.substr(end);
    put(end_record, 8, entries32, 2);
    put(end_record, 10, entries32, 2);
    return zip.substr(0, end) + record + locator + end_record;
  };
  CHECK(archive_of(with_zip64("", 1, 0xffff)).members().size() == 1);
  CHECK(archive_of(with_zip64("", 1, 1)).members().size() == 1);
  check_refused(with_zip64(std::string(8, 'x'), 1, 0xffff),
                "does not end where the ZIP64 locator starts at byte " + std::to_string(end + 64));
  check_refused(
      with_zip64("", 1, 2),
      "gives entries on this disk 2, its ZIP64 end record at byte " + std::to_string(end) + " 1");
}

TEST_CASE("65,535 entries without a ZIP64 end record are read as Python's zipfile writes them") {
  // Python's zipfile writes a ZIP64 end record only past 65,535 entries; at exactly that many
  // the 32-bit count holds 0xffff, which then is the count.
  std::vector<hand_member> members;
  for (int i = 0; i < 0xffff; ++i) members.push_back({std::to_string(i), "v"});
  const zip_archive archive = archive_of(stored_zip(members).bytes);
  CHECK(archive.members().size() == 0xffff);
  CHECK(archive.extract(archive.members().back()) == "v");
}

TEST_CASE(
    "bytes that belong to no member are refused: a prefix, a gap, data before the directory") {
  const std::string other = written_zip({{"b.npy", "", "2"}});
  const std::string hidden = other.substr(0, other.find("PK\x01\x02"));
  SUBCASE("a prefix, with offsets from the file's start (as zip -A leaves a self-extractor)") {
    check_refused(stored_zip({{"a.npy", "1"}}, "MZ stub").bytes,
                  "7 bytes at byte 0 belong to no member (before the first, member 'a.npy' "
                  "starts at byte 7)");
  }
  SUBCASE("a prefix, with offsets from the archive's start (Python's zipfile shifts them)") {
    const hand_zip zip = stored_zip({{"a.npy", "1"}});
    check_refused("MZ stub" + zip.bytes, "does not end where the end record starts");
  }
  SUBCASE("a local header hidden between two members") {
    check_refused(stored_zip({{"a.npy", "1"}, {"b.npy", "2"}}, "", hidden).bytes,
                  "belong to no member (member 'b.npy' starts at byte");
  }
  SUBCASE("data between the last member and the central directory") {
    const hand_zip zip = stored_zip({{"a.npy", "1"}}, "", "tail");
    check_refused(zip.bytes,
                  "4 bytes at byte 36 belong to no member (the central directory "
                  "starts at byte 40)");
  }
  SUBCASE("one byte is singular") {
    check_refused(stored_zip({{"a.npy", "1"}}, "M").bytes,
                  "1 byte at byte 0 belongs to no member (before the first, member 'a.npy' "
                  "starts at byte 1)");
    check_refused(stored_zip({{"a.npy", "1"}}, "", "t").bytes,
                  "1 byte at byte 36 belongs to no member (the central directory starts at byte "
                  "37)");
  }
  SUBCASE("an empty archive after a prefix") {
    check_refused(stored_zip({}, "junk").bytes,
                  "4 bytes at byte 0 belong to no member (the central directory starts at byte 4)");
  }
  SUBCASE("an empty archive alone is read") {
    CHECK(archive_of(stored_zip({}).bytes).members().empty());
  }
}

TEST_CASE("member names that readers or extractors take two ways are refused") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/etc/x.npy", "is an absolute path"},
      {"C:x.npy", "starts with a drive letter"},
      {"c:/x.npy", "starts with a drive letter"},
      {"../x.npy", "has a '..' segment"},
      {"a/../../x.npy", "has a '..' segment"},
      {"a/..", "has a '..' segment"},
      {"a\\x.npy", "holds a backslash"},
      {"..\\x.npy", "holds a backslash"},
      {std::string("x.npy\0.txt", 10), "holds a NUL byte (Python's zipfile cuts the name there)"},
      {"a//x.npy", "has an empty or '.' segment"},
      {"./x.npy", "has an empty or '.' segment"},
      {"dir/", "has an empty or '.' segment"},
      {"x\xff.npy", "is not valid UTF-8"},
      {"x\xc0\xae.npy", "is not valid UTF-8"},          // an overlong '.'
      {"x\xed\xa0\x80.npy", "is not valid UTF-8"},      // a surrogate
      {"x\xf4\x90\x80\x80.npy", "is not valid UTF-8"},  // past U+10FFFF
      {"x\xc3.npy", "is not valid UTF-8"},              // cut short
      {"", "is empty"},
  };
  for (const auto& [name, message] : cases) {
    CAPTURE(name);
    const std::string what =
        "a.zip: member " + bnorm::quoted_name(name) + " (central directory at byte ";
    // With and without the UTF-8 flag: the reason is the same.
    for (const std::uint16_t flags : {std::uint16_t{0}, std::uint16_t{0x0800}}) {
      const std::string bytes = stored_zip({{name, "1", flags}}).bytes;
      check_refused(bytes, what);
      check_refused(bytes, "): the name " + message);
    }
    // Writers refuse to write it.
    temp_dir dir;
    bnorm::output_file out(dir.file("w.zip"));
    for (const std::string& part : {message, std::string("; bnorm does not write it")}) {
      CHECK_THROWS_WITH_AS(bnorm::write_zip(out, {{name, "", "1"}}),
                           doctest::Contains(part.c_str()), data_error);
      CHECK_THROWS_WITH_AS(bnorm::zip_member_writer(out, name, "", 1),
                           doctest::Contains(part.c_str()), data_error);
    }
  }
  // Names that are fine, at the edge of each rule.
  for (const std::string name :
       {"a..b.npy", "..x.npy", "x..", "a/b/c.npy", "ab:c.npy", "1:x.npy",
        "layer1.0.bn1.running_mean.npy", "\xc3\xbc/\xf0\x9f\x98\x80.npy"}) {
    CAPTURE(name);
    CHECK(archive_of(stored_zip({{name, "1", 0x0800}}).bytes).members()[0].name == name);
    CHECK(archive_of(written_zip({{name, "", "1"}})).members()[0].name == name);
  }
}

TEST_CASE("a name that is not ASCII needs the UTF-8 flag, which Python's zipfile decodes by") {
  // Without bit 11 Python's zipfile reads "ü.npy" as CP437: "├╝.npy".
  check_refused(stored_zip({{"\xc3\xbc.npy", "1"}}).bytes,
                "the name is not ASCII and its UTF-8 flag (bit 11) is not set");
  CHECK(archive_of(stored_zip({{"\xc3\xbc.npy", "1", 0x0800}}).bytes).members().size() == 1);
}

TEST_CASE("an Info-ZIP Unicode Path extra field naming another name is refused") {
  const auto unicode_path = [](const std::string& name, int version = 1) {
    const auto crc =
        static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>("a.npy"), 5));
    return le(0x7075, 2) + le(5 + name.size(), 2) + le(version, 1) + le(crc, 4) + name;
  };
  hand_member central{"a.npy", "1"};
  central.central_extra = unicode_path("b.npy");
  check_refused(stored_zip({central}).bytes,
                "has an Info-ZIP Unicode Path extra field (0x7075) naming 'b.npy', which some "
                "readers take instead of the name");
  hand_member local{"a.npy", "1"};
  local.local_extra = unicode_path("../b.npy");
  check_refused(stored_zip({local}).bytes,
                "local header at byte 0: has an Info-ZIP Unicode Path extra field (0x7075) "
                "naming '../b.npy'");
  hand_member other_version{"a.npy", "1"};
  other_version.central_extra = unicode_path("a.npy", 2);
  check_refused(stored_zip({other_version}).bytes, "Unicode Path extra field");
  hand_member same{"a.npy", "1"};
  same.central_extra = unicode_path("a.npy");
  same.local_extra = unicode_path("a.npy");
  CHECK(archive_of(stored_zip({same}).bytes).members().size() == 1);
}

TEST_CASE("a central ZIP64 extra field holding values no field defers to is refused") {
  hand_member m{"a.npy", "1"};
  m.central_extra = le(1, 2) + le(16, 2) + le(1, 8) + le(1, 8);
  check_refused(stored_zip({m}).bytes,
                "ZIP64 extra field holds 16 bytes more than the values its header defers to it");
}

TEST_CASE("flags, versions and file types beyond what bnorm reads are refused") {
  for (const int flag : {0x0010, 0x0020, 0x0080, 0x1000, 0x4000, 0x8000}) {
    CAPTURE(flag);
    check_refused(stored_zip({{"a.npy", "1", static_cast<std::uint16_t>(flag)}}).bytes,
                  "sets general-purpose flags 0x");
  }
  check_refused(stored_zip({{"a.npy", "1", 0x0020}}).bytes, "sets general-purpose flags 0x0020");
  // Deflate's level bits change nothing in how a member reads.
  CHECK(archive_of(stored_zip({{"a.npy", "1", 0x0006}}).bytes).members().size() == 1);
  hand_member v64{"a.npy", "1"};
  v64.version_needed = 64;
  check_refused(stored_zip({v64}).bytes,
                "needs ZIP version 6.4 to extract; Python's zipfile reads up to 6.3");
  hand_member v63{"a.npy", "1"};
  v63.version_needed = 63;
  CHECK(archive_of(stored_zip({v63}).bytes).members().size() == 1);
  hand_member link{"a.npy", "/etc/passwd"};
  link.attributes = 0120777u << 16;
  check_refused(stored_zip({link}).bytes, "is not a regular file (external attributes");
  hand_member directory{"a.npy", ""};
  directory.attributes = 0x10;
  directory.made_by_host = 0;
  check_refused(stored_zip({directory}).bytes, "is not a regular file");
  hand_member regular{"a.npy", "1"};
  regular.attributes = 0100644u << 16;
  CHECK(archive_of(stored_zip({regular}).bytes).members().size() == 1);
}

TEST_CASE("a Unix file type other than a regular file is refused whatever host made the member") {
  // Info-ZIP's unzip makes a symbolic link of 0120777 << 16 from hosts 2, 3, 5, 16 and 30, and
  // of 0120644 << 16 from MS-DOS (0), where the mode agrees with the DOS attributes.  Every host
  // byte, every value of the file-type bits (S_IFMT), with DOS attributes none, read-only,
  // archive and directory: only no type or a regular file (010) is read, and never a directory.
  int refused = 0;
  for (unsigned host = 0; host < 256; ++host) {
    for (std::uint32_t type = 0; type < 16; ++type) {
      for (const std::uint32_t dos : {0x00u, 0x01u, 0x20u, 0x10u}) {
        CAPTURE(host);
        CAPTURE(type);
        CAPTURE(dos);
        hand_member m{"a.npy", "1"};
        m.made_by_host = static_cast<std::uint8_t>(host);
        m.attributes = (type << 12 | 0644u) << 16 | dos;
        const std::string bytes = stored_zip({m}).bytes;
        if ((type == 0 || type == 010) && dos != 0x10) {
          CHECK(archive_of(bytes).members().size() == 1);
        } else {
          check_refused(bytes,
                        "a.zip: member 'a.npy' (central directory at byte 36) is not a "
                        "regular file (external attributes " +
                            std::to_string(m.attributes) + ")");
          ++refused;
        }
      }
    }
  }
  CHECK(refused == 256 * (14 * 4 + 2));
}
