// SPDX-License-Identifier: Apache-2.0
#include "pickle.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "count_text.hpp"
#include "error.hpp"
#include "quoted_name.hpp"
#include "utf8.hpp"

namespace bnorm::pickle {
namespace {

// What a stack or memo slot holds: a value of the tree, or one of the things a checkpoint's
// pickle passes around on the way to a value (a global it may call, a storage from a
// persistent id, a tuple of such things as an argument list).
enum class slot_kind : std::uint8_t {
  value,
  codecs_encode,
  ordered_dict_type,
  rebuild_tensor,
  rebuild_parameter,
  storage_type,
  storage,
  arguments
};

struct slot {
  slot_kind kind = slot_kind::value;
  value_ptr v;                                    // value
  std::string storage_type;                       // storage_type: "FloatStorage"
  std::shared_ptr<const pickle::storage> stored;  // storage
  std::shared_ptr<std::vector<slot>> items;       // arguments (a tuple holding non-values)
  std::size_t offset = 0;                         // where it was made, for messages
  std::size_t depth = 0;                          // arguments: how deep tuples nest in it
};

// Bounds of this reader beyond the contract's: the stack a checkpoint needs (the pickler
// batches 1,000 items per APPENDS/SETITEMS), and the longest integer it accepts.
constexpr std::size_t max_stack_size = max_stack_depth * 16;
constexpr std::size_t max_long_bytes = 4096;
// Some 200 bytes each: at most a few hundred MiB for the tree.  A state_dict of 10,000 tensors
// makes about 100,000.
constexpr std::size_t max_values = std::size_t{1} << 21;
// Items placed into containers and argument tuples: a value reached through the memo is placed
// again without being made again, so this bounds the work (OrderedDict(list) of a long list
// REDUCEd over and over) and the tree's size apart from max_values.
constexpr std::size_t max_placed = 2 * max_values;

constexpr std::string_view storage_types[] = {
    "FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
    "IntStorage",   "ShortStorage",  "CharStorage", "ByteStorage",     "BoolStorage"};

constexpr std::string_view module_advice =
    ": a whole pickled module (torch.save(model)); bnorm reads tensors, not modules: save "
    "model.state_dict() with torch.save instead";

std::string at(std::size_t offset) {
  return " at byte " + std::to_string(offset);
}

// The name pickletools gives an opcode bnorm does not read, for the message refusing it.
std::string opcode_name(unsigned char op) {
  switch (op) {
    case 'i':
      return "INST";
    case 'o':
      return "OBJ";
    case 0x81:
      return "NEWOBJ";
    case 0x92:
      return "NEWOBJ_EX";
    case 0x82:
      return "EXT1";
    case 0x83:
      return "EXT2";
    case 0x84:
      return "EXT4";
    case 'P':
      return "PERSID";
    case 'l':
      return "LIST";
    case 'd':
      return "DICT";
    case 'S':
      return "STRING";
    case 'T':
      return "BINSTRING";
    case 'U':
      return "SHORT_BINSTRING";
    case 'V':
      return "UNICODE";
    case 'F':
      return "FLOAT";
    case 'I':
      return "INT";
    case 'L':
      return "LONG";
    case 'g':
      return "GET";
    case 'p':
      return "PUT";
    case 0x8f:
      return "EMPTY_SET";
    case 0x90:
      return "ADDITEMS";
    case 0x91:
      return "FROZENSET";
    case 0x96:
      return "BYTEARRAY8";
    case 0x97:
      return "NEXT_BUFFER";
    case 0x98:
      return "READONLY_BUFFER";
    default:
      return "";
  }
}

std::string describe_value(const value& v) {
  switch (v.kind) {
    case kind::none:
      return "None";
    case kind::boolean:
      return "a bool";
    case kind::integer:
    case kind::big_integer:
      return "an int";
    case kind::floating:
      return "a float";
    case kind::text:
      return "a str";
    case kind::bytes:
      return "a bytes";
    case kind::list:
      return "a list";
    case kind::tuple:
      return "a tuple";
    case kind::dict:
      return "a dict";
    case kind::ordered_dict:
      return "an OrderedDict";
    case kind::tensor:
      return "a tensor";
  }
  return "a value";
}

std::string describe(const slot& s) {
  switch (s.kind) {
    case slot_kind::ordered_dict_type:
      return "collections.OrderedDict";
    case slot_kind::codecs_encode:
      return "_codecs.encode";
    case slot_kind::rebuild_tensor:
      return "torch._utils._rebuild_tensor_v2";
    case slot_kind::rebuild_parameter:
      return "torch._utils._rebuild_parameter";
    case slot_kind::storage_type:
      return "torch." + s.storage_type;
    case slot_kind::storage:
      return "a storage";
    case slot_kind::arguments:
      return "a tuple holding a storage or a global";
    case slot_kind::value:
      break;
  }
  return describe_value(*s.v);
}

// The bytes of a str whose characters are all below U+0100, as Python's latin-1 codec gives
// them; false for any other.
bool latin1(std::string_view utf8, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if ((c == 0xc2 || c == 0xc3) && i + 1 < utf8.size()) {
      out += static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3f));
    } else {
      return false;
    }
  }
  return true;
}

