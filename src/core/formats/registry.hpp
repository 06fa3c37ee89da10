// SPDX-License-Identifier: Apache-2.0
// Every format bnorm reads and writes, looked up by a path's extension, a file's first bytes or
// a name; and inputs opened with their format settled by both.  Adding a format adds one line
// to the list in registry.cpp.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "codec.hpp"
#include "file_io.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// Every format, in the order they are listed to users.
std::span<const codec* const> all_codecs();

/// The format a path's extension names (case does not matter), or null.
const codec* codec_for_path(std::string_view path);

/// The format `head`, a file's first bytes (at most sniff_size), begins, or null.
const codec* codec_for_bytes(std::string_view head);

/// The format called `name` ("npy"), or null.
const codec* codec_named(std::string_view name);

/// The formats' names joined: "npy, json, npz, safetensors" with ", "; with a last separator,
/// "npy, json, npz or safetensors".
std::string format_names(std::string_view separator = ", ", std::string_view last = {});

/// format_names of the formats bnorm writes tensors as (not those it only reads).
std::string written_format_names(std::string_view separator = ", ", std::string_view last = {});

/// The formats' first extensions joined as format_names joins names: ".npy, .json, ...";
/// only those of formats that hold named tensors when `many_only`.
std::string extension_names(std::string_view separator = ", ", std::string_view last = {},
                            bool many_only = false);

/// extension_names of the formats bnorm writes tensors as (not those it only reads).
std::string written_extension_names(std::string_view separator = ", ", std::string_view last = {},
                                    bool many_only = false);

/// The extensions of the formats that hold named tensors after the article the first takes:
/// "a .pt, .npz or .safetensors" (the article from its a_file).
std::string named_formats(std::string_view separator = ", ", std::string_view last = " or ");

/// The extension of `path`'s last component, lowercase, from its last dot ("x.NPY" and ".npy"
/// give ".npy"); "" without a dot.
std::string lowercase_extension(std::string_view path);

/// An input opened, its format settled.
struct opened_input {
  std::unique_ptr<input_file> file;
  const codec* format = nullptr;
};

/// Opens `path` ("-" for standard input) and settles its format: `named` when given (a
/// command line's word for it); else by the bytes and the extension, which must agree when
/// both say something (data_error naming both otherwise); else by whichever does.  Throws
/// io_error, data_error, or usage_error (fault::input_format_unknown) when neither tells.
opened_input open_input(const std::string& path, const codec* named = nullptr);

/// open_input, then the file opened as its format says.
std::unique_ptr<tensor_archive> open_tensor_file(const std::string& path,
                                                 const codec* named = nullptr,
                                                 const read_options& options = {});

/// The tensor `tensor` of the file `path` (see pick_tensor): open_tensor_file then pick_tensor.
std::unique_ptr<tensor_source> open_tensor(const std::string& path, const codec* named = nullptr,
                                           const std::string& tensor = {},
                                           const read_options& options = {});

/// The format an output `path` is written in, as far as it can be told without the input:
/// `named` when given, else its extension's; null for a path that has nothing to tell ("-", a
/// device, a FIFO, a name without an extension), which is written in its input's format.
/// Throws usage_error (fault::output_format_unknown) for an extension no format has.
const codec* codec_for_output(const std::string& path, const codec* named);

}  // namespace bnorm
