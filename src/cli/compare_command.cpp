// SPDX-License-Identifier: Apache-2.0
#include "compare_command.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>

#include "count_text.hpp"
#include "document_compare.hpp"
#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "formats/registry.hpp"
#include "fortran_order.hpp"
#include "json_document.hpp"
#include "number_text.hpp"
#include "output_paths.hpp"
#include "parse_number.hpp"
#include "quoted_name.hpp"
#include "tensor_compare.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr std::size_t compare_chunk = 1 << 16;

// One of the two files.  Each is opened once, since a FIFO or /dev/stdin cannot be opened
// again: where the name says a format of tensors, when its tensor is read; else at once, to
// tell a document from a tensor by its first bytes.
struct compared_file {
  std::string path;
  const codec* named = nullptr;   // the format its name says, if any
  opened_input input;             // open when the name did not settle what it holds
  bool document = false;          // a statistics or state document
  const codec* format = nullptr;  // the format its tensors were read in
  read_options reading;           // --missing

  compared_file(const std::string& file, const read_options& asked)
      : path(file), named(codec_for_path(file)), reading(asked) {
    if (named && !named->holds_documents) return;
    input = open_input(path);
    // In the documents' format, an object is a document and an array a tensor.
    const std::string_view head = input.file->peek(sniff_size);
    const std::size_t first = head.find_first_not_of(" \t\r\n");
    document =
        input.format->holds_documents && first != std::string_view::npos && head[first] == '{';
  }

  /// Whether its tensors have names (a --tensor to pick), as far as the name tells.
  bool may_name_tensors() const { return !named || named->holds_many; }

  std::unique_ptr<tensor_archive> open_tensors(bool& typed) {
    if (!input.file) input = open_input(path);
    typed = input.format->keeps_dtype;
    format = input.format;
    return input.format->open(std::move(input.file), reading);
  }
};

void write_stdout(const std::string& text) {
  output_file out{std::string(standard_stream)};
  out.write(text);
  out.commit();
}

// The C-order position of file position `p` (Fortran files list the first axis fastest).
std::size_t c_position(std::size_t p, const tensor_info& info) {
  if (!info.fortran_order || info.shape.size() < 2) return p;
  std::size_t c = 0, stride = 1;
  std::vector<std::size_t> index(info.shape.size());
  for (std::size_t d = 0; d < info.shape.size(); ++d) {
    if (info.shape[d] == 0) return 0;  // an empty tensor has no positions
    index[d] = p % info.shape[d];
    p /= info.shape[d];
  }
  for (std::size_t d = info.shape.size(); d-- > 0;) {
    c += index[d] * stride;
    stride *= info.shape[d];
  }
  return c;
}

// Reads a whole tensor in C order (Fortran files are transposed).
std::vector<double> read_c_order(const tensor_source& source) {
  const tensor_info& info = source.info();
  std::vector<double> file_order(info.element_count());
  source.read_at(0, file_order);
  if (!info.fortran_order || info.shape.size() < 2) return file_order;
  return fortran_to_c_order(file_order, info.shape);
}

tolerance make_tolerance(const compare_options& o) {
  tolerance tol;
  tol.rtol = parse_finite(o.rtol, "--rtol");
  tol.atol = parse_finite(o.atol, "--atol");
  if (tol.rtol < 0) throw usage_error("--rtol must be at least 0, not '" + o.rtol + "'");
  if (tol.atol < 0) throw usage_error("--atol must be at least 0, not '" + o.atol + "'");
  if (!o.ulp.empty()) {
    const long long ulp = parse_integer(o.ulp, "--ulp");
    if (ulp < 0) throw usage_error("--ulp must be at least 0, not '" + o.ulp + "'");
    tol.ulp = static_cast<std::uint64_t>(ulp);
  }
  tol.equal_nan = o.equal_nan;
  return tol;
}

// "rtol 1e-05, atol 1e-08" or "4 ulp of float32", and how NaN compares.
std::string describe_tolerance(const tolerance& tol) {
  std::string text = tol.ulp ? std::to_string(*tol.ulp) + " ulp of " + name_of(tol.ulp_type)
                             : "rtol " + number_text(tol.rtol) + ", atol " + number_text(tol.atol);
  if (tol.equal_nan) text += ", NaN equal to NaN";
  return text;
}

