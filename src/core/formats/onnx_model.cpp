// SPDX-License-Identifier: Apache-2.0
#include "onnx_model.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/wire_format_lite.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "count_text.hpp"
#include "error.hpp"
#include "number_format.hpp"
#include "quoted_name.hpp"

namespace bnorm::onnx_model {
namespace {

using onnx::TensorProto;

// protobuf logs some failures to stderr itself; a hostile file must print only bnorm's line.
void silence_protobuf() {
  static std::once_flag once;
  std::call_once(once, [] { google::protobuf::SetLogHandler(nullptr); });
}

// A file descriptor closed on every path out.
class descriptor {
 public:
  explicit descriptor(int fd) : fd_(fd) {}
  ~descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  descriptor(const descriptor&) = delete;
  descriptor& operator=(const descriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string system_reason(int err) {
  return std::strerror(err);
}

// The folder a model's external data is read from: the file's own, or none for a stream.
std::filesystem::path folder_of(const input_file& file) {
  if (!file.seekable() || file.name() == "<stdin>" || descriptor_named(file.name()) >= 0) {
    return {};
  }
  std::filesystem::path folder = std::filesystem::path(file.name()).parent_path();
  return folder.empty() ? std::filesystem::path(".") : folder;
}

// Refuses a model over protobuf's limit.
void check_model_limit(std::size_t size, const std::string& file_name) {
  if (size > max_model_bytes) {
    throw data_error(file_name + ": the model is over " + std::to_string(max_model_bytes) +
                     " bytes, the most a protobuf holds; larger models keep their tensors in "
                     "side files (external data)");
  }
}

// Refuses what no parse can take: over protobuf's limit, or empty (which protobuf would read
// as an empty message).
void check_model_size(std::size_t size, const std::string& file_name) {
  check_model_limit(size, file_name);
  if (size == 0) throw data_error(file_name + ": not an ONNX model: the file is empty");
}

std::string read_bytes(input_file& file) {
  std::string bytes;
  if (file.seekable()) {
    check_model_limit(file.size(), file.name());
    bytes.resize(file.size());
    bytes.resize(file.read(bytes.data(), bytes.size()));
    return bytes;
  }
  // A stream's size is not known: read it in blocks, and stop past the limit.
  constexpr std::size_t chunk = std::size_t{1} << 20;
  while (true) {
    const std::size_t old = bytes.size();
    check_model_limit(old, file.name());
    bytes.resize(old + chunk);
    const std::size_t got = file.read(bytes.data() + old, chunk);
    bytes.resize(old + got);
    if (got < chunk) break;
  }
  check_model_limit(bytes.size(), file.name());
  return bytes;
}

// --- The wire format, walked again only to say why protobuf refused a file ---------------

// The message types that hold other messages; `leaf` is any message holding none that
// matters here (OperatorSetIdProto, StringStringEntryProto, TensorAnnotation).
enum class kind {
  leaf,
  model,
  graph,
  node,
  attribute,
  tensor,
  sparse_tensor,
  value_info,
  type,
  function,
  training_info
};

// The kind of message field `field` of a `parent` holds, or nullopt for a field that holds
// none (a number, a string, bytes).
std::optional<kind> message_field(kind parent, std::uint32_t field) {
  switch (parent) {
    case kind::model:
      if (field == 7) return kind::graph;
      if (field == 20) return kind::training_info;
      if (field == 25) return kind::function;
      if (field == 8 || field == 14) return kind::leaf;
      break;
    case kind::graph:
      if (field == 1) return kind::node;
      if (field == 5) return kind::tensor;
      if (field == 15) return kind::sparse_tensor;
      if (field == 11 || field == 12 || field == 13) return kind::value_info;
      if (field == 14) return kind::leaf;
      break;
    case kind::node:
      if (field == 5) return kind::attribute;
      break;
    case kind::attribute:
      if (field == 5 || field == 10) return kind::tensor;
      if (field == 6 || field == 11) return kind::graph;
      if (field == 22 || field == 23) return kind::sparse_tensor;
      if (field == 14 || field == 15) return kind::type;
      break;
    case kind::tensor:
      if (field == 12 || field == 13) return kind::leaf;
      break;
    case kind::sparse_tensor:
      if (field == 1 || field == 2) return kind::tensor;
      break;
    case kind::value_info:
      if (field == 2) return kind::type;
      break;
    case kind::type:
      // Tensor, Sequence, Map, Optional, SparseTensor types: each may hold a type again.
      if (field == 1 || field == 4 || field == 5 || field == 8 || field == 9) return kind::type;
      break;
    case kind::function:
      if (field == 7) return kind::node;
      if (field == 11) return kind::attribute;
      if (field == 9) return kind::leaf;
      break;
    case kind::training_info:
      if (field == 1 || field == 3) return kind::graph;
      if (field == 2 || field == 4) return kind::leaf;
      break;
    case kind::leaf:
      break;
  }
  return std::nullopt;
}

struct wire_reader {
  std::string_view bytes;
  std::size_t at = 0;

  std::optional<std::uint64_t> varint(std::size_t end) {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at >= end) return std::nullopt;
      const auto b = static_cast<unsigned char>(bytes[at++]);
      value |= std::uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80u) == 0) return value;
    }
    return std::nullopt;
  }
};

// Why the message of `k` in bytes [at, end) does not parse, at `depth` messages deep; empty
// when its wire structure is sound (and what is wrong is elsewhere).  Inside a group (wire
// types 3 and 4, which protobuf keeps as unknown fields, nesting as messages do), `group` is
// its field number, and its end-group tag ends the walk.
std::string wire_fault(wire_reader& r, std::size_t end, kind k, int depth,
                       std::uint32_t group = 0) {
  if (depth > max_nesting) {
    return "messages nest more than " + std::to_string(max_nesting) + " deep";
  }
  while (r.at < end) {
    const std::size_t tag_at = r.at;
    const auto tag = r.varint(end);
    if (!tag) return "the file ends inside a field's tag at byte " + std::to_string(tag_at);
    const auto field = static_cast<std::uint32_t>(*tag >> 3);
    const auto wire = static_cast<unsigned>(*tag & 7);
    const std::string where =
        "field " + std::to_string(field) + " at byte " + std::to_string(tag_at);
    if (field == 0) return "a field numbered 0 at byte " + std::to_string(tag_at);
    switch (wire) {
      case 0:
        if (!r.varint(end)) return where + ": its number runs past the end of its message";
        break;
      case 1:
      case 5: {
        const std::size_t size = wire == 1 ? 8 : 4;
        if (end - r.at < size) return where + ": its value runs past the end of its message";
        r.at += size;
        break;
      }
      case 2: {
        const auto length = r.varint(end);
        if (!length) return where + ": its length runs past the end of its message";
        if (*length > end - r.at) {
          return where + " declares " + std::to_string(*length) + " bytes, and its message has " +
                 std::to_string(end - r.at) + " left";
        }
        const std::size_t inner_end = r.at + static_cast<std::size_t>(*length);
        if (const auto inner_kind = message_field(k, field)) {
          std::string inner = wire_fault(r, inner_end, *inner_kind, depth + 1);
          if (!inner.empty()) return inner;
        }
        r.at = inner_end;
        break;
      }
      case 3: {
        std::string inner = wire_fault(r, end, kind::leaf, depth + 1, field);
        if (!inner.empty()) return inner;
        break;
      }
      case 4:
        if (field == group) return "";
        return where + " ends a group that was not started";
      default:
        return where + " has wire type " + std::to_string(wire) + ", which protobuf does not " +
               "read here";
    }
  }
  if (group != 0) return "a group of field " + std::to_string(group) + " is never ended";
  return "";
}

