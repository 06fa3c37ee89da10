// SPDX-License-Identifier: Apache-2.0
#include "man_page.hpp"

#include <stdexcept>

#include "bnorm_version.hpp"
#include "command_walk.hpp"
#include "convention.hpp"
#include "manual.hpp"
#include "number_text.hpp"

namespace bnorm::cli {
namespace {

// groff's names for the few characters outside ASCII that the descriptions may use; the man
// page stays ASCII so that every groff reads it the same, whatever its input encoding.
constexpr std::pair<std::string_view, std::string_view> special_characters[] = {
    {"\u2212", "\\-"},       {"\u00b7", "\\[pc]"}, {"\u00d7", "\\[mu]"}, {"\u2264", "\\[<=]"},
    {"\u2265", "\\[>=]"},    {"\u03c3", "\\[*s]"}, {"\u03bc", "\\[*m]"}, {"\u03b3", "\\[*g]"},
    {"\u03b2", "\\[*b]"},    {"\u00b2", "\\[S2]"}, {"\u2014", "\\[em]"}, {"\u2013", "\\[en]"},
    {"\u00b1", "\\[+-]"},    {"\u2192", "\\[->]"}, {"\u221a", "\\[sr]"}, {"\u03a3", "\\[*S]"},
    {"\u2026", "\\&...\\&"},
};

// Text as roff: backslashes and hyphens escaped (an unescaped "-" may print as a hyphen that
// cannot be copied into a shell), other characters by name.
std::string escape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else if (static_cast<unsigned char>(c) < 0x80) {
      out += c;
    } else {
      bool known = false;
      for (const auto& [utf8, name] : special_characters) {
        if (text.substr(i, utf8.size()) == utf8) {
          out += name;
          i += utf8.size();
          known = true;
          break;
        }
      }
      if (!known) {
        throw std::invalid_argument("man page: no roff name for the character in '" +
                                    std::string(text.substr(i, 16)) + "'");
      }
      continue;
    }
    ++i;
  }
  return out;
}

// A control character ("." or "'") at the start of a line would be read as a request.
std::string protect_lines(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    out += c;
    line_start = c == '\n';
  }
  return out;
}

// manual.cpp's inline markup: **bold** and ~~italic~~.
std::string inline_markup(std::string_view text) {
  std::string out;
  bool bold = false, italic = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::string_view mark = text.substr(i, 2);
    if (mark == "**" || mark == "~~") {
      out += escape(text.substr(start, i - start));
      bool& on = mark == "**" ? bold : italic;
      on = !on;
      out += on ? (mark == "**" ? "\\fB" : "\\fI") : "\\fR";
      start = i + 2;
      ++i;
    }
  }
  out += escape(text.substr(start));
  return protect_lines(out);
}

std::vector<std::string_view> split(std::string_view text, std::string_view separator) {
  std::vector<std::string_view> parts;
  for (std::size_t at; (at = text.find(separator)) != std::string_view::npos;) {
    parts.push_back(text.substr(0, at));
    text.remove_prefix(at + separator.size());
  }
  parts.push_back(text);
  return parts;
}

// A section's text: paragraphs, terms with their descriptions, and verbatim examples.
std::string prose(std::string_view text) {
  std::string out;
  for (std::string_view paragraph : split(text, "\n\n")) {
    const std::vector<std::string_view> lines = split(paragraph, "\n");
    bool verbatim = true;
    for (std::string_view line : lines) verbatim = verbatim && line.substr(0, 2) == "  ";
    if (verbatim) {
      out += ".PP\n.RS 4\n.nf\n";
      for (std::string_view line : lines) out += protect_lines(escape(line.substr(2))) + '\n';
      out += ".fi\n.RE\n";
    } else if (paragraph.substr(0, 2) == "@ ") {
      const std::size_t end = paragraph.find('\n');
      out += ".TP\n.B " + escape(paragraph.substr(2, end - 2)) + '\n' +
             inline_markup(paragraph.substr(end + 1)) + '\n';
    } else {
      out += ".PP\n" + inline_markup(paragraph) + '\n';
    }
  }
  return out;
}

// "-o, --output" in bold.
std::string option_names(const CLI::Option& o) {
  std::string out;
  for (const std::string& name : o.get_snames()) {
    out += (out.empty() ? "" : ", ") + std::string("\\fB\\-") + escape(name) + "\\fR";
  }
  for (const std::string& name : o.get_lnames()) {
    out += (out.empty() ? "" : ", ") + std::string("\\fB\\-\\-") + escape(name) + "\\fR";
  }
  return out;
}

