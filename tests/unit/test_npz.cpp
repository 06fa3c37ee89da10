// SPDX-License-Identifier: Apache-2.0
// .npz on top of the ZIP reader: members must be .npy files whose headers agree with the
// member's size; stored members are read in place, deflated ones inflated.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "formats/byte_source.hpp"
#include "formats/npy_header.hpp"
#include "formats/npz.hpp"
#include "formats/registry.hpp"
#include "formats/zip_archive.hpp"
#include "formats/zip_writer.hpp"
#include "quoted_name.hpp"
#include "test_scale.hpp"
#include "test_support.hpp"

using bnorm::data_error;
using bnorm::dtype;

namespace {

std::string zip_of(const std::vector<bnorm::zip_entry>& entries) {
  bnorm_test::temp_dir dir;
  {
    bnorm::output_file out(dir.file("a.npz"));
    bnorm::write_zip(out, entries);
    out.commit();
  }
  return bnorm_test::read_bytes(dir.file("a.npz"));
}

std::unique_ptr<bnorm::tensor_archive> npz(std::string bytes) {
  return bnorm::open_npz(bnorm::byte_source::from_memory("a.npz", std::move(bytes)));
}

std::string npy_file(const bnorm::tensor_info& info, const std::string& data) {
  return bnorm::format_npy_header(info) + data;
}

}  // namespace

TEST_CASE("write_npz writes members <name>.npy that open_npz reads back") {
  bnorm_test::temp_dir dir;
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(bnorm::make_named_tensor({dtype::float64(), {3}, false, "w"}, {1, 2, 3}));
  tensors.push_back(bnorm::make_named_tensor({dtype::float16(), {2, 2}, true, "f"}, {1, 2, 3, 4}));
  {
    bnorm::output_file out(dir.file("a.npz"));
    bnorm::write_npz(out, tensors);
    out.commit();
  }
  const auto archive = bnorm::open_npz(bnorm::byte_source::open(dir.file("a.npz")));
  CHECK(archive->names() == std::vector<std::string>{"w", "f"});
  const auto f = archive->open("f");
  CHECK(f->info().name == "f");
  CHECK(f->info().fortran_order);
  CHECK(f->info().type == dtype::float16());
  std::vector<double> values(4);
  f->read_at(0, values);
  CHECK(values == std::vector<double>{1, 2, 3, 4});
}

TEST_CASE("open_npz refuses members that are not .npy files or disagree with their header") {
  const bnorm::tensor_info info{dtype::float32(), {2}, false};
  CHECK_THROWS_WITH_AS(npz(zip_of({{"notes.txt", "", "hi"}})),
                       doctest::Contains("a.npz: member 'notes.txt' (central directory at byte 61) "
                                         "is not a .npy file (an .npz holds only .npy members)"),
                       data_error);
  const std::string short_member = npy_file(info, std::string(4, '\0'));
  CHECK_THROWS_WITH_AS(npz(zip_of({{"x.npy", "", short_member}}))->open("x"),
                       "a.npz: member 'x.npy': data at byte 128 is 4 bytes, but shape (2,) of "
                       "float32 needs 8",
                       data_error);
  const std::string long_header("\x93NUMPY\x01\x00\x00\x10", 10);  // 4096 bytes of header
  CHECK_THROWS_WITH_AS(npz(zip_of({{"x.npy", "", long_header}}))->open("x"),
                       doctest::Contains("runs past the end of the member"), data_error);
  std::string corrupt = zip_of({{"x.npy", "", npy_file(info, std::string(8, '\0'))}});
  corrupt[55 + 128] = 1;  // a data byte: the CRC-32 no longer matches
  CHECK_THROWS_WITH_AS(npz(corrupt)->open("x"),
                       "a.npz: member 'x.npy' at byte 55: CRC-32 mismatch (the data is corrupt)",
                       data_error);
}

