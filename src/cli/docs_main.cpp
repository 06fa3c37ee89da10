// SPDX-License-Identifier: Apache-2.0
// bnorm_docs: writes the man page and the shell completions from the command line's own
// definitions, at build time, so that none of them can drift from --help.
//   bnorm_docs FOLDER   writes FOLDER/bnorm.1, FOLDER/bnorm.bash and FOLDER/_bnorm
#include <algorithm>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "completions.hpp"
#include "man_page.hpp"

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: bnorm_docs FOLDER\n";
    return 2;
  }
  try {
    const bnorm::cli::command_line cli;
    // main() builds only the subcommand its first argument names, from subcommand_names:
    // the build fails here if that list and the parser ever disagree.
    std::vector<std::string> names;
    for (const auto& [command, run] : cli.subcommands) names.push_back(command->get_name());
    if (!std::equal(names.begin(), names.end(), std::begin(bnorm::cli::subcommand_names),
                    std::end(bnorm::cli::subcommand_names))) {
      throw std::runtime_error("subcommand_names does not list the parser's subcommands");
    }
    const std::string folder = argv[1];
    write(folder + "/bnorm.1", bnorm::cli::man_page(cli.app));
    write(folder + "/bnorm.bash", bnorm::cli::bash_completion(cli.app));
    write(folder + "/_bnorm", bnorm::cli::zsh_completion(cli.app));
  } catch (const std::exception& e) {
    std::cerr << "bnorm_docs: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
