#pragma once
#include <cstdint>

namespace troupe::test {

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
uint16_t free_port();

} // namespace troupe::test
