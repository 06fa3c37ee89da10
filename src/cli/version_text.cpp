// SPDX-License-Identifier: Apache-2.0
#include "version_text.hpp"

#include <zlib.h>
#include <CLI/Version.hpp>  // CLI11_VERSION: the rest of CLI11 costs seconds to compile
#include <nlohmann/json.hpp>
#include <xsimd/xsimd.hpp>
#include <xtensor/xtensor_config.hpp>
#include <xtl/xtl_config.hpp>

#include "bnorm_version.hpp"

namespace bnorm::cli {
namespace {

std::string dotted(int major, int minor, int patch) {
  return std::to_string(major) + '.' + std::to_string(minor) + '.' + std::to_string(patch);
}

}  // namespace

std::string version_text() {
  // The versions of the headers compiled in, which is what decides bnorm's behaviour: a
  // header-only library has no run-time version to ask.
  return std::string("bnorm ") + BNORM_VERSION +
         "\n"
         "compiler: " +
#if defined(__clang__)
         "clang " __VERSION__
#elif defined(__GNUC__)
         "g++ " __VERSION__
#else
         "unknown"
#endif
         "\n"
         "C++: " +
         std::to_string(__cplusplus) +
         "\n"
         "CLI11: " CLI11_VERSION
         "\n"
         "nlohmann/json: " +
         dotted(NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                NLOHMANN_JSON_VERSION_PATCH) +
         "\n"
         "xtensor: " +
         dotted(XTENSOR_VERSION_MAJOR, XTENSOR_VERSION_MINOR, XTENSOR_VERSION_PATCH) +
         "\n"
         "xtl: " +
         dotted(XTL_VERSION_MAJOR, XTL_VERSION_MINOR, XTL_VERSION_PATCH) +
         "\n"
         "xsimd: " +
         dotted(XSIMD_VERSION_MAJOR, XSIMD_VERSION_MINOR, XSIMD_VERSION_PATCH) + " (" +
         // The statistics and normalize loops use xsimd directly, for the instruction set
         // the build targets (SSE2 on a plain x86-64 build), not through xtensor.
         xsimd::default_arch::name() +
         ")\n"
         "C++ runtime: " +
#if defined(_GLIBCXX_RELEASE)
         "libstdc++ " + std::to_string(_GLIBCXX_RELEASE) +
#else
         std::string("other") +
#endif
#if defined(BNORM_STATIC_RUNTIME)
         ", linked in\n"
#else
         ", shared\n"
#endif
         // zlib is the one library loaded at run time: the version built against, and the
         // one loaded.
         "zlib: " ZLIB_VERSION " (loaded: " +
         std::string(zlibVersion()) +
         ")\n"
         // fast_float's headers carry no version macro, so its version cannot be known here.
         "fast_float: (no version macro in its headers)\n"
         // Models are parsed by the protobuf library linked in, with the schema of the ONNX
         // release whose onnx.proto the build compiled.
         "protobuf: " BNORM_PROTOBUF_VERSION
         " (linked in)\n"
         "ONNX schema: " BNORM_ONNX_VERSION " (onnx.proto, compiled by protoc)";
}

}  // namespace bnorm::cli
