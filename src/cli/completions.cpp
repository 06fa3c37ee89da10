// SPDX-License-Identifier: Apache-2.0
#include "completions.hpp"

#include "command_walk.hpp"

namespace bnorm::cli {
namespace {

std::string joined(const std::vector<std::string>& words, const char* separator = " ") {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : separator) + w;
  return out;
}

std::vector<std::string> option_words(const CLI::Option& o) {
  std::vector<std::string> words;
  for (const std::string& s : o.get_snames()) words.push_back("-" + s);
  for (const std::string& l : o.get_lnames()) words.push_back("--" + l);
  return words;
}

std::vector<std::string> subcommand_words(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* command : subcommands_of(app)) names.push_back(command->get_name());
  return names;
}

// One subcommand's branch of the bash function: what follows an option that takes a value,
// then the words it offers.
std::string bash_branch(const CLI::App& command) {
  std::string values, files, free, words;
  bool positional_files = false;
  for (const CLI::Option* o : options_of(command)) {
    if (is_positional(*o)) {
      positional_files = positional_files || takes_file(*o);
      continue;
    }
    const std::string names = joined(option_words(*o), "|");
    words += (words.empty() ? "" : " ") + joined(option_words(*o));
    if (is_flag(*o)) continue;
    if (const auto choices = value_choices(*o); !choices.empty()) {
      values += "        " + names + ") COMPREPLY=($(compgen -W '" + joined(choices) +
                "' -- \"$cur\")); return ;;\n";
    } else if (takes_file(*o)) {
      files += (files.empty() ? "" : "|") + names;
    } else {
      free += (free.empty() ? "" : "|") + names;
    }
  }
  std::string out = "    " + command.get_name() + ")\n      case $prev in\n" + values;
  if (!files.empty()) out += "        " + files + ") _bnorm_files; return ;;\n";
  if (!free.empty()) out += "        " + free + ") return ;;  # a number: nothing to offer\n";
  out += "      esac\n      words='" + words + "'\n";
  if (command.get_name() == "help") {
    out += "      operands=subcommands\n";
  } else if (positional_files) {
    out += "      operands=files\n";
  }
  return out + "      ;;\n";
}

// zsh's _arguments specs escape ':', '[' and ']' and sit in single quotes.
std::string zsh_text(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == ':' || c == '[' || c == ']' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

std::string zsh_action(const CLI::Option& o) {
  if (const auto choices = value_choices(o); !choices.empty()) return "(" + joined(choices) + ")";
  if (takes_file(o)) return "_files";
  return " ";
}

std::string zsh_arguments(const CLI::App& command) {
  std::string out = "      _arguments -s -S \\\n";
  for (const CLI::Option* o : options_of(command)) {
    const std::string description = zsh_text(o->get_description());
    if (is_positional(*o)) {
      const std::string action = command.get_name() == "help" ? "->subcommands"
                                 : takes_file(*o)             ? "_files"
                                                              : " ";
      const bool many = o->get_items_expected_max() > 1;
      out += "        '" + std::string(many ? "*" : "") + (o->get_required() ? ":" : "::") +
             zsh_text(o->get_name(true)) + ":" + action + "' \\\n";
      continue;
    }
    const std::vector<std::string> names = option_words(*o);
    const std::string exclusive = names.size() > 1 ? "(" + joined(names) + ")" : "";
    for (const std::string& name : names) {
      std::string spec = exclusive + name;
      if (!is_flag(*o)) spec += name.size() == 2 ? "+" : "=";
      spec += "[" + description + "]";
      if (!is_flag(*o)) spec += ":" + zsh_text(o->get_type_name()) + ":" + zsh_action(*o);
      out += "        '" + spec + "' \\\n";
    }
  }
  return out + "        && ret=0\n";
}

}  // namespace

