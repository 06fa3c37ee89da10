// SPDX-License-Identifier: Apache-2.0
// bnorm's run: parse the command line, run one subcommand, and turn every error into one line
// on stderr and its exit status.  Nothing else in bnorm prints an error or exits.
#include "entry_point.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <new>
#include <sstream>
#include <string_view>

#include "advice.hpp"
#include "command_line.hpp"
#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "progress_bar.hpp"
#include "run_feedback.hpp"

namespace {

// On SIGINT, SIGTERM, SIGHUP or SIGPIPE: remove the temporaries of unfinished outputs and the
// progress bar, then die of the same signal, so that the caller sees how the run ended and no
// target is touched.
void on_terminating_signal(int signal_number) {
  bnorm::remove_temporaries();
  bnorm::cli::erase_progress_line_for_signal();
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

int report(const char* what, int status) {
  std::cerr << "bnorm: error: " << what << '\n';
  return status;
}

// The core's error in the words of the subcommand that ran, whose flags it may name.
int report(const bnorm::error& e, const bnorm::cli::command_line& cli, int status) {
  std::string_view subcommand;
  for (const auto& [command, run] : cli.subcommands) {
    if (command->parsed()) subcommand = command->get_name();
  }
  return report(bnorm::cli::advised_message(e, subcommand).c_str(), status);
}

}  // namespace

int bnorm::cli::run_command_line(int argc, char** argv) {
  using namespace bnorm::cli;
  command_line cli(argc > 1 ? argv[1] : "");

  // SIGPIPE too: a closed pipe on standard output ends the run quietly, as it ends cat's,
  // and the temporaries of other outputs go with it.
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
    std::signal(signal_number, on_terminating_signal);
  }

  if (argc > 1 && argv[1][0] != '-' && !cli.names_subcommand(argv[1])) {
    // CLI11 would say only "A subcommand is required".
    return report(("no subcommand '" + std::string(argv[1]) + "': there are " +
                   cli.subcommand_list() + " (see bnorm help)")
                      .c_str(),
                  exit_usage);
  }
  try {
    try {
      cli.app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      if (e.get_exit_code() != 0) return report(e.what(), exit_usage);
      // --help, --version: standard output, status 0, or 4 if it cannot be written.
      std::ostringstream text;
      cli.app.exit(e, text, text);
      write_standard_output(text.str());
      return exit_ok;
    }

    if (cli.help->parsed()) return cli.run_help();
    // The progress bar is gone when an error is reported: it is erased as its pass unwinds.
    const run_feedback feedback(cli.feedback);
    for (const auto& [command, run] : cli.subcommands) {
      if (command->parsed()) return run();
    }
    return exit_usage;
  } catch (const bnorm::usage_error& e) {
    return report(e, cli, exit_usage);
  } catch (const bnorm::data_error& e) {
    return report(e, cli, exit_data);
  } catch (const bnorm::io_error& e) {
    return report(e, cli, exit_io);
  } catch (const std::bad_alloc&) {
    return report("out of memory", exit_io);
  } catch (const std::exception& e) {
    // The system refused something else (a thread, for one): still one line and a status,
    // with the progress bar already erased and the temporaries removed by their owners.
    return report(e.what(), exit_io);
  }
}
