#include "common/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace troupe::metrics {

registry_ptr make_registry() {
  return std::make_shared<prometheus::Registry>();
}

std::string render(const prometheus::Registry& reg) {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(reg.Collect());
}

} // namespace troupe::metrics
