// bnorm's entry point: parse the command line, run one subcommand, and turn every error into
// one line on stderr and its exit status.  Nothing else in bnorm prints an error or exits.
#include <CLI/CLI.hpp>
#include <csignal>
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

  apply_options apply;
  CLI::App* apply_cmd = add_apply_command(app, apply);
  stats_options stats;
  CLI::App* stats_cmd = add_stats_command(app, stats);
  compare_options compare;
  CLI::App* compare_cmd = add_compare_command(app, compare);
  convert_options convert;
  CLI::App* convert_cmd = add_convert_command(app, convert);
  merge_options merge;
  CLI::App* merge_cmd = add_merge_command(app, merge);
  backward_options backward;
  CLI::App* backward_cmd = add_backward_command(app, backward);
  fold_options fold;
  CLI::App* fold_cmd = add_fold_command(app, fold);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version: stdout, status 0
    return report(e.what(), exit_usage);
  }

  try {
    if (apply_cmd->parsed()) return run_apply(apply);
    if (stats_cmd->parsed()) return run_stats(stats);
    if (compare_cmd->parsed()) return run_compare(compare);
    if (convert_cmd->parsed()) return run_convert(convert);
    if (merge_cmd->parsed()) return run_merge(merge);
    if (backward_cmd->parsed()) return run_backward(backward);
    if (fold_cmd->parsed()) return run_fold(fold);
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
