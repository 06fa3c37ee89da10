// SPDX-License-Identifier: Apache-2.0
// The .onnx codec: a model's batch-normalization nodes, read as a state_dict's layers are.
// Each node whose four parameters are constants (initializers or Constant nodes) gives the
// tensors <layer>.weight (scale), .bias (B), .running_mean (input_mean) and .running_var
// (input_var), and its epsilon and momentum as the layer's settings.  bnorm writes no tensor
// as .onnx: a model is rewritten only whole, by folding (fold_model).
#include <array>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "codec.hpp"
#include "error.hpp"
#include "onnx_fold.hpp"
#include "onnx_model.hpp"
#include "quoted_name.hpp"

namespace bnorm {
namespace {

// The parameters of a BatchNormalization, by input index, and the names they are read as.
constexpr std::array<std::string_view, 4> parameter_names{"weight", "bias", "running_mean",
                                                          "running_var"};
constexpr std::array<std::string_view, 4> input_names{"scale", "B", "input_mean", "input_var"};

struct archive_tensor {
  tensor_info info;
  std::string constant;  // the name the node's input gives it, shared by the nodes naming it
  onnx_model::constant_ref ref;
  std::string what;  // for messages
};

struct archive_layer {
  std::string prefix;  // "<layer>."
  layer_settings settings;
};

// The model and the values decoded from it, shared by the archive and the sources it opens.
// A tensor's values are decoded when they are first read, and once however many nodes name
// it: its dims are what a reader checks first (a layer's channel count), and a model of a few
// bytes may declare a side file of terabytes or a thousand nodes naming one large initializer.
struct decoded_model {
  explicit decoded_model(onnx_model::model m) : model(std::move(m)) {}

  onnx_model::model model;
  std::mutex decoding;
  std::unordered_map<std::string, std::shared_ptr<const std::vector<double>>> values;

  std::shared_ptr<const std::vector<double>> values_of(const archive_tensor& t) {
    const std::lock_guard<std::mutex> lock(decoding);
    auto& known = values[t.constant];
    if (!known) {
      known = std::make_shared<const std::vector<double>>(
          onnx_model::constant_values(model, t.ref, t.what).values);
    }
    return known;
  }
};

class lazy_source : public tensor_source {
 public:
  lazy_source(std::shared_ptr<decoded_model> model, const archive_tensor& tensor)
      : model_(std::move(model)), tensor_(tensor) {}

  const tensor_info& info() const override { return tensor_.info; }

  void read_at(std::size_t first, std::span<double> out) const override {
    // Not std::call_once: libstdc++'s aborts when the call throws (GCC bug 66146).
    std::shared_ptr<const std::vector<double>> values;
    {
      const std::lock_guard<std::mutex> lock(reading_);
      if (!values_) values_ = model_->values_of(tensor_);
      values = values_;
    }
    std::copy_n(values->begin() + static_cast<std::ptrdiff_t>(first), out.size(), out.begin());
  }

