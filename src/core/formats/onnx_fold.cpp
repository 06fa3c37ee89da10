// SPDX-License-Identifier: Apache-2.0
#include "onnx_fold.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "count_text.hpp"
#include "error.hpp"
#include "fold_formula.hpp"
#include "number_format.hpp"
#include "onnx_model.hpp"
#include "quoted_name.hpp"
#include "tensor_info.hpp"

namespace bnorm {
namespace {

using onnx_model::attribute_named;
using onnx_model::is_default_domain;
using onnx_model::tensor_values;

// Ops that come between a layer and its normalization in real models and do not commute with
// it: named in the report as activations rather than as ops that cannot absorb a fold.
const std::set<std::string> activations = {
    "Relu", "LeakyRelu", "PRelu", "Sigmoid",        "HardSigmoid", "Tanh",
    "Elu",  "Selu",      "Celu",  "Softplus",       "Softsign",    "Clip",
    "Gelu", "HardSwish", "Mish",  "ThresholdedRelu"};

// How the report calls `node`: by its name when no other node has it (`named_uniquely`), else,
// as a BatchNormalization's layer is named, by its output, which a valid graph keeps unique.
std::string node_label(const onnx::NodeProto& node, bool named_uniquely) {
  std::string op = node.op_type();
  if (!is_default_domain(node.domain())) op += " of domain " + quoted_name(node.domain());
  if (named_uniquely) return "node " + quoted_name(node.name()) + " (" + op + ")";
  if (node.output_size() > 0) return "the " + op + " node of output " + quoted_name(node.output(0));
  return "a " + op + " node";
}

std::int64_t int_attribute(const onnx::NodeProto& node, const std::string& name,
                           std::int64_t fallback) {
  const auto* a = attribute_named(node, name);
  return a && a->has_i() ? a->i() : fallback;
}

double float_attribute(const onnx::NodeProto& node, const std::string& name, double fallback) {
  const auto* a = attribute_named(node, name);
  return a && a->has_f() ? static_cast<double>(a->f()) : fallback;
}

void count_graph_uses(const onnx::GraphProto& graph, std::unordered_map<std::string, int>& uses,
                      const std::vector<bool>* removed);

// A node's inputs, and every name its subgraphs (If's branches, Loop's and Scan's bodies)
// use: a subgraph may read any value of the graphs around it without naming it as an input.
void count_node_uses(const onnx::NodeProto& node, std::unordered_map<std::string, int>& uses) {
  for (const auto& input : node.input()) {
    if (!input.empty()) ++uses[input];
  }
  for (const auto& a : node.attribute()) {
    if (a.has_g()) count_graph_uses(a.g(), uses, nullptr);
    for (const auto& g : a.graphs()) count_graph_uses(g, uses, nullptr);
  }
}

void count_graph_uses(const onnx::GraphProto& graph, std::unordered_map<std::string, int>& uses,
                      const std::vector<bool>* removed) {
  for (int i = 0; i < graph.node_size(); ++i) {
    if (removed && (*removed)[static_cast<std::size_t>(i)]) continue;
    count_node_uses(graph.node(i), uses);
  }
  for (const auto& output : graph.output()) ++uses[output.name()];
}

void collect_names(const onnx::GraphProto& graph, std::unordered_set<std::string>& names) {
  for (const auto& v : graph.input()) names.insert(v.name());
  for (const auto& v : graph.output()) names.insert(v.name());
  for (const auto& v : graph.value_info()) names.insert(v.name());
  for (const auto& t : graph.initializer()) names.insert(t.name());
  for (const auto& s : graph.sparse_initializer()) names.insert(s.values().name());
  for (const auto& node : graph.node()) {
    for (const auto& n : node.input()) names.insert(n);
    for (const auto& n : node.output()) names.insert(n);
    for (const auto& a : node.attribute()) {
      if (a.has_g()) collect_names(a.g(), names);
      for (const auto& g : a.graphs()) collect_names(g, names);
    }
  }
}

bool has_external_data(const onnx::TensorProto& t) {
  return t.data_location() == onnx::TensorProto::EXTERNAL;
}

// The first tensor of `graph` (or of its subgraphs) whose data stays in a side file.
const onnx::TensorProto* external_tensor(const onnx::GraphProto& graph) {
  for (const auto& t : graph.initializer()) {
    if (has_external_data(t)) return &t;
  }
  for (const auto& s : graph.sparse_initializer()) {
    if (has_external_data(s.values())) return &s.values();
    if (has_external_data(s.indices())) return &s.indices();
  }
  for (const auto& node : graph.node()) {
    for (const auto& a : node.attribute()) {
      if (a.has_t() && has_external_data(a.t())) return &a.t();
      for (const auto& t : a.tensors()) {
        if (has_external_data(t)) return &t;
      }
      if (a.has_g()) {
        if (const auto* t = external_tensor(a.g())) return t;
      }
      for (const auto& g : a.graphs()) {
        if (const auto* t = external_tensor(g)) return t;
      }
    }
  }
  return nullptr;
}

std::string location_of(const onnx::TensorProto& t) {
  for (const auto& entry : t.external_data()) {
    if (entry.key() == "location") return entry.value();
  }
  return {};
}

// The tensor a constant_ref names, to be rewritten.  A Constant node holding its value as
// value_float(s) or value_int(s) gets a `value` tensor in that attribute's place.
onnx::TensorProto& writable_tensor(onnx::GraphProto& graph, const onnx_model::constant_ref& ref) {
  if (ref.initializer >= 0) return *graph.mutable_initializer(ref.initializer);
  onnx::NodeProto& node = *graph.mutable_node(ref.constant_node);
  for (auto& a : *node.mutable_attribute()) {
    if (a.name() == "value") return *a.mutable_t();
  }
  for (auto& a : *node.mutable_attribute()) {
    const std::string& n = a.name();
    if (n == "value_float" || n == "value_floats" || n == "value_int" || n == "value_ints") {
      a.clear_f();
      a.clear_floats();
      a.clear_i();
      a.clear_ints();
      a.set_name("value");
      a.set_type(onnx::AttributeProto::TENSOR);
      return *a.mutable_t();
    }
  }
  // The constant index holds only Constant nodes with a value, so this is not reached.
  return *node.add_attribute()->mutable_t();
}

std::int32_t onnx_type_of(dtype type) {
  if (type == dtype::float16()) return onnx::TensorProto::FLOAT16;
  if (type == dtype::bfloat16()) return onnx::TensorProto::BFLOAT16;
  if (type == dtype::float64()) return onnx::TensorProto::DOUBLE;
  return onnx::TensorProto::FLOAT;
}

bool foldable_type(dtype type) {
  return type == dtype::float16() || type == dtype::bfloat16() || type == dtype::float32() ||
         type == dtype::float64();
}

std::size_t element_count(const std::vector<std::size_t>& shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

// What a refusal throws inside the fold of one BN; caught there and put in the report.
struct refused {
  fold_refusal refusal;
  std::string reason;
};

// A layer being folded into: its weight and bias as doubles, kept across the BNs that fold
// into it (Conv→BN→BN), and written once, rounded once, when every BN has been seen.
struct layer_work {
  int node = -1;
  std::string label;  // the report's name of the layer
  onnx_model::constant_ref weight_ref;
  dtype weight_type;
  std::vector<std::size_t> weight_shape;
  std::vector<double> weight;
  // The weights lie in runs of `inner` (C order), a run's channel given by its place
  // among `period` runs, mapped through a ConvTranspose's groups when `per_group_in` is not 0.
  std::size_t inner = 1, period = 1, per_group_in = 0, per_group_out = 0;
  std::optional<onnx_model::constant_ref> bias_ref;  // none: the bias is created
  dtype bias_type;
  std::vector<std::size_t> bias_shape;
  std::vector<double> bias;  // one per output channel
  bool reset_beta = false;   // a Gemm whose beta now lies in its bias

  std::size_t channel_of_run(std::size_t run) const {
    if (per_group_in == 0) return run;
    // ConvTranspose: run = in·(M/group) + j, and W[in, j] feeds (in / (C/group))·(M/group) + j.
    return (run / per_group_out / per_group_in) * per_group_out + run % per_group_out;
  }
};

class graph_fold {
 public:
  explicit graph_fold(onnx_model::model& m)
      : m_(m), graph_(*m.proto->mutable_graph()), constants_(*m.proto, graph_) {
    removed_.assign(static_cast<std::size_t>(graph_.node_size()), false);
    count_graph_uses(graph_, uses_, nullptr);
    for (int i = 0; i < graph_.node_size(); ++i) {
      for (const auto& output : graph_.node(i).output()) {
        if (!output.empty()) producer_[output] = i;
      }
    }
    for (const auto& node : graph_.node()) {
      if (node.op_type() == "BatchNormalization" && node.input_size() > 0) {
        read_by_batch_norm_.insert(node.input(0));
      }
    }
    for (const auto& node : graph_.node()) {
      if (!node.name().empty()) ++name_uses_[node.name()];
    }
    for (const auto& input : graph_.input()) graph_inputs_.insert(input.name());
    for (const auto& output : graph_.output()) graph_outputs_.insert(output.name());
  }

  model_fold_report run() {
    for (const auto& bn : onnx_model::batch_norm_nodes(*m_.proto)) {
      try {
        fold(bn);
      } catch (const refused& r) {
        report_.not_folded.push_back({bn.layer_name, r.refusal, r.reason});
        release_layer_before(bn);
      }
    }
    for (auto& [layer, work] : works_) write_layer(work);
    remove_unused();
    return report_;
  }

 private:
  bool named_uniquely(const onnx::NodeProto& node) const {
    return !node.name().empty() && name_uses_.at(node.name()) == 1;
  }

  std::string label(const onnx::NodeProto& node) const {
    return node_label(node, named_uniquely(node));
  }

  [[noreturn]] static void refuse(fold_refusal refusal, std::string reason) {
    throw refused{refusal, std::move(reason)};
  }

  // The constant `name`, decoded, with where it lies; refuses with `refusal` when it is not
  // one.
  std::pair<tensor_values, onnx_model::constant_ref> constant(const std::string& name,
                                                              const std::string& what,
                                                              fold_refusal refusal,
                                                              std::vector<double> storage = {}) {
    const auto ref = constants_.find(name);
    if (!ref) refuse(refusal, what + " is not a constant (an initializer or a Constant node)");
    return {onnx_model::constant_values(m_, *ref, what, std::move(storage)), *ref};
  }

  void fold(const onnx_model::batch_norm_node& bn) {
    const onnx::NodeProto& node = graph_.node(bn.node);
    if (bn.training_mode) {
      refuse(fold_refusal::training_mode,
             "it runs in training mode, normalizing by the statistics of each batch");
    }
    if (int_attribute(node, "spatial", 1) == 0) {
      refuse(fold_refusal::unsupported_op,
             "its attribute spatial is 0: it normalizes each element, not each channel");
    }
    const std::string& x = node.input(0);
    const auto found = producer_.find(x);
    if (found == producer_.end()) {
      refuse(fold_refusal::unsupported_op,
             graph_inputs_.count(x) ? "its input " + quoted_name(x) + " is a graph input"
                                    : "its input " + quoted_name(x) + " is no layer's output");
    }
    const int layer = found->second;
    const onnx::NodeProto& before = graph_.node(layer);
    const std::string& op = before.op_type();
    const bool standard = is_default_domain(before.domain());
    if (standard && activations.count(op)) {
      refuse(fold_refusal::after_activation,
             "it follows an activation, " + label(before) + ", which it does not commute with");
    }
    if (!standard || (op != "Conv" && op != "ConvTranspose" && op != "Gemm")) {
      refuse(fold_refusal::unsupported_op,
             "it follows " + label(before) +
                 ", which cannot absorb it (Conv, ConvTranspose and Gemm can)");
    }
    if (before.output(0) != x) {  // these ops have one output: a malformed node
      refuse(fold_refusal::unsupported_op,
             "its input " + quoted_name(x) + " is not the first output of " + label(before));
    }
    if (uses_[x] != 1) {
      refuse(fold_refusal::input_shared,
             "the output " + quoted_name(x) + " of " + label(before) +
                 (graph_outputs_.count(x) ? " is also a graph output"
                                          : " is also used by another node"));
    }

    // A layer already folded into (Conv→BN→BN) keeps its values in double.
    std::optional<layer_work> started;
    if (!works_.count(layer)) started = start_work(layer);
    layer_work& work = started ? *started : works_.at(layer);
    const std::size_t channels = work.bias.size();

    static constexpr const char* roles[] = {"scale", "B", "input_mean", "input_var"};
    std::vector<double> parameters[4];
    for (int i = 0; i < 4; ++i) {
      const std::string& name = node.input(i + 1);
      const std::string what = std::string("its ") + roles[i] + " " + quoted_name(name);
      auto [values, ref] = constant(name, what, fold_refusal::parameters_not_constant);
      if (values.shape.size() != 1 || values.shape[0] != channels) {
        refuse(fold_refusal::shape_mismatch, what + " has shape " + shape_to_string(values.shape) +
                                                 ", but " + label(before) + " has " +
                                                 count_text(channels, "output channel"));
      }
      parameters[i] = std::move(values.values);
    }
    const auto& [gamma, beta, mean, var] = parameters;

    std::vector<double> scale(channels);
    for (std::size_t c = 0; c < channels; ++c) {
      scale[c] = fold_scale(gamma[c], var[c], bn.epsilon);
      if (!std::isfinite(scale[c])) {
        refuse(fold_refusal::not_finite,
               "channel " + std::to_string(c) + ": " +
                   (var[c] + bn.epsilon == 0 ? std::string("input_var + epsilon is 0")
                                             : "scale/sqrt(input_var + epsilon) is " +
                                                   format_number(scale[c], dtype::float64())) +
                   ", so the folded weight would not be finite");
      }
    }
    // Every folded value is checked before any is kept, so that a refusal leaves the layer as
    // it was; the weights are then folded in place (a second copy of a layer's weights would
    // be as many fresh pages).
    std::vector<double> bias(channels);
    for (std::size_t c = 0; c < channels; ++c) {
      bias[c] = bnorm::folded_bias(work.bias[c], mean[c], scale[c], beta[c]);
      if (!stays_finite(work.bias_type, work.bias[c], bias[c])) {
        refuse(fold_refusal::not_finite, not_finite_reason(c, "bias", bias[c], work.bias_type));
      }
    }
    for_each_weight(work, [&](std::size_t i, std::size_t c) {
      const double folded = bnorm::folded_weight(work.weight[i], scale[c]);
      if (!stays_finite(work.weight_type, work.weight[i], folded)) {
        refuse(fold_refusal::not_finite, not_finite_reason(c, "weight", folded, work.weight_type));
      }
    });
    for_each_weight(work, [&](std::size_t i, std::size_t c) {
      work.weight[i] = bnorm::folded_weight(work.weight[i], scale[c]);
    });
    work.bias = std::move(bias);

    // Folded: the layer now writes the BN's output, and the BN is gone.
    const std::string& y = node.output(0);
    for (int i = 1; i < node.input_size(); ++i) --uses_[node.input(i)];
    for (int i = 1; i < 5; ++i) parameter_names_.insert(node.input(i));
    --uses_[x];
    vanished_.insert(x);
    producer_.erase(x);
    producer_[y] = layer;
    graph_.mutable_node(layer)->set_output(0, y);
    removed_[static_cast<std::size_t>(bn.node)] = true;
    report_.folded.push_back({bn.layer_name, work.label, op, !work.bias_ref.has_value()});
    if (started) works_.emplace(layer, std::move(*started));
    // Written now, unless another BN may fold into it: the doubles of one layer at a time.
    if (!read_by_batch_norm_.count(y)) {
      write_layer(works_.at(layer));
      works_.erase(layer);
    }
  }

  // Calls visit(i, c) for every weight i of the layer, c its output channel.
  template <typename Visit>
  static void for_each_weight(const layer_work& work, Visit visit) {
    std::size_t run = 0;
    for (std::size_t start = 0; start < work.weight.size(); start += work.inner) {
      const std::size_t c = work.channel_of_run(run);
      if (++run == work.period) run = 0;
      for (std::size_t i = start; i < start + work.inner; ++i) visit(i, c);
    }
  }

  // A layer kept in double for the BN after it, which stays: no other BN reads its output
  // alone, so none will fold into it, and it is written now rather than kept to the end.
  void release_layer_before(const onnx_model::batch_norm_node& bn) {
    const auto found = producer_.find(graph_.node(bn.node).input(0));
    if (found == producer_.end()) return;
    const auto work = works_.find(found->second);
    if (work == works_.end()) return;
    write_layer(work->second);
    works_.erase(work);
  }

  static std::string not_finite_reason(std::size_t channel, const char* what, double value,
                                       dtype type) {
    return "channel " + std::to_string(channel) + ": the folded " + what + " (" +
           format_number(value, dtype::float64()) + ") is not finite as " + name_of(type);
  }

  // The weight and bias of the layer `layer` (a Conv, ConvTranspose or Gemm), checked.
  layer_work start_work(int layer) {
    const onnx::NodeProto& node = graph_.node(layer);
    const std::string& op = node.op_type();
    layer_work work;
    work.node = layer;
    work.label = named_uniquely(node) ? node.name() : node.output(0);
    const std::string label = this->label(node);
    if (node.input_size() < 2 || node.input(1).empty()) {
      refuse(fold_refusal::weight_not_constant, label + " has no weight");
    }
    const std::string& weight_name = node.input(1);
    const std::string weight_what = "the weight " + quoted_name(weight_name) + " of " + label;
    // Decoded into the buffer of the layer written before: one layer's doubles, reused.
    auto [weight, weight_ref] =
        constant(weight_name, weight_what, fold_refusal::weight_not_constant, std::move(spare_));
    if (uses_[weight_name] != 1) {
      refuse(fold_refusal::weight_shared, weight_what + " is also used by another node");
    }
    if (!foldable_type(weight.type)) {
      refuse(fold_refusal::unsupported_type,
             weight_what + " is " + name_of(weight.type) +
                 "; only float16, bfloat16, float32 and float64 weights are folded");
    }
    const auto& shape = weight.shape;
    const std::string shaped = weight_what + " has shape " + shape_to_string(shape);
    std::size_t channels = 0;
    if (weight.values.empty()) refuse(fold_refusal::shape_mismatch, weight_what + " is empty");
    if (op == "Conv") {
      if (shape.size() < 3 || shape[0] == 0) {
        refuse(fold_refusal::shape_mismatch, shaped + ", not (M, C/group, k...)");
      }
      channels = shape[0];
      work.inner = weight.values.size() / channels;
      work.period = channels;
    } else if (op == "ConvTranspose") {
      // (C, M/group, k...): the weight [c, j, ...] feeds output channel
      // (c / (C/group))·(M/group) + j.
      const std::int64_t group = int_attribute(node, "group", 1);
      if (shape.size() < 3 || group < 1 || shape[0] == 0 || shape[1] == 0 ||
          shape[0] % static_cast<std::size_t>(group) != 0) {
        refuse(fold_refusal::shape_mismatch,
               shaped + ", not (C, M/group, k...) with C a multiple of group " +
                   std::to_string(group));
      }
      const auto groups = static_cast<std::size_t>(group);
      channels = groups * shape[1];
      work.inner = weight.values.size() / (shape[0] * shape[1]);
      work.period = shape[0] * shape[1];
      work.per_group_in = shape[0] / groups;
      work.per_group_out = shape[1];
    } else {  // Gemm: Y = alpha·A'·B' + beta·C, B' = B (K, N) or, with transB, Bᵀ of (N, K)
      if (shape.size() != 2 || shape[0] == 0 || shape[1] == 0) {
        refuse(fold_refusal::shape_mismatch, shaped + ", not a matrix");
      }
      const bool trans_b = int_attribute(node, "transB", 0) != 0;
      channels = trans_b ? shape[0] : shape[1];
      work.inner = trans_b ? shape[1] : 1;
      work.period = channels;
    }
    work.weight_ref = weight_ref;
    work.weight_type = weight.type;
    work.weight_shape = shape;
    work.weight = std::move(weight.values);

    work.bias.assign(channels, 0.0);
    work.bias_type = work.weight_type;
    work.bias_shape = {channels};
    if (node.input_size() > 2 && !node.input(2).empty()) {
      const std::string& bias_name = node.input(2);
      const std::string bias_what = std::string(op == "Gemm" ? "the bias C " : "the bias ") +
                                    quoted_name(bias_name) + " of " + label;
      auto [bias, bias_ref] = constant(bias_name, bias_what, fold_refusal::weight_not_constant);
      if (uses_[bias_name] != 1) {
        refuse(fold_refusal::weight_shared, bias_what + " is also used by another node");
      }
      if (!foldable_type(bias.type)) {
        refuse(fold_refusal::unsupported_type,
               bias_what + " is " + name_of(bias.type) +
                   "; only float16, bfloat16, float32 and float64 biases are folded");
      }
      const auto& b = bias.shape;
      const bool per_channel = b.size() == 1 && b[0] == channels;
      const bool row = b.size() == 2 && b[0] == 1 && b[1] == channels;
      const bool one = element_count(b) == 1 && b.size() <= 2;  // (), (1) or (1, 1)
      if (op != "Gemm" ? !per_channel : !(per_channel || row || one)) {
        refuse(fold_refusal::shape_mismatch, bias_what + " has shape " + shape_to_string(b) +
                                                 ", not one value per output channel (" +
                                                 std::to_string(channels) + ")");
      }
      const double gemm_beta = op == "Gemm" ? float_attribute(node, "beta", 1.0) : 1.0;
      for (std::size_t c = 0; c < channels; ++c) {
        work.bias[c] = gemm_beta * bias.values[one ? 0 : c];
      }
      work.bias_ref = bias_ref;
      work.bias_type = bias.type;
      if (row) work.bias_shape = b;
    }
    work.reset_beta = op == "Gemm";
    return work;
  }

  // The layer's folded weight and bias, each rounded once to its type.
  void write_layer(layer_work& work) {
    if (!names_collected_) {
      collect_names(graph_, names_);
      names_collected_ = true;
    }
    onnx::NodeProto& node = *graph_.mutable_node(work.node);
    onnx_model::encode_tensor(writable_tensor(graph_, work.weight_ref), work.weight_type,
                              work.weight_shape, work.weight);
    if (work.bias_ref) {
      onnx_model::encode_tensor(writable_tensor(graph_, *work.bias_ref), work.bias_type,
                                work.bias_shape, work.bias);
    } else {
      const std::string name = unique_bias_name(node.input(1), names_);
      onnx::TensorProto& bias = *graph_.add_initializer();
      bias.set_name(name);
      bias.set_data_type(onnx_type_of(work.bias_type));
      onnx_model::encode_tensor(bias, work.bias_type, work.bias_shape, work.bias);
      while (node.input_size() < 3) node.add_input();
      node.set_input(2, name);
      if (m_.proto->ir_version() < 4) {
        // Before IR version 4 every initializer is also declared as a graph input.
        onnx::ValueInfoProto& input = *graph_.add_input();
        input.set_name(name);
        auto& tensor_type = *input.mutable_type()->mutable_tensor_type();
        tensor_type.set_elem_type(onnx_type_of(work.bias_type));
        tensor_type.mutable_shape()->add_dim()->set_dim_value(
            static_cast<std::int64_t>(work.bias.size()));
      }
    }
    if (work.reset_beta) {
      for (auto& a : *node.mutable_attribute()) {
        if (a.name() == "beta" && a.f() != 1.0f) a.set_f(1.0f);
      }
    }
    spare_ = std::move(work.weight);
    work.bias = {};
  }

  static std::string unique_bias_name(const std::string& weight,
                                      std::unordered_set<std::string>& names) {
    const std::string_view suffix = "weight";
    std::string base =
        weight.size() >= suffix.size() &&
                weight.compare(weight.size() - suffix.size(), suffix.size(), suffix) == 0
            ? weight.substr(0, weight.size() - suffix.size()) + "bias"
            : weight + "_bias";
    std::string name = base;
    for (int n = 2; names.count(name); ++n) name = base + "_" + std::to_string(n);
    names.insert(name);
    return name;
  }

  // Removes the folded BNs, the value_info of the outputs that vanished with them, and the
  // constants that only the folded BNs used.
  void remove_unused() {
    std::unordered_map<std::string, int> uses;
    count_graph_uses(graph_, uses, &removed_);
    std::unordered_set<std::string> unused;
    for (const auto& name : parameter_names_) {
      if (!uses.count(name) || uses.at(name) == 0) unused.insert(name);
    }
    for (const auto& name : unused) {
      const auto ref = constants_.find(name);
      if (!ref) continue;
      if (ref->constant_node >= 0) {
        removed_[static_cast<std::size_t>(ref->constant_node)] = true;
        ++report_.removed_constant_nodes;
      } else {
        dropped_initializers_.insert(name);
      }
      vanished_.insert(name);
    }
    keep_if(*graph_.mutable_node(),
            [&](const onnx::NodeProto&, int i) { return !removed_[static_cast<std::size_t>(i)]; });
    const std::size_t initializers = static_cast<std::size_t>(graph_.initializer_size());
    keep_if(*graph_.mutable_initializer(), [&](const onnx::TensorProto& t, int) {
      return !dropped_initializers_.count(t.name());
    });
    report_.removed_initializers =
        initializers - static_cast<std::size_t>(graph_.initializer_size());
    if (m_.proto->ir_version() < 4) {
      keep_if(*graph_.mutable_input(), [&](const onnx::ValueInfoProto& v, int) {
        return !dropped_initializers_.count(v.name());
      });
    }
    keep_if(*graph_.mutable_value_info(),
            [&](const onnx::ValueInfoProto& v, int) { return !vanished_.count(v.name()); });
  }

  // Keeps the elements `keep` says so, in their order.
  template <typename T, typename Keep>
  static void keep_if(google::protobuf::RepeatedPtrField<T>& field, Keep keep) {
    int kept = 0;
    for (int i = 0; i < field.size(); ++i) {
      if (keep(field.Get(i), i)) field.SwapElements(i, kept++);
    }
    while (field.size() > kept) field.RemoveLast();
  }

  onnx_model::model& m_;
  onnx::GraphProto& graph_;
  // Built before anything changes; the layers' writes keep every constant's index, and the
  // biases they create have fresh names.
  const onnx_model::constant_index constants_;
  std::vector<bool> removed_;
  std::unordered_map<std::string, int> uses_;
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, int> name_uses_;  // how many nodes have each name
  std::unordered_set<std::string> graph_inputs_, graph_outputs_;
  std::map<int, layer_work> works_;
  std::vector<double> spare_;  // the last written layer's weights, decoded into again
  std::unordered_set<std::string> read_by_batch_norm_;  // the X of every BatchNormalization
  std::unordered_set<std::string> names_;               // every name of the graph, once needed
  bool names_collected_ = false;
  std::set<std::string> parameter_names_;
  std::unordered_set<std::string> vanished_;
  std::unordered_set<std::string> dropped_initializers_;
  model_fold_report report_;
};

// A tensor left in a side file is found by a location relative to the model's folder: the
// folded model must be written into that folder for it to be found again.
void check_external_data(const onnx_model::model& m, const output_file& out) {
  const onnx::TensorProto* left = external_tensor(m.proto->graph());
  if (!left) return;
  const std::string where = ": tensor " + quoted_name(left->name()) + " stays in the side file " +
                            quoted_name(location_of(*left)) +
                            ", which is found from the model's folder";
  if (out.direct() || m.folder.empty()) {
    throw usage_error(out.name() + where + ": write the folded model to a file in that folder");
  }
  const std::filesystem::path target(resolve_symlinks(out.name()));
  const std::filesystem::path folder = target.has_parent_path() ? target.parent_path() : ".";
  const file_identity here = identify_path(folder.string());
  const file_identity there = identify_path(m.folder.string());
  if (!here.known || !there.known || here != there) {
    throw usage_error(out.name() + where + " (" + m.folder.string() +
                      "): write the folded model into that folder");
  }
}

}  // namespace

model_fold_report fold_onnx_model(std::unique_ptr<input_file> original, output_file* out) {
  onnx_model::model m = onnx_model::read_model(std::move(original));
  model_fold_report report = graph_fold(m).run();
  if (out) {
    check_external_data(m, *out);
    onnx_model::write_model(*m.proto, *out);
  }
  return report;
}

}  // namespace bnorm
