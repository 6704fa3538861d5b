# The transport layer: the `transport` interface, the NATS implementation
# (connection, JetStream, KV) and the in-memory fake for unit tests.
troupe_add_component(NAME bus_transport
  SOURCES errc.cpp transport.cpp subject_match.cpp fake_transport.cpp nats_transport.cpp
          local_delivery.cpp
          jetstream.cpp jetstream_event_log.cpp kv.cpp
  DEPS caf::core PkgConfig::NATS troupe_common prometheus-cpp::core)

set(_transport_tests ${PROJECT_SOURCE_DIR}/tests/bus)
# The fake needs no server: unit tests, runnable anywhere.
troupe_add_test(NAME bus_fake_transport_tests
  SOURCES ${_transport_tests}/fake_transport_test.cpp
          ${_transport_tests}/fake_transport_subject_test.cpp
          ${_transport_tests}/local_delivery_test.cpp
  DEPS troupe_bus_transport
  LABELS unit)

# The NATS implementation against a real nats-server (tests/support).
troupe_add_test(NAME bus_transport_tests
  SOURCES ${_transport_tests}/transport_test.cpp ${_transport_tests}/jetstream_test.cpp
          ${_transport_tests}/kv_test.cpp
  DEPS troupe_bus_transport troupe_test_support
  LABELS integration)

# The JetStream event log against a real nats-server, killed and restarted.
troupe_add_test(NAME bus_event_log_tests
  SOURCES ${_transport_tests}/event_log_test.cpp
  DEPS troupe_bus_transport troupe_test_support
  LABELS integration)