std::string parse_fault(std::string_view bytes) {
  wire_reader r{bytes};
  std::string fault = wire_fault(r, bytes.size(), kind::model, 0);
  if (fault.empty()) fault = "a field holds a value of the wrong wire type for the ONNX schema";
  return "not an ONNX model: " + fault;
}

// --- Validation of what every reader relies on -------------------------------------------

// The number of elements dims declare, or a message saying why they are not usable.
std::optional<std::uint64_t> element_count(const TensorProto& tensor, std::string* why) {
  // The other dimensions are checked beside a 0 too, in any order, as NumPy checks them: a
  // 0 first must not let a later dimension of 2^62 through into the files bnorm writes.
  std::uint64_t product = 1;
  bool empty = false;
  for (const std::int64_t d : tensor.dims()) {
    if (d < 0) {
      *why = "a negative dimension (" + std::to_string(d) + ")";
      return std::nullopt;
    }
    const auto u = static_cast<std::uint64_t>(d);
    if (u == 0) {
      empty = true;
      continue;
    }
    if (product > max_tensor_elements / u) {
      *why =
          "dimensions whose product is over " + std::to_string(max_tensor_elements) + " elements";
      return std::nullopt;
    }
    product *= u;
  }
  return empty ? 0 : product;
}

// Elements each typed field value stands for, and which field a type's values go in.
enum class typed_field {
  none,
  float_data,
  int32_data,
  string_data,
  int64_data,
  double_data,
  uint64_data
};

typed_field field_for(std::int32_t data_type) {
  switch (data_type) {
    case TensorProto::FLOAT:
    case TensorProto::COMPLEX64:
      return typed_field::float_data;
    case TensorProto::UINT8:
    case TensorProto::INT8:
    case TensorProto::UINT16:
    case TensorProto::INT16:
    case TensorProto::INT32:
    case TensorProto::BOOL:
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16:
      return typed_field::int32_data;
    case TensorProto::STRING:
      return typed_field::string_data;
    case TensorProto::INT64:
      return typed_field::int64_data;
    case TensorProto::DOUBLE:
    case TensorProto::COMPLEX128:
      return typed_field::double_data;
    case TensorProto::UINT32:
    case TensorProto::UINT64:
      return typed_field::uint64_data;
    default:
      return typed_field::none;
  }
}

std::size_t values_per_element(std::int32_t data_type) {
  return data_type == TensorProto::COMPLEX64 || data_type == TensorProto::COMPLEX128 ? 2 : 1;
}

// Bytes per element in raw_data, 0 for strings (which raw_data cannot hold).
std::size_t raw_element_size(std::int32_t data_type) {
  if (const auto type = dtype_of(data_type)) return type->size;
  if (data_type == TensorProto::COMPLEX64) return 8;
  if (data_type == TensorProto::COMPLEX128) return 16;
  return 0;
}

std::string type_name(std::int32_t data_type) {
  if (TensorProto::DataType_IsValid(data_type)) {
    return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(data_type));
  }
  return "type " + std::to_string(data_type);
}

std::size_t typed_count(const TensorProto& t, typed_field f) {
  switch (f) {
    case typed_field::float_data:
      return static_cast<std::size_t>(t.float_data_size());
    case typed_field::int32_data:
      return static_cast<std::size_t>(t.int32_data_size());
    case typed_field::string_data:
      return static_cast<std::size_t>(t.string_data_size());
    case typed_field::int64_data:
      return static_cast<std::size_t>(t.int64_data_size());
    case typed_field::double_data:
      return static_cast<std::size_t>(t.double_data_size());
    case typed_field::uint64_data:
      return static_cast<std::size_t>(t.uint64_data_size());
    case typed_field::none:
      break;
  }
  return 0;
}

const char* field_name(typed_field f) {
  switch (f) {
    case typed_field::float_data:
      return "float_data";
    case typed_field::int32_data:
      return "int32_data";
    case typed_field::string_data:
      return "string_data";
    case typed_field::int64_data:
      return "int64_data";
    case typed_field::double_data:
      return "double_data";
    case typed_field::uint64_data:
      return "uint64_data";
    case typed_field::none:
      break;
  }
  return "";
}

// How many typed fields hold values, of all six.
int typed_fields_used(const TensorProto& t) {
  return (t.float_data_size() > 0) + (t.int32_data_size() > 0) + (t.string_data_size() > 0) +
         (t.int64_data_size() > 0) + (t.double_data_size() > 0) + (t.uint64_data_size() > 0);
}

bool is_external(const TensorProto& t) {
  return t.data_location() == TensorProto::EXTERNAL;
}

