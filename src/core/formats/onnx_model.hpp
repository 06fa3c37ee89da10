// SPDX-License-Identifier: Apache-2.0
// An ONNX model as bnorm reads it: the protobuf parsed under explicit limits, its tensors
// decoded from every encoding the schema allows (typed fields, raw_data, external data confined
// to the model's folder), the constants a graph holds (initializers and Constant nodes), and
// its batch-normalization nodes.  Shared by the codec (onnx.cpp), the graph fold
// (onnx_fold.cpp) and the fuzzer; nothing outside formats/ sees a protobuf type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dtype.hpp"
#include "file_io.hpp"
#include "onnx_schema/onnx.pb.h"  // generated at build time from libonnx-dev's onnx.proto

namespace bnorm {
/// ONNX's messages, compiled as package bnorm.onnx_schema (cmake/private_onnx_package.cmake)
/// so that they are never mistaken for libonnx_proto's onnx:: classes in one program.
namespace onnx = onnx_schema;
}  // namespace bnorm

namespace bnorm::onnx_model {

/// The largest model file read: protobuf's own limit of a message, 2 GiB - 1 bytes.  Bigger
/// models keep their tensors in side files (external data).
inline constexpr std::size_t max_model_bytes = 0x7fffffff;
/// How deeply messages may nest (protobuf's recursion limit, set explicitly): graphs inside
/// attributes inside nodes, as If and Loop hold them.
inline constexpr int max_nesting = 64;
/// What the objects protobuf builds of a model may take beyond 8 times the model's size (an
/// int64 of one byte on the wire is 8 in memory): 64 MiB, estimated before the parse.  A file
/// of empty messages or strings is refused, not built at a hundred times its size.
inline constexpr std::size_t max_parse_memory = std::size_t{64} << 20;
/// The most elements one tensor may declare (2^40), checked before any value is read.
inline constexpr std::uint64_t max_tensor_elements = std::uint64_t{1} << 40;

/// A parsed model and where it came from.
struct model {
  std::unique_ptr<onnx::ModelProto> proto;
  /// The file's name, for messages.
  std::string file_name;
  /// The folder external data is read from: the model file's own.  Empty when the model came
  /// from a stream (standard input, a pipe), which names no folder: external data is refused.
  std::filesystem::path folder;
};

/// Reads and parses `file` (whose first bytes may have been peeked at) under max_model_bytes
/// and max_nesting, and checks what every reader relies on: a graph is present, every node has
/// an op_type, every tensor's data type, dims (non-negative, their product at most
/// max_tensor_elements without overflow) and data size agree.  Throws data_error
/// ("<file>: <what>") for anything else, io_error when reading fails.
model read_model(std::unique_ptr<input_file> file);

/// read_model's parse and checks of a model's bytes already in memory, named `file_name`,
/// whose external data is read from `folder` (empty: none is read).
model parse_model(std::string_view bytes, std::string file_name, std::filesystem::path folder);

/// Serializes `proto` into `out`.  Throws data_error when it is over max_model_bytes (a model
/// that must keep tensors in side files), io_error when writing fails.
void write_model(const onnx::ModelProto& proto, output_file& out);

/// The dtype of an ONNX TensorProto.DataType, when bnorm reads it (the floating types, the
/// integers and bool); std::nullopt otherwise (strings, complex, ...).
std::optional<dtype> dtype_of(std::int32_t data_type);

/// A tensor's values, decoded.
struct tensor_values {
  dtype type;
  std::vector<std::size_t> shape;
  std::vector<double> values;  ///< in C order
  /// int64 values exactly, for integer tensors (empty otherwise)
  std::vector<std::int64_t> integers;
};

/// Decodes `tensor` (an initializer or a Constant's value) of the model `m`: typed fields
/// (float_data, double_data, int32_data holding float16/bfloat16 bits, int64_data, ...) or
/// raw_data (little-endian), or external data read from `m.folder` only: a location that is
/// absolute, holds "..", or leads outside the folder through a symbolic link is refused, as are
/// an offset or length past the side file's end.  `what` names the tensor in messages ("node
/// 'bn1' input 'scale'").  The values are decoded into `storage`, whose capacity is reused (a
/// fold decodes one layer after another into one buffer).  Throws data_error ("<file>: <what>:
/// ...").
tensor_values decode_tensor(const model& m, const onnx::TensorProto& tensor,
                            const std::string& what, std::vector<double> storage = {});

/// Replaces `tensor`'s data by `values` (C order) rounded once to `type` (float16, bfloat16,
/// float32 or float64), as little-endian raw_data, with `shape` as its dims; its typed fields
/// and any external data are cleared.  Its name, doc_string and other fields are kept.
void encode_tensor(onnx::TensorProto& tensor, dtype type, const std::vector<std::size_t>& shape,
                   std::span<const double> values);

/// Where a constant of a graph is held.
struct constant_ref {
  /// The tensor: an initializer, or the `value` attribute of a Constant node.
  const onnx::TensorProto* tensor = nullptr;
  /// The Constant node's index in graph.node(), or -1 for an initializer.
  int constant_node = -1;
  /// The initializer's index in graph.initializer(), or -1 for a Constant node.
  int initializer = -1;
};

/// The constant value named `name` in `graph`: an initializer that is not also a graph input
/// (a graph input overrides it, except under IR version < 4, where every initializer is listed
/// as an input), or the output of a Constant node holding a tensor in `value` (or
/// value_float, value_floats, value_int, value_ints, which `constant_values` decodes).
/// std::nullopt when `name` is not constant.
std::optional<constant_ref> find_constant(const onnx::ModelProto& proto,
                                          const onnx::GraphProto& graph, const std::string& name);

/// The values of the constant `ref` of the top-level graph, found by find_constant or a
/// constant_index, decoded (see decode_tensor, whose `storage` it takes).  Throws data_error
/// as decode_tensor.
tensor_values constant_values(const model& m, const constant_ref& ref, const std::string& what,
                              std::vector<double> storage = {});

/// The values of the constant `name` of the top-level graph, decoded (see find_constant and
/// decode_tensor); std::nullopt when it is not constant.  Throws data_error as decode_tensor.
std::optional<tensor_values> constant_values(const model& m, const std::string& name,
                                             const std::string& what,
                                             std::vector<double> storage = {});

/// find_constant for many names of one graph: its constants indexed once, so that looking up
/// every node's inputs takes time in proportion to the graph, not to its square.  The graph
/// must not change while the index is used.
class constant_index {
 public:
  constant_index(const onnx::ModelProto& proto, const onnx::GraphProto& graph);
  /// What find_constant(proto, graph, name) gives.
  std::optional<constant_ref> find(const std::string& name) const;

