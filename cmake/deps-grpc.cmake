# What libsonde-grpc needs: gRPC C++ (grpc++ through pkg-config, Debian
# libgrpc++-dev). The library is built only when it is found; its test also needs
# protobuf (libprotobuf-dev), protoc (protobuf-compiler) and grpc_cpp_plugin
# (protobuf-compiler-grpc) to compile its .proto. scripts/deps.sh installs all four
# for `make test`, where a missing piece fails test_grpc instead of skipping it.
# Linked by full paths, as deps-http.cmake explains.
pkg_check_modules(GRPCPP QUIET grpc++)
pkg_check_modules(PROTOBUF QUIET protobuf)
find_program(SONDE_PROTOC protoc)
find_program(SONDE_GRPC_CPP_PLUGIN grpc_cpp_plugin)
set(SONDE_GRPC ${GRPCPP_FOUND})
if(SONDE_GRPC)
  set(SONDE_GRPC_INCLUDE_DIRS ${GRPCPP_INCLUDE_DIRS})
  set(SONDE_GRPC_DEP_LIBS ${GRPCPP_LINK_LIBRARIES})
  message(STATUS "gRPC C++ ${GRPCPP_VERSION}: building libsonde-grpc")
else()
  message(STATUS "gRPC C++ (pkg-config grpc++) not found: libsonde-grpc is not built")
endif()
