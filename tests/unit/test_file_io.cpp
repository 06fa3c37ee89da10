// SPDX-License-Identifier: Apache-2.0
// Inputs and all-or-nothing outputs on real files in a scratch folder, and on devices.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "test_support.hpp"

using bnorm::file_identity;
using bnorm::file_lock;
using bnorm::identify_path;
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

std::vector<std::string> entries_of(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Outputs opened in one scope use named temporaries, as without O_TMPFILE.
class named_temporaries {
 public:
  named_temporaries() { bnorm::use_named_temporaries(true); }
  ~named_temporaries() { bnorm::use_named_temporaries(false); }
  named_temporaries(const named_temporaries&) = delete;
  named_temporaries& operator=(const named_temporaries&) = delete;
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
    // Before commit the temporary has no name: nothing for a SIGKILL to leave behind.
    CHECK(dir.entries().empty());
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
    out.commit();
  }
  std::filesystem::current_path(previous);
  CHECK(dir.entries() == std::vector<std::string>{"relative.json"});
  CHECK(read_bytes(dir.file("relative.json")) == "{}");
}

TEST_CASE("named temporaries, where there is no O_TMPFILE, sit beside the target until commit") {
  temp_dir dir;
  {
    const named_temporaries named;
    output_file out(dir.file("out.npy"));
    out.write("named");
    const std::vector<std::string> entries = dir.entries();
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].rfind(".out.npy.bnorm-", 0) == 0);
    out.commit();
  }
  CHECK(dir.entries() == std::vector<std::string>{"out.npy"});
  CHECK(read_bytes(dir.file("out.npy")) == "named");
}

