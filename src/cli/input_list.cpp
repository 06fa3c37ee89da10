// SPDX-License-Identifier: Apache-2.0
#include "input_list.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <system_error>

#include <sys/stat.h>

#include "error.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "formats/registry.hpp"

namespace bnorm::cli {
namespace {

namespace fs = std::filesystem;

bool is_folder(const std::string& path) {
  std::error_code ignored;
  return path != standard_stream && fs::is_directory(path, ignored);
}

// The files and folders a walk passes over: a run's outputs, as far as they exist.
using skipped_files = std::vector<struct stat>;

bool is_skipped(const fs::path& path, const skipped_files& skipped) {
  if (skipped.empty()) return false;
  struct stat entry {};
  if (::stat(path.c_str(), &entry) != 0) return false;
  return std::any_of(skipped.begin(), skipped.end(), [&](const struct stat& s) {
    return s.st_dev == entry.st_dev && s.st_ino == entry.st_ino;
  });
}

// The files under `folder` that bnorm reads, by extension, in byte order, except `skipped`
// and what lies under them (the run's outputs: a run again must not read what the last one
// wrote).  Hidden entries are walked too: a dataset's names are its own.
std::vector<std::string> walk_folder(const std::string& folder, const skipped_files& skipped) {
  std::vector<std::string> found;
  std::error_code error;
  fs::recursive_directory_iterator it(folder, fs::directory_options::none, error);
  const fs::recursive_directory_iterator end;
  for (; !error && it != end; it.increment(error)) {
    std::error_code ignored;
    if (it->is_directory(ignored) && is_skipped(it->path(), skipped)) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ignored)) continue;  // a symlink to a file is its file
    std::string path = it->path().string();
    if (codec_for_path(path) && !is_skipped(it->path(), skipped)) found.push_back(std::move(path));
  }
  if (error) {
    throw io_error(folder + ": " + error.message());
  }
  if (found.empty()) {
    throw usage_error(folder + ": the folder holds no file of a format bnorm reads (" +
                      extension_names(", ", " or ") + ")");
  }
  std::sort(found.begin(), found.end());
  return found;
}

void add_path(std::vector<std::string>& inputs, std::string path, const skipped_files& skipped) {
  if (is_folder(path)) {
    std::vector<std::string> files = walk_folder(path, skipped);
    inputs.insert(inputs.end(), std::make_move_iterator(files.begin()),
                  std::make_move_iterator(files.end()));
  } else {
    inputs.push_back(std::move(path));
  }
}

}  // namespace

void add_input_list_options(CLI::App* cmd, input_list_options& options) {
  cmd->add_option("--files-from", options.files_from,
                  "Also read the input paths listed in LIST, one per line (- reads standard input)")
      ->type_name("LIST");
  cmd->add_flag("-0,--null", options.null_separated,
                "The names in --files-from end with a NUL byte (find -print0), not a newline");
}

std::vector<std::string> expand_inputs(const input_list_options& options,
                                       const std::vector<std::string>& outputs) {
  skipped_files skipped;
  for (const std::string& output : outputs) {
    struct stat s {};
    if (!output.empty() && output != standard_stream && ::stat(output.c_str(), &s) == 0) {
      skipped.push_back(s);
    }
  }
  if (options.null_separated && options.files_from.empty()) {
    throw usage_error("-0 says how --files-from separates its names; give --files-from LIST");
  }
  std::vector<std::string> inputs;
  for (const std::string& path : options.paths) add_path(inputs, path, skipped);
  if (!options.files_from.empty()) {
    refuse_directory(options.files_from);
    const std::string list = read_text_file(options.files_from);
    const char separator = options.null_separated ? '\0' : '\n';
    std::size_t begin = 0;
    while (begin < list.size()) {
      std::size_t end = list.find(separator, begin);
      if (end == std::string::npos) end = list.size();
      std::size_t name_end = end;
      // A list written on Windows ends its lines with CR LF; no one's file name ends with CR.
      if (!options.null_separated && name_end > begin && list[name_end - 1] == '\r') --name_end;
      if (name_end > begin) add_path(inputs, list.substr(begin, name_end - begin), skipped);
      begin = end + 1;
    }
  }
  if (inputs.empty()) {
    throw usage_error(options.files_from.empty()
                          ? "no input given"
                          : input_name(options.files_from) + ": lists no input");
  }
  return inputs;
}

std::vector<std::string> canonical_order(std::vector<std::string> paths) {
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace bnorm::cli