TEST_CASE("open_npz refuses member names readers or extractors take two ways") {
  const bnorm::tensor_info info{dtype::float32(), {2}, false};
  const std::string member = npy_file(info, std::string(8, '\0'));
  // The ZIP writer refuses these names, so the archive is written with a harmless name of the
  // same length and the name patched in both headers.
  for (const std::string name : {"../x.npy", "/abs.npy", "a\\x.npy", "C:/x.npy"}) {
    CAPTURE(name);
    std::string bytes = zip_of({{std::string(name.size(), 'n'), "", member}});
    for (std::size_t at = bytes.find(std::string(name.size(), 'n')); at != std::string::npos;
         at = bytes.find(std::string(name.size(), 'n'), at + 1)) {
      bytes.replace(at, name.size(), name);
    }
    CHECK_THROWS_WITH_AS(npz(bytes), doctest::Contains("a.npz: member "), data_error);
    CHECK_THROWS_WITH_AS(npz(bytes), doctest::Contains("): the name "), data_error);
  }
}

TEST_CASE("the .npz writers refuse tensor names that make such member names") {
  bnorm_test::temp_dir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"../x", "has a '..' segment"},          {"/x", "is an absolute path"},
      {"a\\b", "holds a backslash"},           {"C:x", "starts with a drive letter"},
      {"a//b", "has an empty or '.' segment"}, {std::string("a\0b", 3), "holds a NUL byte"},
      {"\xff", "is not valid UTF-8"},
  };
  for (const auto& [name, message] : cases) {
    CAPTURE(name);
    bnorm::output_file out(dir.file("a.npz"));
    const std::string expected = dir.file("a.npz") + ": tensor name " + bnorm::quoted_name(name) +
                                 " cannot name an .npz member: the member name " + message;
    CHECK_THROWS_WITH_AS(bnorm::check_npz_name(out, name), doctest::Contains(expected.c_str()),
                         data_error);
    std::vector<bnorm::named_tensor> tensors;
    tensors.push_back(bnorm::make_named_tensor({dtype::float32(), {1}, false, "ok"}, {1}));
    tensors.push_back(bnorm::make_named_tensor({dtype::float32(), {1}, false, name}, {1}));
    CHECK_THROWS_WITH_AS(bnorm::write_npz(out, tensors), doctest::Contains(expected.c_str()),
                         data_error);
    CHECK_THROWS_WITH_AS(
        bnorm::codec_named("npz")->make_sink(out, {dtype::float32(), {1}, false, name}),
        doctest::Contains(expected.c_str()), data_error);
    out.commit();
    CHECK(bnorm_test::read_bytes(dir.file("a.npz")).empty());
  }
}

TEST_CASE("open_npz refuses a member named as another member's tensor, wherever the two lie") {
  // np.load looks a key up as a member name first: its "a.npy" is member a.npy, bnorm's tensor
  // "a.npy" member a.npy.npy.  Each pair among other members, first, last, in either order.
  const std::string member = npy_file({dtype::float32(), {1}, false}, std::string(4, '\0'));
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"a.npy", "a.npy.npy"},
      {"a.npy.npy", "a.npy.npy.npy"},
      {"d/x.npy", "d/x.npy.npy"},
      {"\xc3\xbc.npy", "\xc3\xbc.npy.npy"},
  };
  for (const auto& [named, holder] : pairs) {
    for (const bool named_first : {true, false}) {
      for (const std::size_t position : {0, 1, 2}) {
        CAPTURE(named);
        CAPTURE(named_first);
        CAPTURE(position);
        std::vector<bnorm::zip_entry> entries = {{"b.npy", "", member}, {"c.npy", "", member}};
        entries.insert(entries.begin() + static_cast<std::ptrdiff_t>(position),
                       {named_first ? holder : named, "", member});
        entries.insert(entries.begin() + static_cast<std::ptrdiff_t>(named_first ? 0 : 3),
                       {named_first ? named : holder, "", member});
        const std::string expected =
            "a.npz: members " + bnorm::quoted_name(named) + " and " + bnorm::quoted_name(holder) +
            ": the tensor " + bnorm::quoted_name(named) + " (member " + bnorm::quoted_name(holder) +
            ") has the name of the other member, which np.load reads "
            "for it";
        CHECK_THROWS_WITH_AS(npz(zip_of(entries)), expected.c_str(), data_error);
      }
    }
  }
  // The first member (in directory order) whose tensor name is a member's is named.
  CHECK_THROWS_WITH_AS(npz(zip_of({{"b.npy.npy", "", member},
                                   {"a.npy.npy", "", member},
                                   {"a.npy", "", member},
                                   {"b.npy", "", member}})),
                       doctest::Contains("members 'b.npy' and 'b.npy.npy'"), data_error);
  // Names near the pair: each has one reading.
  for (const std::vector<std::string>& names : std::vector<std::vector<std::string>>{
           {"a.npy.npy"},
           {"a.npy", "b.npy.npy"},
           {"a.npy", "A.npy.npy"},
           {"a.npy", "a.np.npy"},
           {"a.npy", "a.npy.x.npy"},
           {"a.npy", "d/a.npy.npy"},
           {"a.npy", "a.npy/x.npy"},
           {"a.npy.npy", "a.npy.npy.npy.npy"},
       }) {
    CAPTURE(names.back());
    std::vector<bnorm::zip_entry> entries;
    for (const std::string& name : names) entries.push_back({name, "", member});
    CHECK(npz(zip_of(entries))->names().size() == names.size());
  }
}

