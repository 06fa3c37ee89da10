// SPDX-License-Identifier: Apache-2.0
// The registry: formats found by extension, by first bytes and by name, inputs opened with
// their format settled, and the format of an output.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "formats/registry.hpp"
#include "onnx_schema/onnx.pb.h"
#include "test_support.hpp"

namespace onnx = bnorm::onnx_schema;
using bnorm::codec;
using bnorm::codec_named;
using bnorm::dtype;
using bnorm_test::temp_dir;

namespace {

// A model of one BatchNormalization, as the ONNX library serializes it.
std::string onnx_model_bytes() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("pytorch");
  model.set_producer_version("1.13.1");
  model.add_opset_import()->set_version(15);
  onnx::NodeProto& bn = *model.mutable_graph()->add_node();
  bn.set_op_type("BatchNormalization");
  for (const char* in : {"x", "s", "b", "m", "v"}) bn.add_input(in);
  bn.add_output("y");
  std::string bytes;
  model.SerializeToString(&bytes);
  return bytes;
}

// A small tensor written by `format`'s own sink: the bytes that format's files begin with.
// A format bnorm only reads gives a file of its own from its library.
std::string written_by(const codec& format, const std::string& path) {
  if (!format.make_sink) {
    REQUIRE(format.name == "onnx");
    return onnx_model_bytes();
  }
  {
    bnorm::output_file out(path);
    const auto sink = format.make_sink(out, {dtype::float32(), {2, 3}, false, "t"});
    sink->write_at(0, std::vector<double>{1, 2, 3, 4, 5, 6});
    sink->finish();
    out.commit();
  }
  return bnorm_test::read_bytes(path);
}

// A table (CSV, TSV) may begin with anything: only its name or a named format tells it.
bool has_magic(const codec& format) {
  return format.name != "csv" && format.name != "tsv";
}

}  // namespace

TEST_CASE("every format is listed once, under its name and its extensions") {
  CHECK(bnorm::format_names() == "npy, json, pt, npz, safetensors, onnx, csv, tsv");
  CHECK(bnorm::format_names("|") == "npy|json|pt|npz|safetensors|onnx|csv|tsv");
  CHECK(bnorm::written_format_names("|") == "npy|json|pt|npz|safetensors|csv|tsv");
  CHECK(bnorm::extension_names(", ", " or ") ==
        ".npy, .json, .pt, .npz, .safetensors, .onnx, .csv or .tsv");
  CHECK(bnorm::extension_names(", ", " or ", true) == ".pt, .npz, .safetensors or .onnx");
  CHECK(bnorm::written_extension_names(", ", " or ") ==
        ".npy, .json, .pt, .npz, .safetensors, .csv or .tsv");
  CHECK(bnorm::written_extension_names("/", "/", true) == ".pt/.npz/.safetensors");
  for (const codec* format : bnorm::all_codecs()) {
    CAPTURE(format->name);
    CHECK(codec_named(format->name) == format);
    for (std::string_view ext : format->extensions) {
      CHECK(bnorm::codec_for_path("dir/x" + std::string(ext)) == format);
    }
    // A format bnorm only reads (a model) writes neither a tensor nor a set.
    if (format->make_sink) {
      CHECK((format->write_set != nullptr) == format->holds_many);
    } else {
      CHECK_FALSE(static_cast<bool>(format->write_set));
      CHECK_FALSE(static_cast<bool>(format->update_set));
    }
  }
  CHECK(codec_named("parquet") == nullptr);
  CHECK(codec_named("NPY") == nullptr);
  CHECK(codec_named("") == nullptr);
}