// Checks a tensor's type, dims and data size; returns its element count.  Throws data_error
// "<what>: ..." (the caller adds the file).
std::uint64_t check_tensor(const TensorProto& t, const std::string& what) {
  const std::int32_t data_type = t.data_type();
  if (data_type == TensorProto::UNDEFINED || !TensorProto::DataType_IsValid(data_type)) {
    throw data_error(what + ": its data type (" + std::to_string(data_type) +
                     ") is not one ONNX defines");
  }
  std::string why;
  const auto count = element_count(t, &why);
  if (!count) throw data_error(what + ": its dims declare " + why);
  if (t.has_data_location() && !TensorProto::DataLocation_IsValid(t.data_location())) {
    throw data_error(what + ": its data_location (" + std::to_string(t.data_location()) +
                     ") is not one ONNX defines");
  }
  const std::string type = type_name(data_type);
  if (is_external(t)) {
    if (t.has_raw_data() || typed_fields_used(t) > 0) {
      throw data_error(what + ": it holds values and also says they lie in a side file");
    }
    if (raw_element_size(data_type) == 0) {
      throw data_error(what + ": " + type + " values cannot lie in a side file");
    }
    return *count;
  }
  if (t.has_raw_data()) {
    if (typed_fields_used(t) > 0) {
      throw data_error(what + ": it holds both raw_data and " + field_name(field_for(data_type)) +
                       "-style values");
    }
    const std::size_t size = raw_element_size(data_type);
    if (size == 0) throw data_error(what + ": " + type + " values cannot be raw_data");
    // count <= 2^40 and size <= 16: the product cannot overflow.
    if (t.raw_data().size() != *count * size) {
      throw data_error(what + ": its raw_data holds " + count_text(t.raw_data().size(), "byte") +
                       ", and its dims declare " + count_text(*count, "element") + " of " + type +
                       " (" + count_text(*count * size, "byte") + ")");
    }
    return *count;
  }
  const typed_field field = field_for(data_type);
  if (typed_fields_used(t) > (typed_count(t, field) > 0 ? 1 : 0)) {
    throw data_error(what + ": it holds values in a field other than " + field_name(field) +
                     ", where " + type + " values go");
  }
  const std::uint64_t wanted = *count * values_per_element(data_type);
  if (typed_count(t, field) != wanted) {
    throw data_error(what + ": its " + field_name(field) + " holds " +
                     count_text(typed_count(t, field), "value") + ", and its dims declare " +
                     count_text(*count, "element") + " of " + type);
  }
  return *count;
}

void check_graph(const onnx::GraphProto& graph, const std::string& where);

void check_attribute(const onnx::AttributeProto& a, const std::string& where) {
  const std::string at = where + " attribute " + quoted_name(a.name());
  if (a.has_t()) check_tensor(a.t(), at);
  for (int i = 0; i < a.tensors_size(); ++i) check_tensor(a.tensors(i), at);
  if (a.has_sparse_tensor()) {
    check_tensor(a.sparse_tensor().values(), at + " values");
    check_tensor(a.sparse_tensor().indices(), at + " indices");
  }
  if (a.has_g()) check_graph(a.g(), at);
  for (int i = 0; i < a.graphs_size(); ++i) check_graph(a.graphs(i), at);
}

std::string node_label(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? "node " + std::to_string(index) : "node " + quoted_name(node.name());
}

void check_node(const onnx::NodeProto& node, int index, const std::string& where) {
  const std::string label = where + node_label(node, index);
  if (node.op_type().empty()) throw data_error(label + ": it has no op_type");
  for (const auto& a : node.attribute()) check_attribute(a, label);
}

void check_graph(const onnx::GraphProto& graph, const std::string& where) {
  const std::string prefix = where.empty() ? "" : where + ": ";
  for (int i = 0; i < graph.initializer_size(); ++i) {
    check_tensor(graph.initializer(i),
                 prefix + "initializer " + quoted_name(graph.initializer(i).name()));
  }
  for (int i = 0; i < graph.sparse_initializer_size(); ++i) {
    const std::string label = prefix + "sparse initializer " + std::to_string(i);
    check_tensor(graph.sparse_initializer(i).values(), label + " values");
    check_tensor(graph.sparse_initializer(i).indices(), label + " indices");
  }
  for (int i = 0; i < graph.node_size(); ++i) check_node(graph.node(i), i, prefix);
}

void check_model(const onnx::ModelProto& proto) {
  if (!proto.has_graph()) throw data_error("not an ONNX model: it holds no graph");
  check_graph(proto.graph(), "");
  for (const auto& f : proto.functions()) {
    const std::string where = "function " + quoted_name(f.name()) + ": ";
    for (int i = 0; i < f.node_size(); ++i) check_node(f.node(i), i, where);
  }
}

// --- External data ------------------------------------------------------------------------

std::optional<std::uint64_t> parse_decimal(const std::string& text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

struct external_place {
  std::string location;
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
};

external_place external_place_of(const TensorProto& t, const std::string& what) {
  external_place place;
  bool has_location = false;
  std::set<std::string> seen;
  for (const auto& entry : t.external_data()) {
    const std::string& key = entry.key();
    if (!seen.insert(key).second) {
      throw data_error(what + ": its external data names " + quoted_name(key) + " twice");
    }
    if (key == "location") {
      place.location = entry.value();
      has_location = true;
    } else if (key == "offset" || key == "length") {
      const auto value = parse_decimal(entry.value());
      if (!value) {
        throw data_error(what + ": its external data's " + key + " " + quoted_name(entry.value()) +
                         " is not a byte count");
      }
      if (key == "offset") {
        place.offset = *value;
      } else {
        place.length = *value;
      }
    } else if (key != "checksum") {
      // basepath and anything newer could redirect the read: refused rather than ignored.
      throw data_error(what + ": its external data has the entry " + quoted_name(key) +
                       ", which bnorm does not read");
    }
  }
  if (!has_location || place.location.empty()) {
    throw data_error(what + ": its data lies in a side file, and it names none (no location)");
  }
  return place;
}

// Opens `location` inside `folder`, refusing any way out of it: an absolute path, "..", and
// symbolic links (each component is opened with O_NOFOLLOW from the one before).
int open_confined(const std::filesystem::path& folder, const std::string& location,
                  const std::string& what) {
  const std::string refused = what + ": its side file " + quoted_name(location);
  if (location.find('\0') != std::string::npos) {
    throw data_error(refused + " holds a NUL byte");
  }
  if (location.front() == '/') {
    throw data_error(refused +
                     " is an absolute path; external data is read only from inside "
                     "the model's folder");
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= location.size()) {
    const std::size_t slash = std::min(location.find('/', start), location.size());
    const std::string part = location.substr(start, slash - start);
    if (part == "..") {
      throw data_error(refused +
                       " leads out of the model's folder (\"..\"); external data is "
                       "read only from inside it");
    }
    if (!part.empty() && part != ".") parts.push_back(part);
    start = slash + 1;
  }
  if (parts.empty()) throw data_error(refused + " names no file");
  int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    throw io_error(folder.string() + ": " + system_reason(errno));
  }
  descriptor current(dir);
  std::unique_ptr<descriptor> next;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    // O_NONBLOCK: a FIFO or a device in the folder is refused by fstat, not waited on.
    const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? O_NONBLOCK : O_DIRECTORY);
    const int fd = ::openat(next ? next->get() : current.get(), parts[i].c_str(), flags);
    if (fd < 0) {
      const int err = errno;
      if (err == ELOOP || (err == ENOTDIR && !last)) {
        struct stat st {};
        if (::fstatat(next ? next->get() : current.get(), parts[i].c_str(), &st,
                      AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode)) {
          throw data_error(refused + " goes through a symbolic link (" + quoted_name(parts[i]) +
                           "); external data is read only from files inside the model's folder");
        }
      }
      if (err == ENOENT) throw data_error(refused + " is not in the model's folder");
      throw io_error(refused + ": " + system_reason(err));
    }
    if (last) {
      next.reset();
      return fd;
    }
    next = std::make_unique<descriptor>(fd);
  }
  return -1;  // not reached: parts is not empty
}

