// SPDX-License-Identifier: Apache-2.0
// The safetensors header reader and writer: the reference implementation's rules (sizes that
// match shapes, tensors tiling the data area) and its writer's order and padding.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "formats/byte_source.hpp"
#include "formats/safetensors.hpp"
#include "test_support.hpp"

using bnorm::data_error;
using bnorm::dtype;
using bnorm::parse_safetensors_header;
using bnorm::scalar_kind;

namespace {

bnorm::named_tensor tensor(const char* name, dtype type, std::vector<std::size_t> shape,
                           std::string data, bool fortran = false) {
  return {{type, std::move(shape), fortran, name}, std::move(data)};
}

std::string written(std::vector<bnorm::named_tensor> tensors) {
  bnorm_test::temp_dir dir;
  {
    bnorm::output_file out(dir.file("a.safetensors"));
    bnorm::write_safetensors(out, std::move(tensors));
    out.commit();
  }
  return bnorm_test::read_bytes(dir.file("a.safetensors"));
}

}  // namespace

TEST_CASE("parse_safetensors_header reads tensors in data order") {
  const auto entries = parse_safetensors_header(
      R"({"__metadata__": {"format": "pt"},
          "b": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [8, 20]},
          "a": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]}})",
      20);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].info.name == "a");
  CHECK(entries[0].info.type == dtype{scalar_kind::signed_int, 8, false});
  CHECK(entries[0].info.shape.empty());
  CHECK(entries[1].info.name == "b");
  CHECK(entries[1].info.type == dtype::bfloat16());
  CHECK(entries[1].info.shape == std::vector<std::size_t>{2, 3});
  CHECK(entries[1].begin == 8);
}

TEST_CASE("parse_safetensors_header refuses what the reference implementation refuses") {
  const auto refuses = [](const std::string& header, std::size_t data, const std::string& what) {
    CHECK_THROWS_WITH_AS(parse_safetensors_header(header, data), what.c_str(), data_error);
  };
  refuses(R"({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", 4,
          "tensor 'x': data_offsets [0, 4] do not span the 8 bytes shape (2,) of F32 needs");
  refuses(R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", 8,
          "tensor 'x' starts at data byte 4, but the tensors before it end at 0 (a hole)");
  refuses(R"({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "y": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
          8, "tensor 'y' starts at data byte 4, but the tensors before it end at 8 (overlap)");
  refuses(R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 8,
          "the tensors cover 4 bytes of the 8-byte data area");
  refuses(R"({"x": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}})", 1,
          "tensor 'x': dtype 'F8_E4M3' is not supported (F16, BF16, F32, F64, I8-I64, U8-U64 "
          "and BOOL are)");
  refuses(R"({"x": {"dtype": "f32", "shape": [1], "data_offsets": [0, 4]}})", 4,
          "tensor 'x': unknown dtype 'f32'");
  refuses(R"({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4,
          "tensor 'x': shape[0] is not a non-negative integer");
  refuses(R"({"x": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})",
          0, "tensor 'x': shape (4294967296, 4294967296)... overflows the size of a file");
  refuses(R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": 1}})", 4,
          "tensor 'x' has an unknown key 'extra' (known: dtype, shape, data_offsets)");
  refuses(R"({"x\n": {"dtype": "F32", "shape": [1]}})", 4,
          "tensor 'x\\x0a' lacks dtype, shape or data_offsets");
  refuses(R"({"__metadata__": {"a": ["b"]}})", 0, "__metadata__ 'a' is not a string");
  refuses(R"([])", 0, "is not a JSON object");
  refuses(R"({"x": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,)"
          R"(1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}})",
          4,
          "tensor 'x': shape has 33 dimensions, more than 32 (NumPy's limit, which bnorm keeps)");
  CHECK_THROWS_WITH_AS(parse_safetensors_header(R"({"x": {}, "x": {}})", 0),
                       doctest::Contains("appears twice"), data_error);
}

TEST_CASE("the writer sorts by dtype alignment then name, and pads the header with spaces") {
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(tensor("b", dtype::float32(), {2}, std::string(8, '\1')));
  tensors.push_back(tensor("c", {scalar_kind::signed_int, 8, false}, {}, std::string(8, '\2')));
  tensors.push_back(tensor("a", dtype::float32(), {1}, std::string(4, '\3')));
  tensors.push_back(tensor("h", dtype::bfloat16(), {1}, std::string(2, '\4')));
  const std::string file = written(tensors);
  const std::string json = R"({"c":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
                           R"("a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},)"
                           R"("h":{"dtype":"BF16","shape":[1],"data_offsets":[20,22]}})";
  const std::size_t padded = (json.size() + 7) / 8 * 8;
  std::uint64_t length = 0;
  std::memcpy(&length, file.data(), 8);
  CHECK(length == padded);
  CHECK(file.substr(8, padded) == json + std::string(padded - json.size(), ' '));
  CHECK(file.substr(8 + padded) ==
        std::string(8, '\2') + std::string(4, '\3') + std::string(8, '\1') + std::string(2, '\4'));
}

