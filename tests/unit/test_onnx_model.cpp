// SPDX-License-Identifier: Apache-2.0
// onnx_model: models parsed under their limits, every refusal's message, tensors decoded from
// each encoding (external data confined to the model's folder), encoded back rounded once,
// constants found, and batch-normalization nodes named.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "error.hpp"
#include "formats/codec.hpp"
#include "formats/onnx_model.hpp"
#include "formats/registry.hpp"
#include "half.hpp"
#include "test_support.hpp"

namespace om = bnorm::onnx_model;
namespace onnx = bnorm::onnx;
using bnorm::data_error;
using bnorm::dtype;
using onnx::TensorProto;

namespace {

std::string float_bytes(const std::vector<float>& values) {
  std::string bytes(values.size() * 4, '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

TensorProto float_tensor(const std::string& name, const std::vector<float>& values) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(TensorProto::FLOAT);
  t.add_dims(static_cast<std::int64_t>(values.size()));
  for (const float v : values) t.add_float_data(v);
  return t;
}

// A graph x -> BatchNormalization(s, b, m, v) -> y, its parameters as initializers.
onnx::ModelProto bn_model() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(15);
  onnx::GraphProto& g = *model.mutable_graph();
  g.set_name("g");
  g.add_input()->set_name("x");
  g.add_output()->set_name("y");
  onnx::NodeProto& bn = *g.add_node();
  bn.set_op_type("BatchNormalization");
  bn.set_name("bn1");
  for (const char* in : {"x", "s", "b", "m", "v"}) bn.add_input(in);
  bn.add_output("y");
  onnx::AttributeProto& eps = *bn.add_attribute();
  eps.set_name("epsilon");
  eps.set_type(onnx::AttributeProto::FLOAT);
  eps.set_f(1e-3f);
  *g.add_initializer() = float_tensor("s", {1.5f, 2.0f});
  *g.add_initializer() = float_tensor("b", {0.25f, -1.0f});
  *g.add_initializer() = float_tensor("m", {0.1f, 0.2f});
  *g.add_initializer() = float_tensor("v", {4.0f, 9.0f});
  return model;
}

std::string bytes_of(const onnx::ModelProto& model) {
  std::string bytes;
  REQUIRE(model.SerializeToString(&bytes));
  return bytes;
}

om::model parsed(const onnx::ModelProto& model, const std::string& folder = "") {
  return om::parse_model(bytes_of(model), "m.onnx", folder);
}

std::string parse_error(std::string_view bytes) {
  try {
    om::parse_model(bytes, "m.onnx", "");
  } catch (const data_error& e) {
    return e.what();
  }
  return "(parsed)";
}

std::string parse_error(const onnx::ModelProto& model) {
  return parse_error(bytes_of(model));
}

std::string decode_error(const om::model& m, const TensorProto& t) {
  try {
    om::decode_tensor(m, t, "initializer 't'");
  } catch (const bnorm::error& e) {
    return e.what();
  }
  return "(decoded)";
}

std::vector<double> decoded(const om::model& m, const TensorProto& t) {
  return om::decode_tensor(m, t, "initializer 't'").values;
}

}  // namespace

TEST_CASE("a model's BatchNormalization: its parameters, epsilon and momentum") {
  const om::model m = parsed(bn_model());
  const auto nodes = om::batch_norm_nodes(*m.proto);
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].layer_name == "bn1");
  CHECK(nodes[0].epsilon == static_cast<double>(1e-3f));
  CHECK(nodes[0].momentum == static_cast<double>(0.9f));
  CHECK_FALSE(nodes[0].training_mode);
  const auto scale = om::constant_values(m, "s", "scale");
  REQUIRE(scale);
  CHECK(scale->type == dtype::float32());
  CHECK(scale->shape == std::vector<std::size_t>{2});
  CHECK(scale->values == std::vector<double>{1.5, 2.0});
  CHECK(om::constant_values(m, "x", "X") == std::nullopt);
}

TEST_CASE("read_model reads a file, and names its folder for external data") {
  bnorm_test::temp_dir dir;
  const std::string path = dir.file("m.onnx");
  bnorm_test::write_bytes(path, bytes_of(bn_model()));
  const om::model m = om::read_model(std::make_unique<bnorm::input_file>(path));
  CHECK(m.file_name == path);
  CHECK(m.folder == std::filesystem::path(dir.path()));
  CHECK(m.proto->graph().node_size() == 1);
}

TEST_CASE("read_model refuses a file over protobuf's limit before reading it") {
  bnorm_test::temp_dir dir;
  const std::string path = dir.file("huge.onnx");
  bnorm_test::write_bytes(path, bytes_of(bn_model()));
  // Sparse: 2 GiB of size and no data, which reading would take seconds to go through.
  REQUIRE(::truncate(path.c_str(), off_t{1} << 31) == 0);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(
      om::read_model(std::make_unique<bnorm::input_file>(path)),
      (path + ": the model is over 2147483647 bytes, the most a protobuf holds; larger "
              "models keep their tensors in side files (external data)")
          .c_str(),
      data_error);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(200));
}

