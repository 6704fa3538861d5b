troupe_add_component(NAME bus_transport
  SOURCES errc.cpp transport.cpp
  DEPS caf::core PkgConfig::NATS troupe_common)
