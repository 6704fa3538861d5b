# The provider registry's inference side: the master key that seals provider
# API keys (keyring), base URL checks and model-name resolution over a
# registry snapshot. Included from actors/inference/CMakeLists.txt; paths are
# relative to this file so it works from wherever it is included.
# The inference error codes (errc.cpp) come with troupe_inference_client.
set(troupe_registry_dir ${CMAKE_CURRENT_LIST_DIR})
troupe_add_component(NAME inference_registry
  SOURCES ${troupe_registry_dir}/keyring.cpp ${troupe_registry_dir}/base_url.cpp
          ${troupe_registry_dir}/model_resolver.cpp
  DEPS troupe_inference_client troupe_storage troupe_messages troupe_common OpenSSL::Crypto
       CURL::libcurl caf::core)

# Unit tests (keyring, base URL, resolver) beside integration tests against a
# real PostgreSQL (store) and the built troupe binary (CLI).
set(troupe_registry_tests ${PROJECT_SOURCE_DIR}/tests/inference/registry)
troupe_add_test(NAME inference_registry_tests
  SOURCES ${troupe_registry_tests}/keyring_test.cpp ${troupe_registry_tests}/base_url_test.cpp
          ${troupe_registry_tests}/model_resolver_test.cpp
          ${troupe_registry_tests}/provider_store_test.cpp
          ${troupe_registry_tests}/registry_cli_test.cpp
  DEPS troupe_inference_registry troupe_test_support PkgConfig::PQXX
  LABELS integration)
target_compile_definitions(inference_registry_tests PRIVATE TROUPE_BINARY="$<TARGET_FILE:troupe>")
add_dependencies(inference_registry_tests troupe)
