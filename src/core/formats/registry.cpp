// SPDX-License-Identifier: Apache-2.0
#include "registry.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "error.hpp"

namespace bnorm {

// Each format's codec, defined in its own file of this folder.
extern const codec npy_codec;
extern const codec json_codec;
extern const codec npz_codec;
extern const codec safetensors_codec;
extern const codec torch_codec;
extern const codec onnx_codec;
extern const codec csv_codec;
extern const codec tsv_codec;

namespace {

// In the order users see them, and the order bytes are tried in: a recognizer that looks
// deeper into a container it shares with another (a ZIP) must come before the other's; ONNX's,
// which reads a protobuf's first fields and no magic, is tried last.
constexpr std::array<const codec*, 8> codecs{&npy_codec, &json_codec,        &torch_codec,
                                             &npz_codec, &safetensors_codec, &onnx_codec,
                                             &csv_codec, &tsv_codec};

template <typename Word>
std::string joined(Word word, std::string_view separator, std::string_view last,
                   bool many_only = false, bool written_only = false) {
  std::vector<std::string> words;
  for (const codec* c : codecs) {
    if (written_only && !c->make_sink) continue;
    if (!many_only || c->holds_many) words.push_back(word(*c));
  }
  std::string text;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) text += i + 1 == words.size() && !last.empty() ? last : separator;
    text += words[i];
  }
  return text;
}

// True for a path that has no name to tell a format by and that cannot be replaced: standard
// input or output, a descriptor's name, a device, a FIFO.
bool is_stream(const std::string& path) {
  if (path == standard_stream || descriptor_named(path) >= 0) return true;
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

}  // namespace

std::span<const codec* const> all_codecs() {
  return codecs;
}

std::string lowercase_extension(std::string_view path) {
  // From the last dot of the last component, a leading one included: ".npz" names an .npz.
  const std::size_t slash = path.rfind('/');
  const std::size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return "";
  std::string ext(path.substr(dot));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

const codec* codec_for_path(std::string_view path) {
  if (path == standard_stream) return nullptr;
  const std::string ext = lowercase_extension(path);
  for (const codec* c : codecs) {
    if (std::find(c->extensions.begin(), c->extensions.end(), ext) != c->extensions.end()) {
      return c;
    }
  }
  return nullptr;
}

const codec* codec_for_bytes(std::string_view head) {
  for (const codec* c : codecs) {
    if (c->recognizes(head.substr(0, sniff_size))) return c;
  }
  return nullptr;
}

const codec* codec_named(std::string_view name) {
  for (const codec* c : codecs) {
    if (c->name == name) return c;
  }
  return nullptr;
}

std::string format_names(std::string_view separator, std::string_view last) {
  return joined([](const codec& c) { return std::string(c.name); }, separator, last);
}

std::string written_format_names(std::string_view separator, std::string_view last) {
  return joined([](const codec& c) { return std::string(c.name); }, separator, last, false, true);
}

std::string extension_names(std::string_view separator, std::string_view last, bool many_only) {
  return joined([](const codec& c) { return std::string(c.extensions.front()); }, separator, last,
                many_only);
}

std::string written_extension_names(std::string_view separator, std::string_view last,
                                    bool many_only) {
  return joined([](const codec& c) { return std::string(c.extensions.front()); }, separator, last,
                many_only, true);
}

std::string named_formats(std::string_view separator, std::string_view last) {
  for (const codec* c : codecs) {
    if (!c->holds_many) continue;
    const std::string_view article = c->a_file.substr(0, c->a_file.find(' '));
    return std::string(article) + " " + extension_names(separator, last, true);
  }
  return "";
}

opened_input open_input(const std::string& path, const codec* named) {
  opened_input input{std::make_unique<input_file>(path), named};
  if (named) return input;
  const codec* by_name = codec_for_path(path);
  const codec* by_bytes = codec_for_bytes(input.file->peek(sniff_size));
  if (by_name && by_bytes && by_name != by_bytes) {
    throw data_error(input.file->name() + ": named as " + std::string(by_name->a_file) +
                     ", but its first bytes are those of " + std::string(by_bytes->a_file));
  }
  input.format = by_name ? by_name : by_bytes;
  if (!input.format) {
    const std::string ext = lowercase_extension(path);
    const std::string named_as = path == standard_stream ? input.file->name() : "'" + path + "'";
    const std::string from_name = ext.empty() || path == standard_stream
                                      ? ""
                                      : " from its name (" + extension_names(", ", " or ") + ") or";
    throw usage_error(fault::input_format_unknown, "cannot tell the format of " + named_as +
                                                       from_name + " from its first bytes");
  }
  return input;
}

std::unique_ptr<tensor_archive> open_tensor_file(const std::string& path, const codec* named,
                                                 const read_options& options) {
  opened_input input = open_input(path, named);
  return input.format->open(std::move(input.file), options);
}

std::unique_ptr<tensor_source> open_tensor(const std::string& path, const codec* named,
                                           const std::string& tensor, const read_options& options) {
  return pick_tensor(*open_tensor_file(path, named, options), tensor);
}

const codec* codec_for_output(const std::string& path, const codec* named) {
  if (named) return named;
  if (const codec* by_name = codec_for_path(path)) return by_name;
  if (lowercase_extension(path).empty() || is_stream(path)) return nullptr;
  throw usage_error(fault::output_format_unknown, "cannot tell the format of '" + path +
                                                      "' from its name (" +
                                                      written_extension_names(", ", " or ") + ")");
}

}  // namespace bnorm