TEST_CASE("a graph input overrides an initializer of its name, except under IR version 3") {
  onnx::ModelProto model = bn_model();
  model.mutable_graph()->add_input()->set_name("m");
  CHECK(om::constant_values(parsed(model), "m", "mean") == std::nullopt);
  CHECK(om::constant_values(parsed(model), "v", "var"));
  model.set_ir_version(3);
  CHECK(om::constant_values(parsed(model), "m", "mean"));
}

TEST_CASE("Constant nodes: value, value_float(s), value_int(s); sparse_value is not constant") {
  onnx::ModelProto model = bn_model();
  onnx::GraphProto& g = *model.mutable_graph();
  const auto constant = [&](const std::string& out) -> onnx::AttributeProto& {
    onnx::NodeProto& n = *g.add_node();
    n.set_op_type("Constant");
    n.add_output(out);
    return *n.add_attribute();
  };
  onnx::AttributeProto& value = constant("c_value");
  value.set_name("value");
  value.set_type(onnx::AttributeProto::TENSOR);
  *value.mutable_t() = float_tensor("", {3.0f, 0.5f});
  onnx::AttributeProto& floats = constant("c_floats");
  floats.set_name("value_floats");
  floats.set_type(onnx::AttributeProto::FLOATS);
  floats.add_floats(0.1f);
  floats.add_floats(-2.0f);
  onnx::AttributeProto& one_float = constant("c_float");
  one_float.set_name("value_float");
  one_float.set_type(onnx::AttributeProto::FLOAT);
  one_float.set_f(7.0f);
  onnx::AttributeProto& ints = constant("c_ints");
  ints.set_name("value_ints");
  ints.set_type(onnx::AttributeProto::INTS);
  ints.add_ints(std::int64_t{1} << 60);
  ints.add_ints(-3);
  onnx::AttributeProto& sparse = constant("c_sparse");
  sparse.set_name("sparse_value");
  sparse.set_type(onnx::AttributeProto::SPARSE_TENSOR);
  *sparse.mutable_sparse_tensor()->mutable_values() = float_tensor("", {1.0f});
  TensorProto& indices = *sparse.mutable_sparse_tensor()->mutable_indices();
  indices.set_data_type(TensorProto::INT64);
  indices.add_dims(1);
  indices.add_int64_data(0);
  sparse.mutable_sparse_tensor()->add_dims(4);

  const om::model m = parsed(model);
  const auto v = om::constant_values(m, "c_value", "a");
  REQUIRE(v);
  CHECK(v->values == std::vector<double>{3.0, 0.5});
  const auto f = om::constant_values(m, "c_floats", "a");
  REQUIRE(f);
  CHECK(f->type == dtype::float32());
  CHECK(f->shape == std::vector<std::size_t>{2});
  CHECK(f->values == std::vector<double>{static_cast<double>(0.1f), -2.0});
  const auto one = om::constant_values(m, "c_float", "a");
  REQUIRE(one);
  CHECK(one->shape.empty());
  CHECK(one->values == std::vector<double>{7.0});
  const auto i = om::constant_values(m, "c_ints", "a");
  REQUIRE(i);
  CHECK(i->integers == std::vector<std::int64_t>{std::int64_t{1} << 60, -3});
  CHECK_FALSE(om::constant_values(m, "c_sparse", "a"));
  const auto ref = om::find_constant(*m.proto, m.proto->graph(), "c_value");
  REQUIRE(ref);
  CHECK(ref->initializer == -1);
  CHECK(ref->constant_node == 1);
  CHECK(ref->tensor == &m.proto->graph().node(1).attribute(0).t());
  const auto init = om::find_constant(*m.proto, m.proto->graph(), "v");
  REQUIRE(init);
  CHECK(init->initializer == 3);
  CHECK(init->constant_node == -1);
}