std::string bash_completion(const CLI::App& app) {
  const std::string subcommands = joined(subcommand_words(app));
  std::string top_words;
  for (const CLI::Option* o : options_of(app)) {
    top_words += (top_words.empty() ? "" : " ") + joined(option_words(*o));
  }
  std::string out =
      "# bash completion for bnorm.  Generated from bnorm's command-line definitions by\n"
      "# bnorm_docs; edit those, not this file.\n"
      "\n"
      "_bnorm_files() {\n"
      "  # The word as the shell will read it: 'my f, \"my f and my\\ f all mean my f.\n"
      "  local word=$cur\n"
      "  case $word in\n"
      "    \\'*) word=${word#\\'} ;;\n"
      "    \\\"*) word=${word#\\\"} ;;\n"
      "    *) word=${word//\\\\/} ;;\n"
      "  esac\n"
      "  # mapfile, not COMPREPLY=($(...)): names are not split or globbed (a[1].x).\n"
      "  mapfile -t COMPREPLY < <(compgen -f -- \"$word\")\n"
      "  compopt -o filenames 2>/dev/null\n"
      "}\n"
      "\n"
      "_bnorm() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
      "  # --option=value: bash splits at '=' (COMP_WORDBREAKS).\n"
      "  if [[ $cur == = ]]; then\n"
      "    cur=''\n"
      "  elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then\n"
      "    prev=${COMP_WORDS[COMP_CWORD - 2]}\n"
      "  fi\n"
      "  local subcommand='' i\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case ${COMP_WORDS[i]} in\n"
      "      " +
      joined(subcommand_words(app), "|") +
      ") subcommand=${COMP_WORDS[i]}; break ;;\n"
      "    esac\n"
      "  done\n"
      "  local words='' operands=''\n"
      "  case $subcommand in\n"
      "    '') words='" +
      top_words + "'; operands=subcommands ;;\n";
  for (const CLI::App* command : subcommands_of(app)) out += bash_branch(*command);
  out +=
      "  esac\n"
      "  if [[ $cur == -* ]]; then\n"
      "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      "  elif [[ $operands == subcommands ]]; then\n"
      "    COMPREPLY=($(compgen -W '" +
      subcommands +
      "' -- \"$cur\"))\n"
      "  elif [[ $operands == files ]]; then\n"
      "    _bnorm_files\n"
      "  fi\n"
      "}\n"
      "complete -F _bnorm bnorm\n";
  return out;
}

std::string zsh_completion(const CLI::App& app) {
  std::string out =
      "#compdef bnorm\n"
      "# zsh completion for bnorm.  Generated from bnorm's command-line definitions by\n"
      "# bnorm_docs; edit those, not this file.\n"
      "\n"
      "_bnorm() {\n"
      "  local curcontext=$curcontext state state_descr line ret=1\n"
      "  typeset -A opt_args\n"
      "  local -a subcommands=(\n";
  for (const CLI::App* command : subcommands_of(app)) {
    out += "    '" + zsh_text(command->get_name()) + ":" + zsh_text(command->get_description()) +
           "'\n";
  }
  out +=
      "  )\n"
      "  _arguments -C \\\n";
  for (const CLI::Option* o : options_of(app)) {
    const std::vector<std::string> names = option_words(*o);
    for (const std::string& name : names) {
      out += "    '(- *)" + name + "[" + zsh_text(o->get_description()) + "]' \\\n";
    }
  }
  out +=
      "    '1:subcommand:->subcommands' \\\n"
      "    '*::argument:->arguments' && ret=0\n"
      "  case $state in\n"
      "    subcommands)\n"
      "      _describe -t subcommands 'bnorm subcommand' subcommands && ret=0\n"
      "      ;;\n"
      "    arguments)\n"
      "      curcontext=${curcontext%:*:*}:bnorm-$words[1]:\n"
      "      case $words[1] in\n";
  for (const CLI::App* command : subcommands_of(app)) {
    out += "        " + command->get_name() + ")\n" + zsh_arguments(*command) + "          ;;\n";
  }
  out +=
      "      esac\n"
      "      if [[ $state == subcommands ]]; then\n"
      "        _describe -t subcommands 'bnorm subcommand' subcommands && ret=0\n"
      "      fi\n"
      "      ;;\n"
      "  esac\n"
      "  return ret\n"
      "}\n"
      "\n"
      "_bnorm \"$@\"\n";
  return out;
}

}  // namespace bnorm::cli
