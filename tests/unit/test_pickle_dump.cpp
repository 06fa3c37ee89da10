// SPDX-License-Identifier: Apache-2.0
// pickle::dump against Python's own pickler: the same objects give the same bytes, opcode for
// opcode (goldens from make_torch_save_goldens.py).
#include <doctest/doctest.h>

#include <initializer_list>
#include <string>

#include "formats/pickle.hpp"
#include "test_support.hpp"
#include "torch_save_goldens.inc"

namespace pk = bnorm::pickle;

namespace {

pk::value_ptr make(pk::kind kind) {
  auto v = std::make_shared<pk::value>();
  v->kind = kind;
  return v;
}
pk::value_ptr none() {
  return make(pk::kind::none);
}
pk::value_ptr boolean(bool b) {
  auto v = make(pk::kind::boolean);
  v->boolean = b;
  return v;
}
pk::value_ptr integer(std::int64_t n) {
  auto v = make(pk::kind::integer);
  v->integer = n;
  return v;
}
pk::value_ptr floating(double d) {
  auto v = make(pk::kind::floating);
  v->floating = d;
  return v;
}
pk::value_ptr text(std::string s, pk::kind kind = pk::kind::text) {
  auto v = make(kind);
  v->text = std::move(s);
  return v;
}
pk::value_ptr sequence(pk::kind kind, std::vector<pk::value_ptr> items) {
  auto v = make(kind);
  v->items = std::move(items);
  return v;
}
pk::value_ptr list(std::vector<pk::value_ptr> items) {
  return sequence(pk::kind::list, std::move(items));
}
pk::value_ptr tuple(std::vector<pk::value_ptr> items) {
  return sequence(pk::kind::tuple, std::move(items));
}
pk::value_ptr mapping(pk::kind kind, std::vector<std::pair<pk::value_ptr, pk::value_ptr>> entries) {
  auto v = make(kind);
  v->entries = std::move(entries);
  return v;
}

std::string dumped(const pk::value_ptr& v) {
  return bnorm_test::hex(pk::dump(*v));
}

}  // namespace

TEST_CASE("dump writes ints as BININT1, BININT2, BININT or LONG1, as Python does") {
  std::vector<pk::value_ptr> items;
  for (std::int64_t n :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{255}, std::int64_t{256}, std::int64_t{65535},
        std::int64_t{65536}, std::int64_t{-1}, std::int64_t{-256}, std::int64_t{INT32_MIN},
        std::int64_t{INT32_MAX}, std::int64_t{1} << 31, std::int64_t{INT32_MIN} - 1,
        std::int64_t{1} << 40, -(std::int64_t{1} << 39), -(std::int64_t{1} << 39) - 1,
        std::int64_t{INT64_MAX}, std::int64_t{INT64_MIN}}) {
    items.push_back(integer(n));
  }
  CHECK(dumped(list(items)) == torch_save_goldens::pickle_ints);
}

TEST_CASE("dump writes floats, None, booleans, strings and the empty tuple as Python does") {
  const auto v = list({floating(1.5), floating(-0.0), none(), boolean(true), boolean(false),
                       text("\xc3\xa9"), text(""), tuple({})});
  CHECK(dumped(v) == torch_save_goldens::pickle_atoms);
}

TEST_CASE("dump memoizes by identity: a shared value is written once and fetched after") {
  const auto shared_text = text("shared");
  const auto shared_tuple = tuple({shared_text, integer(7)});
  const auto v = list({shared_text, shared_text, shared_tuple, shared_tuple,
                       tuple({integer(1), integer(2), integer(3), integer(4)}), list({shared_text}),
                       mapping(pk::kind::dict, {})});
  CHECK(dumped(v) == torch_save_goldens::pickle_shared);
}

TEST_CASE("dump batches dicts and lists by 1000 as Python's C pickler does") {
  for (const std::size_t n : {std::size_t{1000}, std::size_t{1001}}) {
    CAPTURE(n);
    std::vector<std::pair<pk::value_ptr, pk::value_ptr>> entries;
    std::vector<pk::value_ptr> items;
    for (std::size_t i = 0; i < n; ++i) {
      entries.emplace_back(integer(static_cast<std::int64_t>(i)), none());
      items.push_back(none());
    }
    CHECK(
        dumped(mapping(pk::kind::dict, entries)) ==
        (n == 1000 ? torch_save_goldens::pickle_dict_1000 : torch_save_goldens::pickle_dict_1001));
    CHECK(dumped(list(items)) == (n == 1000 ? torch_save_goldens::pickle_list_1000
                                            : torch_save_goldens::pickle_list_1001));
  }
  std::vector<std::pair<pk::value_ptr, pk::value_ptr>> entries;
  for (int i = 0; i < 1001; ++i) entries.emplace_back(text(std::to_string(i)), integer(i));
  CHECK(dumped(mapping(pk::kind::ordered_dict, entries)) ==
        torch_save_goldens::pickle_ordered_dict_1001);
}

