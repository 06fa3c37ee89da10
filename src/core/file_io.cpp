// SPDX-License-Identifier: Apache-2.0
#include "file_io.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <vector>

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

// A run of many outputs (apply over a folder) holds more temporaries than the fixed slots:
// the rest go into blocks of slots that are linked once and never freed, so that the signal
// handler may walk them while the run adds more.  A slot's path buffer is only ever replaced
// by a larger one while the slot is free, and the old one is kept, not freed: a handler on
// another thread may still be reading it.  Kept buffers are linked from `retired_paths`, so
// that they stay reachable (LeakSanitizer counts an unreachable one as a leak).
struct path_buffer {
  char* text;
  path_buffer* next_retired = nullptr;
};
path_buffer* retired_paths = nullptr;  // main thread only

path_buffer* new_path_buffer(std::size_t length) { return new path_buffer{new char[length + 1]}; }

struct overflow_slot {
  std::atomic<bool> in_use{false};
  std::atomic<path_buffer*> path{nullptr};
  std::size_t capacity = 0;
};
constexpr std::size_t overflow_block_slots = 256;
struct overflow_block {
  overflow_slot slots[overflow_block_slots];
  std::atomic<overflow_block*> next{nullptr};
};
std::atomic<overflow_block*> overflow_blocks{nullptr};
std::size_t overflow_free_hint = 0;  // no free slot below it (main thread only)

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
  std::atomic<overflow_block*>* link = &overflow_blocks;
  std::size_t index = 0;
  while (true) {
    overflow_block* block = link->load();
    if (!block) {
      block = new overflow_block;
      link->store(block);
    }
    for (std::size_t j = 0; j < overflow_block_slots; ++j, ++index) {
      overflow_slot& slot = block->slots[j];
      if (index < overflow_free_hint || slot.in_use.load()) continue;
      if (slot.capacity <= path.size()) {
        path_buffer* old_buffer = slot.path.exchange(new_path_buffer(path.size()));
        if (old_buffer) {
          old_buffer->next_retired = retired_paths;
          retired_paths = old_buffer;
        }
        slot.capacity = path.size() + 1;
      }
      std::memcpy(slot.path.load()->text, path.c_str(), path.size() + 1);
      slot.in_use.store(true);
      overflow_free_hint = index + 1;
      return static_cast<int>(max_temporaries + index);
    }
    link = &block->next;
  }
}

void unregister_temporary(int slot) {
  if (slot < 0) return;
  if (static_cast<std::size_t>(slot) < max_temporaries) {
    temporary_in_use[slot].store(false);
    return;
  }
  std::size_t index = static_cast<std::size_t>(slot) - max_temporaries;
  overflow_block* block = overflow_blocks.load();
  for (; index >= overflow_block_slots; index -= overflow_block_slots) block = block->next.load();
  block->slots[index].in_use.store(false);
  overflow_free_hint =
      std::min(overflow_free_hint, static_cast<std::size_t>(slot) - max_temporaries);
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
  // Peeked bytes of a pipe come first: they were taken from the descriptor already.  A
  // regular file was peeked at with pread, which left its position alone.
  const std::size_t held = seekable_ ? 0 : std::min(size, head_.size() - head_read_);
  std::memcpy(buffer, head_.data() + head_read_, held);
  head_read_ += held;
  // A terminal's end of file is one keypress: asking again would wait for another.
  if (ended_) return held;
  return held + read_fully(static_cast<char*>(buffer) + held, size - held, name_,
                           [&](char* out, std::size_t want, std::size_t) {
                             return ::read(fd_, out, want);
                           });
}

