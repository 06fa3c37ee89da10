// The ZIP reader and writer: round trips (stored, deflated, ZIP64 end records), the CRC-32
// check value from the standard, and refusals of falsified archives, every truncation and
// every single-byte corruption included.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "byte_source.hpp"
#include "error.hpp"
#include "file_io.hpp"
#include "test_support.hpp"
#include "zip_archive.hpp"

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
