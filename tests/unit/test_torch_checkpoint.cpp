// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "error.hpp"
#include "file_io.hpp"
#include "formats/registry.hpp"
#include "formats/torch_checkpoint.hpp"
#include "formats/zip_archive.hpp"
#include "formats/zip_writer.hpp"
#include "test_scale.hpp"
#include "test_support.hpp"

namespace {

using bnorm_test::temp_dir;

// The pickle of {name: _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel),
// offset, size, stride, False, OrderedDict())} for each tensor, as an OrderedDict.
struct tensor_spec {
  std::string name;
  std::string type;
  std::string key;
  int numel;
  int offset;
  std::vector<int> size;
  std::vector<int> stride;
};

std::string str(std::string_view s) {
  std::string b = "X";
  for (int i = 0; i < 4; ++i) b += static_cast<char>((s.size() >> (8 * i)) & 0xff);
  return b + std::string(s);
}
std::string int1(int v) {
  return std::string("K") + static_cast<char>(v);
}
const std::string ordered_dict = "ccollections\nOrderedDict\n)R";

std::string state_dict_pickle(const std::vector<tensor_spec>& tensors,
                              const std::string& wrapper = "") {
  std::string b = "\x80\x02";
  if (!wrapper.empty()) b += "}(" + str("epoch") + int1(3) + str(wrapper);
  b += ordered_dict + "(";
  for (const tensor_spec& t : tensors) {
    b += str(t.name) + "ctorch._utils\n_rebuild_tensor_v2\n((" + str("storage") + "ctorch\n" +
         t.type + "\n" + str(t.key) + str("cpu") + int1(t.numel) + "tQ" + int1(t.offset) + "(";
    for (int s : t.size) b += int1(s);
    b += "t(";
    for (int s : t.stride) b += int1(s);
    b += "t\x89" + ordered_dict + "tR";
  }
  b += "u";
  if (!wrapper.empty()) b += "u";
  return b + ".";
}

std::string floats(std::vector<float> values) {
  std::string b(values.size() * 4, '\0');
  std::memcpy(b.data(), values.data(), b.size());
  return b;
}

// A ZIP of stored records, written as bnorm writes an .npz (no data descriptors).
std::string archive(const temp_dir& dir,
                    const std::vector<std::pair<std::string, std::string>>& records) {
  const std::string path = dir.file("x.pt");
  {
    bnorm::output_file out(path);
    std::vector<bnorm::zip_entry> entries;
    for (const auto& [name, content] : records) entries.push_back({name, "", content});
    bnorm::write_zip(out, entries);
    out.commit();
  }
  return path;
}

std::string refusal(const std::string& path) {
  try {
    bnorm::torch_checkpoint checkpoint(bnorm::byte_source::open(path));
  } catch (const bnorm::data_error& e) {
    return e.what();
  }
  return "";
}

const std::vector<tensor_spec> bn = {
    {"running_mean", "FloatStorage", "0", 3, 0, {3}, {1}},
    {"num_batches_tracked", "LongStorage", "1", 1, 0, {}, {}},
};

std::string longs(std::int64_t v) {
  std::string b(8, '\0');
  std::memcpy(b.data(), &v, 8);
  return b;
}

}  // namespace

TEST_CASE("torch_checkpoint finds the state_dict, bare or in a checkpoint, and its records") {
  temp_dir dir;
  for (const std::string wrapper : {"", "state_dict", "model_state_dict", "model"}) {
    CAPTURE(wrapper);
    const std::string path = archive(dir, {{"bn/data.pkl", state_dict_pickle(bn, wrapper)},
                                           {"bn/data/0", floats({1.5f, -2, 3})},
                                           {"bn/data/1", longs(std::int64_t{1} << 60)},
                                           {"bn/version", "3\n"}});
    const bnorm::torch_checkpoint checkpoint(bnorm::byte_source::open(path));
    CHECK(checkpoint.folder() == "bn");
    REQUIRE(checkpoint.tensors());
    REQUIRE(checkpoint.tensors()->entries.size() == 2);
    CHECK(checkpoint.tensors()->entries[0].first->text == "running_mean");
    const auto& storage = *checkpoint.tensors()->entries[1].second->tensor.data;
    CHECK(checkpoint.record(storage).uncompressed_size == 8);
    CHECK(checkpoint.element_type(storage) == bnorm::dtype{bnorm::scalar_kind::signed_int, 8});

    // Through the codec: names, values, and an int64 past 2^53 kept exactly.
    const auto tensors = bnorm::open_tensor_file(path);
    CHECK(tensors->names() == std::vector<std::string>{"running_mean", "num_batches_tracked"});
    const auto mean = tensors->open("running_mean");
    std::vector<double> values(3);
    mean->read_at(0, values);
    CHECK(values == std::vector<double>{1.5, -2, 3});
    CHECK(tensors->open("num_batches_tracked")->read_int64_at(0) == std::int64_t{1} << 60);
  }
}