std::string_view input_file::peek(std::size_t size) {
  if (head_.size() < size) {
    const std::size_t old = head_.size();
    head_.resize(size);
    const std::size_t got = seekable_ ? read_at(old, head_.data() + old, size - old)
                                      : read_fully(head_.data() + old, size - old, name_,
                                                   [&](char* out, std::size_t want, std::size_t) {
                                                     return ::read(fd_, out, want);
                                                   });
    head_.resize(old + got);
    if (!seekable_ && got < size - old) ended_ = true;
  }
  return std::string_view(head_).substr(0, size);
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
  for (overflow_block* block = overflow_blocks.load(); block; block = block->next.load()) {
    for (overflow_slot& slot : block->slots) {
      if (slot.in_use.exchange(false)) ::unlink(slot.path.load()->text);
    }
  }
}

std::string read_text_file(const std::string& path) {
  input_file file(path);
  return file.read_all();
}

namespace {

std::string base_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Blocks the signals whose handler removes temporaries for one scope, so that none arrives
// between creating a named temporary and registering it, and leaves it behind.
class terminating_signals_blocked {
 public:
  terminating_signals_blocked() {
    sigset_t terminating;
    sigemptyset(&terminating);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&terminating, s);
    ::pthread_sigmask(SIG_BLOCK, &terminating, &previous_);
  }
  ~terminating_signals_blocked() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  terminating_signals_blocked(const terminating_signals_blocked&) = delete;
  terminating_signals_blocked& operator=(const terminating_signals_blocked&) = delete;

 private:
  sigset_t previous_;
};

file_identity identity_of(const struct stat& st) {
  file_identity id;
  id.device = st.st_dev;
  id.inode = st.st_ino;
  id.type = st.st_mode & S_IFMT;
  id.known = true;
  return id;
}

// linkat() of an unnamed file goes through its /proc/self/fd entry (AT_EMPTY_PATH would need
// CAP_DAC_READ_SEARCH); without /proc, temporaries are named.
bool can_link_descriptors() {
  static const bool can = ::access("/proc/self/fd", X_OK) == 0;
  return can;
}

std::atomic<bool> named_temporaries_only{false};

}  // namespace

void use_named_temporaries(bool named) {
  named_temporaries_only.store(named);
}

int descriptor_named(const std::string& path) {
  if (path == "/dev/stdin") return STDIN_FILENO;
  if (path == "/dev/stdout") return STDOUT_FILENO;
  if (path == "/dev/stderr") return STDERR_FILENO;
  for (std::string_view folder : {"/dev/fd/", "/proc/self/fd/"}) {
    if (!path.starts_with(folder)) continue;
    const std::string_view digits = std::string_view(path).substr(folder.size());
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return -1;
    }
    return std::stoi(std::string(digits));
  }
  return -1;
}

std::string resolve_symlinks(const std::string& path) {
  std::string p = path;
  // As many links as the kernel follows (MAXSYMLINKS); a longer chain fails when opened.
  for (int hop = 0; hop < 40; ++hop) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::vector<char> text(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) + 1);
    const ssize_t n = ::readlink(p.c_str(), text.data(), text.size());
    if (n <= 0 || static_cast<std::size_t>(n) >= text.size()) return p;
    std::string target(text.data(), static_cast<std::size_t>(n));
    // A relative target is relative to the link's folder.
    if (target[0] != '/' && p.find('/') != std::string::npos) target = folder_of(p) + "/" + target;
    p = std::move(target);
  }
  return p;
}

file_identity identify_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return identity_of(st);
  if (errno != ENOENT) return {};
  const std::string end = resolve_symlinks(path);
  if (::stat(folder_of(end).c_str(), &st) != 0) return {};
  file_identity id = identity_of(st);
  id.type = 0;
  id.new_name = base_of(end);
  return id;
}

file_identity identify_descriptor(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return {};
  return identity_of(st);
}

