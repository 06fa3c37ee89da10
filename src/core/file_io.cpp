#include "file_io.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "error.hpp"

namespace bnorm {
namespace {

constexpr std::size_t output_buffer_size = 1 << 20;

// How much a replacing output writes between two requests to start writing back (see
// output_file::wrote).
constexpr std::size_t writeback_interval = std::size_t{32} << 20;

// Temporaries in flight, for remove_temporaries().  A signal handler may only read plain
// memory and call unlink(), so the paths are copied into fixed slots of lock-free atomics.
constexpr std::size_t max_temporaries = 8;
constexpr std::size_t max_temporary_path = 4096;
char temporary_paths[max_temporaries][max_temporary_path];
std::atomic<bool> temporary_in_use[max_temporaries];

// Outputs are opened and committed by one thread; only the signal handler reads concurrently,
// so a slot's path is written completely before the slot is marked live.
int register_temporary(const std::string& path) {
  if (path.size() >= max_temporary_path) return -1;
  for (std::size_t i = 0; i < max_temporaries; ++i) {
    if (temporary_in_use[i].load()) continue;
    std::memcpy(temporary_paths[i], path.c_str(), path.size() + 1);
    temporary_in_use[i].store(true);
    return static_cast<int>(i);
  }
  return -1;  // more outputs than slots: still correct, only not cleaned after a signal
}

void unregister_temporary(int slot) {
  if (slot >= 0) temporary_in_use[slot].store(false);
}

[[noreturn]] void fail(const std::string& name, const std::string& what, int err) {
  throw io_error(name + ": " + what + (what.empty() ? "" : ": ") + std::strerror(err));
}

std::string folder_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

input_file::input_file(const std::string& path) {
  if (path == standard_stream) {
    fd_ = STDIN_FILENO;
    name_ = "<stdin>";
  } else {
    name_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(name_, "", errno);
    owned_ = true;
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail(name_, "", errno);
  if (S_ISDIR(st.st_mode)) fail(name_, "", EISDIR);
  seekable_ = S_ISREG(st.st_mode);
  if (seekable_) {
    // Standard input may be a regular file already read from (`{ head -c 4; bnorm …; } < f`):
    // the data starts where the shell left it, not at byte 0.
    const off_t position = ::lseek(fd_, 0, SEEK_CUR);
    base_ = position > 0 ? static_cast<std::size_t>(position) : 0;
    const auto total = static_cast<std::size_t>(st.st_size);
    size_ = total > base_ ? total - base_ : 0;
  }
}

input_file::~input_file() {
  if (owned_) ::close(fd_);
}

namespace {

// Calls read_some(out, size, done) until `size` bytes are in or the file ends; a system call
// may return fewer bytes than asked, or be interrupted, without either being the end.
template <typename ReadSome>
std::size_t read_fully(void* buffer, std::size_t size, const std::string& name,
                       ReadSome&& read_some) {
  auto* out = static_cast<char*>(buffer);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = read_some(out + done, size - done, done);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(name, "read failed", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace

std::size_t input_file::read(void* buffer, std::size_t size) {
  return read_fully(buffer, size, name_, [&](char* out, std::size_t want, std::size_t) {
    return ::read(fd_, out, want);
  });
}

std::size_t input_file::read_at(std::size_t offset, void* buffer, std::size_t size) const {
  return read_fully(buffer, size, name_, [&](char* out, std::size_t want, std::size_t done) {
    return ::pread(fd_, out, want, static_cast<off_t>(base_ + offset + done));
  });
}

std::string input_file::read_all() {
  std::string text;
  // Grow with what actually arrives: a file's claimed size is never trusted for allocation.
  constexpr std::size_t chunk = 1 << 16;
  while (true) {
    const std::size_t old = text.size();
    text.resize(old + chunk);
    const std::size_t got = read(text.data() + old, chunk);
    text.resize(old + got);
    if (got < chunk) return text;
  }
}

void remove_temporaries() noexcept {
  for (std::size_t i = 0; i < max_temporaries; ++i) {
    if (temporary_in_use[i].exchange(false)) ::unlink(temporary_paths[i]);
  }
}

std::string read_text_file(const std::string& path) {
  input_file file(path);
  return file.read_all();
}

output_file::output_file(const std::string& path) : target_(path) {
  if (path == standard_stream) {
    fd_ = STDOUT_FILENO;
    name_ = "<stdout>";
    direct_ = true;
    return;
  }
  name_ = path;
  struct stat st {};
  mode_t mode = 0666;
  bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) fail(name_, "", EISDIR);
  if (exists && !S_ISREG(st.st_mode)) {
    // A device or a pipe: it cannot be replaced, so write to it as it is.
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) fail(name_, "", errno);
    direct_ = true;
    return;
  }
  if (exists) {
    replaces_ = true;
    mode = st.st_mode & 07777;  // keep an existing file's permissions
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode &= ~mask;
  }
  std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  temporary_ = folder_of(path) + "/." + base + ".bnorm-XXXXXX";
  // The signals whose handler removes temporaries wait while one is created and registered,
  // so that none can arrive between the two and leave it behind.
  sigset_t terminating, previous;
  sigemptyset(&terminating);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&terminating, s);
  ::pthread_sigmask(SIG_BLOCK, &terminating, &previous);
  fd_ = ::mkostemp(temporary_.data(), O_CLOEXEC);
  const int create_error = errno;
  if (fd_ >= 0) slot_ = register_temporary(temporary_);
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (fd_ < 0) {
    temporary_.clear();
    fail(name_, "cannot create a file in " + folder_of(path) + "/", create_error);
  }
  if (::fchmod(fd_, mode) != 0) {
    // A constructor that throws runs no destructor: clean up here.
    const int err = errno;
    ::close(fd_);
    ::unlink(temporary_.c_str());
    unregister_temporary(slot_);
    fail(name_, "", err);
  }
}

output_file::~output_file() {
  if (fd_ >= 0 && fd_ != STDOUT_FILENO) ::close(fd_);
  if (!committed_ && !temporary_.empty()) ::unlink(temporary_.c_str());
  unregister_temporary(slot_);
}

void output_file::write(const void* data, std::size_t size) {
  if (buffer_.size() + size > output_buffer_size) flush();
  if (size >= output_buffer_size) {
    write_all(data, size);  // large blocks skip the copy into the buffer
    return;
  }
  buffer_.append(static_cast<const char*>(data), size);
}

void output_file::flush() {
  write_all(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void output_file::write_all(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd_, bytes + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(name_, "write failed", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  wrote(size);
}

void output_file::write_at(std::size_t offset, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd_, bytes + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(name_, "write failed", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  wrote(size);
}

void output_file::wrote(std::size_t size) {
  if (!replaces_) return;
  const std::size_t before = written_.fetch_add(size, std::memory_order_relaxed);
  if ((before + size) / writeback_interval != before / writeback_interval) {
    // Renaming over an existing file makes the file system start writing the whole new file
    // back inside rename() (ext4's auto_da_alloc; btrfs does the same), one core on the
    // critical path.  Starting it as we go, every few MiB, spreads that work over the run,
    // where it overlaps with computing: 0.27 s -> 0.23 s for a 256 MiB train run here.  Only
    // a hint: nothing waits for it, and an error shows at close like any other.
#ifdef SYNC_FILE_RANGE_WRITE  // Linux's; elsewhere the file system's own pace is kept
    ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
  }
}

void output_file::finish() {
  if (finished_) return;
  flush();
  finished_ = true;
  if (direct_) return;
  // No fsync: the rename is atomic for every reader, which is the guarantee bnorm gives (an
  // interrupted run leaves the old file).  Like sed -i and zstd, bnorm leaves durability
  // against power loss to the file system; an fsync would cost more than a small run's work.
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail(name_, "close failed", errno);
}

void output_file::publish() {
  finish();
  if (committed_) return;
  if (!direct_ && ::rename(temporary_.c_str(), target_.c_str()) != 0) {
    fail(name_, "rename failed", errno);
  }
  committed_ = true;
  unregister_temporary(slot_);
  slot_ = -1;
}

void commit_together(std::initializer_list<output_file*> outputs) {
  for (output_file* out : outputs) {
    if (out) out->finish();
  }
  for (output_file* out : outputs) {
    if (out) out->publish();
  }
}

void output_file::commit() {
  finish();
  publish();
}

}  // namespace bnorm
