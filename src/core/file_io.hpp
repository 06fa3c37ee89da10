// Files as bnorm needs them: inputs read whole or in blocks, outputs that appear complete or
// not at all.
#pragma once

#include <atomic>
#include <cstddef>
#include <initializer_list>
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

 private:
  int fd_ = -1;
  bool owned_ = false;
  bool seekable_ = false;
  std::size_t base_ = 0;  // where the data starts: not 0 for a stdin already read from
  std::size_t size_ = 0;
  std::string name_;
};

/// Removes the temporaries of every output_file not yet committed.  Async-signal-safe: a
/// program's SIGINT/SIGTERM handler calls it, so that an interrupted run leaves the targets
/// as they were and no temporary behind.  (SIGKILL cannot be caught; its temporary stays,
/// named ".<target>.bnorm-XXXXXX" beside the target, which is still untouched.)
void remove_temporaries() noexcept;

/// Reads a whole file ("-" is standard input) as text.  Throws io_error.
std::string read_text_file(const std::string& path);

/// An output that is either complete or absent.  A regular file (new or existing) is written
/// to a temporary in the same folder and renamed over the target by commit();
/// destroying an uncommitted output removes the temporary.  "-", a character device or a pipe
/// is written directly, since it cannot be replaced.
class output_file {
 public:
  /// Throws io_error when the target's folder cannot take a new file.
  explicit output_file(const std::string& path);
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

  int fd_ = -1;
  bool direct_ = false;
  bool finished_ = false;
  bool committed_ = false;
  bool replaces_ = false;  // the target exists: commit() renames over a file
  std::string name_;
  std::string target_;
  std::string temporary_;
  int slot_ = -1;  // registration for remove_temporaries()
  std::string buffer_;
  std::atomic<std::size_t> written_{0};
};

/// Commits the outputs of one run together: every one is finished before any is published, so
/// that a failure (a full disk, a closed pipe) leaves every target as it was.  Null entries
/// (optional outputs not asked for) are skipped.  Throws io_error.
void commit_together(std::initializer_list<output_file*> outputs);

}  // namespace bnorm