 private:
  std::shared_ptr<decoded_model> model_;
  archive_tensor tensor_;
  mutable std::mutex reading_;
  mutable std::shared_ptr<const std::vector<double>> values_;
};

// Why a model whose every BatchNormalization was left out holds no layer.
std::string none_constant(const std::vector<std::string>& nodes) {
  constexpr std::size_t shown = 8;
  std::string names;
  for (std::size_t i = 0; i < nodes.size() && i < shown; ++i) {
    names += (i > 0 ? ", " : "") + quoted_name(nodes[i]);
  }
  if (nodes.size() > shown) names += ", ...";
  return "no batch-normalization layer: " +
         (nodes.size() == 1 ? std::string("its BatchNormalization node ") + names + " has"
                            : "its " + std::to_string(nodes.size()) +
                                  " BatchNormalization nodes (" + names + ") have") +
         " parameters that are not constants (graph inputs, or computed by other nodes)";
}

class onnx_archive : public tensor_archive {
 public:
  explicit onnx_archive(onnx_model::model m)
      : shared_(std::make_shared<decoded_model>(std::move(m))), model_(shared_->model) {
    std::vector<onnx_model::batch_norm_node> nodes;
    try {
      nodes = onnx_model::batch_norm_nodes(*model_.proto);
    } catch (const data_error& e) {
      throw data_error(e, model_.file_name + ": ");
    }
    const onnx::GraphProto& graph = model_.proto->graph();
    const onnx_model::constant_index constants(*model_.proto, graph);
    std::vector<std::string> left_out;
    for (const onnx_model::batch_norm_node& bn : nodes) {
      const onnx::NodeProto& node = graph.node(bn.node);
      std::vector<archive_tensor> tensors;
      for (std::size_t k = 0; k < parameter_names.size(); ++k) {
        archive_tensor t;
        t.constant = node.input(static_cast<int>(k + 1));
        const auto ref = constants.find(t.constant);
        if (!ref) break;  // a graph input or a computed value: not a state to read
        t.ref = *ref;
        t.what = "node " + quoted_name(bn.layer_name) + " input " + std::string(input_names[k]) +
                 " (" + quoted_name(t.constant) + ")";
        t.info = declared(t);
        t.info.name = bn.layer_name + "." + std::string(parameter_names[k]);
        tensors.push_back(std::move(t));
      }
      if (tensors.size() != parameter_names.size()) {
        left_out.push_back(bn.layer_name);
        continue;
      }
      for (archive_tensor& t : tensors) {
        by_name_.emplace(t.info.name, tensors_.size());
        tensors_.push_back(std::move(t));
      }
      layers_.emplace(bn.layer_name + ".",
                      layer_settings{bn.epsilon, bn.momentum, "onnx", bn.training_mode});
    }
    // Said here, where it is known: else the file would seem to hold no batch normalization.
    if (layers_.empty() && !left_out.empty())
      throw data_error(model_.file_name + ": " + none_constant(left_out));
  }

  const std::string& file_name() const override { return model_.file_name; }

  std::vector<std::string> names() const override {
    std::vector<std::string> names;
    for (const archive_tensor& t : tensors_) names.push_back(t.info.name);
    return names;
  }

  std::unique_ptr<tensor_source> open(const std::string& name) const override {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      throw data_error(model_.file_name + ": no tensor " + quoted_name(name));
    }
    return std::make_unique<lazy_source>(shared_, tensors_[it->second]);
  }

  std::optional<layer_settings> settings_of(const std::string& prefix) const override {
    const auto it = layers_.find(prefix);
    if (it == layers_.end()) return std::nullopt;
    return it->second;
  }

 private:
  // The type and shape of `t` from its dims, without its values; a Constant node's attribute
  // (at most as large as the file) and a type bnorm does not read (refused as decoding
  // refuses it) are decoded here.
  tensor_info declared(const archive_tensor& t) {
    if (t.ref.tensor != nullptr) {
      if (const auto type = onnx_model::dtype_of(t.ref.tensor->data_type())) {
        tensor_info info;
        info.type = *type;
        for (const std::int64_t d : t.ref.tensor->dims()) {
          info.shape.push_back(static_cast<std::size_t>(d));  // checked when parsed
        }
        return info;
      }
    }
    onnx_model::tensor_values values = onnx_model::constant_values(model_, t.ref, t.what);
    tensor_info info;
    info.type = values.type;
    info.shape = values.shape;
    shared_->values.emplace(t.constant,
                            std::make_shared<const std::vector<double>>(std::move(values.values)));
    return info;
  }

