// SPDX-License-Identifier: Apache-2.0
// A program that links libbnorm and Debian's libonnx_proto.so, as an inference engine would,
// and reads one model with both: onnx::ModelProto (libonnx_proto's full classes) and
// bnorm::tensor_file.  Each prints the initializers it sees as "reader name: dims" and
// "reader name.values: numbers", for tests/cli/test_library.py to check against Python's onnx.
// Two copies of onnx::ModelProto in one program (libbnorm's, libonnx_proto's) would bind one
// library's calls to the other's code.
#include <onnx/onnx_pb.h>

#include <bnorm/bnorm.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: onnx_alongside MODEL.onnx\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    std::fprintf(stderr, "onnx_alongside: onnx::ModelProto cannot parse %s\n", argv[1]);
    return 3;
  }
  // Reflection is the full runtime's, which libonnx_proto.so alone has: DebugString aborted
  // (free(): invalid pointer) when libbnorm's lite onnx::ModelProto had built the model.
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  model.GetReflection()->ListFields(model, &fields);
  std::printf("onnx type: %s\n", model.GetDescriptor()->full_name().c_str());
  std::printf("onnx fields: %zu\n", fields.size());
  std::printf("onnx reserialized: %d\n", model.SerializeAsString() == bytes);
  const std::string text = model.DebugString();
  std::printf("onnx text: %s\n", text.substr(0, text.find('\n')).c_str());
  std::printf("onnx graph: %s\n", model.graph().name().c_str());
  std::printf("onnx nodes: %d\n", model.graph().node_size());
  for (const onnx::TensorProto& t : model.graph().initializer()) {
    std::printf("onnx %s:", t.name().c_str());
    for (long long d : t.dims()) std::printf(" %lld", d);
    std::printf("\nonnx %s.values:", t.name().c_str());
    for (float v : t.float_data()) std::printf(" %.9g", v);
    std::printf("\n");
  }
  try {
    const bnorm::tensor_file file(argv[1]);
    for (const bnorm::tensor_entry& e : file.tensors()) {
      std::printf("bnorm %s:", e.name.c_str());
      for (std::size_t d : e.shape) std::printf(" %zu", d);
      std::printf("\nbnorm %s.values:", e.name.c_str());
      for (float v : file.read<float>(e.name)) std::printf(" %.9g", v);
      std::printf("\n");
    }
  } catch (const bnorm::error& e) {
    std::fprintf(stderr, "onnx_alongside: %s\n", e.what());
    return 3;
  }
  return 0;
}