int compare_documents_command(const compare_run& o, compared_file& a, compared_file& e) {
  const tolerance& tol = o.tol;
  const auto load = [](compared_file& file) {
    const std::string text = file.input.file->read_all();
    try {
      return parse_json_document(text);
    } catch (const data_error& error) {
      throw data_error(input_name(file.path) + ": " + error.what());
    }
  };
  const json actual = load(a), expected = load(e);
  if (!o.tensor.empty()) {
    throw usage_error(tensor_flag_scope() + ", not of " + o.actual + " and " + o.expected +
                      ", statistics/state files");
  }
  const std::vector<document_difference> differences =
      compare_documents(actual, expected, tol, o.ignore_extra_keys);
  if (o.report == compare_report::json) {
    json report;
    report["equal"] = differences.empty();
    report["kind"] = "document";
    json list = json::array();
    for (const auto& d : differences) list.push_back({{"path", d.path}, {"what", d.what}});
    report["differences"] = list;
    write_stdout(format_json_document(report));
  } else if (differences.empty()) {
    write_stdout(o.actual + " and " + o.expected + " match within " + describe_tolerance(tol) +
                 "\n");
  } else {
    std::string text = o.actual + " and " + o.expected + " differ in " +
                       count_text(differences.size(), "place") + " beyond " +
                       describe_tolerance(tol) + ":\n";
    for (const auto& d : differences) text += "  " + d.path + ": " + d.what + "\n";
    write_stdout(text);
  }
  return differences.empty() ? exit_ok : exit_different;
}