value_ptr make(kind k) {
  auto v = std::make_shared<value>();
  v->kind = k;
  return v;
}

bool is_container(const value& v) {
  return v.kind == kind::list || v.kind == kind::tuple || v.kind == kind::dict ||
         v.kind == kind::ordered_dict;
}

class loader {
 public:
  explicit loader(std::string_view bytes) : in_(bytes) {}

  value_ptr run() {
    if (in_.size() > max_pickle_size) {
      throw data_error("the pickle of " + std::to_string(in_.size()) + " bytes is larger than " +
                       std::to_string(max_pickle_size) + " (bnorm's limit)");
    }
    if (in_.size() < 2 || static_cast<unsigned char>(in_[0]) != 0x80) {
      throw data_error("not a pickle of protocol 2 or later (no PROTO opcode at byte 0)");
    }
    if (const auto protocol = static_cast<unsigned char>(in_[1]); protocol < 2 || protocol > 5) {
      throw data_error("pickle protocol " + std::to_string(protocol) +
                       " at byte 0; bnorm reads protocols 2 to 5");
    }
    while (true) {
      if (pos_ >= in_.size()) fail("the pickle ends before its STOP opcode", in_.size());
      op_ = pos_;
      const auto op = static_cast<unsigned char>(in_[pos_++]);
      if (op == '.') return stop();
      step(op);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what, std::size_t offset) const {
    throw data_error(what + at(offset));
  }
  [[noreturn]] void fail(const std::string& what) const { fail(what, op_); }

  // --- reading the opcode's argument ---
  std::string_view take(std::uint64_t size, const char* what) {
    if (size > in_.size() - pos_) {
      fail(std::string(what) + " of " + std::to_string(size) + " bytes runs past the pickle's end");
    }
    const std::string_view bytes = in_.substr(pos_, static_cast<std::size_t>(size));
    pos_ += static_cast<std::size_t>(size);
    return bytes;
  }
  std::uint64_t unsigned_le(int bytes) {
    const std::string_view b = take(static_cast<std::uint64_t>(bytes), "an argument");
    std::uint64_t v = 0;
    for (int i = bytes; i-- > 0;)
      v = v << 8 | static_cast<unsigned char>(b[static_cast<std::size_t>(i)]);
    return v;
  }
  std::string_view line() {
    const std::size_t end = in_.find('\n', pos_);
    if (end == std::string_view::npos) fail("a GLOBAL's name has no end of line");
    const std::string_view text = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return text;
  }

  // Every value made, counted: a pickle of 64 MiB could otherwise make tens of millions.
  value_ptr fresh(kind k) {
    if (++values_ > max_values) {
      fail("the pickle makes more than " + std::to_string(max_values) + " values (bnorm's limit)");
    }
    return make(k);
  }

  // --- the stack ---
  void push(slot s) {
    if (stack_.size() >= max_stack_size) {
      fail("the stack holds more than " + std::to_string(max_stack_size) +
           " items (bnorm's limit)");
    }
    s.offset = op_;
    stack_.push_back(std::move(s));
  }
  void push(value_ptr v) {
    slot s;
    s.v = std::move(v);
    push(std::move(s));
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  slot pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    slot s = std::move(stack_.back());
    stack_.pop_back();
    return s;
  }
  slot& top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<slot> pop_to_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<slot> items(
        std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(mark)),
        std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }

