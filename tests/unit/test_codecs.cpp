// SPDX-License-Identifier: Apache-2.0
// Tensor sources and sinks on real files.  The .npy fixtures are the bytes np.save writes
// (NumPy 1.24.2), pasted here and written to a scratch folder by each test: every NumPy header
// below is 128 bytes (preamble with length 0x76, the dict, spaces, '\n'), followed by the data.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "formats/json_tensor.hpp"
#include "formats/registry.hpp"
#include "tensor_stream.hpp"
#include "test_support.hpp"

using namespace std::string_view_literals;
using bnorm::data_error;
using bnorm::dtype;
using bnorm::io_error;
using bnorm::scalar_kind;
using bnorm::usage_error;
using bnorm_test::fifo_writer;
using bnorm_test::hex;
using bnorm_test::read_bytes;
using bnorm_test::temp_dir;
using bnorm_test::write_bytes;

namespace {

// A version-1.0 .npy file as np.save writes it when the header fits 128 bytes.
std::string npy_file(std::string_view dict, std::string_view data) {
  std::string out(std::string_view("\x93NUMPY\x01\x00\x76\x00"sv));
  out += dict;
  out.resize(127, ' ');
  out += '\n';
  out += data;
  return out;
}

// Every value of a source, read from the end backwards in blocks of `block` values, so that
// no read depends on the one before.
std::vector<double> read_all(const bnorm::tensor_source& source, std::size_t block = 2) {
  const std::size_t count = source.info().element_count();
  std::vector<double> values(count);
  for (std::size_t end = count; end > 0;) {
    const std::size_t first = end > block ? end - block : 0;
    source.read_at(first, std::span<double>(values.data() + first, end - first));
    end = first;
  }
  return values;
}

struct fixture {
  const char* made_by;
  std::string_view dict;
  std::string_view data;
  dtype type;
  std::vector<std::size_t> shape;
  bool fortran;
  std::vector<double> values;  // in file order
};

const dtype f2le = dtype::float16(), f2be{scalar_kind::floating, 2, true};
const dtype f4le = dtype::float32(), f4be{scalar_kind::floating, 4, true};
const dtype f8le = dtype::float64(), f8be{scalar_kind::floating, 8, true};

const fixture fixtures[] = {
    {"np.array([1, -2, 0.5, 65504, 2**-24], '<f2')",
     "{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }",
     "\x00\x3c\x00\xc0\x00\x38\xff\x7b\x01\x00"sv,
     f2le,
     {5},
     false,
     {1, -2, 0.5, 65504, 0x1p-24}},
    {"np.array([1, -2, 0.5, 65504, 2**-24], '>f2')",
     "{'descr': '>f2', 'fortran_order': False, 'shape': (5,), }",
     "\x3c\x00\xc0\x00\x38\x00\x7b\xff\x00\x01"sv,
     f2be,
     {5},
     false,
     {1, -2, 0.5, 65504, 0x1p-24}},
    {"np.array([1.5, -2.25, 0.1], '<f4')",
     "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
     "\x00\x00\xc0\x3f\x00\x00\x10\xc0\xcd\xcc\xcc\x3d"sv,
     f4le,
     {3},
     false,
     {1.5, -2.25, static_cast<double>(0.1f)}},
    {"np.array([1.5, -2.25, 0.1], '>f4')",
     "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }",
     "\x3f\xc0\x00\x00\xc0\x10\x00\x00\x3d\xcc\xcc\xcd"sv,
     f4be,
     {3},
     false,
     {1.5, -2.25, static_cast<double>(0.1f)}},
    {"np.array([0.1, -1e300], '<f8')",
     "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
     "\x9a\x99\x99\x99\x99\x99\xb9\x3f\x9c\x75\x00\x88\x3c\xe4\x37\xfe"sv,
     f8le,
     {2},
     false,
     {0.1, -1e300}},
    {"np.array([0.1, -1e300], '>f8')",
     "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }",
     "\x3f\xb9\x99\x99\x99\x99\x99\x9a\xfe\x37\xe4\x3c\x88\x00\x75\x9c"sv,
     f8be,
     {2},
     false,
     {0.1, -1e300}},
    {"np.array([-128, 127, -1], '|i1')",
     "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }",
     "\x80\x7f\xff"sv,
     dtype{scalar_kind::signed_int, 1, false},
     {3},
     false,
     {-128, 127, -1}},
    {"np.array([-32768, 32767, -2], '<i2')",
     "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }",
     "\x00\x80\xff\x7f\xfe\xff"sv,
     dtype{scalar_kind::signed_int, 2, false},
     {3},
     false,
     {-32768, 32767, -2}},
    {"np.array([-32768, 32767, -2], '>i2')",
     "{'descr': '>i2', 'fortran_order': False, 'shape': (3,), }",
     "\x80\x00\x7f\xff\xff\xfe"sv,
     dtype{scalar_kind::signed_int, 2, true},
     {3},
     false,
     {-32768, 32767, -2}},
    {"np.array([-2**31, 2**31-1], '<i4')",
     "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
     "\x00\x00\x00\x80\xff\xff\xff\x7f"sv,
     dtype{scalar_kind::signed_int, 4, false},
     {2},
     false,
     {-2147483648.0, 2147483647.0}},
    {"np.array([-2**31, 2**31-1], '>i4')",
     "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
     "\x80\x00\x00\x00\x7f\xff\xff\xff"sv,
     dtype{scalar_kind::signed_int, 4, true},
     {2},
     false,
     {-2147483648.0, 2147483647.0}},
    {"np.array([-2**63, 2**53+1], '<i8')",
     "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
     "\x00\x00\x00\x00\x00\x00\x00\x80\x01\x00\x00\x00\x00\x00\x20\x00"sv,
     dtype{scalar_kind::signed_int, 8, false},
     {2},
     false,
     {-0x1p63, 0x1p53}},
    {"np.array([-2**63, 2**53+1], '>i8')",
     "{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }",
     "\x80\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x00\x00\x00\x00\x01"sv,
     dtype{scalar_kind::signed_int, 8, true},
     {2},
     false,
     {-0x1p63, 0x1p53}},
    {"np.array([0, 255], '|u1')",
     "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }",
     "\x00\xff"sv,
     dtype{scalar_kind::unsigned_int, 1, false},
     {2},
     false,
     {0, 255}},
    {"np.array([65535, 258], '<u2')",
     "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }",
     "\xff\xff\x02\x01"sv,
     dtype{scalar_kind::unsigned_int, 2, false},
     {2},
     false,
     {65535, 258}},
    {"np.array([65535, 258], '>u2')",
     "{'descr': '>u2', 'fortran_order': False, 'shape': (2,), }",
     "\xff\xff\x01\x02"sv,
     dtype{scalar_kind::unsigned_int, 2, true},
     {2},
     false,
     {65535, 258}},
    {"np.array([2**32-1, 16909060], '<u4')",
     "{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }",
     "\xff\xff\xff\xff\x04\x03\x02\x01"sv,
     dtype{scalar_kind::unsigned_int, 4, false},
     {2},
     false,
     {4294967295.0, 16909060}},
    {"np.array([2**32-1, 16909060], '>u4')",
     "{'descr': '>u4', 'fortran_order': False, 'shape': (2,), }",
     "\xff\xff\xff\xff\x01\x02\x03\x04"sv,
     dtype{scalar_kind::unsigned_int, 4, true},
     {2},
     false,
     {4294967295.0, 16909060}},
    {"np.array([2**64-1, 1], '<u8')",
     "{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }",
     "\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00\x00\x00\x00\x00\x00\x00"sv,
     dtype{scalar_kind::unsigned_int, 8, false},
     {2},
     false,
     {0x1p64, 1}},
    {"np.array([2**64-1, 1], '>u8')",
     "{'descr': '>u8', 'fortran_order': False, 'shape': (2,), }",
     "\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x01"sv,
     dtype{scalar_kind::unsigned_int, 8, true},
     {2},
     false,
     {0x1p64, 1}},
    {"np.array([False, True], '|b1')",
     "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
     "\x00\x01"sv,
     dtype{scalar_kind::boolean, 1, false},
     {2},
     false,
     {0, 1}},
    {"np.asfortranarray(np.array([[1, 2, 3], [4, 5, 6]], '<f8'))",
     "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
     "\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\x10\x40"
     "\x00\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x14\x40"
     "\x00\x00\x00\x00\x00\x00\x08\x40\x00\x00\x00\x00\x00\x00\x18\x40"sv,
     f8le,
     {2, 3},
     true,
     {1, 4, 2, 5, 3, 6}},
    {"np.asfortranarray(np.array([[1, 2, 3], [4, 5, 6]], '>i2'))",
     "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }",
     "\x00\x01\x00\x04\x00\x02\x00\x05\x00\x03\x00\x06"sv,
     dtype{scalar_kind::signed_int, 2, true},
     {2, 3},
     true,
     {1, 4, 2, 5, 3, 6}},
};

}  // namespace

