// SPDX-License-Identifier: Apache-2.0
// bnorm's entry point; the run is entry_point.cpp's.
#include "entry_point.hpp"

int main(int argc, char** argv) {
  return bnorm::cli::run_command_line(argc, argv);
}