  // A slot as a value of the tree; what is not one (a global, a storage) is refused here.
  value_ptr as_value(const slot& s, const char* where) const {
    if (s.kind != slot_kind::value) {
      fail(describe(s) + " (made at byte " + std::to_string(s.offset) + ") is not a value " +
           where);
    }
    return s.v;
  }

  // A container placed into another is complete: changing it afterwards is refused, which
  // keeps the tree free of cycles (a list appended into itself, or into its own child).
  // The tables below are keyed by address: what enters them is kept alive until the end, so
  // that no later value takes a freed one's address and its entries.
  void pin(const value_ptr& v) { pinned_.try_emplace(v.get(), v); }
  void count_placed(std::size_t n) {
    placed_ += n;
    if (placed_ > max_placed) {
      fail("the pickle places more than " + std::to_string(max_placed) +
           " items into containers (bnorm's limit)");
    }
  }
  void seal(const value_ptr& child, const value_ptr& parent) {
    count_placed(1);
    if (child == parent) fail(describe_value(*parent) + " would hold itself");
    if (is_container(*child)) {
      pin(child);
      sealed_.insert(child.get());
    }
    const std::size_t depth = depth_of(*child) + 1;
    pin(parent);
    std::size_t& parent_depth = depth_[parent.get()];
    if (depth > parent_depth) parent_depth = depth;
    if (parent_depth > max_stack_depth) {
      fail("containers nest more than " + std::to_string(max_stack_depth) +
           " deep (bnorm's limit)");
    }
  }
  std::size_t depth_of(const value& v) const {
    const auto found = depth_.find(&v);
    return found == depth_.end() ? 0 : found->second;
  }
  void check_open(const value& target, const char* opcode) const {
    if (sealed_.count(&target) != 0) {
      fail(std::string(opcode) + " changes " + describe_value(target) +
           " already placed in another container");
    }
  }

  // --- dicts: Python's equality of keys, so that a key set twice keeps one entry ---
  // Each key value is numbered once, equal keys alike: a tuple by its items' numbers, not
  // their text, so a long str set as a key many times through the memo, or tuples nested in
  // tuples, cost no more than the bytes that made them.
  std::uint64_t key_id(const value_ptr& k) {
    if (const auto found = key_ids_.find(k.get()); found != key_ids_.end()) {
      return found->second.second;
    }
    std::string canonical;
    switch (k->kind) {
      case kind::none:
        canonical = "n";
        break;
      case kind::boolean:
        canonical = k->boolean ? "i1" : "i0";
        break;
      case kind::integer:
        canonical = "i" + std::to_string(k->integer);
        break;
      case kind::big_integer:
        canonical = "I" + k->text;
        break;
      case kind::floating: {
        const double d = k->floating;
        if (d == d && d >= -9.2e18 && d <= 9.2e18 &&
            static_cast<double>(static_cast<std::int64_t>(d)) == d) {
          canonical = "i" + std::to_string(static_cast<std::int64_t>(d));
          break;
        }
        if (d != d) fail("a dict key is NaN, which no lookup finds");
        canonical = "f" + std::to_string(std::bit_cast<std::uint64_t>(d));
        break;
      }
      case kind::text:
        canonical = "s" + k->text;
        break;
      case kind::bytes:
        canonical = "b" + k->text;
        break;
      case kind::tuple:
        canonical = "t";
        for (const value_ptr& item : k->items) canonical += std::to_string(key_id(item)) + ",";
        break;
      default:
        fail(describe_value(*k) + " cannot be a dict key (it is not hashable)");
    }
    const auto [interned, added] =
        key_numbers_.try_emplace(std::move(canonical), key_numbers_.size());
    key_ids_.try_emplace(k.get(), k, interned->second);
    return interned->second;
  }
  void set_item(const value_ptr& dict, const value_ptr& key, const value_ptr& item) {
    seal(key, dict);
    seal(item, dict);
    auto& index = keys_[dict.get()];
    const auto [found, added] = index.try_emplace(key_id(key), dict->entries.size());
    if (added) {
      dict->entries.emplace_back(key, item);
    } else {
      dict->entries[found->second].second = item;
    }
  }
  value_ptr dict_target(const char* opcode) {
    slot& target = top();
    if (target.kind != slot_kind::value ||
        (target.v->kind != kind::dict && target.v->kind != kind::ordered_dict)) {
      fail(std::string(opcode) + " into " + describe(target) +
           ": only a dict or an OrderedDict takes items");
    }
    check_open(*target.v, opcode);
    return target.v;
  }
  value_ptr list_target(const char* opcode) {
    slot& target = top();
    if (target.kind != slot_kind::value || target.v->kind != kind::list) {
      fail(std::string(opcode) + " into " + describe(target) + ": only a list takes items");
    }
    check_open(*target.v, opcode);
    return target.v;
  }