TEST_CASE("open_tensor reads every dtype, both byte orders and Fortran order from .npy") {
  temp_dir dir;
  for (const fixture& f : fixtures) {
    CAPTURE(f.made_by);
    const std::string path = dir.file("f.npy");
    write_bytes(path, npy_file(f.dict, f.data));
    const auto source = bnorm::open_tensor(path, bnorm::codec_named("npy"));
    CHECK(source->info().type == f.type);
    CHECK(source->info().shape == f.shape);
    CHECK(source->info().fortran_order == f.fortran);
    CHECK(read_all(*source) == f.values);
    CHECK(read_all(*source, 1000) == f.values);  // readable more than once, in any block size
  }
}

TEST_CASE("open_tensor reads .npy files larger than its read block, in any span size") {
  // 1100001 float32 (4.4 MB, more than the 4 MiB raw block): value i is i − 550000.
  temp_dir dir;
  const std::size_t n = 1100001;
  std::string data(4 * n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(static_cast<double>(i) - 550000.0);
    std::memcpy(data.data() + 4 * i, &v, 4);
  }
  const std::string path = dir.file("big.npy");
  write_bytes(path,
              npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1100001,), }", data));
  const auto source = bnorm::open_tensor(path, bnorm::codec_named("npy"));
  for (const std::size_t block : {std::size_t{16384}, std::size_t{999983}, std::size_t{3 << 20}}) {
    CAPTURE(block);
    const std::vector<double> values = read_all(*source, block);
    REQUIRE(values.size() == n);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < n; ++i) {
      wrong += values[i] != static_cast<double>(i) - 550000.0;
    }
    CHECK(wrong == 0);
  }
}

