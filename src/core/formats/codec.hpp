// SPDX-License-Identifier: Apache-2.0
// What bnorm knows of one file format, as one value: its names, how its bytes begin, what it
// holds, how it is opened and how it is written.  Every format is one such value in one file
// of this folder, listed once in the registry; nothing outside formats/ branches on a format.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "dtype.hpp"
#include "file_io.hpp"
#include "model_fold.hpp"
#include "tensor_info.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// What a command line may ask of a reader beyond the file's bytes.  Most formats need
/// nothing of it; a text table (CSV) reads an empty field as NaN when asked.
struct read_options {
  /// An empty field of a table is NaN rather than an error.
  bool missing_as_nan = false;
};

struct codec {
  /// The word for it on a command line and in messages: "npy".
  std::string_view name;
  /// How a message names a file of it: "a .npy file".
  std::string_view a_file;
  /// What bnorm reads and writes of it, for the manual's FILES section (its markup: **bold**).
  std::string_view manual;
  /// Extensions that name it, lowercase, with the dot; the first is the one to suggest.
  std::span<const std::string_view> extensions;
  /// True when `head`, the file's first bytes (all of them when the file is shorter than
  /// sniff_size), can only begin a file of this format.
  bool (*recognizes)(std::string_view head);
  /// Holds named tensors (several, or a state_dict), not one unnamed tensor.
  bool holds_many;
  /// Each tensor keeps its dtype (JSON's numbers carry none).
  bool keeps_dtype;
  /// bnorm's documents (state, statistics, partial statistics) are files of this format.
  bool holds_documents;
  /// Its files are text, which a terminal can show.
  bool text;
  /// The type a tensor computed as `type` is written as: the nearest type the format holds
  /// (output_type_for's floating type, bfloat16 as float32 where there is no bfloat16).
  dtype (*written_type)(dtype type);
  /// Opens and validates a file, whose first bytes may already have been peeked at.  A
  /// single-tensor format gives an archive of one tensor named "".  Throws data_error
  /// ("<file>: <what and where>") or io_error.
  std::unique_ptr<tensor_archive> (*open)(std::unique_ptr<input_file> file,
                                          const read_options& options);
  /// A sink writing one tensor of `info`'s shape and order, as written_type(info.type), named
  /// info.name (or "x") where the format names tensors.  Throws data_error for a name or
  /// shape the format cannot hold.
  std::unique_ptr<tensor_sink> (*make_sink)(output_file& out, tensor_info info);
  /// Writes a set of named tensors (their types already written_type's); null for a format
  /// of one tensor.  Throws data_error, before writing anything, for names it cannot hold.
  void (*write_set)(output_file& out, std::vector<named_tensor> tensors);
  /// Writes to `out` the file `original` (of this format, not yet peeked at or peeked at) with
  /// the tensors of `replaced` in the place of the tensors of their names, and added where it
  /// has none; every other tensor, and everything else the file holds, keeps its name, type,
  /// shape and bytes.  Null for a format of one tensor.  Throws data_error, before writing
  /// anything, for a file it cannot update.
  void (*update_set)(std::unique_ptr<input_file> original, output_file& out,
                     std::vector<named_tensor> replaced);
  /// Folds every batch normalization of the model `original` into the layer before it where
  /// that layer can absorb it, exactly (in double, rounded once), writes the folded model to
  /// `out` when it is not null, and reports what was folded and why the rest was not.  Null
  /// for a format that holds no graph.  Throws data_error for a model it cannot read.
  model_fold_report (*fold_model)(std::unique_ptr<input_file> original, output_file* out);
};

/// How many first bytes of a file the recognizers are given, at most: enough for a ZIP's
/// first local header and its name (torch.save's "<folder>/data.pkl", the folder being the
/// file's base name).
inline constexpr std::size_t sniff_size = 512;

}  // namespace bnorm
