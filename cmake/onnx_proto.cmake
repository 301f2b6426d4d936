# The ONNX protobuf classes (io/onnx): Debian's onnx.proto (libonnx-dev) compiled by protoc at
# build time into the build tree; nothing vendored. onnx.proto asks for the lite runtime.
find_file(CONVKIT_ONNX_PROTO onnx.proto PATHS /usr/include/onnx /usr/local/include/onnx
          PATH_SUFFIXES onnx NO_DEFAULT_PATH)
if(NOT CONVKIT_ONNX_PROTO)
  message(FATAL_ERROR "onnx.proto not found (install libonnx-dev: scripts/setup)")
endif()
get_filename_component(CONVKIT_ONNX_PROTO_DIR ${CONVKIT_ONNX_PROTO} DIRECTORY)
set(CONVKIT_ONNX_GEN ${CMAKE_BINARY_DIR}/generated/onnx_proto)
file(MAKE_DIRECTORY ${CONVKIT_ONNX_GEN})
add_custom_command(
  OUTPUT ${CONVKIT_ONNX_GEN}/onnx.pb.cc ${CONVKIT_ONNX_GEN}/onnx.pb.h
  COMMAND protobuf::protoc --cpp_out=${CONVKIT_ONNX_GEN} -I${CONVKIT_ONNX_PROTO_DIR} ${CONVKIT_ONNX_PROTO}
  DEPENDS ${CONVKIT_ONNX_PROTO}
  COMMENT "protoc: onnx.proto")
target_sources(convkit PRIVATE ${CONVKIT_ONNX_GEN}/onnx.pb.cc)
set_source_files_properties(${CONVKIT_ONNX_GEN}/onnx.pb.cc PROPERTIES COMPILE_OPTIONS "-w")
target_include_directories(convkit PRIVATE ${CONVKIT_ONNX_GEN})
target_link_libraries(convkit PRIVATE protobuf::libprotobuf-lite)
