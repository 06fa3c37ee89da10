// SPDX-License-Identifier: Apache-2.0
// pickle::dump: the pickle Python's C pickler (_pickle) writes for the same objects, opcode for
// opcode, so that a tree torch.save would write comes out as torch.save writes it.  Python
// memoizes every object but the atoms (None, bool, int, float, the empty tuple) by identity;
// here identity is a value's address, a storage's (its key) and a global's name.
#include <cstdint>
#include <cstring>
#include <list>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "error.hpp"
#include "pickle.hpp"

namespace bnorm::pickle {
namespace {

// Opcodes (Python's Lib/pickle.py).
constexpr char op_proto = '\x80';
constexpr char op_stop = '.';
constexpr char op_mark = '(';
constexpr char op_pop = '0';
constexpr char op_pop_mark = '1';
constexpr char op_none = 'N';
constexpr char op_true = '\x88';
constexpr char op_false = '\x89';
constexpr char op_binint = 'J';
constexpr char op_binint1 = 'K';
constexpr char op_binint2 = 'M';
constexpr char op_long1 = '\x8a';
constexpr char op_long4 = '\x8b';
constexpr char op_binfloat = 'G';
constexpr char op_binunicode = 'X';
constexpr char op_short_binbytes = 'C';
constexpr char op_binbytes = 'B';
constexpr char op_empty_tuple = ')';
constexpr char op_tuple = 't';
constexpr char op_tuple1 = '\x85';
constexpr char op_tuple2 = '\x86';
constexpr char op_tuple3 = '\x87';
constexpr char op_empty_list = ']';
constexpr char op_append = 'a';
constexpr char op_appends = 'e';
constexpr char op_empty_dict = '}';
constexpr char op_setitem = 's';
constexpr char op_setitems = 'u';
constexpr char op_global = 'c';
constexpr char op_reduce = 'R';
constexpr char op_build = 'b';
constexpr char op_binpersid = 'Q';
constexpr char op_binput = 'q';
constexpr char op_long_binput = 'r';
constexpr char op_binget = 'h';
constexpr char op_long_binget = 'j';

constexpr std::size_t batch_size = 1000;  // _pickle.c's BATCHSIZE

// The string torch's persistent_id returns for every storage: one constant object.
constexpr char storage_tag[] = "storage";

bool holds_bytes(const value& v, std::unordered_set<const value*>& seen) {
  if (!seen.insert(&v).second) return false;
  if (v.kind == kind::bytes) return true;
  for (const value_ptr& item : v.items)
    if (item && holds_bytes(*item, seen)) return true;
  for (const auto& [key, val] : v.entries) {
    if (key && holds_bytes(*key, seen)) return true;
    if (val && holds_bytes(*val, seen)) return true;
  }
  return v.state && holds_bytes(*v.state, seen);
}

class pickler {
 public:
  explicit pickler(int protocol) {
    out_ += op_proto;
    out_ += static_cast<char>(protocol);
  }

  std::string finish() {
    out_ += op_stop;
    return std::move(out_);
  }

  void save(const value& v) {
    switch (v.kind) {
      case kind::none:
        out_ += op_none;
        return;
      case kind::boolean:
        out_ += v.boolean ? op_true : op_false;
        return;
      case kind::integer:
        save_int(v.integer);
        return;
      case kind::floating:
        save_float(v.floating);
        return;
      case kind::big_integer:
        save_long(v.text);
        return;
      default:
        break;
    }
    if (const auto found = memo_.find(&v); found != memo_.end()) {
      get(found->second);
      return;
    }
    switch (v.kind) {
      case kind::text:
        out_ += op_binunicode;
        put(v.text.size(), 4);
        out_ += v.text;
        memoize(&v);
        return;
      case kind::bytes:
        if (v.text.size() <= 0xff) {
          out_ += op_short_binbytes;
          put(v.text.size(), 1);
        } else {
          out_ += op_binbytes;
          put(v.text.size(), 4);
        }
        out_ += v.text;
        memoize(&v);
        return;
      case kind::tuple:
        save_tuple(v);
        return;
      case kind::list:
        save_list(v);
        return;
      case kind::dict:
        out_ += op_empty_dict;
        memoize(&v);
        save_exact_dict_items(v);
        return;
      case kind::ordered_dict:
        save_global("collections", "OrderedDict");
        out_ += op_empty_tuple;
        out_ += op_reduce;
        memoize(&v);
        save_iterated_dict_items(v);
        if (v.state) {
          save(*v.state);
          out_ += op_build;
        }
        return;
      case kind::tensor:
        save_tensor(v, &v);
        return;
      default:
        throw data_error("pickle: a value of an unknown kind");
    }
  }

 private:
  void put(std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) out_ += static_cast<char>((value >> (8 * i)) & 0xff);
  }