std::string read_external(const model& m, const TensorProto& t, std::uint64_t wanted_bytes,
                          const std::string& what) {
  const external_place place = external_place_of(t, what);
  if (m.folder.empty()) {
    throw data_error(what + ": its data lies in the side file " + quoted_name(place.location) +
                     ", and a model read from a stream has no folder to read it from");
  }
  const descriptor fd(open_confined(m.folder, place.location, what));
  const std::string side = what + ": its side file " + quoted_name(place.location);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw io_error(side + ": " + system_reason(errno));
  if (!S_ISREG(st.st_mode)) throw data_error(side + " is not a regular file");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (place.offset > file_size) {
    throw data_error(side + " has " + count_text(file_size, "byte") +
                     ", and the data is said to "
                     "start at byte " +
                     std::to_string(place.offset));
  }
  const std::uint64_t length = place.length.value_or(file_size - place.offset);
  if (length > file_size - place.offset) {
    throw data_error(side + " has " + count_text(file_size, "byte") +
                     ", and the data is said to "
                     "run from byte " +
                     std::to_string(place.offset) + " for " + count_text(length, "byte"));
  }
  if (length != wanted_bytes) {
    throw data_error(side + " holds " + count_text(length, "byte") +
                     " for it, and its dims "
                     "declare " +
                     count_text(wanted_bytes, "byte"));
  }
  std::string bytes(static_cast<std::size_t>(length), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::pread(fd.get(), bytes.data() + done, bytes.size() - done,
                                static_cast<off_t>(place.offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw io_error(side + ": " + system_reason(errno));
    }
    if (got == 0) throw io_error(side + ": the file ended while it was read");
    done += static_cast<std::size_t>(got);
  }
  return bytes;
}

// The bits of a 16-bit float or a small integer held in int32_data, checked against `type`.
template <typename Field>
void decode_typed(const Field& field, dtype type, const std::string& what, tensor_values& out) {
  out.values.reserve(static_cast<std::size_t>(field.size()));
  for (const auto v : field) {
    if constexpr (std::is_integral_v<std::decay_t<decltype(v)>>) {
      if (type.size == 2 && type.is_floating()) {
        if (v < 0 || v > 0xffff) {
          throw data_error(what + ": its int32_data holds " + std::to_string(v) +
                           ", which is not the bits of a 16-bit float");
        }
        std::byte bits[2];
        const auto u = static_cast<std::uint16_t>(v);
        std::memcpy(bits, &u, 2);
        double value;
        decode(type, bits, 1, &value);
        out.values.push_back(value);
        continue;
      }
      // The type's own range: a value it cannot hold is not one of its values.
      bool fits = true;
      if (type.kind == scalar_kind::boolean) {
        fits = v == 0 || v == 1;
      } else if (type.kind == scalar_kind::signed_int && type.size < 8) {
        const std::int64_t limit = std::int64_t{1} << (8 * type.size - 1);
        fits = static_cast<std::int64_t>(v) >= -limit && static_cast<std::int64_t>(v) < limit;
      } else if (type.kind == scalar_kind::unsigned_int && type.size < 8) {
        fits = static_cast<std::uint64_t>(v) < (std::uint64_t{1} << (8 * type.size));
      }
      if (!fits) {
        throw data_error(what + ": it holds " + std::to_string(v) + ", which " + name_of(type) +
                         " cannot hold");
      }
      out.values.push_back(static_cast<double>(v));
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::uint64_t>) {
        if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          out.integers.push_back(static_cast<std::int64_t>(v));
        }
      } else {
        out.integers.push_back(static_cast<std::int64_t>(v));
      }
    } else {
      out.values.push_back(static_cast<double>(v));
    }
  }
}

void decode_raw(std::string_view bytes, tensor_values& out) {
  const dtype type = out.type;
  const std::size_t count = bytes.size() / type.size;
  out.values.resize(count);
  const auto* data = reinterpret_cast<const std::byte*>(bytes.data());
  decode(type, data, count, out.values.data());
  if (type.kind == scalar_kind::signed_int || type.kind == scalar_kind::unsigned_int) {
    out.integers.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      std::uint64_t u = 0;
      std::memcpy(&u, data + i * type.size, type.size);  // little-endian host
      if (type.kind == scalar_kind::signed_int && type.size < 8) {
        const unsigned shift = 64 - 8 * type.size;
        out.integers.push_back(static_cast<std::int64_t>(u << shift) >> shift);
      } else if (type.kind == scalar_kind::unsigned_int && type.size == 8 &&
                 u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        // Past int64: the double is all there is (integers stays short, hence cleared below).
        out.integers.clear();
        return;
      } else {
        out.integers.push_back(static_cast<std::int64_t>(u));
      }
    }
  }
}

}  // namespace