TEST_CASE("the writer refuses the reserved name __metadata__") {
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(tensor("__metadata__", dtype::float32(), {1}, std::string(4, '\0')));
  CHECK_THROWS_WITH_AS(bnorm::format_safetensors_header(tensors),
                       "a safetensors tensor cannot be named __metadata__", data_error);
}

TEST_CASE("written files read back; Fortran-order tensors are written in C order") {
  // (2, 3) in Fortran order holds columns: 0 3 | 1 4 | 2 5 for the C-order values 0..5.
  std::string fortran;
  for (const int v : {0, 3, 1, 4, 2, 5}) fortran += static_cast<char>(v);
  const std::string file =
      written({tensor("x", {scalar_kind::unsigned_int, 1, false}, {2, 3}, fortran, true)});
  const auto archive = bnorm::open_safetensors(bnorm::byte_source::from_memory("m", file));
  REQUIRE(archive->names() == std::vector<std::string>{"x"});
  const auto source = archive->open("x");
  CHECK_FALSE(source->info().fortran_order);
  std::vector<double> values(6);
  source->read_at(0, values);
  CHECK(values == std::vector<double>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("open_safetensors bounds the header length by the limit and by the file") {
  const auto open = [](std::string bytes) {
    return bnorm::open_safetensors(bnorm::byte_source::from_memory("m", std::move(bytes)));
  };
  CHECK_THROWS_WITH_AS(open(std::string("\x10\0\0\0\0\0\0\0{}", 10)),
                       "m: header length 16 at byte 0 runs past the end of the file (which has "
                       "10 bytes)",
                       data_error);
  CHECK_THROWS_WITH_AS(open(std::string("\0\0\0\0\0\0\0\x40{}", 10)),
                       "m: header length 4611686018427387904 at byte 0 is larger than 100000000 "
                       "(the safetensors limit)",
                       data_error);
  CHECK_THROWS_WITH_AS(open("abc"),
                       "m: not a safetensors file: 3 bytes, fewer than the 8-byte header length",
                       data_error);
  CHECK(open(std::string("\x02\0\0\0\0\0\0\0{}", 10))->names().empty());
}

namespace {

// "t<i>", built by appending: "t" + std::string&& trips GCC 12's -Wrestrict (PR 105651).
std::string name_of(std::size_t i) {
  std::string name = "t";
  name += std::to_string(i);
  return name;
}

}  // namespace

TEST_CASE("empty tensors at one offset keep the header's order") {
  // names() promises the file's order; an unstable sort once listed them in any order.
  std::string header = "{";
  for (int i = 0; i < 40; ++i) {
    header += '"';
    header += name_of(static_cast<std::size_t>(39 - i));
    header += R"(": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]},)";
  }
  header.back() = '}';
  const auto entries = parse_safetensors_header(header, 0);
  REQUIRE(entries.size() == 40);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    CHECK(entries[i].info.name == name_of(39 - i));
  }
}

TEST_CASE("a key longer than bnorm's limit is refused before the JSON is parsed") {
  const std::string name(bnorm::safetensors_max_key_size + 1, 'n');
  const std::string header = R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}, ")" +
                             name + R"(": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}})";
  CHECK_THROWS_WITH_AS(parse_safetensors_header(header, 0),
                       "a key of 65537 bytes (at byte 62 of the header) is longer than 65536 "
                       "bytes (bnorm's limit)",
                       data_error);
  const std::string at_limit(bnorm::safetensors_max_key_size, 'n');
  CHECK(parse_safetensors_header(
            "{\"" + at_limit + R"(": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}})", 0)
            .front()
            .info.name == at_limit);
  // A long value is not a key (metadata may hold long text).
  CHECK(parse_safetensors_header(R"({"__metadata__": {"k": ")" + name + "\"}}", 0).empty());
}

TEST_CASE("the writer refuses a name that is not valid UTF-8 instead of replacing bytes") {
  std::vector<bnorm::named_tensor> tensors;
  tensors.push_back(tensor("ok", dtype::float32(), {1}, std::string(4, '\0')));
  tensors.push_back(tensor("caf\xe9", dtype::float32(), {1}, std::string(4, '\0')));
  CHECK_THROWS_WITH_AS(bnorm::format_safetensors_header(tensors),
                       "tensor name 'caf\\xe9' is not valid UTF-8, which a safetensors header "
                       "must be",
                       data_error);
}