TEST_CASE("dump writes an OrderedDict by REDUCE, its attributes by BUILD") {
  auto od = mapping(pk::kind::ordered_dict, {{text("a"), integer(1)}, {text("b"), none()}});
  od->state =
      mapping(pk::kind::dict,
              {{text("_metadata"),
                mapping(pk::kind::dict,
                        {{text(""), mapping(pk::kind::dict, {{text("version"), integer(2)}})}})}});
  CHECK(dumped(od) == torch_save_goldens::pickle_ordered_dict_state);
  CHECK(dumped(mapping(pk::kind::ordered_dict, {{text("x"), boolean(true)}})) ==
        torch_save_goldens::pickle_ordered_dict_one);
}

TEST_CASE("dump writes bytes at protocol 3, and ints past int64 as LONG1 and LONG4") {
  CHECK(dumped(list({text("ab", pk::kind::bytes), text("", pk::kind::bytes),
                     text(std::string(300, 'x'), pk::kind::bytes)})) ==
        torch_save_goldens::pickle_bytes);
  std::string two_to_2100(263, '\0');  // 2**2100: bit 2100 set, and a sign byte of 0
  two_to_2100[2100 / 8] = static_cast<char>(1 << (2100 % 8));
  CHECK(dumped(list({text(std::string(8, '\0') + '\x01', pk::kind::big_integer),
                     text(std::string(8, '\0') + '\xff', pk::kind::big_integer),
                     text(two_to_2100, pk::kind::big_integer)})) ==
        torch_save_goldens::pickle_big_integers);
}

namespace {

std::shared_ptr<pk::storage> storage(std::string type, std::string key, std::uint64_t numel) {
  auto s = std::make_shared<pk::storage>();
  s->storage_type = std::move(type);
  s->key = std::move(key);
  s->location = "cpu";
  s->numel = numel;
  return s;
}

pk::value_ptr tensor(std::shared_ptr<const pk::storage> data, std::uint64_t offset,
                     std::vector<std::uint64_t> size, std::vector<std::uint64_t> stride) {
  auto v = make(pk::kind::tensor);
  v->tensor.data = std::move(data);
  v->tensor.offset = offset;
  v->tensor.size = std::move(size);
  v->tensor.stride = std::move(stride);
  return v;
}

}  // namespace

TEST_CASE("dump writes tensors as torch.save: one persistent id per use, one key per storage") {
  const auto a = storage("FloatStorage", "0", 4);
  const auto x = tensor(a, 0, {4}, {1});
  const auto v = mapping(pk::kind::ordered_dict,
                         {{text("x"), x}, {text("y"), tensor(a, 1, {2}, {1})}, {text("z"), x}});
  CHECK(dumped(v) == torch_save_goldens::archive_shared_storage_pkl);
}

TEST_CASE("dump writes parameters through _rebuild_parameter, requires_grad outside") {
  auto p = tensor(storage("FloatStorage", "0", 2), 0, {2}, {1});
  p->tensor.parameter = true;
  p->tensor.requires_grad = true;
  auto q = tensor(storage("FloatStorage", "1", 2), 0, {2}, {1});
  q->tensor.parameter = true;
  const auto v = mapping(pk::kind::dict, {{text("p"), p}, {text("q"), q}, {text("p2"), p}});
  CHECK(dumped(v) == torch_save_goldens::archive_parameters_pkl);
}

TEST_CASE("dump uses LONG_BINPUT and LONG_BINGET past memo index 255") {
  std::vector<pk::value_ptr> many;
  for (int i = 0; i < 300; ++i) {
    std::string name = "s";  // not "s" + ...: GCC 12 warns falsely (-Wrestrict, PR 105651)
    name += std::to_string(i);
    many.push_back(text(std::move(name)));
  }
  std::vector<pk::value_ptr> twice = many;
  twice.insert(twice.end(), many.begin(), many.end());
  CHECK(dumped(list(twice)) == torch_save_goldens::pickle_long_memo);
}

TEST_CASE("dump writes a tuple reached again inside itself as Python does (POP, POP_MARK)") {
  for (const bool four : {false, true}) {
    CAPTURE(four);
    auto inner = list({});
    auto tuple_value = four ? tuple({inner, integer(1), integer(2), integer(3)}) : tuple({inner});
    inner->items.push_back(tuple_value);
    CHECK(dumped(tuple_value) == (four ? torch_save_goldens::pickle_recursive_tuple4
                                       : torch_save_goldens::pickle_recursive_tuple));
    inner->items.clear();  // the cycle, broken so that the values are freed
  }
}