TEST_CASE("a .npy file that shrinks after opening is an io_error") {
  temp_dir dir;
  const std::string path = dir.file("shrinks.npy");
  const fixture& f = fixtures[2];
  write_bytes(path, npy_file(f.dict, f.data));
  const auto source = bnorm::open_tensor(path, bnorm::codec_named("npy"));
  REQUIRE(::truncate(path.c_str(), 128 + 4) == 0);
  std::vector<double> buffer(3);
  CHECK_THROWS_WITH_AS(source->read_at(0, buffer),
                       (path + ": the file shrank while being read").c_str(), io_error);
}

TEST_CASE("open_tensor reads .npy from a pipe") {
  temp_dir dir;
  const std::string path = dir.file("pipe.npy");
  const fixture& f = fixtures[3];  // '>f4'
  const fifo_writer writer(path, npy_file(f.dict, f.data));
  const auto source = bnorm::open_tensor(path, bnorm::codec_named("npy"));
  CHECK(source->info().type == f.type);
  CHECK(read_all(*source) == f.values);
  CHECK(read_all(*source) == f.values);  // held in memory, so it reads again
}

TEST_CASE("open_tensor reads .npy versions 2.0 and 3.0") {
  temp_dir dir;
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  for (const char version : {'\x02', '\x03'}) {
    std::string bytes("\x93NUMPY", 6);
    bytes += version;
    bytes += "\x00\x74\x00\x00\x00"sv;  // 116 bytes of header: data at 128
    bytes += dict;
    bytes.resize(127, ' ');
    bytes += '\n';
    bytes += "\x00\x00\xc0\x3f\x00\x00\x10\xc0\xcd\xcc\xcc\x3d"sv;
    write_bytes(dir.file("v.npy"), bytes);
    const auto source = bnorm::open_tensor(dir.file("v.npy"), bnorm::codec_named("npy"));
    CHECK(read_all(*source) == std::vector<double>{1.5, -2.25, static_cast<double>(0.1f)});
  }
}

TEST_CASE("open_tensor reads old NumPy's 16-byte aligned headers with Python 2 integers") {
  // NumPy before 1.14 padded the header to a 16-byte boundary: 80 bytes here (length 0x46).
  temp_dir dir;
  std::string bytes(
      "\x93NUMPY\x01\x00\x46\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3L,), }"sv);
  bytes.resize(79, ' ');
  bytes += '\n';
  bytes += "\x00\x00\xc0\x3f\x00\x00\x10\xc0\xcd\xcc\xcc\x3d"sv;
  write_bytes(dir.file("old.npy"), bytes);
  const auto source = bnorm::open_tensor(dir.file("old.npy"), bnorm::codec_named("npy"));
  CHECK(source->info().shape == std::vector<std::size_t>{3});
  CHECK(read_all(*source) == std::vector<double>{1.5, -2.25, static_cast<double>(0.1f)});
}