  void make_tuple(std::vector<slot> items) {
    const bool values_only = std::all_of(items.begin(), items.end(),
                                         [](const slot& s) { return s.kind == slot_kind::value; });
    if (values_only) {
      auto t = fresh(kind::tuple);
      for (const slot& s : items) seal(s.v, t);
      for (slot& s : items) t->items.push_back(std::move(s.v));
      push(std::move(t));
      return;
    }
    count_placed(items.size());
    // Argument lists nest only as deep as values do: the tree is freed by recursion.
    std::size_t depth = 0;
    for (const slot& item : items) {
      depth = std::max(depth, item.kind == slot_kind::arguments ? item.depth
                              : item.kind == slot_kind::value   ? depth_of(*item.v)
                                                                : 0);
    }
    if (++depth > max_stack_depth) {
      fail("containers nest more than " + std::to_string(max_stack_depth) +
           " deep (bnorm's limit)");
    }
    slot s;
    s.kind = slot_kind::arguments;
    s.depth = depth;
    s.items = std::make_shared<std::vector<slot>>(std::move(items));
    for (const slot& item : *s.items) {
      if (item.kind == slot_kind::value && is_container(*item.v)) {
        pin(item.v);
        sealed_.insert(item.v.get());
      }
    }
    push(std::move(s));
  }

  void integer_from_le(std::string_view bytes) {
    auto v = fresh(kind::integer);
    // The shortest two's complement: trailing bytes that only repeat the sign go.
    std::size_t n = bytes.size();
    while (n > 1 &&
           ((bytes[n - 1] == 0 && (static_cast<unsigned char>(bytes[n - 2]) & 0x80) == 0) ||
            (static_cast<unsigned char>(bytes[n - 1]) == 0xff &&
             (static_cast<unsigned char>(bytes[n - 2]) & 0x80) != 0))) {
      --n;
    }
    if (n <= 8) {
      std::uint64_t bits = 0;
      for (std::size_t i = n; i-- > 0;) bits = bits << 8 | static_cast<unsigned char>(bytes[i]);
      if (n > 0 && n < 8 && (static_cast<unsigned char>(bytes[n - 1]) & 0x80) != 0) {
        bits |= ~std::uint64_t{0} << (8 * n);
      }
      v->integer = static_cast<std::int64_t>(bits);
    } else {
      v->kind = kind::big_integer;
      v->text.assign(bytes.substr(0, n));
    }
    push(std::move(v));
  }

  void text(std::uint64_t size) {
    const std::string_view bytes = take(size, "a str");
    if (!is_valid_utf8(bytes, surrogates::allowed)) fail("a str is not valid UTF-8");
    auto v = fresh(kind::text);
    v->text.assign(bytes);
    push(std::move(v));
  }
  void bytes(std::uint64_t size) {
    auto v = fresh(kind::bytes);
    v->text.assign(take(size, "a bytes"));
    push(std::move(v));
  }

  // --- the memo ---
  void put(std::uint64_t index) {
    const slot& s = top();
    if (memo_.size() >= max_memo_entries && memo_.count(index) == 0) {
      fail("the memo holds more than " + std::to_string(max_memo_entries) +
           " entries (bnorm's limit)");
    }
    memo_[index] = s;
  }
  void get(std::uint64_t index) {
    const auto found = memo_.find(index);
    if (found == memo_.end()) {
      fail("memo index " + std::to_string(index) + " was never stored");
    }
    slot s = found->second;
    push(std::move(s));
  }

