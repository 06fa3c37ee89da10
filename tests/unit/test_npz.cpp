// .npz on top of the ZIP reader: members must be .npy files whose headers agree with the
// member's size; stored members are read in place, deflated ones inflated.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "byte_source.hpp"
#include "error.hpp"
#include "file_io.hpp"
#include "npy_header.hpp"
#include "npz.hpp"
#include "quoted_name.hpp"
#include "test_support.hpp"
#include "zip_archive.hpp"

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
    CHECK_THROWS_WITH_AS(bnorm::make_npz_sink(out, {dtype::float32(), {1}, false, name}),
                         doctest::Contains(expected.c_str()), data_error);
    out.commit();
    CHECK(bnorm_test::read_bytes(dir.file("a.npz")).empty());
  }
}
