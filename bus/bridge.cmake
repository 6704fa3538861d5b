# The envelope checks, principals, request/reply and the bridge actor, on top
# of the transport layer (bus/transport.cmake).
troupe_add_component(NAME bus
  SOURCES subjects.cpp principal.cpp envelope_codec.cpp envelope_check.cpp reply_router.cpp
          request_client.cpp inbound.cpp publisher.cpp ping.cpp bridge.cpp
  DEPS troupe_bus_transport troupe_messages troupe_common OpenSSL::Crypto prometheus-cpp::core)

set(_bus_tests ${PROJECT_SOURCE_DIR}/tests/bus)
troupe_add_test(NAME bus_bridge_tests
  SOURCES ${_bus_tests}/subjects_test.cpp ${_bus_tests}/principal_test.cpp
          ${_bus_tests}/envelope_check_test.cpp ${_bus_tests}/envelope_codec_test.cpp
          ${_bus_tests}/bridge_test.cpp ${_bus_tests}/streamed_reply_test.cpp
  DEPS troupe_bus troupe_test_support
  LABELS unit)

# Two bridges on two connections to a real nats-server (a separate executable
# so its tests carry the integration label).
troupe_add_test(NAME bus_bridge_integration_tests
  SOURCES ${_bus_tests}/bridge_integration_test.cpp
  DEPS troupe_bus troupe_test_support
  LABELS integration)
