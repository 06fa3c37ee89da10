// Inputs and all-or-nothing outputs on real files in a scratch folder, and on devices.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "test_support.hpp"

using bnorm::input_file;
using bnorm::io_error;
using bnorm::output_file;
using bnorm_test::read_bytes;
using bnorm_test::temp_dir;
using bnorm_test::write_bytes;

namespace {

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st;
}

mode_t mode_of(const std::string& path) {
  return stat_of(path).st_mode & 07777;
}

// Sets the process umask for one scope.
class umask_scope {
 public:
  explicit umask_scope(mode_t mask) : old_(::umask(mask)) {}
  ~umask_scope() { ::umask(old_); }
  umask_scope(const umask_scope&) = delete;
  umask_scope& operator=(const umask_scope&) = delete;

 private:
  mode_t old_;
};

}  // namespace

TEST_CASE("output_file writes a new file through a temporary renamed by commit") {
  temp_dir dir;
  const std::string target = dir.file("out.npy");
  {
    output_file out(target);
    CHECK(out.name() == target);
    out.write("hello, ");
    out.write(std::string("world"));
    // Before commit: only the hidden temporary beside the target.
    const std::vector<std::string> entries = dir.entries();
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].rfind(".out.npy.bnorm-", 0) == 0);
    out.commit();
    CHECK(dir.entries() == std::vector<std::string>{"out.npy"});
  }
  CHECK(read_bytes(target) == "hello, world");
  CHECK(dir.entries() == std::vector<std::string>{"out.npy"});
}

TEST_CASE("output_file destroyed without commit leaves no file and no temporary") {
  temp_dir dir;
  {
    output_file out(dir.file("never.json"));
    out.write("partial");
  }
  CHECK(dir.entries().empty());
  SUBCASE("an existing target keeps its content") {
    write_bytes(dir.file("kept.json"), "old");
    {
      output_file out(dir.file("kept.json"));
      out.write("new content that must not appear");
    }
    CHECK(read_bytes(dir.file("kept.json")) == "old");
    CHECK(dir.entries() == std::vector<std::string>{"kept.json"});
  }
  SUBCASE("also when the destruction comes from an exception") {
    try {
      output_file out(dir.file("thrown.json"));
      out.write("partial");
      throw std::runtime_error("a failure between write and commit");
    } catch (const std::runtime_error&) {
    }
    CHECK(dir.entries().empty());
  }
}

TEST_CASE("commit replaces an existing file atomically and keeps its mode") {
  temp_dir dir;
  const std::string target = dir.file("data.npy");
  write_bytes(target, "old");
  REQUIRE(::chmod(target.c_str(), 0640) == 0);
  const ino_t old_inode = stat_of(target).st_ino;
  std::ifstream reader_of_old(target, std::ios::binary);  // opened before the replacement
  {
    output_file out(target);
    out.write("new");
    CHECK(read_bytes(target) == "old");  // untouched until commit
    out.commit();
  }
  CHECK(read_bytes(target) == "new");
  CHECK(mode_of(target) == 0640);
  // Replaced by rename, not truncated in place: a reader of the old file still sees it whole.
  CHECK(stat_of(target).st_ino != old_inode);
  std::string old_content;
  std::getline(reader_of_old, old_content);
  CHECK(old_content == "old");
  CHECK(dir.entries() == std::vector<std::string>{"data.npy"});

  SUBCASE("other modes are kept too") {
    for (const mode_t mode : {mode_t{0600}, mode_t{0755}, mode_t{0444}}) {
      CAPTURE(mode);
      REQUIRE(::chmod(target.c_str(), mode) == 0);
      output_file out(target);
      out.write("x");
      out.commit();
      CHECK(mode_of(target) == mode);
    }
  }
}

TEST_CASE("a new file gets 0666 less the umask, as open(2) would give it") {
  temp_dir dir;
  {
    const umask_scope mask(027);
    output_file out(dir.file("masked"));
    out.commit();
  }
  CHECK(mode_of(dir.file("masked")) == 0640);
  {
    const umask_scope mask(0);
    output_file out(dir.file("open"));
    out.commit();
  }
  CHECK(mode_of(dir.file("open")) == 0666);
}

TEST_CASE("output_file writes more than its buffer in any mix of sizes") {
  temp_dir dir;
  std::string expected;
  {
    output_file out(dir.file("big"));
    const std::size_t sizes[] = {1, 1000, (1 << 20) - 1, 3, (3 << 20) / 2, 7, 1 << 20, 0, 12345};
    char fill = 'a';
    for (const std::size_t size : sizes) {
      const std::string block(size, fill);
      fill = fill == 'z' ? 'a' : static_cast<char>(fill + 1);
      out.write(block.data(), block.size());
      expected += block;
    }
    out.commit();
  }
  CHECK(read_bytes(dir.file("big")) == expected);
}

TEST_CASE("a target without a folder is written beside it, in the working directory") {
  temp_dir dir;
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  {
    output_file out("relative.json");
    out.write("{}");
    CHECK(dir.entries().size() == 1);  // the temporary is in the working directory
    out.commit();
  }
  std::filesystem::current_path(previous);
  CHECK(dir.entries() == std::vector<std::string>{"relative.json"});
  CHECK(read_bytes(dir.file("relative.json")) == "{}");
}