  // --- globals ---
  // True when the opcodes after a GLOBAL build an object of it: an empty tuple and NEWOBJ,
  // memo puts between them, as pickle writes a class instance (a module's) at protocol 2+.
  bool newobj_follows() const {
    std::size_t p = pos_;
    bool tuple_seen = false;
    while (p < in_.size()) {
      const auto op = static_cast<unsigned char>(in_[p]);
      if (op == 'q')
        p += 2;
      else if (op == 'r')
        p += 5;
      else if (op == 0x94)
        p += 1;
      else if (op == ')' && !tuple_seen) {
        tuple_seen = true;
        p += 1;
      } else {
        return op == 0x81 || op == 0x92;
      }
    }
    return false;
  }
  void global(std::string_view module, std::string_view name) {
    slot s;
    if (module == "collections" && name == "OrderedDict") {
      s.kind = slot_kind::ordered_dict_type;
    } else if (module == "_codecs" && name == "encode") {
      // How protocol 2 writes a bytes object: _codecs.encode(its bytes as a latin-1 str,
      // 'latin1'), only ever called here with those arguments.
      s.kind = slot_kind::codecs_encode;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      s.kind = slot_kind::rebuild_tensor;
    } else if (module == "torch._utils" && name == "_rebuild_parameter") {
      s.kind = slot_kind::rebuild_parameter;
    } else if (module == "torch" && std::find(std::begin(storage_types), std::end(storage_types),
                                              name) != std::end(storage_types)) {
      s.kind = slot_kind::storage_type;
      s.storage_type = name;
    } else {
      const std::string full = quoted_name(std::string(module) + "." + std::string(name));
      if (module.starts_with("torch.nn.modules") || module == "__main__" || newobj_follows()) {
        throw data_error("GLOBAL " + full + at(op_) + std::string(module_advice));
      }
      throw data_error("GLOBAL " + full + at(op_) +
                       " is not a value a tensor checkpoint holds; bnorm runs no code from a file");
    }
    push(std::move(s));
  }