TEST_CASE("open_tensor refuses .npy data shorter or longer than the header says") {
  temp_dir dir;
  const std::string path = dir.file("x.npy");
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  SUBCASE("shorter") {
    write_bytes(path, npy_file(dict, std::string(8, '\0')));
    CHECK_THROWS_WITH_AS(
        bnorm::open_tensor(path, bnorm::codec_named("npy")),
        (path + ": data at byte 128 is 8 bytes, but shape (3,) of float32 needs 12").c_str(),
        data_error);
  }
  SUBCASE("longer") {
    write_bytes(path, npy_file(dict, std::string(16, '\0')));
    CHECK_THROWS_WITH_AS(
        bnorm::open_tensor(path, bnorm::codec_named("npy")),
        (path + ": data at byte 128 is 16 bytes, but shape (3,) of float32 needs 12").c_str(),
        data_error);
  }
  SUBCASE("no data at all for a huge claim, refused before anything is allocated") {
    write_bytes(path,
                npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2000000000,), }", ""));
    CHECK_THROWS_WITH_AS(
        bnorm::open_tensor(path, bnorm::codec_named("npy")),
        (path + ": data at byte 128 is 0 bytes, but shape (2000000000,) of float64 "
                "needs 16000000000")
            .c_str(),
        data_error);
  }
  SUBCASE("from a pipe, shorter") {
    const std::string fifo = dir.file("short.npy");
    const fifo_writer writer(fifo, npy_file(dict, std::string(11, '\0')));
    CHECK_THROWS_WITH_AS(
        bnorm::open_tensor(fifo, bnorm::codec_named("npy")),
        (fifo + ": data at byte 128 is 11 bytes, but shape (3,) of float32 needs 12").c_str(),
        data_error);
  }
  SUBCASE("from a pipe, longer") {
    const std::string fifo = dir.file("long.npy");
    const fifo_writer writer(fifo, npy_file(dict, std::string(5000, '\0')));
    CHECK_THROWS_WITH_AS(
        bnorm::open_tensor(fifo, bnorm::codec_named("npy")),
        // Refused at the first byte too many: the rest of a pipe may never end.
        (fifo + ": data at byte 128 is longer than the 12 bytes shape (3,) of float32 needs")
            .c_str(),
        data_error);
  }
}

TEST_CASE("open_tensor refuses malformed .npy headers, naming the file") {
  temp_dir dir;
  const std::string path = dir.file("bad.npy");
  SUBCASE("empty file") {
    write_bytes(path, "");
    CHECK_THROWS_WITH_AS(bnorm::open_tensor(path, bnorm::codec_named("npy")),
                         (path + ": the file is empty (not a .npy file)").c_str(), data_error);
  }
  SUBCASE("not .npy at all") {
    write_bytes(path, "[[1, 2], [3, 4]]");
    CHECK_THROWS_WITH_AS(
        bnorm::open_tensor(path, bnorm::codec_named("npy")),
        (path + ": header at byte 0: not a .npy file (the magic string \\x93NUMPY is missing)")
            .c_str(),
        data_error);
  }
  SUBCASE("header length past the end of the file") {
    const std::string bytes =
        npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "").substr(0, 50);
    write_bytes(path, bytes);
    CHECK_THROWS_WITH_AS(
        bnorm::open_tensor(path, bnorm::codec_named("npy")),
        (path + ": header at byte 8: header length 118 runs past the end of the file "
                "(which has 50 bytes)")
            .c_str(),
        data_error);
  }
  SUBCASE("a file that ends inside the preamble") {
    write_bytes(path, "\x93NUMPY\x01\x00\x76"sv);
    CHECK_THROWS_WITH_AS(
        bnorm::open_tensor(path, bnorm::codec_named("npy")),
        (path + ": header at byte 9: the file ends inside the header length").c_str(), data_error);
  }
  SUBCASE("an unsupported dtype") {
    write_bytes(path, npy_file("{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }",
                               std::string(48, '\0')));
    CHECK_THROWS_WITH_AS(bnorm::open_tensor(path, bnorm::codec_named("npy")),
                         (path + ": header at byte 20: dtype '<c16' is complex, which batch "
                                 "normalization does not define")
                             .c_str(),
                         data_error);
  }
}