 private:
  // A name whose first Constant node holds no dense number maps to std::nullopt, as it hides
  // any later Constant node of that name from find_constant.
  std::unordered_map<std::string, std::optional<constant_ref>> constants_;
};

/// The attribute `name` of `node`, or null.
const onnx::AttributeProto* attribute_named(const onnx::NodeProto& node, std::string_view name);

/// Whether `domain` names ONNX's default operator set: "" or "ai.onnx".
bool is_default_domain(const std::string& domain);

/// A BatchNormalization node of the top-level graph.
struct batch_norm_node {
  /// The node's index in graph.node().
  int node = -1;
  /// The name bnorm gives the layer: the node's name, or, when it has none or shares it with
  /// another node, the name of its output Y (unique in a valid graph).
  std::string layer_name;
  /// The attribute (a float32, widened exactly), else the schema's default, the float32 1e-5f
  double epsilon = static_cast<double>(1e-5f);
  /// ONNX's meaning: running = running·momentum + batch·(1 − momentum); the attribute, else the
  /// schema's default, the float32 0.9f
  double momentum = static_cast<double>(0.9f);
  /// training_mode = 1 (opset 14+), is_test = 0 or absent (before opset 7), or statistics
  /// outputs used
  bool training_mode = false;
};

/// Every BatchNormalization node (domain "" or "ai.onnx") of the model's top-level graph, in
/// graph order.  Throws data_error for a node with fewer than five inputs or no output.
std::vector<batch_norm_node> batch_norm_nodes(const onnx::ModelProto& proto);

}  // namespace bnorm::onnx_model