TEST_CASE("decode_tensor: 16-bit floats as bits in int32_data and in raw_data") {
  const om::model m = parsed(bn_model());
  TensorProto t;
  t.add_dims(3);
  // The values the bit patterns have by IEEE 754 (binary16) and bfloat16's definition.
  const std::vector<double> half{1.0, -std::ldexp(1.0, -24), 65504.0};
  const std::vector<double> brain{std::ldexp(1.0, -7), -std::ldexp(1.0, -133),
                                  std::ldexp(255.0 / 128, 120)};
  for (const auto type : {TensorProto::FLOAT16, TensorProto::BFLOAT16}) {
    CAPTURE(type);
    t.set_data_type(type);
    t.clear_raw_data();
    t.clear_int32_data();
    for (const int bits : {0x3c00, 0x8001, 0x7bff}) t.add_int32_data(bits);
    const auto values = om::decode_tensor(m, t, "t");
    CHECK(values.type == (type == TensorProto::FLOAT16 ? dtype::float16() : dtype::bfloat16()));
    CHECK(values.values == (type == TensorProto::FLOAT16 ? half : brain));
    CHECK(values.integers.empty());
    t.clear_int32_data();
    t.set_raw_data(std::string("\x00\x3c\x01\x80\xff\x7b", 6));
    CHECK(decoded(m, t) == (type == TensorProto::FLOAT16 ? half : brain));
    t.clear_raw_data();
    t.add_int32_data(0x3c00);
    t.add_int32_data(0x10000);
    t.add_int32_data(0);
    CHECK(decode_error(m, t) ==
          "m.onnx: initializer 't': its int32_data holds 65536, which is not the bits of a "
          "16-bit float");
  }
}

TEST_CASE("decode_tensor: float64, integers and bool, typed and raw, integers exactly") {
  const om::model m = parsed(bn_model());
  TensorProto t;
  t.add_dims(2);
  t.set_data_type(TensorProto::DOUBLE);
  t.add_double_data(0.1);
  t.add_double_data(-1e300);
  CHECK(decoded(m, t) == std::vector<double>{0.1, -1e300});
  t.clear_double_data();
  const double raw[2] = {0.1, -1e300};
  t.set_raw_data(std::string(reinterpret_cast<const char*>(raw), sizeof raw));
  CHECK(decoded(m, t) == std::vector<double>{0.1, -1e300});

  struct integer_case {
    TensorProto::DataType type;
    std::vector<std::int64_t> values;
    std::int64_t too_big;  // a value the type cannot hold, in its typed field
  };
  const std::vector<integer_case> cases{
      {TensorProto::INT8, {-128, 127}, 128},
      {TensorProto::UINT8, {0, 255}, 256},
      {TensorProto::INT16, {-32768, 32767}, -32769},
      {TensorProto::UINT16, {0, 65535}, -1},
      {TensorProto::INT32, {-2147483647 - 1, 2147483647}, 0},
      {TensorProto::INT64, {(std::int64_t{1} << 62) + 1, -5}, 0},
      {TensorProto::UINT32, {0, 4294967295}, 4294967296},
      {TensorProto::UINT64, {(std::int64_t{1} << 62) + 1, 7}, 0},
      {TensorProto::BOOL, {0, 1}, 2},
  };
  for (const integer_case& c : cases) {
    CAPTURE(c.type);
    TensorProto it;
    it.set_data_type(c.type);
    it.add_dims(2);
    const auto size = om::dtype_of(c.type)->size;
    std::string bytes;
    for (const std::int64_t v : c.values) {
      bytes.append(reinterpret_cast<const char*>(&v), size);  // little-endian host
      if (c.type == TensorProto::INT64) {
        it.add_int64_data(v);
      } else if (c.type == TensorProto::UINT32 || c.type == TensorProto::UINT64) {
        it.add_uint64_data(static_cast<std::uint64_t>(v));
      } else {
        it.add_int32_data(static_cast<std::int32_t>(v));
      }
    }
    const auto typed = om::decode_tensor(m, it, "t");
    std::vector<double> want;
    for (const std::int64_t v : c.values) want.push_back(static_cast<double>(v));
    CHECK(typed.values == want);
    if (c.type != TensorProto::BOOL) {
      CHECK(typed.integers == c.values);
    } else {
      CHECK(typed.integers.empty());
    }
    TensorProto raw_tensor = it;
    raw_tensor.clear_int32_data();
    raw_tensor.clear_int64_data();
    raw_tensor.clear_uint64_data();
    raw_tensor.set_raw_data(bytes);
    const auto from_raw = om::decode_tensor(m, raw_tensor, "t");
    CHECK(from_raw.values == want);
    CHECK(from_raw.integers == typed.integers);
    if (c.too_big != 0) {
      it.clear_int32_data();
      it.clear_uint64_data();
      it.add_dims(0);  // no element: the value's range is still checked below
      it.clear_dims();
      it.add_dims(1);
      if (c.type == TensorProto::UINT32) {
        it.add_uint64_data(static_cast<std::uint64_t>(c.too_big));
      } else {
        it.add_int32_data(static_cast<std::int32_t>(c.too_big));
      }
      CHECK(decode_error(m, it) == "m.onnx: initializer 't': it holds " +
                                       std::to_string(c.too_big) + ", which " +
                                       bnorm::name_of(*om::dtype_of(c.type)) + " cannot hold");
    }
  }
}

