// bnorm's entry point: parse the command line, run one subcommand, and turn every error into
// one line on stderr and its exit status.  Nothing else in bnorm prints an error or exits.
#include <CLI/CLI.hpp>
#include <csignal>
#include <functional>
#include <iostream>
#include <new>

#include "apply_command.hpp"
#include "backward_command.hpp"
#include "compare_command.hpp"
#include "convert_command.hpp"
#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "fold_command.hpp"
#include "merge_command.hpp"
#include "stats_command.hpp"

namespace {

constexpr const char* version = "0.1.0";

// On SIGINT, SIGTERM, SIGHUP or SIGPIPE: remove the temporaries of unfinished outputs, then die of
// the same signal, so that the caller sees how the run ended and no target is touched.
void on_terminating_signal(int signal_number) {
  bnorm::remove_temporaries();
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

int report(const char* what, int status) {
  std::cerr << "bnorm: error: " << what << '\n';
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bnorm::cli;
  CLI::App app{
      "bnorm: batch normalization for tensor files, as PyTorch, Keras and ONNX compute it.",
      "bnorm"};
  app.set_version_flag("--version", std::string("bnorm ") + version);
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 ok, 1 compare found differences, 2 usage error, 3 invalid data, "
      "4 I/O error.");

  // SIGPIPE too: a closed pipe on standard output ends the run quietly, as it ends cat's,
  // and the temporaries of other outputs go with it.
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
    std::signal(signal_number, on_terminating_signal);
  }

  // Each subcommand's options, filled by the parser, and how to run it.
  apply_options apply;
  stats_options stats;
  compare_options compare;
  convert_options convert;
  merge_options merge;
  backward_options backward;
  fold_options fold;
  const std::pair<CLI::App*, std::function<int()>> subcommands[] = {
      {add_apply_command(app, apply), [&] { return run_apply(apply); }},
      {add_stats_command(app, stats), [&] { return run_stats(stats); }},
      {add_compare_command(app, compare), [&] { return run_compare(compare); }},
      {add_convert_command(app, convert), [&] { return run_convert(convert); }},
      {add_merge_command(app, merge), [&] { return run_merge(merge); }},
      {add_backward_command(app, backward), [&] { return run_backward(backward); }},
      {add_fold_command(app, fold), [&] { return run_fold(fold); }},
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version: stdout, status 0
    return report(e.what(), exit_usage);
  }

  try {
    for (const auto& [command, run] : subcommands) {
      if (command->parsed()) return run();
    }
    return exit_usage;
  } catch (const bnorm::usage_error& e) {
    return report(e.what(), exit_usage);
  } catch (const bnorm::data_error& e) {
    return report(e.what(), exit_data);
  } catch (const bnorm::io_error& e) {
    return report(e.what(), exit_io);
  } catch (const std::bad_alloc&) {
    return report("out of memory", exit_io);
  }
}