// One line of SYNOPSIS: the subcommand, its required options, [options], its positionals.
std::string synopsis(const CLI::App& command) {
  std::string out = "\\fBbnorm " + escape(command.get_name()) + "\\fR";
  std::string positionals;
  for (const CLI::Option* o : options_of(command)) {
    if (is_positional(*o)) {
      const std::string name = "\\fI" + escape(o->get_name(true)) + "\\fR" +
                               (o->get_items_expected_max() > 1 ? "\\&..." : "");
      positionals += ' ' + (o->get_required() ? name : "[" + name + "]");
    } else if (o->get_required()) {
      const std::string name = o->get_snames().empty() ? "\\-\\-" + escape(o->get_lnames()[0])
                                                       : "\\-" + escape(o->get_snames()[0]);
      out += " \\fB" + name + "\\fR \\fI" + escape(o->get_type_name()) + "\\fR";
    }
  }
  return out + " [\\fIoptions\\fR]" + positionals + "\n.br\n";
}

// A description as a sentence of the page: --help's descriptions have no final full stop.
std::string sentence(const std::string& text) {
  return protect_lines(escape(text)) + (text.empty() || text.back() == '.' ? "" : ".");
}

std::string option_entries(const CLI::App& command) {
  std::string out;
  for (const CLI::Option* o : options_of(command)) {
    out += ".TP\n";
    if (is_positional(*o)) {
      out += "\\fI" + escape(o->get_name(true)) + "\\fR";
    } else {
      out += option_names(*o);
      if (!is_flag(*o)) out += " \\fI" + escape(o->get_type_name()) + "\\fR";
    }
    out += '\n' + sentence(o->get_description());
    if (!o->get_default_str().empty()) {
      out += " Default: " + sentence(o->get_default_str());
    }
    if (o->get_required() && !is_positional(*o)) out += " Required.";
    out += '\n';
  }
  return out;
}

// The table of every convention's defaults, from the conventions themselves.
std::string conventions_list() {
  std::string out;
  for (const convention& c : conventions()) {
    std::string text = "eps " + number_text(c.eps);
    if (c.min_eps > 0) text += " (a smaller eps is raised to " + number_text(c.min_eps) + ")";
    text += "; momentum " + number_text(c.momentum) + ", the " + std::string(describe(c.meaning)) +
            "; running_var fed: " + std::string(describe(c.fed_variance)) +
            " variance; channel axis " + std::to_string(c.axis) + "; ranks " +
            std::to_string(c.min_rank) +
            (c.max_rank >= 64 ? " and more" : " to " + std::to_string(c.max_rank));
    if (!c.affine) text += "; no weight and bias";
    if (c.single_value_is_error) text += "; training on one value per channel is an error";
    out += ".TP\n.B " + escape(c.name) + '\n' + protect_lines(escape(text)) + ".\n";
  }
  return out;
}

}  // namespace

std::string man_page(const CLI::App& app) {
  std::string out =
      ".\\\" Generated from bnorm's command-line definitions and src/cli/manual.cpp by\n"
      ".\\\" bnorm_docs; edit those, not this file.\n"
      ".TH BNORM 1 \"\" \"bnorm " BNORM_VERSION
      "\" \"User Commands\"\n"
      // No hyphenation: a flag broken as --momen- / tum cannot be copied from the page.
      ".nh\n"
      ".SH NAME\n"
      "bnorm \\- " +
      escape(manual_summary) +
      "\n"
      ".SH SYNOPSIS\n";
  for (const CLI::App* command : subcommands_of(app)) {
    if (command->get_name() != "help") out += synopsis(*command);
  }
  out +=
      "\\fBbnorm help\\fR [\\fISUBCOMMAND\\fR]\n.br\n"
      "\\fBbnorm \\-\\-help\\fR | \\fB\\-\\-version\\fR\n";
  for (const manual_section& section : manual_introduction()) {
    out += ".SH " + std::string(section.title) + '\n' + prose(section.text);
  }

  out += ".SH OPTIONS\n.SS bnorm\n" + option_entries(app);
  for (const CLI::App* command : subcommands_of(app)) {
    out += ".SS bnorm " + escape(command->get_name()) + '\n' + ".PP\n" +
           protect_lines(escape(command->get_description())) + '\n' + option_entries(*command);
  }

  out += ".SH CONVENTIONS\n" + prose(manual_conventions) + conventions_list();
  for (const manual_section& section : manual_reference()) {
    out += ".SH " + std::string(section.title) + '\n' + prose(section.text);
  }
  return out;
}

}  // namespace bnorm::cli