  std::shared_ptr<decoded_model> shared_;
  const onnx_model::model& model_;
  std::vector<archive_tensor> tensors_;
  std::unordered_map<std::string, std::size_t> by_name_;
  std::unordered_map<std::string, layer_settings> layers_;
};

std::unique_ptr<tensor_archive> open_onnx(std::unique_ptr<input_file> file,
                                          const read_options& /*options*/) {
  return std::make_unique<onnx_archive>(onnx_model::read_model(std::move(file)));
}

// A varint of up to five bytes at `at` of the head; nullopt when it does not end there.
std::optional<std::uint64_t> head_varint(std::string_view head, std::size_t& at) {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 35 && at < head.size(); shift += 7) {
    const auto b = static_cast<unsigned char>(head[at++]);
    value |= std::uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80u) == 0) return value;
  }
  return std::nullopt;
}

// A ModelProto as protobuf writes it, fields in number order: ir_version (field 1, a small
// varint) first, then only ModelProto's own fields with their wire types, up to the graph or
// the end of the head.  The other formats begin with a magic ("\x93NUMPY", "PK"), text, or
// a safetensors length whose third byte is 0 for any header under 64 KiB.
bool recognizes_onnx(std::string_view head) {
  if (head.size() < 3 || head[0] != '\x08') return false;
  std::size_t at = 1;
  const auto ir_version = head_varint(head, at);
  if (!ir_version || *ir_version < 1 || *ir_version > 15) return false;
  int fields = 1;
  while (at < head.size()) {
    const auto tag = head_varint(head, at);
    if (!tag) return fields > 1;
    const std::uint64_t field = *tag >> 3;
    const unsigned wire = static_cast<unsigned>(*tag & 7);
    const bool varint_field = field == 5;  // model_version
    const bool text_field = field == 2 || field == 3 || field == 4 || field == 6;
    const bool message_field =
        field == 7 || field == 8 || field == 14 || field == 20 || field == 25;
    if (varint_field) {
      if (wire != 0 || !head_varint(head, at)) return false;
    } else if (text_field || message_field) {
      if (wire != 2) return false;
      const auto length = head_varint(head, at);
      if (!length) return false;
      if (field == 7) return true;  // the graph: a model for sure
      if (text_field && field != 6) {
        // producer_name, producer_version, domain: short printable words.
        const std::string_view text =
            head.substr(at, static_cast<std::size_t>(std::min<std::uint64_t>(*length, 512)));
        for (const char c : text) {
          if (static_cast<unsigned char>(c) < 0x20) return false;
        }
      }
      if (*length >= head.size() - at) return true;  // runs past the head: nothing more to see
      at += static_cast<std::size_t>(*length);
    } else {
      return false;
    }
    ++fields;
  }
  return fields > 1;
}

constexpr std::array<std::string_view, 1> onnx_extensions{".onnx"};

dtype onnx_written_type(dtype type) {
  return output_type_for(type);
}

}  // namespace

extern const codec onnx_codec{
    .name = "onnx",
    .a_file = "an .onnx file",
    .manual =
        "**.onnx** models (read, and rewritten whole by fold): each BatchNormalization node of the "
        "main graph whose "
        "scale, B, input_mean and input_var are constants (initializers or Constant nodes) "
        "reads as the layer named after the node (or its output Y, when the node has no name "
        "or shares it), with the tensors LAYER.weight, LAYER.bias, LAYER.running_mean and "
        "LAYER.running_var and the node's epsilon and momentum; a node whose parameters are "
        "graph inputs or computed is left out.  Tensors in float16, bfloat16, float32, float64, "
        "integers and bool, in typed fields or raw_data, or as external data in a side file "
        "inside the model's own folder (never an absolute path, \"..\" or a symbolic link; "
        "none from standard input).  Models up to 2 GiB - 1 bytes, messages nested up to 64 "
        "deep.",
    .extensions = onnx_extensions,
    .recognizes = recognizes_onnx,
    .holds_many = true,
    .keeps_dtype = true,
    .holds_documents = false,
    .text = false,
    .written_type = onnx_written_type,
    .open = open_onnx,
    .make_sink = nullptr,
    .write_set = nullptr,
    .update_set = nullptr,
    .fold_model = fold_onnx_model,
};

}  // namespace bnorm