int compare_tensors_command(const compare_run& o, compared_file& actual_path,
                            compared_file& expected_path) {
  tolerance tol = o.tol;
  // --tensor names the tensor in whichever of the two files holds several.
  const auto refuse_tensor_flag = [&] {
    throw usage_error(tensor_flag_scope() + ", and neither " + o.actual + " nor " + o.expected +
                      " is one");
  };
  if (!o.tensor.empty() && !actual_path.may_name_tensors() && !expected_path.may_name_tensors()) {
    refuse_tensor_flag();
  }
  if (o.ignore_extra_keys) {
    throw usage_error("--ignore-extra-keys applies to statistics/state files, not to tensors (" +
                      o.actual + ", " + o.expected + ")");
  }
  bool actual_typed = false, expected_typed = false;
  const auto actual_file = actual_path.open_tensors(actual_typed);
  const auto expected_file = expected_path.open_tensors(expected_typed);
  const bool actual_named = actual_file->names_tensors();
  const bool expected_named = expected_file->names_tensors();
  if (!o.tensor.empty() && !actual_named && !expected_named) refuse_tensor_flag();
  const auto actual = pick_tensor(*actual_file, actual_named ? o.tensor : "");
  const auto expected = pick_tensor(*expected_file, expected_named ? o.tensor : "");
  const tensor_info& a = actual->info();
  const tensor_info& e = expected->info();
  tol.ulp_type = output_type_for(e.type);

  json report;
  std::string text;
  const auto shape_text = [](const tensor_info& i) { return shape_to_string(i.shape); };
  if (a.shape != e.shape) {
    report["equal"] = false;
    report["kind"] = "tensor";
    report["shape"] = {{"actual", a.shape}, {"expected", e.shape}};
    text = o.actual + " and " + o.expected + " differ in shape: " + shape_text(a) + " vs " +
           shape_text(e) + "\n";
    write_stdout(o.report == compare_report::json ? format_json_document(report) : text);
    return exit_different;
  }
  // A format that keeps dtypes says one; JSON's numbers carry none, so a JSON file never
  // disagrees on one.  Byte order is how a file stores its type, not the type.
  const bool dtype_differs =
      actual_typed && expected_typed && (a.type.kind != e.type.kind || a.type.size != e.type.size);
  // "JSON (no dtype)", "CSV (no dtype)": the format's word from "a JSON file".
  const auto type_text = [](bool typed, const tensor_info& i, const codec* format) {
    if (typed) return name_of(i.type);
    std::string_view word = format->a_file;
    word.remove_prefix(word.find(' ') + 1);
    word = word.substr(0, word.rfind(' '));
    return std::string(word) + " (no dtype)";
  };
  const auto type_json = [](bool typed, const tensor_info& i) {
    return typed ? json(name_of(i.type)) : json(nullptr);
  };

  // Same memory order: stream both in file order.  Different orders: compare in C order.
  tensor_comparator comparator(tol);
  const std::size_t count = a.element_count();
  const bool same_order = a.fortran_order == e.fortran_order || a.shape.size() < 2;
  if (same_order) {
    std::vector<double> x(std::min(compare_chunk, count)), y(x.size());
    for (std::size_t p = 0; p < count; p += x.size()) {
      const std::size_t n = std::min(x.size(), count - p);
      actual->read_at(p, std::span<double>(x.data(), n));
      expected->read_at(p, std::span<double>(y.data(), n));
      comparator.add(std::span<const double>(x.data(), n), std::span<const double>(y.data(), n));
    }
  } else {
    comparator.add(read_c_order(*actual), read_c_order(*expected));
  }
  comparison r = comparator.result();
  // Positions are in the files' order; report indices.
  const tensor_info order = same_order ? a : tensor_info{a.type, a.shape, false};
  // A table's columns are named by its header (either file's): an index names its column.
  const std::vector<std::string>& names =
      !a.channel_names.empty() ? a.channel_names : e.channel_names;
  const auto index = [&](std::size_t p) {
    const std::size_t c = c_position(p, order);
    std::string at = index_to_string(c, a.shape);
    if (!names.empty() && a.shape.size() > 0 && a.shape.back() == names.size()) {
      at += " (" + quoted_name(names[c % names.size()]) + ")";
    }
    return at;
  };
  const auto index_json = [&](std::size_t p) {
    std::vector<std::size_t> i(a.shape.size());
    std::size_t c = c_position(p, order);
    for (std::size_t d = a.shape.size(); d-- > 0;) {
      if (a.shape[d] == 0) break;  // an empty tensor: index zeros
      i[d] = c % a.shape[d];
      c /= a.shape[d];
    }
    return i;
  };
  const bool equal = r.mismatched == 0 && !dtype_differs;

  if (o.report == compare_report::json) {
    report["equal"] = equal;
    report["kind"] = "tensor";
    report["shape"] = a.shape;
    if (!names.empty()) report["channel_names"] = names;
    report["dtype"] = {{"actual", type_json(actual_typed, a)},
                       {"expected", type_json(expected_typed, e)}};
    report["dtypes_differ"] = dtype_differs;
    report["rtol"] = tol.rtol;
    report["atol"] = tol.atol;
    if (tol.ulp) report["ulp"] = *tol.ulp;
    report["equal_nan"] = tol.equal_nan;
    report["compared"] = r.compared;
    report["mismatched"] = r.mismatched;
    report["nonfinite_mismatched"] = r.nonfinite_mismatched;
    report["fraction"] =
        r.compared == 0 ? 0.0 : static_cast<double>(r.mismatched) / static_cast<double>(r.compared);
    report["max_abs_error"] = {{"value", r.max_abs_error},
                               {"index", index_json(r.max_abs_position)}};
    report["max_rel_error"] = {{"value", r.max_rel_error},
                               {"index", index_json(r.max_rel_position)}};
    json list = json::array();
    for (const mismatch& m : r.first) {
      list.push_back(
          {{"index", index_json(m.position)}, {"actual", m.actual}, {"expected", m.expected}});
    }
    report["mismatches"] = list;
    write_stdout(format_json_document(report));
    return equal ? exit_ok : exit_different;
  }

  char percent[32];
  std::snprintf(percent, sizeof percent, "%.3g%%",
                r.compared == 0
                    ? 0.0
                    : 100.0 * static_cast<double>(r.mismatched) / static_cast<double>(r.compared));
  const std::string actual_type = type_text(actual_typed, a, actual_path.format);
  const std::string expected_type = type_text(expected_typed, e, expected_path.format);
  text = o.actual + " vs " + o.expected + ": shape " + shape_text(a) + ", " + actual_type;
  if (actual_type != expected_type) text += " vs " + expected_type;
  text += "\n";
  if (dtype_differs) text += "dtypes differ: " + name_of(a.type) + " vs " + name_of(e.type) + "\n";
  if (r.mismatched == 0) {
    text += (r.compared == 1 ? std::string("the 1 element matches")
                             : "all " + std::to_string(r.compared) + " elements match") +
            " within " + describe_tolerance(tol) + "\n";
  } else {
    text += std::to_string(r.mismatched) + " of " + count_text(r.compared, "element") + " (" +
            percent + ") " + (r.mismatched == 1 ? "differs" : "differ") + " beyond " +
            describe_tolerance(tol) + "\n";
  }
  if (r.first_nonfinite) {
    const mismatch& m = *r.first_nonfinite;
    text += "mismatches with NaN or an infinity: " + std::to_string(r.nonfinite_mismatched) +
            ", the first at " + index(m.position) + ": " + number_text(m.actual) + ", expected " +
            number_text(m.expected) + "\n";
  }
  text +=
      "max abs error " + number_text(r.max_abs_error) + " at " + index(r.max_abs_position) + "\n";
  text +=
      "max rel error " + number_text(r.max_rel_error) + " at " + index(r.max_rel_position) + "\n";
  if (!r.first.empty()) {
    text += "first mismatches (index: actual, expected):\n";
    for (const mismatch& m : r.first) {
      text += "  " + index(m.position) + ": " + number_text(m.actual) + ", " +
              number_text(m.expected) + "\n";
    }
  }
  write_stdout(text);
  return equal ? exit_ok : exit_different;
}

}  // namespace