TEST_CASE("codec_for_path reads the last component's extension, in any case") {
  CHECK(bnorm::codec_for_path("x.npy") == codec_named("npy"));
  CHECK(bnorm::codec_for_path("X.NPY") == codec_named("npy"));
  CHECK(bnorm::codec_for_path("a.b.Json") == codec_named("json"));
  CHECK(bnorm::codec_for_path("m.SafeTensors") == codec_named("safetensors"));
  CHECK(bnorm::codec_for_path("a.npz") == codec_named("npz"));
  // A name that is all extension is one: ".npz" names an .npz, as it did before formats had a
  // registry.
  CHECK(bnorm::codec_for_path(".npz") == codec_named("npz"));
  CHECK(bnorm::codec_for_path("dir/.safetensors") == codec_named("safetensors"));
  for (const char* nothing : {"x.txt", "dir.npy/x", "-", "npy", "x.npy.", "x.npyz", ""}) {
    CAPTURE(nothing);
    CHECK(bnorm::codec_for_path(nothing) == nullptr);
  }
}

TEST_CASE("each format's own files are recognized by their first bytes, and by no other") {
  temp_dir dir;
  for (const codec* format : bnorm::all_codecs()) {
    CAPTURE(format->name);
    if (!has_magic(*format)) continue;
    const std::string bytes = written_by(*format, dir.file("x"));
    CHECK(bnorm::codec_for_bytes(std::string_view(bytes).substr(0, bnorm::sniff_size)) == format);
    // A format inside another's container (a .pt is a ZIP, as an .npz is) is recognized by a
    // deeper look, tried first: the container's own recognizer, later in the list, may claim
    // its bytes too, and only then.
    bool later = false;
    for (const codec* other : bnorm::all_codecs()) {
      if (other == format) {
        later = true;
        continue;
      }
      const bool same_container =
          later && written_by(*other, dir.file("other")).substr(0, 4) == bytes.substr(0, 4);
      if (!same_container) CHECK_FALSE(other->recognizes(bytes.substr(0, bnorm::sniff_size)));
    }
  }
}

TEST_CASE("codec_for_bytes: JSON is an array or object after white space, and text") {
  const codec* json = codec_named("json");
  for (const char* text : {"[1, 2]", "  \n\t[[1]]", "{\"a\": 1}", "[NaN]"}) {
    CAPTURE(text);
    CHECK(bnorm::codec_for_bytes(text) == json);
  }
  // A number alone, white space alone, and text holding a NUL byte say no format: a name
  // must (CSV, which also starts with a number, is told apart that way).
  for (const char* text : {"-1", "7", "NaN", "Infinity", "1,2\n3,4\n"}) {
    CAPTURE(text);
    CHECK(bnorm::codec_for_bytes(text) == nullptr);
  }
  CHECK(bnorm::codec_for_bytes(std::string(bnorm::sniff_size, ' ')) == nullptr);
  CHECK(bnorm::codec_for_bytes(std::string(10, ' ')) == nullptr);
  CHECK(bnorm::codec_for_bytes(std::string("[1,\0 2]", 7)) == nullptr);
  using namespace std::string_view_literals;
  for (std::string_view bytes : {""sv, "x"sv, "hello"sv, "\x93NUMP"sv, "PK\x01\x02"sv, "PK"sv,
                                 "\x10\x00\x00\x00\x00\x00\x00\x01{"sv, "\x10\x00\x00"sv}) {
    CAPTURE(bnorm_test::hex(bytes));
    CHECK(bnorm::codec_for_bytes(bytes) == nullptr);
  }
  CHECK(bnorm::codec_for_bytes("PK\x05\x06"sv) == codec_named("npz"));  // np.savez of nothing
  CHECK(bnorm::codec_for_bytes("\x02\x00\x00\x00\x00\x00\x00\x00{}"sv) ==
        codec_named("safetensors"));
}

TEST_CASE("a safetensors header of any length is safetensors, whatever its first byte") {
  // The first byte is the low byte of the header's length: it may be '[', '{', '-', a digit,
  // 'N' or 'I', the bytes a text format begins with.  Every length below 2^16, each with a
  // header of spaces after its '{', is recognized as safetensors alone.
  for (std::size_t length = 2; length < (1u << 16); ++length) {
    std::string head(8, '\0');
    head[0] = static_cast<char>(length & 0xff);
    head[1] = static_cast<char>(length >> 8);
    head += '{';
    head.append(bnorm::sniff_size - head.size(), ' ');
    CAPTURE(length);
    REQUIRE(bnorm::codec_for_bytes(head) == codec_named("safetensors"));
  }
}