output_file::output_file(const std::string& path, bool release_when_finished)
    : name_(path), target_(path) {
  if (path == standard_stream) {
    fd_ = STDOUT_FILENO;
    name_ = "<stdout>";
    direct_ = true;
    return;
  }
  if (const int named = descriptor_named(path); named >= 0) {
    // Into the descriptor as it is, at its offset and with its O_APPEND, as `-o -` writes
    // standard output: replacing the file behind it would lose what the shell keeps there.
    const int flags = ::fcntl(named, F_GETFL);
    if (flags < 0) fail(name_, "", errno);
    if ((flags & O_ACCMODE) == O_RDONLY) fail(name_, "", EBADF);
    fd_ = ::fcntl(named, F_DUPFD_CLOEXEC, 0);
    if (fd_ < 0) fail(name_, "", errno);
    direct_ = true;
    return;
  }
  struct stat st {};
  mode_t mode = 0666;
  const bool exists = ::stat(path.c_str(), &st) == 0;
  // A loop or a chain longer than the kernel follows fails, as `>` does, instead of having
  // its last link replaced.
  if (!exists && errno == ELOOP) fail(name_, "", ELOOP);
  if (exists && S_ISDIR(st.st_mode)) fail(name_, "", EISDIR);
  target_ = resolve_symlinks(path);
  struct stat end {};
  if (exists && S_ISREG(st.st_mode) &&
      (::stat(target_.c_str(), &end) != 0 || end.st_dev != st.st_dev || end.st_ino != st.st_ino)) {
    // A link whose text is no path to its file (/proc/PID/fd/N of a deleted file): there is
    // nothing to rename over, and writing into the file would destroy what it holds.
    throw io_error(name_ +
                   ": leads to a file that no path names (a deleted file), which cannot "
                   "be replaced");
  }
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
    owner_ = st.st_uid;
    group_ = st.st_gid;
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode &= ~mask;
  }
  const std::string folder = folder_of(target_);
  if (release_when_finished || !open_unnamed(folder, mode)) {
    open_named(folder, base_of(target_), mode);
  }
}

bool output_file::open_unnamed(const std::string& folder, mode_t mode) {
#ifdef O_TMPFILE
  if (named_temporaries_only.load() || !can_link_descriptors()) return false;
  // Any failure (EOPNOTSUPP, or EISDIR from a kernel without O_TMPFILE; EACCES) falls back to
  // a named temporary, whose creation reports the folder's own error.
  const int fd = ::open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) return false;
  if (::fchmod(fd, keep_owner(fd, mode)) != 0) {
    const int err = errno;
    ::close(fd);
    fail(name_, "", err);
  }
  fd_ = fd;
  unnamed_ = true;
  return true;
#else
  (void)folder;
  (void)mode;
  return false;
#endif
}

void output_file::open_named(const std::string& folder, const std::string& base, mode_t mode) {
  temporary_ = folder + "/." + base + ".bnorm-XXXXXX";
  int create_error = 0;
  {
    const terminating_signals_blocked blocked;
    fd_ = ::mkostemp(temporary_.data(), O_CLOEXEC);
    create_error = errno;
    if (fd_ >= 0) slot_ = register_temporary(temporary_);
  }
  if (fd_ < 0) {
    temporary_.clear();
    fail(name_, "cannot create a file in " + folder + "/", create_error);
  }
  if (::fchmod(fd_, keep_owner(fd_, mode)) != 0) {
    // A constructor that throws runs no destructor: clean up here.
    const int err = errno;
    ::close(fd_);
    ::unlink(temporary_.c_str());
    unregister_temporary(slot_);
    fail(name_, "", err);
  }
}

// As sed -i does: the replaced file's owner and group where this user may give them (root; a
// group the user is in), and no setuid or setgid bit for an owner or group not kept, which
// would make a set-ID program of this user's.  chown clears those bits: the mode comes after.
mode_t output_file::keep_owner(int fd, mode_t mode) const {
  if (!replaces_) return mode;
  if (::fchown(fd, owner_, group_) != 0) (void)::fchown(fd, static_cast<uid_t>(-1), group_);
  struct stat now {};
  if (::fstat(fd, &now) != 0) return mode & ~(S_ISUID | S_ISGID);
  if (now.st_uid != owner_) mode &= ~S_ISUID;
  if (now.st_gid != group_) mode &= ~S_ISGID;
  return mode;
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
  std::string().swap(buffer_);  // many outputs wait finished for their commit: keep no buffer
  finished_ = true;
  // An unnamed temporary stays open until publish() links it: closing it would delete it.
  // Its file systems (ext4, XFS, btrfs, tmpfs) report write errors at write(), not close().
  if (direct_ || unnamed_) return;
  // No fsync: the rename is atomic for every reader, which is the guarantee bnorm gives (an
  // interrupted run leaves the old file).  Like sed -i and zstd, bnorm leaves durability
  // against power loss to the file system; an fsync would cost more than a small run's work.
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail(name_, "close failed", errno);
}

