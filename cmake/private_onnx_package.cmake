# SPDX-License-Identifier: Apache-2.0
# cmake -DINPUT=onnx.proto -DOUTPUT=copy.proto -P private_onnx_package.cmake
# Copies ONNX's schema with its package renamed from onnx to bnorm.onnx_schema, so that protoc
# generates bnorm::onnx_schema:: classes: a program linking libbnorm and Debian's
# libonnx_proto.so would otherwise hold two different onnx::ModelProto, and the dynamic linker
# binds one library's calls to the other's code.  The wire format is the fields' numbers and
# types, untouched; only the messages' full names change ("bnorm.onnx_schema.ModelProto"),
# which bnorm never shows or stores (no Any, no type URLs, no text format).
file(READ ${INPUT} schema)
string(REGEX MATCHALL "\npackage [^;]*;" packages "${schema}")
if(NOT packages STREQUAL "\npackage onnx;")
  message(FATAL_ERROR "${INPUT}: expected one \"package onnx;\" line, found: ${packages}")
endif()
string(REPLACE "\npackage onnx;" "\npackage bnorm.onnx_schema;" schema "${schema}")
file(WRITE ${OUTPUT} "${schema}")