TEST_CASE("open_npz finds the pair among 65,536 members") {
  const std::string member = npy_file({dtype::float32(), {1}, false}, std::string(4, '\0'));
  // 65,536 members need ZIP64's count; under the sanitizers, 4,096 take the same search.
  const int count = bnorm_test::scaled(65536, 4096);
  const std::string last = std::string("t").append(std::to_string(count - 2)) + ".npy";
  std::vector<std::string> names;
  // append, not "t" + ...: GCC 12 warns falsely about the latter (-Wrestrict, PR 105651).
  for (int i = 0; i < count - 1; ++i)
    names.push_back(std::string("t").append(std::to_string(i)) + ".npy");
  names.push_back(last + ".npy");
  std::vector<bnorm::zip_entry> entries;
  for (const std::string& name : names) entries.push_back({name, "", member});
  const std::string pair = "members '" + last + "' and '" + last + ".npy'";
  CHECK_THROWS_WITH_AS(npz(zip_of(entries)), doctest::Contains(pair.c_str()), data_error);
  entries.back().name = names.back() = "u.npy.npy";
  CHECK(npz(zip_of(entries))->names().size() == static_cast<std::size_t>(count));
}

TEST_CASE("write_npz refuses tensors 'a' and 'a.npy', which np.savez writes, before writing") {
  bnorm_test::temp_dir dir;
  for (const std::vector<std::string>& names : std::vector<std::vector<std::string>>{
           {"a", "a.npy"}, {"a.npy", "a"}, {"x", "a.npy", "y", "a"}, {"a.npy", "a.npy.npy"}}) {
    CAPTURE(names);
    std::vector<bnorm::named_tensor> tensors;
    for (const std::string& name : names) {
      tensors.push_back(bnorm::make_named_tensor({dtype::float32(), {1}, false, name}, {1}));
    }
    const std::string named = names[0] == "x" ? "a" : std::min(names[0], names[1]);
    const std::string holder = named + ".npy";
    bnorm::output_file out(dir.file("a.npz"));
    const std::string expected = dir.file("a.npz") + ": tensor names '" + named + "' and '" +
                                 holder + "' make .npz members '" + named + ".npy' and '" + holder +
                                 ".npy', and np.load reads the first for '" + holder +
                                 "'; bnorm does not write them";
    CHECK_THROWS_WITH_AS(bnorm::write_npz(out, tensors), expected.c_str(), data_error);
    out.commit();
    CHECK(bnorm_test::read_bytes(dir.file("a.npz")).empty());
  }
  for (const std::vector<std::string>& names :
       std::vector<std::vector<std::string>>{{"a.npy"}, {"a", "A.npy"}, {"a", "a.np"}}) {
    CAPTURE(names);
    std::vector<bnorm::named_tensor> tensors;
    for (const std::string& name : names) {
      tensors.push_back(bnorm::make_named_tensor({dtype::float32(), {1}, false, name}, {1}));
    }
    {
      bnorm::output_file out(dir.file("b.npz"));
      bnorm::write_npz(out, tensors);
      out.commit();
    }
    CHECK(bnorm::open_npz(bnorm::byte_source::open(dir.file("b.npz")))->names() == names);
  }
}