// Regression for a memory-safety bug: with a version-1.0 header length of 1, the reader had
// already taken 2 header bytes with a 12-byte prefix, then asked input_file::read for
// header_size − have = 1 − 2 bytes, i.e. SIZE_MAX, at header.data() + 2, past the string's end.
// On Linux read(2) happens to fail that with EFAULT (an io_error "Bad address"); elsewhere it
// could write the rest of the file over the stack.  Run in a child process so that a crash
// fails this check instead of the whole run.
TEST_CASE("a .npy header length shorter than the preamble's read-ahead is a data error") {
  temp_dir dir;
  const std::string path = dir.file("short-header.npy");
  write_bytes(path, std::string("\x93NUMPY\x01\x00\x01\x00{}"sv) + std::string(200, ' '));
  const std::string expected = path + ": header at byte 11: the header ends too early";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int status = 10;
    try {
      bnorm::open_tensor(path, bnorm::codec_named("npy"));
      status = 11;
    } catch (const data_error& e) {
      status = expected == e.what() ? 0 : 12;
    } catch (const io_error&) {
      status = 13;
    } catch (...) {
      status = 14;
    }
    ::_exit(status);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));       // not killed by a signal
  CHECK(WEXITSTATUS(status) == 0);  // 13: io_error "Bad address"
}

TEST_CASE("open_tensor of a missing file is an io_error") {
  temp_dir dir;
  const std::string path = dir.file("absent.npy");
  CHECK_THROWS_WITH_AS(bnorm::open_tensor(path, bnorm::codec_named("npy")),
                       (path + ": No such file or directory").c_str(), io_error);
  CHECK_THROWS_WITH_AS(bnorm::open_tensor(dir.file("absent.json"), bnorm::codec_named("json")),
                       (dir.file("absent.json") + ": No such file or directory").c_str(), io_error);
}

TEST_CASE("open_tensor reads JSON tensors as float64 in C order") {
  temp_dir dir;
  const std::string path = dir.file("t.json");
  write_bytes(path, "[[1, 2.5, NaN],\n [4, -0, 6]]\n");
  const auto source = bnorm::open_tensor(path, bnorm::codec_named("json"));
  CHECK(source->info().type == dtype::float64());
  CHECK(source->info().shape == std::vector<std::size_t>{2, 3});
  CHECK_FALSE(source->info().fortran_order);
  const std::vector<double> values = read_all(*source);
  REQUIRE(values.size() == 6);
  CHECK(values[1] == 2.5);
  CHECK(std::isnan(values[2]));
  CHECK(std::signbit(values[4]));
  SUBCASE("errors carry the file name and line:column") {
    write_bytes(path, "[[1, 2],\n [3]]");
    CHECK_THROWS_WITH_AS(
        bnorm::open_tensor(path, bnorm::codec_named("json")),
        (path + ": line 2, column 4: ragged array: 1 element where the first array "
                "at depth 2 has 2")
            .c_str(),
        data_error);
  }
}

TEST_CASE("memory_source reads its values at any position") {
  auto source = bnorm::memory_source({dtype::float32(), {5}, false}, {1, 2, 3, 4, 5});
  CHECK(source->info().shape == std::vector<std::size_t>{5});
  std::vector<double> buffer(2);
  source->read_at(3, buffer);
  CHECK(buffer == std::vector<double>{4, 5});
  source->read_at(0, buffer);
  CHECK(buffer == std::vector<double>{1, 2});
  CHECK(read_all(*source) == std::vector<double>{1, 2, 3, 4, 5});
}