void output_file::link_into_place() {
  const std::string self = "/proc/self/fd/" + std::to_string(fd_);
  if (!replaces_) {
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, target_.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      return;
    }
    if (errno != EEXIST) fail(name_, "cannot link the new file", errno);
    // Someone created the target meanwhile: replace it like an existing one.
  }
  // No system call puts an unnamed file over an existing name, so it gets a hidden name for
  // the two system calls between the link and the rename; SIGINT/SIGTERM there remove it,
  // only SIGKILL in that instant leaves it (whole, and the target whole too).
#ifdef SYNC_FILE_RANGE_WRITE
  // rename() over a file starts writing the new one back (see wrote()), which takes long
  // enough for a SIGKILL to land between link and rename: start it before the link instead.
  ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
  const std::string prefix = folder_of(target_) + "/." + base_of(target_) + ".bnorm-";
  static constexpr char letters[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  struct timespec now {};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  unsigned long long seed = static_cast<unsigned long long>(now.tv_nsec) ^
                            (static_cast<unsigned long long>(::getpid()) << 32) ^
                            reinterpret_cast<std::uintptr_t>(this);
  int link_error = EEXIST;
  for (int attempt = 0; attempt < 100 && link_error == EEXIST; ++attempt) {
    std::string name = prefix;
    for (int i = 0; i < 6; ++i) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      name += letters[(seed >> 33) % (sizeof letters - 1)];
    }
    const terminating_signals_blocked blocked;
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      temporary_ = std::move(name);
      slot_ = register_temporary(temporary_);
      link_error = 0;
    } else {
      link_error = errno;
    }
  }
  if (link_error != 0) fail(name_, "cannot link the new file", link_error);
  if (::rename(temporary_.c_str(), target_.c_str()) != 0) fail(name_, "rename failed", errno);
}

void output_file::publish() {
  finish();
  if (committed_) return;
  if (unnamed_) {
    link_into_place();
  } else if (!direct_ && ::rename(temporary_.c_str(), target_.c_str()) != 0) {
    fail(name_, "rename failed", errno);
  }
  committed_ = true;
  unregister_temporary(slot_);
  slot_ = -1;
  if (unnamed_) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(name_, "close failed", errno);
  }
}

void commit_together(std::initializer_list<output_file*> outputs) {
  commit_together(std::span<output_file* const>(outputs.begin(), outputs.size()));
}

void commit_together(std::span<output_file* const> outputs) {
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

file_lock::file_lock(const std::string& path) {
  while (true) {
    // Read-write where allowed: NFS emulates flock with fcntl locks, whose exclusive lock
    // needs a file open for writing.  A read-only file can still be replaced, and locked
    // where flock is local.
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EROFS))
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, "", errno);
    int err = 0;
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (err == ENOLCK || err == EOPNOTSUPP || err == EINVAL || err == EBADF) {
      fd_ = fd;
      unavailable_ = err;
      return;
    }
    if (err != 0) {
      ::close(fd);
      fail(path, "cannot lock", err);
    }
    struct stat locked {
    }, named{};
    if (::fstat(fd, &locked) == 0 && ::stat(path.c_str(), &named) == 0 &&
        locked.st_dev == named.st_dev && locked.st_ino == named.st_ino) {
      fd_ = fd;
      return;
    }
    // Replaced while we waited: this inode is no longer the file.
    ::close(fd);
  }
}

file_lock::~file_lock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace bnorm