  void memoize_key(const void* key) {
    const auto index = static_cast<std::uint32_t>(memo_.size());
    memo_.emplace(key, index);
    if (index < 256) {
      out_ += op_binput;
      put(index, 1);
    } else {
      out_ += op_long_binput;
      put(index, 4);
    }
  }
  void memoize(const value* v) { memoize_key(v); }

  void get(std::uint32_t index) {
    if (index < 256) {
      out_ += op_binget;
      put(index, 1);
    } else {
      out_ += op_long_binget;
      put(index, 4);
    }
  }

  // A memo entry for something that is not a value of the tree (a global, a storage's key):
  // its key is the address of an entry in `names`, which never moves.
  bool get_named(std::unordered_map<std::string, char>& names, const std::string& name,
                 const void*& key) {
    key = &*names.try_emplace(name).first;
    if (const auto found = memo_.find(key); found != memo_.end()) {
      get(found->second);
      return true;
    }
    return false;
  }

  void save_global(const std::string& module, const std::string& name) {
    const void* key = nullptr;
    if (get_named(globals_, module + "\n" + name, key)) return;
    out_ += op_global;
    out_ += module;
    out_ += '\n';
    out_ += name;
    out_ += '\n';
    memoize_key(key);
  }

  // A string memoized under `name` in `strings`: one Python object per name.
  void save_shared_text(std::unordered_map<std::string, char>& strings, const std::string& name,
                        const std::string& text) {
    const void* key = nullptr;
    if (get_named(strings, name, key)) return;
    out_ += op_binunicode;
    put(text.size(), 4);
    out_ += text;
    memoize_key(key);
  }

  void save_int(std::int64_t n) {
    if (n >= 0 && n <= 0xff) {
      out_ += op_binint1;
      put(static_cast<std::uint64_t>(n), 1);
    } else if (n >= 0 && n <= 0xffff) {
      out_ += op_binint2;
      put(static_cast<std::uint64_t>(n), 2);
    } else if (n >= INT32_MIN && n <= INT32_MAX) {
      out_ += op_binint;
      put(static_cast<std::uint32_t>(static_cast<std::int32_t>(n)), 4);
    } else {
      // The fewest bytes of two's complement that keep the sign.
      std::string bytes;
      for (int i = 0; i < 8; ++i)
        bytes += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff);
      while (bytes.size() > 1) {
        const auto last = static_cast<unsigned char>(bytes.back());
        const auto sign = static_cast<unsigned char>(bytes[bytes.size() - 2]) & 0x80;
        if ((last == 0 && sign == 0) || (last == 0xff && sign != 0)) {
          bytes.pop_back();
        } else {
          break;
        }
      }
      save_long(bytes);
    }
  }

  void save_long(const std::string& bytes) {
    if (bytes.size() < 256) {
      out_ += op_long1;
      put(bytes.size(), 1);
    } else {
      out_ += op_long4;
      put(bytes.size(), 4);
    }
    out_ += bytes;
  }