TEST_CASE("decode_tensor refuses a type bnorm does not read") {
  const om::model m = parsed(bn_model());
  TensorProto t;
  t.set_data_type(TensorProto::STRING);
  t.add_dims(1);
  t.add_string_data()->push_back('a');  // not ("a"): GCC 12 warns falsely (-Wrestrict)
  CHECK(decode_error(m, t) == "m.onnx: initializer 't': its type STRING is not one bnorm reads");
  t.set_data_type(TensorProto::COMPLEX64);
  t.clear_string_data();
  t.add_float_data(1);
  t.add_float_data(2);
  CHECK(decode_error(m, t) == "m.onnx: initializer 't': its type COMPLEX64 is not one bnorm reads");
}

TEST_CASE("read_model refuses what readers could not rely on, saying what") {
  SUBCASE("no graph") {
    onnx::ModelProto model;
    model.set_ir_version(8);
    CHECK(parse_error(model) == "m.onnx: not an ONNX model: it holds no graph");
  }
  SUBCASE("a node without op_type, in the graph and in a subgraph") {
    onnx::ModelProto model = bn_model();
    model.mutable_graph()->add_node()->add_output("z");
    CHECK(parse_error(model) == "m.onnx: node 1: it has no op_type");
    model = bn_model();
    onnx::NodeProto& if_node = *model.mutable_graph()->add_node();
    if_node.set_op_type("If");
    if_node.set_name("branch");
    onnx::AttributeProto& g = *if_node.add_attribute();
    g.set_name("then_branch");
    g.set_type(onnx::AttributeProto::GRAPH);
    g.mutable_g()->add_node()->set_name("inner");
    CHECK(parse_error(model) ==
          "m.onnx: node 'branch' attribute 'then_branch': node 'inner': it has no op_type");
  }
  SUBCASE("dims") {
    onnx::ModelProto model = bn_model();
    TensorProto& s = *model.mutable_graph()->mutable_initializer(0);
    s.set_dims(0, -2);
    CHECK(parse_error(model) ==
          "m.onnx: initializer 's': its dims declare a negative dimension (-2)");
    s.set_dims(0, std::int64_t{1} << 31);
    s.add_dims(std::int64_t{1} << 31);  // 2^62 elements: past 2^40 and 64 bits' reach later
    s.add_dims(std::int64_t{1} << 40);
    CHECK(parse_error(model) ==
          "m.onnx: initializer 's': its dims declare dimensions whose product is over "
          "1099511627776 elements");
    s.clear_dims();
    s.add_dims(std::int64_t{1} << 62);
    s.add_dims(0);
    CHECK(parse_error(model) ==
          "m.onnx: initializer 's': its dims declare dimensions whose product is over "
          "1099511627776 elements");
  }
  SUBCASE("data sizes that disagree with dims") {
    onnx::ModelProto model = bn_model();
    TensorProto& s = *model.mutable_graph()->mutable_initializer(0);
    s.add_float_data(3);
    CHECK(parse_error(model) ==
          "m.onnx: initializer 's': its float_data holds 3 values, and its dims declare 2 "
          "elements of FLOAT");
    s.clear_float_data();
    s.set_raw_data(float_bytes({1, 2}) + "x");
    CHECK(parse_error(model) ==
          "m.onnx: initializer 's': its raw_data holds 9 bytes, and its dims declare 2 elements "
          "of FLOAT (8 bytes)");
    s.set_raw_data(float_bytes({1, 2}));
    s.add_float_data(1);
    CHECK(parse_error(model) ==
          "m.onnx: initializer 's': it holds both raw_data and float_data-style values");
    s.clear_raw_data();
    s.clear_float_data();
    s.add_int64_data(1);
    s.add_int64_data(2);
    CHECK(parse_error(model) ==
          "m.onnx: initializer 's': it holds values in a field other than float_data, where "
          "FLOAT values go");
    s.clear_int64_data();
    CHECK(parse_error(model) ==
          "m.onnx: initializer 's': its float_data holds 0 values, and its dims declare 2 "
          "elements of FLOAT");
    s.set_data_type(0);
    CHECK(parse_error(model) ==
          "m.onnx: initializer 's': its data type (0) is not one ONNX defines");
    s.set_data_type(99);
    CHECK(parse_error(model) ==
          "m.onnx: initializer 's': its data type (99) is not one ONNX defines");
    s.set_data_type(TensorProto::STRING);
    s.set_raw_data("ab");
    s.clear_dims();
    CHECK(parse_error(model) == "m.onnx: initializer 's': STRING values cannot be raw_data");
  }
}