TEST_CASE("the .pt codec reads views through their strides") {
  temp_dir dir;
  // Storage 0..11; views: a transpose (F order), a slice with a step and an offset, an expand
  // (stride 0), and two views of one storage.
  std::vector<float> storage(12);
  for (int i = 0; i < 12; ++i) storage[static_cast<std::size_t>(i)] = static_cast<float>(i);
  const std::vector<tensor_spec> views = {
      {"t", "FloatStorage", "0", 12, 0, {4, 3}, {1, 4}},
      {"s", "FloatStorage", "0", 12, 1, {2, 2}, {6, 2}},
      {"e", "FloatStorage", "0", 12, 5, {2, 3}, {0, 1}},
      {"p", "FloatStorage", "0", 12, 0, {2, 3, 2}, {1, 4, 2}},
  };
  const std::string path =
      archive(dir, {{"a/data.pkl", state_dict_pickle(views)}, {"a/data/0", floats(storage)}});
  const auto tensors = bnorm::open_tensor_file(path);
  const auto read = [&](const std::string& name) {
    const auto source = tensors->open(name);
    std::vector<double> values(source->info().element_count());
    source->read_at(0, values);
    return std::pair{source->info(), values};
  };
  const auto [t_info, t] = read("t");
  CHECK(t_info.fortran_order);  // file order is the storage's: 0..11
  CHECK(t == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(read("s").second == std::vector<double>{1, 3, 7, 9});
  CHECK(read("e").second == std::vector<double>{5, 6, 7, 5, 6, 7});
  // p[i][j][k] = i + 4j + 2k, in C order.
  std::vector<double> p;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) p.push_back(i + 4 * j + 2 * k);
  CHECK(read("p").second == p);
  // Reading from the middle of a view.
  const auto source = tensors->open("p");
  std::vector<double> tail(5);
  source->read_at(7, tail);
  CHECK(tail == std::vector<double>(p.begin() + 7, p.end()));
}

TEST_CASE("torch_checkpoint refuses what torch.save does not write, before reading a tensor") {
  temp_dir dir;
  const std::string pkl = state_dict_pickle(bn);
  const std::string data0 = floats({1, 2, 3});
  const std::string data1 = longs(0);
  using records = std::vector<std::pair<std::string, std::string>>;
  const std::pair<records, std::string> cases[] = {
      {{{"a/data.pkl", pkl}, {"b/data/0", data0}}, "records under two folders, 'a' and 'b'"},
      {{{"a/data.pkl", pkl}, {"a/data/0", data0}, {"a/data/1", data1}, {"b/data.pkl", pkl}},
       "(two data.pkl records)"},
      {{{"a/data/0", data0}}, "no record 'a/data.pkl'"},
      {{{"data.pkl", pkl}}, "lies under no folder"},
      {{{"a/data.pkl", pkl}, {"a/constants.pkl", pkl}},
       "a TorchScript archive (torch.jit.save); bnorm reads what torch.save writes: save "
       "model.state_dict() with torch.save"},
      {{{"a/code/m.py", ""}, {"a/data.pkl", pkl}}, "a TorchScript archive"},
      {{{"a/data.pkl", pkl}, {"a/data/0", data0}, {"a/data/1", data1}, {"a/version", "9\n"}},
       "says version '9'; bnorm reads torch.save's versions 1 to 3"},
      {{{"a/data.pkl", pkl}, {"a/data/0", data0}, {"a/data/1", data1}, {"a/byteorder", "mid"}},
       "says 'mid', not \"little\" or \"big\""},
      {{{"a/data.pkl", pkl}, {"a/data/0", data0}}, "storage '1' has no record 'a/data/1'"},
      {{{"a/data.pkl", pkl}, {"a/data/0", floats({1, 2})}, {"a/data/1", data1}},
       "record 'a/data/0' holds 8 bytes, not the 3 x 4 of its FloatStorage"},
      {{{"a/data.pkl", state_dict_pickle({{"x", "FloatStorage", "0", 3, 1, {3}, {1}}})},
        {"a/data/0", data0}},
       "a tensor reaches element 3 of storage '0', which holds 3"},
      {{{"a/data.pkl", state_dict_pickle({{"x", "FloatStorage", "0", 3, 0, {2, 2}, {2, 1}}})},
        {"a/data/0", data0}},
       "a tensor reaches element 3"},
      {{{"a/data.pkl", state_dict_pickle({{"x", "FloatStorage", "0", 3, 0, {3}, {1}},
                                          {"y", "IntStorage", "0", 3, 0, {3}, {1}}})},
        {"a/data/0", data0}},
       "storage '0' is named as FloatStorage of 3 and as IntStorage of 3"},
      {{{"a/data.pkl", pkl}, {"a/data/0", data0}, {"a/data/1", data1}, {"a/extra", ""}},
       "record 'a/extra' is not one torch.save writes"},
      {{{"a/data.pkl", "\x80\x02]."}}, "data.pkl holds neither a tensor nor a dict of tensors"},
      {{{"a/data.pkl", "\x80\x02\x63os\nsystem\n."}},
       "data.pkl: GLOBAL 'os.system' at byte 2 is not a value"},
  };
  for (const auto& [files, phrase] : cases) {
    CAPTURE(phrase);
    const std::string message = refusal(archive(dir, files));
    CAPTURE(message);
    CHECK(message.find(phrase) != std::string::npos);
  }
}