  // --- calls: REDUCE of the three functions bnorm knows, checked argument by argument ---
  static bool is(const slot& s, kind k) { return s.kind == slot_kind::value && s.v->kind == k; }
  std::vector<std::uint64_t> sizes(const slot& s, const char* what) const {
    if (!is(s, kind::tuple))
      fail(std::string("_rebuild_tensor_v2's ") + what + " is " + describe(s) + ", not a tuple");
    if (s.v->items.size() > max_tensor_rank) {
      fail(std::string("_rebuild_tensor_v2's ") + what + " has " +
           std::to_string(s.v->items.size()) + " dimensions, more than " +
           std::to_string(max_tensor_rank) + " (bnorm's limit)");
    }
    std::vector<std::uint64_t> out;
    for (const value_ptr& item : s.v->items) {
      if (item->kind != kind::integer || item->integer < 0) {
        fail(std::string("_rebuild_tensor_v2's ") + what +
             " holds something other than a non-negative int");
      }
      out.push_back(static_cast<std::uint64_t>(item->integer));
    }
    return out;
  }
  void reduce() {
    slot args = pop();
    slot callee = pop();
    std::vector<slot> list;
    if (args.kind == slot_kind::arguments) {
      list = *args.items;
    } else if (is(args, kind::tuple)) {
      for (const value_ptr& item : args.v->items) {
        slot s;
        s.v = item;
        s.offset = args.offset;
        list.push_back(std::move(s));
      }
    } else {
      fail("REDUCE's arguments are " + describe(args) + ", not a tuple");
    }
    const std::string name = describe(callee);
    const auto wrong = [&](const std::string& why) {
      fail("REDUCE of " + name + " with " + count_text(list.size(), "argument") + ": " + why);
    };
    switch (callee.kind) {
      case slot_kind::ordered_dict_type: {
        auto d = fresh(kind::ordered_dict);
        if (list.size() > 1) wrong("it takes () or one list of pairs");
        if (list.size() == 1) {
          if (!is(list[0], kind::list) && !is(list[0], kind::tuple))
            wrong("its argument is not a list of pairs");
          for (const value_ptr& pair : list[0].v->items) {
            if ((pair->kind != kind::list && pair->kind != kind::tuple) ||
                pair->items.size() != 2) {
              wrong("an item of its argument is not a pair");
            }
            set_item(d, pair->items[0], pair->items[1]);
          }
        }
        push(std::move(d));
        return;
      }
      case slot_kind::codecs_encode: {
        if (list.size() != 2 || !is(list[0], kind::text) || !is(list[1], kind::text) ||
            (list[1].v->text != "latin1" && list[1].v->text != "latin-1")) {
          wrong("it is read only as (str, 'latin1'), as protocol 2 writes bytes");
        }
        // Each call copies its str, which the memo can hand it again and again: the pickler
        // encodes each bytes object once, so all of them together are no longer than the pickle.
        encoded_ += list[0].v->text.size();
        if (encoded_ > in_.size()) {
          wrong("the bytes it makes pass the pickle's " + std::to_string(in_.size()) +
                " bytes (a str encoded again and again through the memo)");
        }
        auto b = fresh(kind::bytes);
        if (!latin1(list[0].v->text, b->text)) wrong("its str holds a character past U+00FF");
        push(std::move(b));
        return;
      }
      case slot_kind::rebuild_tensor: {
        if (list.size() != 6 && list.size() != 7) wrong("it takes 6 or 7");
        if (list[0].kind != slot_kind::storage)
          wrong("its first is " + describe(list[0]) + ", not a storage");
        if (!is(list[1], kind::integer) || list[1].v->integer < 0)
          wrong("its storage offset is not a non-negative int");
        auto t = fresh(kind::tensor);
        t->tensor.data = list[0].stored;
        t->tensor.offset = static_cast<std::uint64_t>(list[1].v->integer);
        t->tensor.size = sizes(list[2], "size");
        t->tensor.stride = sizes(list[3], "stride");
        if (t->tensor.size.size() != t->tensor.stride.size())
          wrong("its size and stride have different lengths");
        if (!is(list[4], kind::boolean))
          wrong("its requires_grad is " + describe(list[4]) + ", not a bool");
        t->tensor.requires_grad = list[4].v->boolean;
        if (!is(list[5], kind::ordered_dict) || !list[5].v->entries.empty()) {
          wrong("its backward_hooks is " + describe(list[5]) + ", not an empty OrderedDict");
        }
        if (list.size() == 7 && !is(list[6], kind::none) && !is(list[6], kind::dict)) {
          wrong("its metadata is " + describe(list[6]) + ", not a dict or None");
        }
        push(std::move(t));
        return;
      }
      case slot_kind::rebuild_parameter: {
        if (list.size() != 3) wrong("it takes 3 (data, requires_grad, backward_hooks)");
        if (!is(list[0], kind::tensor))
          wrong("its data is " + describe(list[0]) + ", not a tensor");
        if (!is(list[1], kind::boolean))
          wrong("its requires_grad is " + describe(list[1]) + ", not a bool");
        if (!is(list[2], kind::ordered_dict) || !list[2].v->entries.empty()) {
          wrong("its backward_hooks is " + describe(list[2]) + ", not an empty OrderedDict");
        }
        auto t = fresh(kind::tensor);
        t->tensor = list[0].v->tensor;
        t->tensor.requires_grad = list[1].v->boolean;
        t->tensor.parameter = true;
        push(std::move(t));
        return;
      }
      case slot_kind::storage_type:
        fail("REDUCE of " + name + ": a storage type is read only inside a persistent id");
      default:
        fail("REDUCE of " + name + " (made at byte " + std::to_string(callee.offset) +
             "), which is not a function bnorm knows; bnorm runs no code from a file");
    }
  }

  void persistent_id() {
    const slot pid = pop();
    const auto bad = [&](const std::string& why) {
      fail("BINPERSID of " + describe(pid) + ": " + why +
           " (a checkpoint's persistent id is ('storage', torch.<Type>Storage, key, location, "
           "numel))");
    };
    if (pid.kind != slot_kind::arguments || pid.items->size() != 5) bad("not a tuple of 5");
    const std::vector<slot>& f = *pid.items;
    if (!is(f[0], kind::text) || f[0].v->text != "storage") bad("its first item is not 'storage'");
    if (f[1].kind != slot_kind::storage_type)
      bad("its second item is " + describe(f[1]) + ", not a storage type");
    if (!is(f[2], kind::text)) bad("its key is not a str");
    if (!is(f[3], kind::text)) bad("its location is not a str");
    if (!is(f[4], kind::integer) || f[4].v->integer < 0) bad("its numel is not a non-negative int");
    auto s = std::make_shared<storage>();
    s->storage_type = f[1].storage_type;
    s->key = f[2].v->text;
    s->location = f[3].v->text;
    s->numel = static_cast<std::uint64_t>(f[4].v->integer);
    slot out;
    out.kind = slot_kind::storage;
    out.stored = std::move(s);
    push(std::move(out));
  }

