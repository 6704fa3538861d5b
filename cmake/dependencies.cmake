# Every dependency comes from Debian's packages (scripts/setup.sh installs them).
# Debian ships neither a CMake config nor a .pc for CAF 0.17, and its cnats
# config is broken, so both get hand-made imported targets here, once.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIB caf_core REQUIRED)
add_library(caf::core SHARED IMPORTED)
set_target_properties(caf::core PROPERTIES IMPORTED_LOCATION ${CAF_CORE_LIB}
  INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES Threads::Threads)

pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
find_package(Protobuf REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(Catch2 2 REQUIRED)
include(Catch)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(nlohmann_json 3 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(CLI11 REQUIRED)
find_package(CURL REQUIRED)
# prometheus-cpp: its registry and text serializer give the exact Prometheus
# exposition format; we serve it from our own Beast admin server.
find_package(prometheus-cpp REQUIRED)
# tcmalloc (gperftools, the minimal build: the allocator without the
# profiler) for the node binary. Actors allocate a message on one thread and
# free it on another; glibc's malloc serves that through shared arenas and
# consolidates free lists on large requests, which took a quarter of the
# node's CPU in a full turn. tcmalloc's per-thread caches do not.
pkg_check_modules(TCMALLOC REQUIRED IMPORTED_TARGET libtcmalloc_minimal)