  void save_float(double d) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    out_ += op_binfloat;
    for (int i = 7; i >= 0; --i) out_ += static_cast<char>((bits >> (8 * i)) & 0xff);
  }

  void save_tuple(const value& v) {
    const std::size_t n = v.items.size();
    if (n == 0) {
      out_ += op_empty_tuple;
      return;
    }
    if (n > 3) out_ += op_mark;
    for (const value_ptr& item : v.items) save_item(item);
    // An element that reached this tuple through a list memoized it: Python then drops what
    // it pushed and takes the memoized tuple.
    if (const auto found = memo_.find(&v); found != memo_.end()) {
      if (n > 3) {
        out_ += op_pop_mark;
      } else {
        out_.append(n, op_pop);
      }
      get(found->second);
      return;
    }
    static constexpr char sized[] = {op_tuple1, op_tuple2, op_tuple3};
    out_ += n > 3 ? op_tuple : sized[n - 1];
    memoize(&v);
  }

  void save_list(const value& v) {
    out_ += op_empty_list;
    memoize(&v);
    const std::size_t n = v.items.size();
    if (n == 0) return;
    if (n == 1) {
      save_item(v.items[0]);
      out_ += op_append;
      return;
    }
    for (std::size_t done = 0; done < n;) {
      out_ += op_mark;
      for (std::size_t batch = 0; batch < batch_size && done < n; ++batch)
        save_item(v.items[done++]);
      out_ += op_appends;
    }
  }

  // A dict's items as _pickle.c's batch_dict_exact writes them: a batch that fills up is
  // followed by another, empty or not.
  void save_exact_dict_items(const value& v) {
    const std::size_t n = v.entries.size();
    if (n == 0) return;
    if (n == 1) {
      save_entry(0, v);
      out_ += op_setitem;
      return;
    }
    std::size_t done = 0;
    std::size_t batch = 0;
    do {
      out_ += op_mark;
      for (batch = 0; batch < batch_size && done < n; ++batch) save_entry(done++, v);
      out_ += op_setitems;
    } while (batch == batch_size);
  }

  // An OrderedDict's items, which __reduce__ hands over as an iterator (batch_dict): a last
  // batch of one item is a SETITEM.
  void save_iterated_dict_items(const value& v) {
    const std::size_t n = v.entries.size();
    for (std::size_t done = 0; done < n;) {
      if (n - done == 1) {
        save_entry(done++, v);
        out_ += op_setitem;
        break;
      }
      out_ += op_mark;
      for (std::size_t batch = 0; batch < batch_size && done < n; ++batch) save_entry(done++, v);
      out_ += op_setitems;
    }
  }

  void save_entry(std::size_t i, const value& v) {
    save_item(v.entries[i].first);
    save_item(v.entries[i].second);
  }

  void save_item(const value_ptr& item) {
    if (!item) {
      out_ += op_none;
      return;
    }
    save(*item);
  }

  // An empty OrderedDict, a new one for each tensor as torch's __reduce_ex__ makes it.
  void save_backward_hooks() {
    save_global("collections", "OrderedDict");
    out_ += op_empty_tuple;
    out_ += op_reduce;
    memoize_key(&fresh_.emplace_back());
  }

  // A tensor as Tensor.__reduce_ex__ writes it; a parameter wraps a new tensor of the same
  // storage (Parameter.data), which is not requires_grad itself.
  void save_tensor(const value& v, const void* identity) {
    const tensor& t = v.tensor;
    if (t.parameter) {
      save_global("torch._utils", "_rebuild_parameter");
      save_rebuilt_tensor(t, false, &fresh_.emplace_back());
      out_ += t.requires_grad ? op_true : op_false;
      save_backward_hooks();
      out_ += op_tuple3;
      memoize_key(&fresh_.emplace_back());
      out_ += op_reduce;
      memoize_key(identity);
      return;
    }
    save_rebuilt_tensor(t, t.requires_grad, identity);
  }

  void save_rebuilt_tensor(const tensor& t, bool requires_grad, const void* identity) {
    if (!t.data) throw data_error("pickle: a tensor without a storage");
    save_global("torch._utils", "_rebuild_tensor_v2");
    out_ += op_mark;
    // The persistent id, a new tuple each time, of the storage's one key string: a key names
    // one storage (its record), however many storage values a reader made of it.
    out_ += op_mark;
    save_shared_text(constants_, storage_tag, storage_tag);
    save_global("torch", t.data->storage_type);
    save_shared_text(storage_keys_, t.data->key, t.data->key);
    save_shared_text(locations_, t.data->location, t.data->location);
    save_uint(t.data->numel);
    out_ += op_tuple;
    memoize_key(&fresh_.emplace_back());
    out_ += op_binpersid;
    save_uint(t.offset);
    save_shape(t.size);
    save_shape(t.stride);
    out_ += requires_grad ? op_true : op_false;
    save_backward_hooks();
    out_ += op_tuple;
    memoize_key(&fresh_.emplace_back());
    out_ += op_reduce;
    memoize_key(identity);
  }

  void save_uint(std::uint64_t n) {
    if (n > static_cast<std::uint64_t>(INT64_MAX)) throw data_error("pickle: a size past int64");
    save_int(static_cast<std::int64_t>(n));
  }

  void save_shape(const std::vector<std::uint64_t>& dims) {
    if (dims.empty()) {
      out_ += op_empty_tuple;
      return;
    }
    if (dims.size() > 3) out_ += op_mark;
    for (std::uint64_t d : dims) save_uint(d);
    static constexpr char sized[] = {op_tuple1, op_tuple2, op_tuple3};
    out_ += dims.size() > 3 ? op_tuple : sized[dims.size() - 1];
    memoize_key(&fresh_.emplace_back());
  }

  std::string out_;
  std::unordered_map<const void*, std::uint32_t> memo_;
  std::unordered_map<std::string, char> globals_;
  std::unordered_map<std::string, char> constants_;
  std::unordered_map<std::string, char> locations_;
  std::unordered_map<std::string, char> storage_keys_;
  // Objects made while pickling (a tensor's tuples, its hooks), each memoized once and never
  // asked for again: a deque would keep their addresses, and so does a list.
  std::list<char> fresh_;
};

}  // namespace

std::string dump(const value& root) {
  std::unordered_set<const value*> seen;
  pickler p(holds_bytes(root, seen) ? 3 : 2);
  p.save(root);
  return p.finish();
}

}  // namespace bnorm::pickle
