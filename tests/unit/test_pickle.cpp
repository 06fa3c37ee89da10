// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "error.hpp"
#include "formats/pickle.hpp"
#include "test_scale.hpp"

namespace pickle = bnorm::pickle;

namespace {

// Pickles spelled opcode by opcode, as pickletools.dis shows them.
struct pk {
  std::string b;
  explicit pk(int protocol = 2) { b = std::string("\x80") + static_cast<char>(protocol); }
  pk& op(char c) {
    b += c;
    return *this;
  }
  pk& raw(std::string_view s) {
    b += s;
    return *this;
  }
  pk& global(std::string_view module, std::string_view name) {
    b += 'c';
    b.append(module).append("\n").append(name).append("\n");
    return *this;
  }
  pk& str(std::string_view s) {
    b += 'X';
    for (int i = 0; i < 4; ++i) b += static_cast<char>((s.size() >> (8 * i)) & 0xff);
    b += s;
    return *this;
  }
  pk& int1(int v) {
    b += 'K';
    b += static_cast<char>(v);
    return *this;
  }
  pk& put(int i) {
    b += 'q';
    b += static_cast<char>(i);
    return *this;
  }
  pk& get(int i) {
    b += 'h';
    b += static_cast<char>(i);
    return *this;
  }
  pk& ordered_dict() { return global("collections", "OrderedDict").op(')').op('R'); }
  // _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride,
  // False, OrderedDict()) with sizes and strides of one dimension (or none).
  pk& tensor(std::string_view type, std::string_view key, int numel, int offset,
             std::vector<int> size, std::vector<int> stride) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", type).str(key).str("cpu").int1(numel).op('t').op('Q');
    int1(offset);
    op('(');
    for (int s : size) int1(s);
    op('t').op('(');
    for (int s : stride) int1(s);
    op('t').op('\x89').ordered_dict().op('t').op('R');
    return *this;
  }
  std::string stop() const { return b + "."; }
};