TEST_CASE("remove_temporaries removes the temporaries of uncommitted outputs only") {
  temp_dir dir;
  output_file committed(dir.file("done.npy"));
  committed.write("done");
  committed.commit();
  output_file pending(dir.file("pending.npy"));
  pending.write("partial");
  output_file other(dir.file("other.npy"));
  REQUIRE(dir.entries().size() == 3);  // done.npy and two temporaries
  bnorm::remove_temporaries();         // what the CLI's SIGINT/SIGTERM handler calls
  CHECK(dir.entries() == std::vector<std::string>{"done.npy"});
  CHECK(read_bytes(dir.file("done.npy")) == "done");
  // The interrupted output can no longer appear.
  CHECK_THROWS_WITH_AS(
      pending.commit(),
      (dir.file("pending.npy") + ": rename failed: No such file or directory").c_str(), io_error);
  CHECK(dir.entries() == std::vector<std::string>{"done.npy"});
}

TEST_CASE("output_file into a folder that cannot take the file is an io_error") {
  temp_dir dir;
  const std::string missing = dir.file("missing/x.npy");
  CHECK_THROWS_WITH_AS(
      output_file{missing},
      (missing + ": cannot create a file in " + dir.path() + "/missing/: No such file or directory")
          .c_str(),
      io_error);
  write_bytes(dir.file("plain"), "");
  const std::string under_file = dir.file("plain/x.npy");
  CHECK_THROWS_WITH_AS(
      output_file{under_file},
      (under_file + ": cannot create a file in " + dir.path() + "/plain/: Not a directory").c_str(),
      io_error);
  CHECK_THROWS_WITH_AS(output_file{dir.path()}, (dir.path() + ": Is a directory").c_str(),
                       io_error);
  CHECK(dir.entries() == std::vector<std::string>{"plain"});
}

TEST_CASE("/dev/full: the write fails with io_error and the device stays a device") {
  SUBCASE("buffered bytes fail at commit") {
    output_file out("/dev/full");
    out.write("x");
    CHECK_THROWS_WITH_AS(out.commit(), "/dev/full: write failed: No space left on device",
                         io_error);
  }
  SUBCASE("a block larger than the buffer fails at write") {
    output_file out("/dev/full");
    const std::string block(2 << 20, 'x');
    CHECK_THROWS_WITH_AS(out.write(block), "/dev/full: write failed: No space left on device",
                         io_error);
  }
  CHECK(S_ISCHR(stat_of("/dev/full").st_mode));
}

TEST_CASE("character devices are written directly") {
  output_file out("/dev/null");
  out.write("discarded");
  CHECK_NOTHROW(out.commit());
  CHECK(S_ISCHR(stat_of("/dev/null").st_mode));
}

TEST_CASE("input_file reads regular files in pieces and seeks") {
  temp_dir dir;
  const std::string path = dir.file("in.bin");
  write_bytes(path, std::string("0123456789\0abc", 14));
  input_file in(path);
  CHECK(in.name() == path);
  CHECK(in.seekable());
  CHECK(in.size() == 14);
  char buffer[8] = {};
  CHECK(in.read(buffer, 4) == 4);
  CHECK(std::string(buffer, 4) == "0123");
  CHECK(in.read(buffer, 8) == 8);
  CHECK(std::string(buffer, 8) == std::string("456789\0a", 8));
  CHECK(in.read(buffer, 8) == 2);  // fewer only at the end
  CHECK(in.read(buffer, 8) == 0);
  // Positional reads neither move nor depend on the position.
  CHECK(in.read_at(10, buffer, 8) == 4);
  CHECK(std::string(buffer, 4) == std::string("\0abc", 4));
  CHECK(in.read_at(0, buffer, 3) == 3);
  CHECK(std::string(buffer, 3) == "012");
  CHECK(in.read_at(14, buffer, 8) == 0);
}

TEST_CASE("read_text_file reads a whole file, also one larger than its read chunk") {
  temp_dir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += std::to_string(i) + ",";
  write_bytes(dir.file("t.json"), text);
  CHECK(bnorm::read_text_file(dir.file("t.json")) == text);
  write_bytes(dir.file("empty"), "");
  CHECK(bnorm::read_text_file(dir.file("empty")).empty());
}

TEST_CASE("input_file of devices and standard input") {
  input_file null("/dev/null");
  CHECK_FALSE(null.seekable());
  CHECK(null.read_all().empty());
  input_file zero("/dev/zero");
  char buffer[5] = {1, 1, 1, 1, 1};
  CHECK(zero.read(buffer, 5) == 5);
  CHECK(std::string(buffer, 5) == std::string(5, '\0'));
  CHECK(input_file("-").name() == "<stdin>");
}

TEST_CASE("input_file of a missing file or a folder is an io_error") {
  temp_dir dir;
  const std::string missing = dir.file("absent.npy");
  CHECK_THROWS_WITH_AS(input_file{missing}, (missing + ": No such file or directory").c_str(),
                       io_error);
  CHECK_THROWS_WITH_AS(bnorm::read_text_file(missing),
                       (missing + ": No such file or directory").c_str(), io_error);
  CHECK_THROWS_WITH_AS(input_file{dir.path()}, (dir.path() + ": Is a directory").c_str(), io_error);
}
