#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The seams of docs/ARCHITECTURE.md, checked on the sources: the layers' includes point one
way, no two files include each other through any path, and the command line spells no tensor
format (npy, npz, safetensors, .onnx, in any case), whose words all come from the registry;
and the public headers (include/bnorm) include only one another, the standard library and
xtensor.
Prints each breach and exits 1 if any."""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2])
SRC = ROOT / "src"

# The core's layers, from the bottom up; a file may include its own layer and those below.
# Files not named here are the foundation (error, dtype, file_io, number_format, ...), which
# includes nothing of these.
LAYERS = {
    "streams": {"tensor_stream"},
    "kernels": {"channel_stats", "layout", "convention", "batch_norm", "passes", "backward",
                "fold", "in_memory", "tensor_compare", "dataset_stats"},
    "documents": {"state_file", "state_tensors", "partial_stats",
                  "document_compare", "stats_plot", "model_layers", "layers_plot",
                  "fold_report"},
}
ORDER = ["foundation", "streams", "kernels", "documents"]
# Formats sit on the streams beside the kernels: neither knows the other, and the documents
# know no format either (the CLI hands named tensors to a codec).
ALLOWED = {
    "foundation": {"foundation"},
    "streams": {"foundation", "streams"},
    "formats": {"foundation", "streams", "formats"},
    "kernels": {"foundation", "streams", "kernels"},
    "documents": {"foundation", "streams", "kernels", "documents"},
    # The public API (src/lib, over include/bnorm) wraps the core; the CLI may use either.
    "library": {"foundation", "streams", "formats", "kernels", "documents", "library"},
    "cli": {"foundation", "streams", "formats", "kernels", "documents", "library", "cli"},
}


def layer_of(path):
    relative = path.relative_to(SRC)
    if relative.parts[0] == "cli":
        return "cli"
    if relative.parts[0] == "lib":
        return "library"
    if relative.parts[:2] == ("core", "formats"):
        return "formats"
    for layer, stems in LAYERS.items():
        if path.stem in stems:
            return layer
    return "foundation"


def unit_of(path):
    """A header and its source are one unit: an include of either is an include of both."""
    return path.with_suffix("").relative_to(SRC).as_posix()


def includes(path):
    for match in re.finditer(r'^\s*#\s*include\s+"([^"]+)"', path.read_text(), re.M):
        name = match.group(1)
        for folder in (path.parent, SRC / "core", SRC / "lib", SRC / "cli"):
            target = (folder / name).resolve()
            if target.exists() and SRC.resolve() in target.parents:
                yield pathlib.Path(target).relative_to(SRC.resolve())
                break


def main():
    files = sorted(p for p in SRC.rglob("*") if p.suffix in (".hpp", ".cpp"))
    graph, breaches = {}, []
    for path in files:
        unit = unit_of(path)
        graph.setdefault(unit, set())
        for target in includes(path):
            target_path = SRC / target
            target_unit = unit_of(target_path)
            if target_unit != unit:
                graph[unit].add(target_unit)
            here, there = layer_of(path), layer_of(target_path)
            if there not in ALLOWED[here]:
                breaches.append(f"{path.relative_to(ROOT)} ({here}) includes {target} ({there})")

    # Cycles between units, found by depth-first search.
    state, stack = {}, []

    def visit(unit):
        state[unit] = "open"
        stack.append(unit)
        for target in sorted(graph.get(unit, ())):
            if state.get(target) == "open":
                cycle = stack[stack.index(target):] + [target]
                breaches.append("include circle: " + " -> ".join(cycle))
            elif target not in state:
                visit(target)
        stack.pop()
        state[unit] = "done"

    for unit in sorted(graph):
        if unit not in state:
            visit(unit)

    # No tensor format is spelled in the command line: its help, messages and completions
    # take the words from the registry.  Any spelling counts ("NPY", ".Npz", "npz|safetensors");
    # comments and the manual's EXAMPLES, which name files, do not.  JSON is also the language
    # of every document bnorm writes (state, statistics, reports), which the CLI names as such.
    # ONNX is also a framework and a convention (--convention onnx): only its extension counts.
    spelled = re.compile(
        r"(?<![A-Za-z0-9_])(npy|npz|safetensors)(?![A-Za-z0-9_])|\.onnx(?![A-Za-z0-9_])", re.I)
    for path in sorted((SRC / "cli").rglob("*.[ch]pp")):
        text = path.read_text()
        if path.name == "manual.cpp":
            text = re.sub(r"constexpr std::string_view examples =.*?\)\";", "", text, flags=re.S)
        for number, line in enumerate(text.splitlines(), 1):
            code = re.sub(r"//.*$", "", line) if not re.search(r'"[^"]*//', line) else line
            if line.lstrip().startswith("//"):
                continue
            if spelled.search(code):
                breaches.append(f"{path.relative_to(ROOT)}:{number}: a format spelled: "
                                f"{line.strip()}")

    # The public headers are all an installed consumer sees: they include one another, the
    # standard library and xtensor, and name no core header, no detail type and no CLI11 or
    # nlohmann/json.
    for path in sorted((ROOT / "include" / "bnorm").glob("*.hpp*")):
        text = path.read_text()
        for number, line in enumerate(text.splitlines(), 1):
            included = re.match(r'\s*#\s*include\s*([<"])([^>"]+)', line)
            if included and not (included.group(1) == "<" and (
                    included.group(2).startswith(("bnorm/", "xtensor/"))
                    or re.fullmatch(r"[a-z_]+", included.group(2)))):
                breaches.append(f"{path.relative_to(ROOT)}:{number}: a public header includes "
                                f"{included.group(2)}")
            code = re.sub(r"//.*$", "", line)
            if re.search(r"\bdetail\b|\bCLI\b|nlohmann", code):
                breaches.append(f"{path.relative_to(ROOT)}:{number}: a public header names an "
                                f"internal: {line.strip()}")

    for breach in breaches:
        print(breach)
    print(f"{len(files)} files, {sum(len(t) for t in graph.values())} includes between units, "
          f"{len(breaches)} breaches")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