TEST_CASE("remove_temporaries removes the temporaries of uncommitted outputs only") {
  temp_dir dir;
  const named_temporaries named;
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

TEST_CASE("an output through a symbolic link replaces the link's target and keeps the link") {
  temp_dir dir;
  const std::string link = dir.file("link.npy");
  SUBCASE("an existing target, through a chain of links, one relative and in another folder") {
    std::filesystem::create_directory(dir.file("data"));
    write_bytes(dir.file("data/real.npy"), "old");
    REQUIRE(::chmod(dir.file("data/real.npy").c_str(), 0640) == 0);
    std::filesystem::create_symlink("real.npy", dir.file("data/inner.npy"));
    std::filesystem::create_symlink(dir.file("data/inner.npy"), link);
    for (const bool named : {false, true}) {
      if (named) bnorm::use_named_temporaries(true);
      output_file out(link);
      out.write(named ? "named" : "unnamed");
      out.commit();
      bnorm::use_named_temporaries(false);
      CHECK(read_bytes(dir.file("data/real.npy")) == (named ? "named" : "unnamed"));
      CHECK(mode_of(dir.file("data/real.npy")) == 0640);
      CHECK(std::filesystem::is_symlink(link));
      CHECK(std::filesystem::is_symlink(dir.file("data/inner.npy")));
      CHECK(dir.entries() == std::vector<std::string>{"data", "link.npy"});
      CHECK(entries_of(dir.file("data")) == std::vector<std::string>{"inner.npy", "real.npy"});
    }
  }
  SUBCASE("a dangling link creates its target, as `>` does") {
    std::filesystem::create_symlink("new.npy", link);
    output_file out(link);
    out.write("created");
    out.commit();
    CHECK(std::filesystem::is_symlink(link));
    CHECK(read_bytes(dir.file("new.npy")) == "created");
    CHECK(dir.entries() == std::vector<std::string>{"link.npy", "new.npy"});
  }
}

TEST_CASE("replacing an existing file leaves no name behind before commit or after failure") {
  temp_dir dir;
  const std::string target = dir.file("state.json");
  write_bytes(target, "old");
  {
    output_file out(target);
    out.write(std::string(3 << 20, 'x'));
    out.finish();
    CHECK(dir.entries() == std::vector<std::string>{"state.json"});
    CHECK(read_bytes(target) == "old");
  }
  CHECK(read_bytes(target) == "old");
  CHECK(dir.entries() == std::vector<std::string>{"state.json"});
  SUBCASE("a target created after the output was opened is replaced, not refused") {
    output_file out(dir.file("late.json"));
    out.write("mine");
    write_bytes(dir.file("late.json"), "theirs");
    out.commit();
    CHECK(read_bytes(dir.file("late.json")) == "mine");
    CHECK(dir.entries() == std::vector<std::string>{"late.json", "state.json"});
  }
}

TEST_CASE("identify_path sees one file through hard links, symbolic links and ..") {
  temp_dir dir;
  std::filesystem::create_directory(dir.file("sub"));
  write_bytes(dir.file("a.npy"), "a");
  write_bytes(dir.file("b.npy"), "b");
  std::filesystem::create_hard_link(dir.file("a.npy"), dir.file("hard.npy"));
  std::filesystem::create_symlink("a.npy", dir.file("soft.npy"));
  std::filesystem::create_symlink("missing.npy", dir.file("dangling.npy"));
  const file_identity a = identify_path(dir.file("a.npy"));
  CHECK(a.known);
  CHECK(a.exists());
  CHECK(identify_path(dir.file("hard.npy")) == a);
  CHECK(identify_path(dir.file("soft.npy")) == a);
  CHECK(identify_path(dir.file("sub/../a.npy")) == a);
  CHECK_FALSE(identify_path(dir.file("b.npy")) == a);
  // Files not there yet: the same folder and name, however spelled.
  const file_identity fresh = identify_path(dir.file("missing.npy"));
  CHECK(fresh.known);
  CHECK_FALSE(fresh.exists());
  CHECK(fresh.new_name == "missing.npy");
  CHECK(identify_path(dir.file("sub/../missing.npy")) == fresh);
  CHECK(identify_path(dir.file("dangling.npy")) == fresh);
  CHECK_FALSE(identify_path(dir.file("sub/missing.npy")) == fresh);
  CHECK_FALSE(identify_path(dir.file("no/such/folder.npy")).known);
}

TEST_CASE("file_lock: a waiter whose file was replaced meanwhile locks the new one") {
  temp_dir dir;
  const std::string state = dir.file("state.json");
  write_bytes(state, "1");
  const auto locked_by_other = [&] {
    // flock locks belong to an open file description: a new one conflicts even in-process.
    const int fd = ::open(state.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    const bool busy = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);
    return busy;
  };
  auto first = std::make_unique<file_lock>(state);
  CHECK(first->unavailable() == 0);
  CHECK(locked_by_other());
  std::atomic<bool> second_holds{false};
  std::unique_ptr<file_lock> second;
  std::thread waiter([&] {
    second = std::make_unique<file_lock>(state);  // waits on the old inode
    second_holds = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(second_holds.load());
  {
    output_file out(state);
    out.write("2");
    out.commit();  // a new inode under the name, while `first` is held
  }
  first.reset();
  waiter.join();
  CHECK(second_holds.load());
  CHECK(second->unavailable() == 0);
  CHECK(locked_by_other());  // the lock is on the file the path names now
  second.reset();
  CHECK_FALSE(locked_by_other());
}

TEST_CASE("peek gives a pipe's bytes back to read, and a regular file's leave it in place") {
  bnorm_test::temp_dir dir;
  const std::string path = dir.file("f");
  bnorm_test::write_bytes(path, "0123456789");
  bnorm::input_file file(path);
  CHECK(file.peek(4) == "0123");
  CHECK(file.peek(20) == "0123456789");
  CHECK(file.read_all() == "0123456789");

  const std::string fifo = dir.file("pipe");
  const bnorm_test::fifo_writer writer(fifo, "abcdefghij");
  bnorm::input_file pipe(fifo);
  CHECK(pipe.peek(3) == "abc");
  CHECK(pipe.peek(5) == "abcde");
  char two[2];
  CHECK(pipe.read(two, 2) == 2);
  CHECK(std::string(two, 2) == "ab");
  CHECK(pipe.read_all() == "cdefghij");
}

TEST_CASE("an end of file that peek met on a terminal is not asked for again") {
  // A terminal's end of file is one Ctrl-D: reading again would wait for the user to press
  // another.  The test presses a second one after a second, so that a regression fails by
  // taking that long instead of hanging.
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string slave = ::ptsname(master);
  bnorm::input_file terminal(slave);
  const std::string typed = "[[1, 2]]\n\x04";
  REQUIRE(::write(master, typed.data(), typed.size()) == static_cast<ssize_t>(typed.size()));
  std::thread second_ctrl_d([master] {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    (void)!::write(master, "\x04", 1);
  });
  const auto start = std::chrono::steady_clock::now();
  CHECK(terminal.peek(64) == "[[1, 2]]\n");
  CHECK(terminal.read_all() == "[[1, 2]]\n");
  const auto waited = std::chrono::steady_clock::now() - start;
  second_ctrl_d.join();
  ::close(master);
  CHECK(waited < std::chrono::milliseconds(900));
}

TEST_CASE("outputs released when finished hold no descriptor and are all removed by a signal") {
  temp_dir dir;
  // More outputs than the fixed slots of remove_temporaries (8): the rest are in blocks.
  constexpr int outputs = 300;
  std::vector<std::unique_ptr<output_file>> pending;
  const auto open_descriptors = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                         std::filesystem::directory_iterator{});
  };
  const auto before = open_descriptors();
  for (int i = 0; i < outputs; ++i) {
    pending.push_back(std::make_unique<output_file>(dir.file(std::to_string(i) + ".npy"), true));
    pending.back()->write("data");
    pending.back()->finish();
  }
  CHECK(open_descriptors() == before);
  CHECK(dir.entries().size() == outputs);  // the temporaries, by name
  bnorm::remove_temporaries();
  CHECK(dir.entries().empty());
}

TEST_CASE("commit_together of many released outputs publishes every one") {
  temp_dir dir;
  std::vector<std::unique_ptr<output_file>> outputs;
  std::vector<output_file*> all;
  for (int i = 0; i < 40; ++i) {
    outputs.push_back(std::make_unique<output_file>(dir.file(std::to_string(i) + ".npy"), true));
    outputs.back()->write(std::to_string(i));
    all.push_back(outputs.back().get());
  }
  all.push_back(nullptr);  // an output not asked for
  bnorm::commit_together(all);
  CHECK(dir.entries().size() == 40);
  CHECK(read_bytes(dir.file("39.npy")) == "39");
  outputs.clear();  // committed: destroying them removes nothing
  CHECK(dir.entries().size() == 40);
}
