// SPDX-License-Identifier: Apache-2.0
// Files as bnorm needs them: inputs read whole or in blocks, outputs that appear complete or
// not at all.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace bnorm {

/// How a path names standard input or output.
inline constexpr std::string_view standard_stream = "-";

/// A readable file descriptor with its display name ("<stdin>" for "-").
class input_file {
 public:
  /// Opens `path` for reading ("-" is standard input).  Throws io_error.
  explicit input_file(const std::string& path);
  ~input_file();
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;

  const std::string& name() const { return name_; }
  /// True for a regular file, whose size is known and which can be read twice.
  bool seekable() const { return seekable_; }
  /// The file's size in bytes (seekable files only).
  std::size_t size() const { return size_; }

  /// Reads up to `size` bytes; returns fewer only at the end of the file.  Throws io_error.
  std::size_t read(void* buffer, std::size_t size);
  /// Reads up to `size` bytes at byte `offset` of a seekable file, without moving; returns
  /// fewer only at the end.  Safe from several threads at once.  Throws io_error.
  std::size_t read_at(std::size_t offset, void* buffer, std::size_t size) const;
  /// Everything from the current position to the end.
  std::string read_all();

  /// The file's first `size` bytes, or all of them when it is shorter, to tell its format:
  /// read() and read_all() still return them.  Call before reading.  Throws io_error.
  std::string_view peek(std::size_t size);

 private:
  int fd_ = -1;
  bool owned_ = false;
  bool seekable_ = false;
  std::size_t base_ = 0;  // where the data starts: not 0 for a stdin already read from
  std::size_t size_ = 0;
  std::string name_;
  std::string head_;           // the bytes peek() has seen
  std::size_t head_read_ = 0;  // of a pipe's, how many read() has returned since
  bool ended_ = false;         // peek() met the end of a pipe: nothing more to read from it
};

/// Removes the named temporaries of every output_file not yet committed.  Async-signal-safe: a
/// program's SIGINT/SIGTERM handler calls it, so that an interrupted run leaves the targets
/// as they were and no temporary behind.  SIGKILL cannot be caught: an unnamed temporary
/// (O_TMPFILE) vanishes with the process; a named one, ".<target>.bnorm-XXXXXX" beside the
/// target, stays (see output_file).
void remove_temporaries() noexcept;

/// For tests: true makes outputs opened afterwards use named temporaries, as on a file system
/// without O_TMPFILE.
void use_named_temporaries(bool named);

/// Which file a path leads to, to tell whether two paths name one file: the device and inode
/// of the file it reaches through symbolic links, hard links and "..", or, for a file not
/// there yet, those of the folder it would be created in and its name there.
struct file_identity {
  dev_t device = 0;
  ino_t inode = 0;
  std::string new_name;  // the name in that folder when the file does not exist yet
  mode_t type = 0;       // S_IFREG, S_IFCHR, ... of an existing file; 0 for a new one
  bool known = false;    // false: neither the file nor its folder could be examined

  bool exists() const { return type != 0; }
  friend bool operator==(const file_identity&, const file_identity&) = default;
};

/// The identity of `path` (not "-": see identify_descriptor).  Never throws: a path that
/// cannot be examined is not known, and fails when it is opened.
file_identity identify_path(const std::string& path);

/// The identity of an open descriptor (standard input or output).
file_identity identify_descriptor(int fd);

/// The descriptor a path names by number (/dev/stdout, /dev/stderr, /dev/stdin, /dev/fd/N,
/// /proc/self/fd/N), or -1.  Writing to such a path writes into that open descriptor, as a
/// shell's `>` does: the file behind it is never replaced.
int descriptor_named(const std::string& path);

/// Where a write through `path` lands: the end of its chain of symbolic links, which may not
/// exist yet (a shell's `>` through a dangling link creates the link's target).
std::string resolve_symlinks(const std::string& path);

/// Reads a whole file ("-" is standard input) as text.  Throws io_error.
std::string read_text_file(const std::string& path);