TEST_CASE("open_input: a name and bytes that disagree are invalid data naming both") {
  temp_dir dir;
  const std::string npz_bytes = written_by(*codec_named("npz"), dir.file("real.npz"));
  const std::string misnamed = dir.file("looks.npy");
  bnorm_test::write_bytes(misnamed, npz_bytes);
  CHECK_THROWS_WITH_AS(
      bnorm::open_input(misnamed),
      (misnamed + ": named as a .npy file, but its first bytes are those of an .npz file").c_str(),
      bnorm::data_error);
  // A format named on the command line is taken at its word: its reader says what is wrong.
  CHECK(bnorm::open_input(misnamed, codec_named("npz")).format == codec_named("npz"));
  // Bytes no format begins leave the name's format to its reader.
  const std::string garbage = dir.file("garbage.npy");
  bnorm_test::write_bytes(garbage, "garbage");
  CHECK(bnorm::open_input(garbage).format == codec_named("npy"));
  CHECK_THROWS_AS(bnorm::open_tensor(garbage), bnorm::data_error);
}

TEST_CASE("open_input tells a format by bytes where the name says nothing, and reads them all") {
  temp_dir dir;
  for (const codec* format : bnorm::all_codecs()) {
    CAPTURE(format->name);
    if (!format->make_sink) continue;  // a model holds no 2x3 tensor: see test_onnx_model.cpp
    if (!has_magic(*format)) continue;
    const std::string bytes = written_by(*format, dir.file(std::string(format->name) + ".bin"));
    const std::string plain = dir.file(std::string(format->name) + "_plain");
    bnorm_test::write_bytes(plain, bytes);
    const auto read_back = [](const std::string& path) {
      const auto source = bnorm::open_tensor(path);
      CHECK(source->info().shape == std::vector<std::size_t>{2, 3});
      std::vector<double> values(6);
      source->read_at(0, values);
      CHECK(values == std::vector<double>{1, 2, 3, 4, 5, 6});
    };
    read_back(plain);
    // From a pipe, the head peeked at to tell the format is given back to the reader.
    const std::string piped = dir.file(std::string(format->name) + "_pipe");
    const bnorm_test::fifo_writer writer(piped, bytes);
    read_back(piped);
  }
  const std::string unknown = dir.file("notes.txt");
  bnorm_test::write_bytes(unknown, "hello");
  CHECK_THROWS_WITH_AS(bnorm::open_input(unknown),
                       ("cannot tell the format of '" + unknown +
                        "' from its name (.npy, .json, .pt, .npz, .safetensors, .onnx, .csv or "
                        ".tsv) or from its first "
                        "bytes")
                           .c_str(),
                       bnorm::usage_error);
}

TEST_CASE("codec_for_output: the flag, else the extension, else the input's for a stream") {
  temp_dir dir;
  CHECK(bnorm::codec_for_output("y.npz", nullptr) == codec_named("npz"));
  CHECK(bnorm::codec_for_output("y.npz", codec_named("json")) == codec_named("json"));
  CHECK(bnorm::codec_for_output("-", nullptr) == nullptr);
  CHECK(bnorm::codec_for_output("/dev/null", nullptr) == nullptr);
  CHECK(bnorm::codec_for_output("/dev/stdout", nullptr) == nullptr);
  CHECK(bnorm::codec_for_output(dir.file("plain"), nullptr) == nullptr);
  CHECK_THROWS_WITH_AS(bnorm::codec_for_output("y.bin", nullptr),
                       "cannot tell the format of 'y.bin' from its name (.npy, .json, .pt, .npz, "
                       ".safetensors, .csv or .tsv)",
                       bnorm::usage_error);
  // A FIFO with any name is written in order, in its input's format.
  const std::string fifo = dir.file("out.bin");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(bnorm::codec_for_output(fifo, nullptr) == nullptr);
}