TEST_CASE("read_model names what is wrong with the bytes themselves") {
  const std::string good = bytes_of(bn_model());
  // The graph (field 7) begins after ir_version (08 08) and opset_import (42 ...).
  const std::size_t graph_at = good.find('\x3a');
  REQUIRE(graph_at != std::string::npos);
  SUBCASE("truncated") {
    const std::string cut = good.substr(0, good.size() - 5);
    CHECK(parse_error(cut).starts_with("m.onnx: not an ONNX model: field 7 at byte " +
                                       std::to_string(graph_at) + " declares "));
    CHECK(parse_error(cut).ends_with(" bytes, and its message has " +
                                     std::to_string(cut.size() - graph_at - 3) + " left"));
    CHECK(parse_error(good.substr(0, 1)) ==
          "m.onnx: not an ONNX model: field 1 at byte 0: its number runs past the end of its "
          "message");
  }
  SUBCASE("a huge declared length") {
    const std::string huge = std::string("\x08\x08\x3a\xff\xff\xff\xff\x07", 8) + "abc";
    CHECK(parse_error(huge) ==
          "m.onnx: not an ONNX model: field 7 at byte 2 declares 2147483647 bytes, and its "
          "message has 3 left");
  }
  SUBCASE("wire types") {
    CHECK(parse_error(std::string("\x08\x08\x3f", 3)) ==
          "m.onnx: not an ONNX model: field 7 at byte 2 has wire type 7, which protobuf does "
          "not read here");
    CHECK(parse_error(std::string("\x08\x08\x00", 3)) ==
          "m.onnx: not an ONNX model: a field numbered 0 at byte 2");
    // Inside the graph: a node (field 1) whose bytes are not a message.
    CHECK(parse_error(std::string("\x08\x08\x3a\x03\x0a\x01\x0e", 7)) ==
          "m.onnx: not an ONNX model: field 1 at byte 6 has wire type 6, which protobuf does "
          "not read here");
  }
  SUBCASE("nesting deeper than the limit, refused fast") {
    // graph -> node -> attribute g -> graph ...: three messages a level.
    onnx::ModelProto model;
    model.set_ir_version(8);
    onnx::GraphProto* g = model.mutable_graph();
    for (int level = 0; level < 30; ++level) {
      onnx::NodeProto* n = g->add_node();
      n->set_op_type("If");
      onnx::AttributeProto* a = n->add_attribute();
      a->set_name("then_branch");
      g = a->mutable_g();
    }
    const auto start = std::chrono::steady_clock::now();
    CHECK(parse_error(model) == "m.onnx: not an ONNX model: messages nest more than 64 deep");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    // 21 levels (63 messages below the model) parse.
    onnx::ModelProto shallow;
    shallow.set_ir_version(8);
    g = shallow.mutable_graph();
    for (int level = 0; level < 21; ++level) {
      onnx::NodeProto* n = g->add_node();
      n->set_op_type("If");
      onnx::AttributeProto* a = n->add_attribute();
      a->set_name("then_branch");
      g = a->mutable_g();
    }
    CHECK(parse_error(shallow) == "(parsed)");
  }
}

TEST_CASE("external data: read from a side file in the model's folder, at its offset") {
  bnorm_test::temp_dir dir;
  bnorm_test::write_bytes(dir.file("weights.bin"), "head" + float_bytes({0.5f, -4.0f}) + "tail");
  ::mkdir(dir.file("sub").c_str(), 0700);
  bnorm_test::write_bytes(dir.file("sub/w.bin"), float_bytes({3.0f, 2.0f}));
  const om::model m = parsed(bn_model(), dir.path());
  TensorProto t;
  t.set_data_type(TensorProto::FLOAT);
  t.add_dims(2);
  t.set_data_location(TensorProto::EXTERNAL);
  const auto entry = [&](const std::string& key, const std::string& value) {
    auto* e = t.add_external_data();
    e->set_key(key);
    e->set_value(value);
  };
  entry("location", "weights.bin");
  entry("offset", "4");
  entry("length", "8");
  CHECK(decoded(m, t) == std::vector<double>{0.5, -4.0});
  t.clear_external_data();
  entry("location", "./sub//w.bin");
  CHECK(decoded(m, t) == std::vector<double>{3.0, 2.0});  // no offset, no length: the file
  t.clear_external_data();
  entry("location", "sub/w.bin");
  entry("checksum", "ignored");
  CHECK(decoded(m, t) == std::vector<double>{3.0, 2.0});
}