// The message load throws for `bytes`, or "" when it accepts them.
std::string refusal(const std::string& bytes) {
  try {
    pickle::load(bytes);
  } catch (const bnorm::data_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("pickle::load reads a state_dict as torch.save writes it") {
  const std::string bytes = pk().ordered_dict()
                                .put(0)
                                .op('(')
                                .str("running_mean")
                                .tensor("FloatStorage", "0", 3, 0, {3}, {1})
                                .str("num_batches_tracked")
                                .tensor("LongStorage", "1", 1, 0, {}, {})
                                .op('u')
                                .op('}')
                                .str("version")
                                .int1(1)
                                .op('s')
                                .op('b')
                                .stop();
  const pickle::value_ptr root = pickle::load(bytes);
  REQUIRE(root->kind == pickle::kind::ordered_dict);
  REQUIRE(root->entries.size() == 2);
  CHECK(root->entries[0].first->text == "running_mean");
  const pickle::tensor& t = root->entries[0].second->tensor;
  CHECK(t.data->storage_type == "FloatStorage");
  CHECK(t.data->key == "0");
  CHECK(t.data->numel == 3);
  CHECK(t.size == std::vector<std::uint64_t>{3});
  CHECK(t.stride == std::vector<std::uint64_t>{1});
  CHECK(root->entries[1].second->tensor.size.empty());
  REQUIRE(root->state);
  CHECK(root->state->entries[0].second->integer == 1);
}

TEST_CASE("pickle::load reads scalars and containers of every opcode it knows") {
  const std::string b =
      pk(4)
          .raw(std::string("\x95\x00\x00\x00\x00\x00\x00\x00\x00", 9))  // FRAME 0
          .op(']')
          .op('(')
          .op('N')
          .op('\x88')
          .raw(std::string("J\xff\xff\xff\xff", 5))                              // BININT -1
          .raw(std::string("M\x01\x02", 3))                                      // BININT2 513
          .raw(std::string("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00", 11))  // 2**63
          .raw(std::string("\x8a\x02\xff\xff", 4))                   // LONG1 -1, not minimal
          .raw(std::string("G\x3f\xb9\x99\x99\x99\x99\x99\x9a", 9))  // 0.1
          .raw(std::string("\x8c\x02\xc3\xa9", 4))                   // 'é'
          .raw(std::string("C\x02\x00\x01", 4))                      // b'\0\1'
          .op(')')
          .int1(7)
          .raw("\x85")
          .raw("\x94")
          .raw(std::string("j\x00\x00\x00\x00", 5))
          .op('e')
          .stop();
  const pickle::value_ptr list = pickle::load(b);
  REQUIRE(list->kind == pickle::kind::list);
  REQUIRE(list->items.size() == 12);
  CHECK(list->items[0]->kind == pickle::kind::none);
  CHECK(list->items[1]->boolean);
  CHECK(list->items[2]->integer == -1);
  CHECK(list->items[3]->integer == 513);
  CHECK(list->items[4]->kind == pickle::kind::big_integer);
  CHECK(list->items[5]->integer == -1);
  CHECK(list->items[6]->floating == 0.1);
  CHECK(list->items[7]->text == "\xc3\xa9");
  CHECK(list->items[8]->text == std::string("\0\1", 2));
  CHECK(list->items[9]->kind == pickle::kind::tuple);
  CHECK(list->items[10]->items[0]->integer == 7);
  CHECK(list->items[11] == list->items[10]);  // the memo hands out the same object
}

TEST_CASE("pickle::load reads bytes as protocol 2 writes them, _codecs.encode(str, 'latin1')") {
  const std::string bytes = pk().global("_codecs", "encode")
                                .str("a\xc3\xbf\xc2\x80")
                                .str("latin1")
                                .op('\x86')
                                .op('R')
                                .stop();
  const pickle::value_ptr v = pickle::load(bytes);
  CHECK(v->kind == pickle::kind::bytes);
  CHECK(v->text == "a\xff\x80");
  CHECK(
      refusal(
          pk().global("_codecs", "encode").str("\xc4\x80").str("latin1").op('\x86').op('R').stop())
          .find("its str holds a character past U+00FF") != std::string::npos);
  CHECK(refusal(pk().global("_codecs", "encode").str("a").str("rot13").op('\x86').op('R').stop())
            .find("it is read only as (str, 'latin1')") != std::string::npos);
}

TEST_CASE("pickle::load refuses every global but a checkpoint's, by name, running nothing") {
  struct refused {
    std::string bytes;
    std::string message;
  };
  const refused cases[] = {
      {pk().global("os", "system").str("touch x").op('\x85').op('R').stop(),
       "GLOBAL 'os.system' at byte 2 is not a value a tensor checkpoint holds; bnorm runs no "
       "code from a file"},
      {pk().global("builtins", "eval").stop(), "GLOBAL 'builtins.eval' at byte 2 is not a value"},
      {pk().global("subprocess", "Popen").stop(), "GLOBAL 'subprocess.Popen' at byte 2"},
      {pk(4).raw("\x8c\x02os\x8c\x06system\x93").stop(), "GLOBAL 'os.system' at byte 14"},
      {pk().global("torch.nn.modules.batchnorm", "BatchNorm2d").stop(),
       "a whole pickled module (torch.save(model)); bnorm reads tensors, not modules: save "
       "model.state_dict() with torch.save instead"},
      {pk().global("mynet", "Net").put(0).op(')').op('\x81').stop(),
       "GLOBAL 'mynet.Net' at byte 2: a whole pickled module"},
      {pk().global("collections", "OrderedDict").op(')').op('\x81').stop(),
       "NEWOBJ at byte 28 builds an object of a class: a whole pickled module"},
  };
  for (const refused& c : cases) {
    CAPTURE(c.bytes);
    const std::string message = refusal(c.bytes);
    CHECK(message.find(c.message) != std::string::npos);
    CAPTURE(message);
  }
}

TEST_CASE(
    "pickle::load refuses calls with wrong arguments, BUILD into anything but an "
    "OrderedDict or tensor, and SETITEM on non-dicts") {
  const std::pair<std::string, std::string> cases[] = {
      {pk().global("collections", "OrderedDict").int1(1).op('\x85').op('R').stop(),
       "REDUCE of collections.OrderedDict with 1 argument: its argument is not a list of pairs"},
      {pk().global("torch._utils", "_rebuild_tensor_v2").op(')').op('R').stop(),
       "REDUCE of torch._utils._rebuild_tensor_v2 with 0 arguments: it takes 6 or 7"},
      {pk().global("torch._utils", "_rebuild_tensor_v2")
           .op('(')
           .int1(0)
           .int1(0)
           .op(')')
           .op(')')
           .op('\x89')
           .ordered_dict()
           .op('t')
           .op('R')
           .stop(),
       "its first is an int, not a storage"},
      {pk().global("torch", "FloatStorage").op(')').op('R').stop(),
       "REDUCE of torch.FloatStorage: a storage type is read only inside a persistent id"},
      {pk().op(']').op('}').op('b').stop(), "BUILD into a list: only an OrderedDict or a tensor"},
      {pk().op('}').op('}').op('b').stop(), "BUILD into a dict"},
      {pk().op(']').str("k").str("v").op('s').stop(),
       "SETITEM into a list: only a dict or an OrderedDict takes items"},
      {pk().op(')').op('(').str("k").str("v").op('u').stop(), "SETITEMS into a tuple"},
      {pk().op('}').op('(').str("k").op('u').stop(), "SETITEMS with an odd number of items"},
      {pk().op('}').op('a').stop(), "stack underflow"},
      {pk().str("x").op('\x81').stop(), "NEWOBJ"},
      {pk().op('(').str("storage").int1(1).op('t').op('Q').stop(), "BINPERSID of a tuple"},
      {pk().op(']').put(0).get(0).op('a').stop(), "a list would hold itself"},
      {pk().op(']').put(0).op(']').get(0).op('a').op('a').stop(),
       "APPEND changes a list already placed in another container"},
      {pk().op('}').op(']').op(']').op('s').stop(), "a list cannot be a dict key"},
  };
  for (const auto& [bytes, phrase] : cases) {
    CAPTURE(bytes);
    const std::string message = refusal(bytes);
    CAPTURE(message);
    CHECK(message.find(phrase) != std::string::npos);
  }
}

TEST_CASE("pickle::load bounds the memo, the stack, nesting and every length") {
  const std::pair<std::string, std::string> cases[] = {
      {pk().get(5).stop(), "memo index 5 was never stored at byte 2"},
      {pk().op('0').stop(), "stack underflow at byte 2"},
      {pk().op('t').stop(), "no MARK to pop to at byte 2"},
      {pk().raw(std::string("X\xff\xff\xff\x7f", 5)).stop(),
       "a str of 2147483647 bytes runs past the pickle's end at byte 2"},
      {pk().raw(std::string("\x8e\xff\xff\xff\xff\xff\xff\xff\xff", 9)).stop(),
       "a bytes of 18446744073709551615 bytes runs past the pickle's end"},
      {pk().raw(std::string("\x8b\x00\x00\x01\x00", 5)).stop(), "longer than 4096"},
      {pk().raw(std::string("X\x01\x00\x00\x00\xff", 6)).stop(), "a str is not valid UTF-8"},
      {pk().op('N').stop() + "x",
       "STOP is followed by 1 byte (a pickle ends at its STOP) at byte 3"},
      {pk().op('N').b, "the pickle ends before its STOP opcode at byte 3"},
      {pk().op('N').op('N').stop(), "STOP leaves 2 items on the stack, not one"},
      {pk().op('(').op('N').stop(), "STOP with a MARK still open"},
      {pk(1).op('N').stop(), "pickle protocol 1 at byte 0; bnorm reads protocols 2 to 5"},
      {"N.", "not a pickle of protocol 2 or later"},
      {pk().op('I').stop(), "opcode 0x49 (INT) is not one a tensor checkpoint uses at byte 2"},
      {pk().op('\x80').stop(), "PROTO after the pickle's start"},
      {pk().op('c').raw("os").stop(), "a GLOBAL's name has no end of line"},
  };
  for (const auto& [bytes, phrase] : cases) {
    CAPTURE(bytes);
    const std::string message = refusal(bytes);
    CAPTURE(message);
    CHECK(message.find(phrase) != std::string::npos);
  }
  // MARKs and containers nested past max_stack_depth.
  CHECK(refusal(pk().raw(std::string(pickle::max_stack_depth + 1, '(')).stop())
            .find("MARKs nest more than 4096 deep") != std::string::npos);
  pk nested;
  for (std::size_t i = 0; i <= pickle::max_stack_depth + 1; ++i) nested.op(']');
  for (std::size_t i = 0; i <= pickle::max_stack_depth; ++i) nested.op('a');
  CHECK(refusal(nested.stop()).find("containers nest more than 4096 deep") != std::string::npos);
  // A tensor of more dimensions than max_tensor_rank.
  const std::vector<int> rank33(pickle::max_tensor_rank + 1, 1);
  CHECK(refusal(pk().tensor("FloatStorage", "0", 1, 0, rank33, rank33).stop())
            .find("has 33 dimensions, more than 32") != std::string::npos);
  // A tensor's storage type outside the list.
  CHECK(refusal(pk().tensor("ComplexFloatStorage", "0", 1, 0, {}, {}).stop())
            .find("GLOBAL 'torch.ComplexFloatStorage'") != std::string::npos);
}

TEST_CASE("pickle::load's work grows with the pickle's bytes, not faster") {
  using clock = std::chrono::steady_clock;
  // Two equal tuples nested 64 deep as one dict's key: one entry (a key's text was made from
  // its items' text twice over, 2^64 steps).
  pk nested;
  nested.op('}');
  for (int copy = 0; copy < 2; ++copy) {
    nested.op(')');
    for (int i = 0; i < 64; ++i) nested.op('\x85');
    nested.int1(copy + 1).op('s');
  }
  auto start = clock::now();
  pickle::value_ptr v = pickle::load(nested.stop());
  REQUIRE(v->entries.size() == 1);
  CHECK(v->entries[0].second->integer == 2);
  // A str of 1 MiB set as a key 20,000 times through the memo: one entry, no copy of it each.
  const int sets = bnorm_test::scaled(20000, 2000);
  pk reused;
  reused.op('}').str(std::string(std::size_t{1} << 20, 'k')).put(0).op('0');
  for (int i = 0; i < sets; ++i) reused.get(0).int1(i % 200).op('s');
  v = pickle::load(reused.stop());
  REQUIRE(v->entries.size() == 1);
  CHECK(v->entries[0].second->integer == (sets - 1) % 200);
  CHECK(clock::now() - start < std::chrono::seconds(3));
  // OrderedDict(L) of a list of 2^20 pairs, REDUCEd again and again: refused once the items
  // placed pass the bound, where each REDUCE re-placed them all.
  pk reduced;
  reduced.global("collections", "OrderedDict").put(0).op('0');
  reduced.int1(1).int1(2).op('\x86').put(1).op('0').op(']');
  for (int batch = 0; batch < 1024; ++batch) {
    reduced.op('(');
    for (int i = 0; i < 1024; ++i) reduced.get(1);
    reduced.op('e');
  }
  reduced.op('\x85').put(2).op('0');
  for (int i = 0; i < 64; ++i) reduced.get(0).get(2).op('R').op('0');
  CHECK(refusal(reduced.op('N').stop()).find("places more than 4194304 items") !=
        std::string::npos);
  // Tuples holding a global (argument lists) count too: each holds what it was given.
  pk arguments;
  arguments.global("collections", "OrderedDict").put(0);
  for (int t = 0; t < 80; ++t) {
    arguments.op('(').get(0);
    for (int i = 0; i < 60000; ++i) arguments.op('2');
    arguments.op('t');
  }
  CHECK(refusal(arguments.stop()).find("places more than 4194304 items") != std::string::npos);
}

TEST_CASE("pickle::load bounds the nesting of tuples that hold a global, as of values") {
  // (((OrderedDict,),),...) a million deep was freed by a recursion that overflowed the stack.
  pk nested;
  nested.global("collections", "OrderedDict").raw(std::string(1000000, '\x85'));
  CHECK(refusal(nested.stop()).find("containers nest more than 4096 deep") != std::string::npos);
  // At the bound, one may still hold the other: a tuple of depth 4096 loads (as a refusal of
  // the global's use, not of nesting).
  pk at_bound;
  at_bound.global("collections", "OrderedDict").raw(std::string(pickle::max_stack_depth, '\x85'));
  const std::string message = refusal(at_bound.stop());
  CHECK(message.find("nest more than") == std::string::npos);
  CHECK(message.find("is not a value for the pickle's result") != std::string::npos);
}

TEST_CASE("pickle::load makes no more bytes through _codecs.encode than the pickle holds") {
  // _codecs.encode(s, 'latin1') of one 1 MiB str 300 times through the memo, kept in a list:
  // 300 MiB from a pickle of 1 MiB (a file of 1.1 MB ran out of memory at 20,000 calls).
  pk encoded;
  encoded.global("_codecs", "encode").put(0).op('0');
  encoded.str(std::string(std::size_t{1} << 20, 'a')).str("latin1").op('\x86').put(1).op('0');
  encoded.op(']');
  for (int i = 0; i < 300; ++i) encoded.get(0).get(1).op('R').op('a');
  CHECK(refusal(encoded.stop()).find("the bytes it makes pass the pickle's") != std::string::npos);
  // Once, as protocol 2 writes a bytes object, it is read.
  pk once;
  once.global("_codecs", "encode").str(std::string(std::size_t{1} << 20, 'a')).str("latin1");
  const pickle::value_ptr v = pickle::load(once.op('\x86').op('R').stop());
  CHECK(v->kind == pickle::kind::bytes);
  CHECK(v->text.size() == std::size_t{1} << 20);
}