TEST_CASE("the .npy sink writes NumPy's bytes") {
  temp_dir dir;
  SUBCASE("float32, C order: np.save of np.array([1.5, -2.25, 0.1], '<f4')") {
    const fixture& f = fixtures[2];
    {
      bnorm::output_file out(dir.file("o.npy"));
      auto sink = bnorm::codec_named("npy")->make_sink(out, {f4le, {3}, false});
      const std::vector<double> values = {1.5, -2.25, 0.1};  // 0.1 rounds to 0.1f
      // Out of order, as threads may write.
      sink->write_at(1, std::span<const double>(values).subspan(1));
      sink->write_at(0, std::span<const double>(values).first(1));
      sink->finish();
      out.commit();
    }
    CHECK(hex(read_bytes(dir.file("o.npy"))) == hex(npy_file(f.dict, f.data)));
  }
  SUBCASE("float64, Fortran order, values in file order") {
    const fixture& f = fixtures[21];  // np.asfortranarray(... '<f8')
    {
      bnorm::output_file out(dir.file("o.npy"));
      auto sink = bnorm::codec_named("npy")->make_sink(out, {f8le, {2, 3}, true});
      sink->write_at(0, f.values);
      sink->finish();
      out.commit();
    }
    CHECK(hex(read_bytes(dir.file("o.npy"))) == hex(npy_file(f.dict, f.data)));
  }
  SUBCASE("float16") {
    const fixture& f = fixtures[0];
    {
      bnorm::output_file out(dir.file("o.npy"));
      auto sink = bnorm::codec_named("npy")->make_sink(out, {f2le, {5}, false});
      sink->write_at(0, f.values);
      sink->finish();
      out.commit();
    }
    CHECK(hex(read_bytes(dir.file("o.npy"))) == hex(npy_file(f.dict, f.data)));
  }
}

// Regression: the .npy sink wrote the header's descr from info.type while encode() always
// produces little-endian floats, so a big-endian type got a '>f4' header over little-endian
// data, which NumPy reads as different numbers.  The header now describes what is written.
TEST_CASE("the .npy sink's header describes the little-endian floats it writes") {
  temp_dir dir;
  {
    bnorm::output_file out(dir.file("be.npy"));
    auto sink = bnorm::codec_named("npy")->make_sink(out, {f4be, {3}, false});
    sink->write_at(0, std::vector<double>{1.5, -2.25, 0.1});
    sink->finish();
    out.commit();
  }
  const std::string written = read_bytes(dir.file("be.npy"));
  CHECK(written.find("'descr': '<f4'") != std::string::npos);
  // np.array([1.5, -2.25, 0.1], '<f4').tobytes().hex()
  CHECK(hex(written.substr(128)) == "0000c03f000010c0cdcccc3d");
}

TEST_CASE("the JSON sink writes nested arrays in C order, numbers in the output type") {
  temp_dir dir;
  const auto write_json = [&](bnorm::tensor_info info, const std::vector<double>& values) {
    {
      bnorm::output_file out(dir.file("o.json"));
      auto sink = bnorm::codec_named("json")->make_sink(out, std::move(info));
      const std::span<const double> all(values);
      sink->write_at(values.size() / 2, all.subspan(values.size() / 2));
      sink->write_at(0, all.first(values.size() / 2));
      sink->finish();
      out.commit();
    }
    return read_bytes(dir.file("o.json"));
  };
  CHECK(write_json({f4le, {2, 3}, false}, {0.1, 2, 3, 4, 5, 6}) == "[[0.1, 2, 3],\n [4, 5, 6]]\n");
  CHECK(write_json({f8le, {2, 3}, false}, {0.1, 2, 3, 4, 5, 6}) == "[[0.1, 2, 3],\n [4, 5, 6]]\n");
  CHECK(write_json({f2le, {3}, false}, {0.1, 1.0 / 3.0, -0.0}) == "[0.1, 0.3333, -0.0]\n");
  SUBCASE("Fortran-order values are transposed to C order") {
    CHECK(write_json({f8le, {2, 3}, true}, {1, 4, 2, 5, 3, 6}) == "[[1, 2, 3],\n [4, 5, 6]]\n");
    // (2, 3, 4): file position i + 2j + 6k holds 100i + 10j + k.
    std::vector<double> fortran(24), c_order;
    for (std::size_t k = 0; k < 4; ++k) {
      for (std::size_t j = 0; j < 3; ++j) {
        for (std::size_t i = 0; i < 2; ++i) {
          fortran[i + 2 * j + 6 * k] = static_cast<double>(100 * i + 10 * j + k);
        }
      }
    }
    for (std::size_t i = 0; i < 2; ++i) {
      for (std::size_t j = 0; j < 3; ++j) {
        for (std::size_t k = 0; k < 4; ++k) {
          c_order.push_back(static_cast<double>(100 * i + 10 * j + k));
        }
      }
    }
    std::string expected;
    bnorm::append_json_tensor(expected, c_order.data(), {2, 3, 4}, f8le);
    CHECK(write_json({f8le, {2, 3, 4}, true}, fortran) == expected);
    CHECK(expected.rfind("[[[0, 1, 2, 3],\n  [10, 11, 12, 13],", 0) == 0);
  }
}