CLI::App* add_compare_command(CLI::App& app, compare_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Compare two tensors, or two statistics/state files, within a tolerance: exit 0 when they "
      "match, 1 when they differ.");
  cmd->add_option("ACTUAL", o.actual,
                  "Tensor (" + extension_names(", ") + ") or statistics/state file (" +
                      document_extensions() + ")")
      ->type_name("FILE")
      ->required();
  cmd->add_option("EXPECTED", o.expected, "What ACTUAL should be")->type_name("FILE")->required();
  add_missing_option(cmd, o.missing);
  add_tensor_option(cmd, o.tensor, "ACTUAL or EXPECTED");
  CLI::Option* rtol =
      cmd->add_option("--rtol", o.rtol, "Relative tolerance: |a - e| <= atol + rtol*|e|")
          ->type_name("R")
          ->capture_default_str();
  CLI::Option* atol = cmd->add_option("--atol", o.atol, "Absolute tolerance")
                          ->type_name("A")
                          ->capture_default_str();
  cmd->add_option("--ulp", o.ulp,
                  "Instead of --rtol and --atol: at most N units in the last place of EXPECTED's "
                  "type")
      ->type_name("N")
      ->excludes(rtol)
      ->excludes(atol);
  cmd->add_flag("--equal-nan", o.equal_nan, "NaN matches NaN");
  cmd->add_flag("--ignore-extra-keys", o.ignore_extra_keys,
                "Statistics/state files: keys only ACTUAL has are not differences");
  cmd->add_option("--format", o.format, "Report format")
      ->type_name("text|json")
      ->capture_default_str();
  return cmd;
}

compare_run resolve(const compare_options& o) {
  if (o.format != "text" && o.format != "json") {
    throw usage_error("--format takes text or json, not '" + o.format + "'");
  }
  compare_run run;
  run.tol = make_tolerance(o);
  if (o.actual == standard_stream || o.expected == standard_stream) {
    throw usage_error("compare reads files, not standard input");
  }
  refuse_directory(o.actual);
  refuse_directory(o.expected);
  check_output_paths({{"ACTUAL", o.actual}, {"EXPECTED", o.expected}},
                     {{"the report", std::string(standard_stream)}});
  run.actual = o.actual;
  run.expected = o.expected;
  run.tensor = o.tensor;
  run.reading = resolve_read_options(o.missing);
  run.report = o.format == "json" ? compare_report::json : compare_report::text;
  run.ignore_extra_keys = o.ignore_extra_keys;
  return run;
}

int run_compare(const compare_run& run) {
  compared_file actual(run.actual, run.reading);
  compared_file expected(run.expected, run.reading);
  if (actual.document != expected.document) {
    throw usage_error("cannot compare a tensor with a statistics/state file (" + run.actual + ", " +
                      run.expected + ")");
  }
  return actual.document ? compare_documents_command(run, actual, expected)
                         : compare_tensors_command(run, actual, expected);
}

}  // namespace bnorm::cli