TEST_CASE("external data: every way out of the model's folder is refused") {
  bnorm_test::temp_dir outside;
  bnorm_test::write_bytes(outside.file("secret.bin"), float_bytes({1, 2}));
  bnorm_test::temp_dir dir;
  bnorm_test::write_bytes(dir.file("w.bin"), "head" + float_bytes({1, 2}));
  REQUIRE(::symlink(outside.file("secret.bin").c_str(), dir.file("link.bin").c_str()) == 0);
  REQUIRE(::symlink(outside.path().c_str(), dir.file("linked_dir").c_str()) == 0);
  const om::model m = parsed(bn_model(), dir.path());
  const auto tensor = [](const std::vector<std::pair<std::string, std::string>>& entries) {
    TensorProto t;
    t.set_data_type(TensorProto::FLOAT);
    t.add_dims(2);
    t.set_data_location(TensorProto::EXTERNAL);
    for (const auto& [key, value] : entries) {
      auto* e = t.add_external_data();
      e->set_key(key);
      e->set_value(value);
    }
    return t;
  };
  const std::string at = "m.onnx: initializer 't': ";
  CHECK(decode_error(m, tensor({{"location", outside.file("secret.bin")}})) ==
        at + "its side file '" + outside.file("secret.bin") +
            "' is an absolute path; external data is read only from inside the model's folder");
  CHECK(decode_error(m, tensor({{"location", "../x/secret.bin"}})) ==
        at + "its side file '../x/secret.bin' leads out of the model's folder (\"..\"); "
             "external data is read only from inside it");
  CHECK(decode_error(m, tensor({{"location", "a/../../secret.bin"}})) ==
        at + "its side file 'a/../../secret.bin' leads out of the model's folder (\"..\"); "
             "external data is read only from inside it");
  CHECK(decode_error(m, tensor({{"location", "link.bin"}})) ==
        at + "its side file 'link.bin' goes through a symbolic link ('link.bin'); external "
             "data is read only from files inside the model's folder");
  CHECK(decode_error(m, tensor({{"location", "linked_dir/secret.bin"}})) ==
        at + "its side file 'linked_dir/secret.bin' goes through a symbolic link "
             "('linked_dir'); external data is read only from files inside the model's folder");
  CHECK(decode_error(m, tensor({{"location", "missing.bin"}})) ==
        at + "its side file 'missing.bin' is not in the model's folder");
  CHECK(decode_error(m, tensor({{"location", "."}})) == at + "its side file '.' names no file");
  // A FIFO in the folder would block the reader: it is refused, not waited on.
  REQUIRE(::mkfifo(dir.file("pipe.bin").c_str(), 0600) == 0);
  CHECK(decode_error(m, tensor({{"location", "pipe.bin"}})) ==
        at + "its side file 'pipe.bin' is not a regular file");
  CHECK(decode_error(m, tensor({{"location", ""}})) ==
        at + "its data lies in a side file, and it names none (no location)");
  CHECK(decode_error(m, tensor({{"offset", "0"}})) ==
        at + "its data lies in a side file, and it names none (no location)");
  CHECK(decode_error(m, tensor({{"location", "w.bin"}, {"basepath", "/"}})) ==
        at + "its external data has the entry 'basepath', which bnorm does not read");
  CHECK(decode_error(m, tensor({{"location", "w.bin"}, {"location", "x"}})) ==
        at + "its external data names 'location' twice");
  CHECK(decode_error(m, tensor({{"location", "w.bin"}, {"offset", "-4"}})) ==
        at + "its external data's offset '-4' is not a byte count");
  CHECK(decode_error(m, tensor({{"location", "w.bin"}, {"offset", "99999999999999999999"}})) ==
        at + "its external data's offset '99999999999999999999' is not a byte count");
  CHECK(decode_error(m, tensor({{"location", "w.bin"}, {"offset", "13"}})) ==
        at + "its side file 'w.bin' has 12 bytes, and the data is said to start at byte 13");
  CHECK(decode_error(m, tensor({{"location", "w.bin"}, {"offset", "8"}, {"length", "8"}})) ==
        at + "its side file 'w.bin' has 12 bytes, and the data is said to run from byte 8 for "
             "8 bytes");
  CHECK(decode_error(m, tensor({{"location", "w.bin"}})) ==
        at + "its side file 'w.bin' holds 12 bytes for it, and its dims declare 8 bytes");
  CHECK(decode_error(m, tensor({{"location", "w.bin"}, {"offset", "4"}})) == "(decoded)");
  // A model read from a stream names no folder.
  const om::model streamed = parsed(bn_model());
  CHECK(decode_error(streamed, tensor({{"location", "w.bin"}})) ==
        at + "its data lies in the side file 'w.bin', and a model read from a stream has no "
             "folder to read it from");
  // External data with values beside it says two things at once.
  TensorProto both = tensor({{"location", "w.bin"}});
  both.add_float_data(1);
  both.add_float_data(2);
  CHECK(decode_error(m, both) == at + "it holds values and also says they lie in a side file");
}