TEST_CASE("the .pt codec: the legacy format is refused by name, a file of one tensor has no name") {
  temp_dir dir;
  const std::string legacy = dir.file("old.pt");
  bnorm_test::write_bytes(
      legacy, std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15));
  CHECK(bnorm::codec_for_bytes(bnorm_test::read_bytes(legacy)) == bnorm::codec_named("pt"));
  CHECK_THROWS_WITH_AS(bnorm::open_tensor_file(legacy),
                       (legacy + ": a checkpoint in torch's legacy format (torch.save before "
                                 "1.6); bnorm reads the zip format: load it with torch and save "
                                 "it again with torch >= 1.6")
                           .c_str(),
                       bnorm::data_error);

  std::string one = "\x80\x02";
  one += "ctorch._utils\n_rebuild_tensor_v2\n((" + str("storage") + "ctorch\nFloatStorage\n" +
         str("0") + str("cpu") + int1(3) + "tQ" + int1(0) + "(" + int1(3) + "t(" + int1(1) +
         "t\x89" + ordered_dict + "tR.";
  const std::string path = archive(dir, {{"one/data.pkl", one}, {"one/data/0", floats({4, 5, 6})}});
  CHECK(bnorm::codec_for_bytes(bnorm_test::read_bytes(path).substr(0, bnorm::sniff_size)) ==
        bnorm::codec_named("pt"));
  const auto tensors = bnorm::open_tensor_file(path);
  CHECK_FALSE(tensors->names_tensors());
  CHECK(tensors->names() == std::vector<std::string>{""});
  std::vector<double> values(3);
  tensors->open("")->read_at(0, values);
  CHECK(values == std::vector<double>{4, 5, 6});
}

TEST_CASE("the .pt codec opens each of 100,000 tensors in time that grows with their number") {
  temp_dir dir;
  // {name: a view of storage '0'} in SETITEMS of 1,000, as the pickler batches them.
  std::string pickle = "\x80\x02}";
  const int batches = bnorm_test::scaled(100, 10);
  for (int batch = 0; batch < batches; ++batch) {
    std::vector<tensor_spec> many;
    for (int i = 0; i < 1000; ++i) {
      many.push_back({"layer" + std::to_string(1000000 + batch * 1000 + i),
                      "FloatStorage",
                      "0",
                      3,
                      0,
                      {3},
                      {1}});
    }
    const std::string items = state_dict_pickle(many);
    const std::size_t from = items.find(ordered_dict) + ordered_dict.size();
    pickle += items.substr(from, items.size() - from - 1);
  }
  const std::string path =
      archive(dir, {{"m/data.pkl", pickle + "."}, {"m/data/0", floats({1.5f, -2, 3})}});
  const auto tensors = bnorm::open_tensor_file(path);
  const auto start = std::chrono::steady_clock::now();
  std::vector<double> values(3);
  for (const std::string& name : tensors->names()) tensors->open(name)->read_at(0, values);
  CHECK(tensors->names().size() == static_cast<std::size_t>(batches) * 1000);
  CHECK(values == std::vector<double>{1.5, -2, 3});
  // Each open looked the name up among all (5e9 comparisons, tens of seconds).
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
}