const onnx::AttributeProto* attribute_named(const onnx::NodeProto& node, std::string_view name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

bool is_default_domain(const std::string& domain) {
  return domain.empty() || domain == "ai.onnx";
}

namespace {

// The attribute of a Constant node that holds its value, when it is numeric and dense.
const onnx::AttributeProto* constant_value_attribute(const onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    const std::string& n = a.name();
    if (n == "value" || n == "value_float" || n == "value_floats" || n == "value_int" ||
        n == "value_ints") {
      return &a;
    }
  }
  return nullptr;
}

// onnx.proto's messages, as far as a walk of the wire format needs them: the fields that hold
// messages, and those of numbers that may come packed.  (The schema is compiled for protobuf's
// lite runtime, which has no descriptors to ask.)
enum class message_type : std::uint8_t {
  model,
  graph,
  node,
  attribute,
  tensor,
  segment,
  sparse_tensor,
  value_info,
  type,
  type_tensor,
  type_sequence,
  type_map,
  type_optional,
  type_sparse_tensor,
  shape,
  dimension,
  string_entry,
  opset,
  training_info,
  function,
  annotation,
  unknown_group
};

struct field_schema {
  std::uint32_t number;
  bool holds_message;  // else: numbers that may come packed
  message_type message = message_type::unknown_group;
  // Packed numbers: the bytes protobuf holds for each byte of them (a float's 4 for its 4; an
  // int64's 8 for a varint of 1 byte).
  std::size_t held_per_byte = 0;
};

struct message_schema {
  std::size_t size;  // of the object protobuf builds
  std::vector<field_schema> fields;

  const field_schema* field(std::uint32_t number) const {
    for (const field_schema& f : fields) {
      if (f.number == number) return &f;
    }
    return nullptr;
  }
};

const message_schema& schema_of(message_type type) {
  using t = message_type;
  auto m = [](std::uint32_t number, t message) { return field_schema{number, true, message}; };
  auto packed = [](std::uint32_t number, std::size_t held_per_byte) {
    return field_schema{number, false, message_type::unknown_group, held_per_byte};
  };
  // In message_type's order, one for each.
  static const std::array<message_schema, static_cast<std::size_t>(t::unknown_group) + 1> schemas =
      {{
          {sizeof(onnx::ModelProto),
           {m(7, t::graph), m(8, t::opset), m(14, t::string_entry), m(20, t::training_info),
            m(25, t::function)}},
          {sizeof(onnx::GraphProto),
           {m(1, t::node), m(5, t::tensor), m(15, t::sparse_tensor), m(11, t::value_info),
            m(12, t::value_info), m(13, t::value_info), m(14, t::annotation)}},
          {sizeof(onnx::NodeProto), {m(5, t::attribute)}},
          {sizeof(onnx::AttributeProto),
           {m(5, t::tensor), m(6, t::graph), m(22, t::sparse_tensor), m(14, t::type),
            m(10, t::tensor), m(11, t::graph), m(23, t::sparse_tensor), m(15, t::type),
            packed(7, 1), packed(8, 8)}},
          {sizeof(onnx::TensorProto),
           {m(3, t::segment), m(13, t::string_entry), packed(1, 8), packed(4, 1), packed(5, 4),
            packed(7, 8), packed(10, 1), packed(11, 8)}},
          {sizeof(onnx::TensorProto_Segment), {}},
          {sizeof(onnx::SparseTensorProto), {m(1, t::tensor), m(2, t::tensor), packed(3, 8)}},
          {sizeof(onnx::ValueInfoProto), {m(2, t::type)}},
          {sizeof(onnx::TypeProto),
           {m(1, t::type_tensor), m(4, t::type_sequence), m(5, t::type_map), m(9, t::type_optional),
            m(8, t::type_sparse_tensor)}},
          {sizeof(onnx::TypeProto_Tensor), {m(2, t::shape)}},
          {sizeof(onnx::TypeProto_Sequence), {m(1, t::type)}},
          {sizeof(onnx::TypeProto_Map), {m(2, t::type)}},
          {sizeof(onnx::TypeProto_Optional), {m(1, t::type)}},
          {sizeof(onnx::TypeProto_SparseTensor), {m(2, t::shape)}},
          {sizeof(onnx::TensorShapeProto), {m(1, t::dimension)}},
          {sizeof(onnx::TensorShapeProto_Dimension), {}},
          {sizeof(onnx::StringStringEntryProto), {}},
          {sizeof(onnx::OperatorSetIdProto), {}},
          {sizeof(onnx::TrainingInfoProto),
           {m(1, t::graph), m(2, t::graph), m(3, t::string_entry), m(4, t::string_entry)}},
          {sizeof(onnx::FunctionProto), {m(7, t::node), m(9, t::opset)}},
          {sizeof(onnx::TensorAnnotation), {m(2, t::string_entry)}},
          {0, {}},  // an unknown group: its fields are unknown fields
      }};
  return schemas[static_cast<std::size_t>(type)];
}

// What protobuf will build of a model's bytes, estimated before it builds any: a walk of the
// wire format that follows onnx.proto's message fields and skips every payload.  Protobuf
// builds an object of 50 to 400 bytes for a message of 2 bytes on the wire, and a string
// object for an empty string, so a file of empty messages would take a hundred times its
// size; the estimate is held to a budget before the parse.
class memory_estimate {
 public:
  explicit memory_estimate(std::size_t budget) : budget_(budget) {}

  /// Walks the fields of one message of `type` to the end of `in`'s limit (or, for an unknown
  /// group, to its end tag `group`); false where the bytes are malformed (the parse that
  /// follows says how) or the estimate passed the budget.
  bool walk(google::protobuf::io::CodedInputStream& in, message_type type, int depth,
            std::uint32_t group = 0) {
    using wire = google::protobuf::internal::WireFormatLite;
    const message_schema& schema = schema_of(type);
    while (used_ <= budget_) {
      const std::uint32_t tag = in.ReadTag();
      if (tag == 0) return group == 0;
      const std::uint32_t number = tag >> 3;
      const field_schema* field =
          type == message_type::unknown_group ? nullptr : schema.field(number);
      // A number is a slot of a repeated field or part of its message; an unknown field is
      // kept as its bytes.
      const std::size_t element = field != nullptr ? repeated_slot : unknown_field;
      switch (wire::GetTagWireType(tag)) {
        case wire::WIRETYPE_VARINT: {
          std::uint64_t ignored = 0;
          if (!in.ReadVarint64(&ignored)) return false;
          used_ += element;
          break;
        }
        case wire::WIRETYPE_FIXED64:
          if (!in.Skip(8)) return false;
          used_ += element;
          break;
        case wire::WIRETYPE_FIXED32:
          if (!in.Skip(4)) return false;
          used_ += element;
          break;
        case wire::WIRETYPE_LENGTH_DELIMITED: {
          std::uint32_t length = 0;
          if (!in.ReadVarint32(&length) || length > std::numeric_limits<int>::max()) {
            return false;
          }
          if (field != nullptr && field->holds_message) {
            used_ += schema_of(field->message).size + repeated_slot;
            if (depth >= max_nesting) return false;
            const auto limit = in.PushLimit(static_cast<int>(length));
            if (!walk(in, field->message, depth + 1) || in.BytesUntilLimit() != 0) return false;
            in.PopLimit(limit);
          } else {
            // Packed numbers, or a string (its object and its bytes): the table names only the
            // fields of messages and numbers, so any other is taken for a string, the dearest.
            if (field != nullptr && field->held_per_byte != 0) {
              used_ += field->held_per_byte * length;
            } else {
              used_ += string_object + repeated_slot + length;
            }
            if (!in.Skip(static_cast<int>(length))) return false;
          }
          break;
        }
        case wire::WIRETYPE_START_GROUP:
          used_ += unknown_field;
          if (depth >= max_nesting || !walk(in, message_type::unknown_group, depth + 1, number)) {
            return false;
          }
          break;
        case wire::WIRETYPE_END_GROUP:
          return group == number;
        default:
          return false;
      }
    }
    return false;
  }

  bool over_budget() const { return used_ > budget_; }

 private:
  // A repeated field's pointer, twice over: its array grows by doubling.
  static constexpr std::size_t repeated_slot = 2 * sizeof(void*);
  static constexpr std::size_t string_object = sizeof(std::string) + 16;  // and its heap block
  // The lite runtime keeps an unknown field as its bytes.
  static constexpr std::size_t unknown_field = 4;

  std::size_t budget_;
  std::size_t used_ = 0;
};

// Refuses a model whose parse would build far more than its bytes (see memory_estimate).
void check_memory(google::protobuf::io::ZeroCopyInputStream& input, std::size_t size,
                  const std::string& file_name) {
  const std::size_t budget = max_parse_memory + 8 * size;
  memory_estimate estimate(budget);
  google::protobuf::io::CodedInputStream coded(&input);
  coded.SetTotalBytesLimit(static_cast<int>(size));
  estimate.walk(coded, message_type::model, 0);
  if (estimate.over_budget()) {
    throw data_error(file_name + ": the model's " + count_text(size, "byte") +
                     " declare more messages and strings than " + std::to_string(budget >> 20) +
                     " MiB would hold once parsed; no model of real layers is built so");
  }
}

// Parses the `size` bytes of `input` under explicit limits and checks the model; `fault` says
// why protobuf refused them.
template <typename Fault>
model parse_stream(google::protobuf::io::ZeroCopyInputStream& input, std::size_t size,
                   std::string file_name, std::filesystem::path folder, Fault fault) {
  silence_protobuf();
  model m;
  m.file_name = std::move(file_name);
  m.folder = std::move(folder);
  google::protobuf::io::CodedInputStream coded(&input);
  // No declared length can reach past the model's own bytes.
  coded.SetTotalBytesLimit(static_cast<int>(size));
  coded.SetRecursionLimit(max_nesting);
  m.proto = std::make_unique<onnx::ModelProto>();
  if (!m.proto->ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage() ||
      coded.CurrentPosition() != static_cast<int>(size)) {
    throw data_error(m.file_name + ": " + fault());
  }
  try {
    check_model(*m.proto);
  } catch (const data_error& e) {
    throw data_error(e, m.file_name + ": ");
  }
  return m;
}

// protobuf's source over a regular file, read by position.  An io_error is kept and thrown
// again once protobuf has returned, as model_output does.
class model_input : public google::protobuf::io::CopyingInputStream {
 public:
  explicit model_input(const input_file& file) : file_(file) {}
  int Read(void* buffer, int size) override {
    try {
      const std::size_t got = file_.read_at(offset_, buffer, static_cast<std::size_t>(size));
      offset_ += got;
      return static_cast<int>(got);
    } catch (...) {
      failure_ = std::current_exception();
      return -1;
    }
  }
  // Skipped bytes are not read (a model's walk before its parse skips every payload).
  int Skip(int count) override {
    const std::size_t left = offset_ < file_.size() ? file_.size() - offset_ : 0;
    const std::size_t skipped = std::min(left, static_cast<std::size_t>(count));
    offset_ += skipped;
    return static_cast<int>(skipped);
  }
  void rethrow() const {
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  const input_file& file_;
  std::size_t offset_ = 0;
  std::exception_ptr failure_;
};

// protobuf's sink over an output_file.  An io_error (a full disk, a closed pipe) cannot pass
// through protobuf's frames: it is kept, protobuf is told the write failed, and the error is
// thrown again once protobuf has returned.
class model_output : public google::protobuf::io::CopyingOutputStream {
 public:
  explicit model_output(output_file& out) : out_(out) {}
  bool Write(const void* buffer, int size) override {
    try {
      out_.write(buffer, static_cast<std::size_t>(size));
      return true;
    } catch (...) {
      failure_ = std::current_exception();
      return false;
    }
  }
  void rethrow() const {
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  output_file& out_;
  std::exception_ptr failure_;
};

}  // namespace

model read_model(std::unique_ptr<input_file> file) {
  std::string file_name = file->name();
  std::filesystem::path folder = folder_of(*file);
  if (!file->seekable()) {
    const std::string bytes = read_bytes(*file);
    file.reset();
    return parse_model(bytes, std::move(file_name), std::move(folder));
  }
  // A regular file is parsed from where it lies, in blocks: never held whole beside what
  // protobuf builds of it (a model's size less to hold and fault in).
  const std::size_t size = file->size();
  check_model_size(size, file_name);
  {
    model_input walked(*file);
    google::protobuf::io::CopyingInputStreamAdaptor blocks(&walked, 1 << 16);
    check_memory(blocks, size, file_name);
    walked.rethrow();
  }
  model_input source(*file);
  google::protobuf::io::CopyingInputStreamAdaptor blocks(&source, 1 << 20);
  model m = parse_stream(blocks, size, std::move(file_name), std::move(folder), [&] {
    source.rethrow();
    return parse_fault(read_bytes(*file));  // read again only to say what is wrong
  });
  return m;
}

model parse_model(std::string_view bytes, std::string file_name, std::filesystem::path folder) {
  check_model_size(bytes.size(), file_name);
  {
    google::protobuf::io::ArrayInputStream walked(bytes.data(), static_cast<int>(bytes.size()));
    check_memory(walked, bytes.size(), file_name);
  }
  google::protobuf::io::ArrayInputStream array(bytes.data(), static_cast<int>(bytes.size()));
  return parse_stream(array, bytes.size(), std::move(file_name), std::move(folder),
                      [&] { return parse_fault(bytes); });
}

void write_model(const onnx::ModelProto& proto, output_file& out) {
  silence_protobuf();
  const std::size_t size = proto.ByteSizeLong();
  if (size > max_model_bytes) {
    throw data_error(out.name() + ": the model would be " + count_text(size, "byte") +
                     ", over the " + std::to_string(max_model_bytes) +
                     " a protobuf holds; it must keep its tensors in side files (external data)");
  }
  // Streamed into the output in blocks, not built whole in memory first: a model's size
  // less to hold and fault in.
  model_output stream(out);
  google::protobuf::io::CopyingOutputStreamAdaptor adaptor(&stream, 1 << 20);
  const bool serialized = proto.SerializeToZeroCopyStream(&adaptor) && adaptor.Flush();
  stream.rethrow();
  if (!serialized) throw data_error(out.name() + ": the model could not be serialized");
}

std::optional<dtype> dtype_of(std::int32_t data_type) {
  switch (data_type) {
    case TensorProto::FLOAT:
      return dtype::float32();
    case TensorProto::DOUBLE:
      return dtype::float64();
    case TensorProto::FLOAT16:
      return dtype::float16();
    case TensorProto::BFLOAT16:
      return dtype::bfloat16();
    case TensorProto::INT8:
      return dtype{scalar_kind::signed_int, 1, false};
    case TensorProto::INT16:
      return dtype{scalar_kind::signed_int, 2, false};
    case TensorProto::INT32:
      return dtype{scalar_kind::signed_int, 4, false};
    case TensorProto::INT64:
      return dtype{scalar_kind::signed_int, 8, false};
    case TensorProto::UINT8:
      return dtype{scalar_kind::unsigned_int, 1, false};
    case TensorProto::UINT16:
      return dtype{scalar_kind::unsigned_int, 2, false};
    case TensorProto::UINT32:
      return dtype{scalar_kind::unsigned_int, 4, false};
    case TensorProto::UINT64:
      return dtype{scalar_kind::unsigned_int, 8, false};
    case TensorProto::BOOL:
      return dtype{scalar_kind::boolean, 1, false};
    default:
      return std::nullopt;
  }
}

tensor_values decode_tensor(const model& m, const TensorProto& tensor, const std::string& what,
                            std::vector<double> storage) {
  try {
    const std::uint64_t count = check_tensor(tensor, what);
    const auto type = dtype_of(tensor.data_type());
    if (!type) {
      throw data_error(what + ": its type " + type_name(tensor.data_type()) +
                       " is not one bnorm reads");
    }
    tensor_values out;
    out.values = std::move(storage);
    out.values.clear();
    out.type = *type;
    for (const std::int64_t d : tensor.dims()) out.shape.push_back(static_cast<std::size_t>(d));
    if (is_external(tensor)) {
      decode_raw(read_external(m, tensor, count * type->size, what), out);
    } else if (tensor.has_raw_data()) {
      decode_raw(tensor.raw_data(), out);
    } else {
      switch (field_for(tensor.data_type())) {
        case typed_field::float_data:
          decode_typed(tensor.float_data(), *type, what, out);
          break;
        case typed_field::double_data:
          decode_typed(tensor.double_data(), *type, what, out);
          break;
        case typed_field::int32_data:
          decode_typed(tensor.int32_data(), *type, what, out);
          break;
        case typed_field::int64_data:
          decode_typed(tensor.int64_data(), *type, what, out);
          break;
        case typed_field::uint64_data:
          decode_typed(tensor.uint64_data(), *type, what, out);
          break;
        default:
          break;
      }
      const bool integer =
          type->kind == scalar_kind::signed_int || type->kind == scalar_kind::unsigned_int;
      if (!integer || out.integers.size() != out.values.size()) out.integers.clear();
    }
    return out;
  } catch (const data_error& e) {
    throw data_error(e, m.file_name + ": ");
  }
}

void encode_tensor(TensorProto& tensor, dtype type, const std::vector<std::size_t>& shape,
                   std::span<const double> values) {
  std::int32_t data_type = 0;
  if (type == dtype::float32()) {
    data_type = TensorProto::FLOAT;
  } else if (type == dtype::float64()) {
    data_type = TensorProto::DOUBLE;
  } else if (type == dtype::float16()) {
    data_type = TensorProto::FLOAT16;
  } else if (type == dtype::bfloat16()) {
    data_type = TensorProto::BFLOAT16;
  } else {
    throw data_error("an ONNX tensor is written as float16, bfloat16, float32 or float64, not " +
                     name_of(type));
  }
  std::size_t count = 1;
  for (const std::size_t d : shape) count *= d;
  if (count != values.size()) {
    throw data_error("an ONNX tensor of " + count_text(count, "element") + " was given " +
                     count_text(values.size(), "value"));
  }
  tensor.set_data_type(data_type);
  tensor.clear_dims();
  for (const std::size_t d : shape) tensor.add_dims(static_cast<std::int64_t>(d));
  tensor.clear_float_data();
  tensor.clear_int32_data();
  tensor.clear_string_data();
  tensor.clear_int64_data();
  tensor.clear_double_data();
  tensor.clear_uint64_data();
  tensor.clear_external_data();
  tensor.set_data_location(TensorProto::DEFAULT);
  // Over the old bytes where there are as many (a folded weight): a model's worth of fresh
  // strings would be a page fault per 4 KiB of it.
  std::string& raw = *tensor.mutable_raw_data();
  raw.resize(count * type.size);
  encode(type, values.data(), count, reinterpret_cast<std::byte*>(raw.data()));
}

std::optional<constant_ref> find_constant(const onnx::ModelProto& proto,
                                          const onnx::GraphProto& graph, const std::string& name) {
  if (name.empty()) return std::nullopt;
  // From IR version 4 on, an initializer that is also a graph input is only its default.
  if (proto.ir_version() >= 4) {
    for (const auto& input : graph.input()) {
      if (input.name() == name) return std::nullopt;
    }
  }
  for (int i = 0; i < graph.initializer_size(); ++i) {
    if (graph.initializer(i).name() == name) return constant_ref{&graph.initializer(i), -1, i};
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (node.op_type() != "Constant" || !is_default_domain(node.domain())) continue;
    if (node.output_size() < 1 || node.output(0) != name) continue;
    const onnx::AttributeProto* a = constant_value_attribute(node);
    if (a == nullptr) return std::nullopt;  // sparse_value, strings: not a dense number
    return constant_ref{a->name() == "value" && a->has_t() ? &a->t() : nullptr, i, -1};
  }
  return std::nullopt;
}

std::optional<tensor_values> constant_values(const model& m, const std::string& name,
                                             const std::string& what, std::vector<double> storage) {
  const auto ref = find_constant(*m.proto, m.proto->graph(), name);
  if (!ref) return std::nullopt;
  return constant_values(m, *ref, what, std::move(storage));
}

tensor_values constant_values(const model& m, const constant_ref& ref, const std::string& what,
                              std::vector<double> storage) {
  if (ref.tensor != nullptr) return decode_tensor(m, *ref.tensor, what, std::move(storage));
  const onnx::GraphProto& graph = m.proto->graph();
  const onnx::AttributeProto& a = *constant_value_attribute(graph.node(ref.constant_node));
  tensor_values out;
  if (a.name() == "value") {
    throw data_error(m.file_name + ": " + what + ": its Constant node's value holds no tensor");
  }
  if (a.name() == "value_float") {
    out.type = dtype::float32();
    out.values.push_back(static_cast<double>(a.f()));
  } else if (a.name() == "value_floats") {
    out.type = dtype::float32();
    for (const float f : a.floats()) out.values.push_back(static_cast<double>(f));
    out.shape.push_back(out.values.size());
  } else {
    out.type = dtype{scalar_kind::signed_int, 8, false};
    if (a.name() == "value_int") {
      out.integers.push_back(a.i());
    } else {
      out.integers.assign(a.ints().begin(), a.ints().end());
      out.shape.push_back(out.integers.size());
    }
    for (const std::int64_t i : out.integers) out.values.push_back(static_cast<double>(i));
  }
  return out;
}

namespace {

// The version of the default domain the model imports; 0 when it names none.
std::int64_t default_opset(const onnx::ModelProto& proto) {
  for (const auto& import : proto.opset_import()) {
    if (is_default_domain(import.domain())) return import.version();
  }
  return 0;
}

}  // namespace

constant_index::constant_index(const onnx::ModelProto& proto, const onnx::GraphProto& graph) {
  // In find_constant's order: an initializer before a Constant node, the first of each.
  for (int i = 0; i < graph.initializer_size(); ++i) {
    const std::string& name = graph.initializer(i).name();
    if (!name.empty()) constants_.emplace(name, constant_ref{&graph.initializer(i), -1, i});
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (node.op_type() != "Constant" || !is_default_domain(node.domain())) continue;
    if (node.output_size() < 1 || node.output(0).empty()) continue;
    if (constants_.count(node.output(0))) continue;
    const onnx::AttributeProto* a = constant_value_attribute(node);
    std::optional<constant_ref> ref;
    if (a != nullptr)
      ref = constant_ref{a->name() == "value" && a->has_t() ? &a->t() : nullptr, i, -1};
    constants_.emplace(node.output(0), ref);
  }
  if (proto.ir_version() >= 4) {
    for (const auto& input : graph.input()) constants_.erase(input.name());
  }
}

std::optional<constant_ref> constant_index::find(const std::string& name) const {
  const auto it = constants_.find(name);
  if (it == constants_.end()) return std::nullopt;
  return it->second;
}

std::vector<batch_norm_node> batch_norm_nodes(const onnx::ModelProto& proto) {
  const onnx::GraphProto& graph = proto.graph();
  // Before opset 7 a node is in test (eval) mode only when is_test is nonzero; its default is 0.
  const std::int64_t opset = default_opset(proto);
  const bool is_test_decides = opset > 0 && opset < 7;
  std::unordered_map<std::string, int> name_uses;
  for (const auto& node : graph.node()) {
    if (!node.name().empty()) ++name_uses[node.name()];
  }
  std::vector<batch_norm_node> found;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (node.op_type() != "BatchNormalization" || !is_default_domain(node.domain())) continue;
    const std::string label = node_label(node, i);
    if (node.input_size() < 5) {
      throw data_error(label + ": a BatchNormalization has 5 inputs, and it has " +
                       std::to_string(node.input_size()));
    }
    for (int k = 0; k < 5; ++k) {
      if (node.input(k).empty()) {
        throw data_error(label + ": a BatchNormalization's input " + std::to_string(k) +
                         " is required, and it is empty");
      }
    }
    if (node.output_size() < 1 || node.output(0).empty()) {
      throw data_error(label + ": a BatchNormalization has an output Y, and it has none");
    }
    batch_norm_node bn;
    bn.node = i;
    const bool unique_name = !node.name().empty() && name_uses[node.name()] == 1;
    bn.layer_name = unique_name ? node.name() : node.output(0);
    if (const auto* a = attribute_named(node, "epsilon")) {
      if (a->type() != onnx::AttributeProto::FLOAT && !(a->type() == 0 && a->has_f())) {
        throw data_error(label + ": its epsilon is not a float");
      }
      bn.epsilon = static_cast<double>(a->f());
    }
    if (const auto* a = attribute_named(node, "momentum")) {
      if (a->type() != onnx::AttributeProto::FLOAT && !(a->type() == 0 && a->has_f())) {
        throw data_error(label + ": its momentum is not a float");
      }
      bn.momentum = static_cast<double>(a->f());
    }
    if (const auto* a = attribute_named(node, "training_mode")) bn.training_mode = a->i() != 0;
    if (is_test_decides) {
      const auto* a = attribute_named(node, "is_test");
      if (a == nullptr || a->i() == 0) bn.training_mode = true;
    }
    for (int k = 1; k < node.output_size(); ++k) {
      if (!node.output(k).empty()) bn.training_mode = true;
    }
    found.push_back(std::move(bn));
  }
  // A node's own name may be another BN's output name: such layers are called by their
  // outputs, which a valid graph keeps unique, until no two layers share a name.
  std::vector<bool> by_output(found.size());
  for (std::size_t i = 0; i < found.size(); ++i) {
    by_output[i] = found[i].layer_name != graph.node(found[i].node).name();
  }
  for (bool changed = true; changed;) {
    changed = false;
    std::unordered_map<std::string, std::size_t> first;
    for (std::size_t i = 0; i < found.size(); ++i) {
      const auto [it, fresh] = first.emplace(found[i].layer_name, i);
      if (fresh) continue;
      for (const std::size_t j : {it->second, i}) {
        if (!by_output[j]) {
          by_output[j] = true;
          found[j].layer_name = graph.node(found[j].node).output(0);
          changed = true;
        }
      }
      if (!changed) {
        throw data_error("two BatchNormalization nodes both output " +
                         quoted_name(found[i].layer_name));
      }
      break;
    }
  }
  return found;
}

}  // namespace bnorm::onnx_model