  void build() {
    const slot state = pop();
    slot& target = top();
    if (is(target, kind::ordered_dict)) {
      check_open(*target.v, "BUILD");
      const value_ptr v = as_value(state, "for an OrderedDict's state");
      if (v->kind != kind::dict && v->kind != kind::ordered_dict) {
        fail("BUILD of an OrderedDict with " + describe(state) +
             ": its state is a dict of attributes");
      }
      seal(v, target.v);
      target.v->state = v;
      return;
    }
    if (is(target, kind::tensor)) {
      const bool empty = state.kind == slot_kind::value &&
                         (state.v->kind == kind::none ||
                          ((state.v->kind == kind::dict || state.v->kind == kind::tuple) &&
                           state.v->entries.empty() && state.v->items.empty()));
      if (!empty)
        fail("BUILD of a tensor with " + describe(state) + ": bnorm reads tensors without state");
      return;
    }
    fail("BUILD into " + describe(target) +
         ": only an OrderedDict or a tensor takes a state; "
         "bnorm runs no code from a file");
  }

  void step(unsigned char op) {
    switch (op) {
      case 0x80:
        fail("PROTO after the pickle's start");
      case 0x95: {  // FRAME: framing changes nothing in what the opcodes mean
        const std::uint64_t size = unsigned_le(8);
        if (size > in_.size() - pos_)
          fail("a FRAME of " + std::to_string(size) + " bytes runs past the pickle's end");
        return;
      }
      case '(':
        if (marks_.size() >= max_stack_depth) {
          fail("MARKs nest more than " + std::to_string(max_stack_depth) + " deep (bnorm's limit)");
        }
        marks_.push_back(stack_.size());
        return;
      case '0':
        pop();
        return;
      case '1':
        pop_to_mark();
        return;
      case '2': {
        slot s = top();
        push(std::move(s));
        return;
      }
      case 'N':
        push(fresh(kind::none));
        return;
      case 0x88:
      case 0x89: {
        auto v = fresh(kind::boolean);
        v->boolean = op == 0x88;
        push(std::move(v));
        return;
      }
      case 'J': {
        auto v = fresh(kind::integer);
        v->integer = static_cast<std::int32_t>(static_cast<std::uint32_t>(unsigned_le(4)));
        push(std::move(v));
        return;
      }
      case 'K':
      case 'M': {
        auto v = fresh(kind::integer);
        v->integer = static_cast<std::int64_t>(unsigned_le(op == 'K' ? 1 : 2));
        push(std::move(v));
        return;
      }
      case 0x8a:
      case 0x8b: {
        const std::uint64_t size = op == 0x8a ? unsigned_le(1) : unsigned_le(4);
        if (op == 0x8b && size > 0x7fffffff) fail("LONG4 with a negative length");
        if (size > max_long_bytes) {
          fail("an int of " + std::to_string(size) + " bytes is longer than " +
               std::to_string(max_long_bytes) + " (bnorm's limit)");
        }
        integer_from_le(take(size, "an int"));
        return;
      }
      case 'G': {
        const std::uint64_t bits = unsigned_le(8);
        std::uint64_t swapped = 0;
        for (int i = 0; i < 8; ++i) swapped = swapped << 8 | ((bits >> (8 * i)) & 0xff);
        auto v = fresh(kind::floating);
        v->floating = std::bit_cast<double>(swapped);
        push(std::move(v));
        return;
      }
      case 0x8c:
        text(unsigned_le(1));
        return;
      case 'X':
        text(unsigned_le(4));
        return;
      case 0x8d:
        text(unsigned_le(8));
        return;
      case 'C':
        bytes(unsigned_le(1));
        return;
      case 'B':
        bytes(unsigned_le(4));
        return;
      case 0x8e:
        bytes(unsigned_le(8));
        return;
      case ']':
        push(fresh(kind::list));
        return;
      case 'a': {
        slot item = pop();
        const value_ptr v = as_value(item, "to append to a list");
        const value_ptr list = list_target("APPEND");
        seal(v, list);
        list->items.push_back(v);
        return;
      }
      case 'e': {
        std::vector<slot> items = pop_to_mark();
        const value_ptr list = list_target("APPENDS");
        for (const slot& s : items) {
          const value_ptr v = as_value(s, "to append to a list");
          seal(v, list);
          list->items.push_back(v);
        }
        return;
      }
      case ')':
        push(fresh(kind::tuple));
        return;
      case 't':
        make_tuple(pop_to_mark());
        return;
      case 0x85:
      case 0x86:
      case 0x87: {
        const std::size_t n = op - 0x84u;
        if (stack_.size() - floor() < n) fail("stack underflow");
        std::vector<slot> items(
            std::make_move_iterator(stack_.end() - static_cast<std::ptrdiff_t>(n)),
            std::make_move_iterator(stack_.end()));
        stack_.resize(stack_.size() - n);
        make_tuple(std::move(items));
        return;
      }
      case '}':
        push(fresh(kind::dict));
        return;
      case 's': {
        const slot item = pop();
        const slot key = pop();
        const value_ptr k = as_value(key, "for a dict key");
        const value_ptr v = as_value(item, "to put in a dict");
        set_item(dict_target("SETITEM"), k, v);
        return;
      }
      case 'u': {
        std::vector<slot> items = pop_to_mark();
        if (items.size() % 2 != 0) fail("SETITEMS with an odd number of items");
        const value_ptr dict = dict_target("SETITEMS");
        for (std::size_t i = 0; i < items.size(); i += 2) {
          set_item(dict, as_value(items[i], "for a dict key"),
                   as_value(items[i + 1], "to put in a dict"));
        }
        return;
      }
      case 'q':
        put(unsigned_le(1));
        return;
      case 'r':
        put(unsigned_le(4));
        return;
      case 0x94:
        put(memo_.size());
        return;
      case 'h':
        get(unsigned_le(1));
        return;
      case 'j':
        get(unsigned_le(4));
        return;
      case 'c': {
        const std::string_view module = line();
        const std::string_view name = line();
        global(module, name);
        return;
      }
      case 0x93: {
        const slot name = pop();
        const slot module = pop();
        if (!is(name, kind::text) || !is(module, kind::text))
          fail("STACK_GLOBAL of something other than two str");
        global(module.v->text, name.v->text);
        return;
      }
      case 'R':
        reduce();
        return;
      case 'b':
        build();
        return;
      case 'Q':
        persistent_id();
        return;
      case 0x81:
      case 0x92:
        throw data_error(opcode_name(op) + at(op_) + " builds an object of a class" +
                         std::string(module_advice));
      default: {
        const std::string name = opcode_name(op);
        static constexpr char digits[] = "0123456789abcdef";
        const std::string hex = std::string("0x") + digits[op >> 4] + digits[op & 15];
        fail("opcode " + hex + (name.empty() ? "" : " (" + name + ")") +
             " is not one a tensor checkpoint uses");
      }
    }
  }

