// SPDX-License-Identifier: Apache-2.0
// CLI11's classes declared, not defined, for the headers that only pass a subcommand or an
// option by pointer or reference: CLI11 is some 10,000 lines of templates, parsed only by the
// files that add options or read them (they include <CLI/CLI.hpp> themselves).
#pragma once

namespace CLI {
class App;
class Option;
}  // namespace CLI