TEST_CASE("encode_tensor: rounded once, as raw_data, with every other encoding cleared") {
  TensorProto t;
  t.set_name("w");
  t.set_doc_string("kept");
  t.set_data_type(TensorProto::FLOAT);
  t.add_dims(9);
  t.add_float_data(1);
  auto* e = t.add_external_data();
  e->set_key("location");
  e->set_value("w.bin");
  t.set_data_location(TensorProto::EXTERNAL);
  // 1 + 2^-11 + 2^-30 is above float16's tie between 1 and 1 + 2^-10: rounding through
  // float32 first would land on the tie and round to 1.
  const std::vector<double> values{1.0 + 0x1p-11 + 0x1p-30, -2.5};
  om::encode_tensor(t, dtype::float16(), {2}, values);
  CHECK(t.name() == "w");
  CHECK(t.doc_string() == "kept");
  CHECK(t.data_type() == TensorProto::FLOAT16);
  CHECK(t.dims_size() == 1);
  CHECK(t.dims(0) == 2);
  CHECK(t.float_data_size() == 0);
  CHECK(t.external_data_size() == 0);
  CHECK(t.data_location() == TensorProto::DEFAULT);
  CHECK(bnorm_test::hex(t.raw_data()) == "013c00c1");  // 0x3c01 (1 + 2^-10), 0xc100 (-2.5)
  const om::model m = parsed(bn_model());
  CHECK(decoded(m, t) == std::vector<double>{1.0 + 0x1p-10, -2.5});
  om::encode_tensor(t, dtype::float64(), {1, 2}, values);
  CHECK(t.data_type() == TensorProto::DOUBLE);
  CHECK(decoded(m, t) == values);
  om::encode_tensor(t, dtype::float32(), {2}, values);
  CHECK(decoded(m, t) ==
        std::vector<double>{static_cast<double>(static_cast<float>(values[0])), -2.5});
  om::encode_tensor(t, dtype::bfloat16(), {2}, values);
  CHECK(t.data_type() == TensorProto::BFLOAT16);
  CHECK(decoded(m, t) == std::vector<double>{1.0, -2.5});
}

TEST_CASE("write_model writes what read_model reads back") {
  bnorm_test::temp_dir dir;
  const onnx::ModelProto model = bn_model();
  {
    bnorm::output_file out(dir.file("copy.onnx"));
    om::write_model(model, out);
    out.commit();
  }
  CHECK(bnorm_test::read_bytes(dir.file("copy.onnx")) == bytes_of(model));
}

TEST_CASE("batch_norm_nodes: a layer is named by its node, else by its output") {
  onnx::ModelProto model = bn_model();
  onnx::GraphProto& g = *model.mutable_graph();
  const auto add_bn = [&](const std::string& name, const std::string& out) -> onnx::NodeProto& {
    onnx::NodeProto& n = *g.add_node();
    n.set_op_type("BatchNormalization");
    n.set_name(name);
    for (const char* in : {"y", "s", "b", "m", "v"}) n.add_input(in);
    n.add_output(out);
    return n;
  };
  add_bn("", "y2");      // no name: its output's
  add_bn("twin", "y3");  // a name two nodes share: their outputs'
  add_bn("twin", "y4");
  add_bn("y6", "y5");  // its name is the next one's output: both by their outputs
  add_bn("", "y6");
  onnx::NodeProto& other = add_bn("other", "y7");
  other.set_domain("com.example");  // not ONNX's operator
  onnx::NodeProto& trained = add_bn("trained", "y8");
  trained.add_output("running_mean_out");
  onnx::AttributeProto& momentum = *trained.add_attribute();
  momentum.set_name("momentum");
  momentum.set_type(onnx::AttributeProto::FLOAT);
  momentum.set_f(0.75f);
  const auto nodes = om::batch_norm_nodes(model);
  std::vector<std::string> names;
  for (const auto& n : nodes) names.push_back(n.layer_name);
  CHECK(names == std::vector<std::string>{"bn1", "y2", "y3", "y4", "y5", "y6", "trained"});
  CHECK(nodes.back().momentum == 0.75);
  CHECK(nodes.back().training_mode);
  CHECK(nodes.back().node == 7);

  onnx::ModelProto short_model = bn_model();
  short_model.mutable_graph()->mutable_node(0)->mutable_input()->RemoveLast();
  CHECK_THROWS_WITH_AS(om::batch_norm_nodes(short_model),
                       "node 'bn1': a BatchNormalization has 5 inputs, and it has 4", data_error);
  short_model = bn_model();
  short_model.mutable_graph()->mutable_node(0)->set_input(2, "");
  CHECK_THROWS_WITH_AS(om::batch_norm_nodes(short_model),
                       "node 'bn1': a BatchNormalization's input 2 is required, and it is empty",
                       data_error);
  short_model = bn_model();
  short_model.mutable_graph()->mutable_node(0)->clear_output();
  CHECK_THROWS_WITH_AS(om::batch_norm_nodes(short_model),
                       "node 'bn1': a BatchNormalization has an output Y, and it has none",
                       data_error);
  short_model = bn_model();
  short_model.mutable_graph()->mutable_node(0)->mutable_attribute(0)->set_type(
      onnx::AttributeProto::INT);
  CHECK_THROWS_WITH_AS(om::batch_norm_nodes(short_model), "node 'bn1': its epsilon is not a float",
                       data_error);
}