  value_ptr stop() {
    if (pos_ != in_.size()) {
      fail("STOP is followed by " + count_text(in_.size() - pos_, "byte") +
           " (a pickle ends at its STOP)");
    }
    if (!marks_.empty()) fail("STOP with a MARK still open");
    if (stack_.size() != 1) {
      fail("STOP leaves " + std::to_string(stack_.size()) + " items on the stack, not one");
    }
    return as_value(stack_.back(), "for the pickle's result");
  }

  std::string_view in_;
  std::size_t pos_ = 2;  // after PROTO and its protocol
  std::size_t op_ = 0;
  std::vector<slot> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, slot> memo_;
  std::size_t values_ = 0;
  std::unordered_map<const value*, value_ptr> pinned_;
  std::unordered_set<const value*> sealed_;
  std::unordered_map<const value*, std::size_t> depth_;
  std::size_t placed_ = 0;
  std::size_t encoded_ = 0;
  std::unordered_map<const value*, std::pair<value_ptr, std::uint64_t>> key_ids_;
  std::unordered_map<std::string, std::uint64_t> key_numbers_;
  std::unordered_map<const value*, std::unordered_map<std::uint64_t, std::size_t>> keys_;
};

}  // namespace

value_ptr load(std::string_view bytes) {
  return loader(bytes).run();
}

}  // namespace bnorm::pickle
