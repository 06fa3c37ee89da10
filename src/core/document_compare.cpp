// SPDX-License-Identifier: Apache-2.0
#include "document_compare.hpp"

#include <string_view>
#include <unordered_map>

#include "count_text.hpp"
#include "number_format.hpp"

namespace bnorm {
namespace {

using json = nlohmann::ordered_json;

std::string show(const json& value) {
  if (value.is_number_float()) return format_number(value.get<double>(), dtype::float64());
  const std::string text = value.dump();
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

const char* kind(const json& value) {
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "an array";
  if (value.is_object()) return "an object";
  if (value.is_boolean()) return "a boolean";
  return "null";
}

struct compare_rules {
  const tolerance& tol;
  bool ignore_extra_keys;
};

void compare(const json& a, const json& e, const std::string& path, const compare_rules& rules,
             std::vector<document_difference>& out) {
  const tolerance& tol = rules.tol;
  const std::string where = path.empty() ? "(top level)" : path;
  if (a.is_number() && e.is_number()) {
    if (a.is_number_float() || e.is_number_float()) {
      if (!values_match(a.get<double>(), e.get<double>(), tol)) {
        out.push_back({where, show(a) + " != " + show(e)});
      }
    } else if (a != e) {
      out.push_back({where, show(a) + " != " + show(e) + " (integers compare exactly)"});
    }
    return;
  }
  if (a.type() != e.type()) {
    out.push_back({where, std::string(kind(a)) + " where " + kind(e) + " was expected"});
    return;
  }
  if (a.is_array()) {
    if (a.size() != e.size()) {
      out.push_back(
          {where, count_text(a.size(), "element") + ", expected " + std::to_string(e.size())});
      return;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      compare(a[i], e[i], path + "[" + std::to_string(i) + "]", rules, out);
    }
    return;
  }
  if (a.is_object()) {
    // ordered_json finds keys by scanning: index both sides once.
    std::unordered_map<std::string_view, const json*> in_actual, in_expected;
    for (const auto& [key, value] : a.items()) in_actual.emplace(key, &value);
    for (const auto& [key, value] : e.items()) in_expected.emplace(key, &value);
    const std::string prefix = path.empty() ? "" : path + ".";
    for (const auto& [key, value] : e.items()) {
      const auto found = in_actual.find(key);
      if (found == in_actual.end()) {
        out.push_back({prefix + key, "missing (expected " + show(value) + ")"});
      } else {
        compare(*found->second, value, prefix + key, rules, out);
      }
    }
    if (rules.ignore_extra_keys) return;
    for (const auto& [key, value] : a.items()) {
      if (!in_expected.contains(key)) {
        out.push_back({prefix + key, "unexpected key (" + show(value) + ")"});
      }
    }
    return;
  }
  if (a != e) out.push_back({where, show(a) + " != " + show(e)});
}

}  // namespace

std::vector<document_difference> compare_documents(const json& actual, const json& expected,
                                                   const tolerance& tol, bool ignore_extra_keys) {
  std::vector<document_difference> differences;
  compare(actual, expected, "", compare_rules{tol, ignore_extra_keys}, differences);
  return differences;
}

}  // namespace bnorm
