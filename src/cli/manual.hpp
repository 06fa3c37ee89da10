// SPDX-License-Identifier: Apache-2.0
// The prose of bnorm's manual: the one source of the man page's hand-written sections and of
// the sentences --help shares with it.  The options themselves are documented where they are
// defined (the add_*_command functions), and the man page takes them from there.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace bnorm::cli {

/// What bnorm is, in one line: the man page's NAME and the first line of --help.
extern const std::string_view manual_summary;

/// The exit statuses in one line: --help's footer.
extern const std::string_view manual_exit_status_line;

/// One section of the man page.  Text markup, kept small so that --help can print it too:
/// paragraphs are separated by a blank line; a paragraph starting "@ TERM\n" is a term and its
/// description; a paragraph whose lines all start with two spaces is shown verbatim (an
/// example); **text** is bold and ~~text~~ italic.
struct manual_section {
  std::string_view title;
  std::string_view text;
};

/// The sections before OPTIONS (DESCRIPTION).
std::span<const manual_section> manual_introduction();

/// The text of CONVENTIONS before its generated table of defaults.
extern const std::string_view manual_conventions;

/// The sections after CONVENTIONS (FILES, ENVIRONMENT, EXIT STATUS, EXAMPLES, SEE ALSO).
std::span<const manual_section> manual_reference();

/// Removes the markup, for a terminal.
std::string plain_text(std::string_view marked_up);

}  // namespace bnorm::cli