/// An output that is either complete or absent.  A regular file (new or existing) is written
/// to a temporary in the target's folder and put in place by commit(); destroying an
/// uncommitted output removes the temporary.  The temporary is unnamed (O_TMPFILE) where the
/// file system allows it, so that even SIGKILL leaves nothing behind; commit() links it as
/// the target, or, to replace an existing file, links it as ".<target>.bnorm-XXXXXX" and
/// renames that over the target in the next system call.  Elsewhere it is that named file
/// from the start.  A symbolic link is followed and kept: its target is replaced, as a
/// shell's `>` writes through it.  "-", a descriptor's name (see descriptor_named), a
/// character device or a pipe is written directly, since it cannot be replaced.
class output_file {
 public:
  /// Throws io_error when the target's folder cannot take a new file.  With
  /// `release_when_finished`, the temporary is a named one, closed by finish(), so that a run
  /// may hold thousands of finished outputs for one commit without a descriptor each.
  explicit output_file(const std::string& path, bool release_when_finished = false);
  ~output_file();
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;

  const std::string& name() const { return name_; }

  /// Buffers and writes bytes.  Throws io_error (a full disk, a closed pipe's EPIPE).
  void write(const void* data, std::size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }

  /// Writes at byte `offset` of a file that is not written directly (see direct()), bypassing
  /// the buffer.  Safe from several threads for disjoint ranges.  Throws io_error.
  void write_at(std::size_t offset, const void* data, std::size_t size);

  /// True for standard output, devices and pipes: written in order, never replaced.
  bool direct() const { return direct_; }

  /// Flushes and renames into place: finish() then publish().  Throws io_error.
  void commit();

  /// Writes out everything buffered and closes the temporary, which is where a full disk or
  /// a closed pipe shows.  Several outputs of one run are all finished before any is
  /// published, so that a failure leaves every target as it was.  Throws io_error.
  void finish();

  /// Renames the finished temporary over the target.  Throws io_error.
  void publish();

 private:
  void flush();
  void write_all(const void* data, std::size_t size);
  /// Counts bytes written to a temporary that will replace a file, and starts their
  /// writeback every few MiB.  Safe from several threads.
  void wrote(std::size_t size);
  bool open_unnamed(const std::string& folder, mode_t mode);
  void open_named(const std::string& folder, const std::string& base, mode_t mode);
  void link_into_place();
  mode_t keep_owner(int fd, mode_t mode) const;

  int fd_ = -1;
  uid_t owner_ = static_cast<uid_t>(-1);  // of the file replaced, kept where allowed
  gid_t group_ = static_cast<gid_t>(-1);
  bool direct_ = false;
  bool unnamed_ = false;  // an O_TMPFILE temporary, open until commit() links it
  bool finished_ = false;
  bool committed_ = false;
  bool replaces_ = false;  // the target exists: commit() renames over a file
  std::string name_;
  std::string target_;     // the path renamed over: the end of the output's symbolic links
  std::string temporary_;  // the named temporary, while it exists
  int slot_ = -1;          // registration for remove_temporaries()
  std::string buffer_;
  std::atomic<std::size_t> written_{0};
};

/// Commits the outputs of one run together: every one is finished before any is published, so
/// that a failure (a full disk, a closed pipe) leaves every target as it was.  Null entries
/// (optional outputs not asked for) are skipped.  Throws io_error.
void commit_together(std::initializer_list<output_file*> outputs);
void commit_together(std::span<output_file* const> outputs);

/// An exclusive lock (flock) on the file a path names, for a read-modify-write that renames a
/// new version over it.  The rename gives the path a new inode, so a run that waited on the
/// old one would hold a lock nobody else asks for: after each wait, the lock is kept only if
/// the path still names the locked inode, and taken again on the new one otherwise.  Read the
/// file after taking the lock and replace it before releasing it.
class file_lock {
 public:
  /// Waits for the lock.  Throws io_error when the file cannot be opened.
  explicit file_lock(const std::string& path);
  ~file_lock();
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;

  /// 0 while the lock is held; else the errno of a file system that gives no locks (ENOLCK,
  /// EOPNOTSUPP: some NFS mounts), and nothing is locked.
  int unavailable() const { return unavailable_; }

 private:
  int fd_ = -1;
  int unavailable_ = 0;
};

}  // namespace bnorm