TEST_CASE("every model of libonnx-testdata is told by its bytes and read; no other file is") {
  const std::filesystem::path testdata = "/usr/share/libonnx-testdata/data";
  const bnorm::codec* onnx_codec = bnorm::codec_named("onnx");
  REQUIRE(onnx_codec != nullptr);
  const auto head_of = [](const std::filesystem::path& path) {
    std::string bytes = bnorm_test::read_bytes(path.string());
    return bytes.substr(0, bnorm::sniff_size);
  };
  std::size_t models = 0;
  std::size_t others = 0;
  if (std::filesystem::is_directory(testdata)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(testdata)) {
      if (!entry.is_regular_file()) continue;
      const auto& path = entry.path();
      CAPTURE(path.string());
      if (path.extension() == ".onnx") {
        ++models;
        CHECK(bnorm::codec_for_bytes(head_of(path)) == onnx_codec);
        const om::model m = om::read_model(std::make_unique<bnorm::input_file>(path.string()));
        CHECK_NOTHROW(om::batch_norm_nodes(*m.proto));
      } else if (path.extension() == ".pb") {
        // A TensorProto begins with dims (field 1) as a model begins with ir_version.
        ++others;
        CHECK(bnorm::codec_for_bytes(head_of(path)) != onnx_codec);
      }
    }
    CHECK(models > 1000);
    CHECK(others > 1000);
  }
  // bnorm's samples and the other formats' fuzz seeds, malformed ones included (the models
  // among them, samples/*.onnx and the onnx and onnx_fold seeds, aside).
  const std::filesystem::path source = BNORM_SOURCE_DIR;
  for (const auto& folder : {source / "samples", source / "tests" / "fuzz" / "corpus"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
      const auto seeds = entry.path().parent_path().filename();
      if (!entry.is_regular_file() || seeds == "onnx" || seeds == "onnx_fold" ||
          entry.path().extension() == ".onnx") {
        continue;
      }
      CAPTURE(entry.path().string());
      ++others;
      CHECK(bnorm::codec_for_bytes(head_of(entry.path())) != onnx_codec);
    }
  }
  CHECK(others > 100);
}

TEST_CASE("the codec's archive: each BN's parameters by layer name, its settings beside them") {
  bnorm_test::temp_dir dir;
  onnx::ModelProto model = bn_model();
  onnx::AttributeProto& momentum = *model.mutable_graph()->mutable_node(0)->add_attribute();
  momentum.set_name("momentum");
  momentum.set_type(onnx::AttributeProto::FLOAT);
  momentum.set_f(0.75f);
  // A second BN whose mean is a graph input: no state to read, so not in the archive.
  onnx::NodeProto& second = *model.mutable_graph()->add_node();
  second.set_op_type("BatchNormalization");
  second.set_name("bn2");
  for (const char* in : {"y", "s", "b", "x", "v"}) second.add_input(in);
  second.add_output("z");
  const std::string path = dir.file("m.onnx");
  bnorm_test::write_bytes(path, bytes_of(model));
  const auto archive =
      bnorm::codec_named("onnx")->open(std::make_unique<bnorm::input_file>(path), {});
  CHECK(archive->file_name() == path);
  CHECK(archive->names() ==
        std::vector<std::string>{"bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"});
  const auto var = archive->open("bn1.running_var");
  CHECK(var->info().name == "bn1.running_var");
  CHECK(var->info().type == dtype::float32());
  CHECK(var->info().shape == std::vector<std::size_t>{2});
  std::vector<double> values(2);
  var->read_at(0, values);
  CHECK(values == std::vector<double>{4.0, 9.0});
  const auto settings = archive->settings_of("bn1.");
  REQUIRE(settings);
  CHECK(settings->epsilon == static_cast<double>(1e-3f));
  CHECK(settings->momentum == 0.75);
  CHECK(settings->convention == "onnx");
  CHECK(settings->training == false);
  CHECK_FALSE(archive->settings_of("bn2."));
  CHECK_FALSE(archive->settings_of("bn1"));
  CHECK_THROWS_WITH_AS(archive->open("bn2.weight"), (path + ": no tensor 'bn2.weight'").c_str(),
                       data_error);
  // A training node's layer says so.
  onnx::AttributeProto& training = *model.mutable_graph()->mutable_node(0)->add_attribute();
  training.set_name("training_mode");
  training.set_type(onnx::AttributeProto::INT);
  training.set_i(1);
  bnorm_test::write_bytes(path, bytes_of(model));
  const auto trained =
      bnorm::codec_named("onnx")->open(std::make_unique<bnorm::input_file>(path), {});
  CHECK(trained->settings_of("bn1.")->training == true);
}
