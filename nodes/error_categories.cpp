#include "nodes/error_categories.hpp"

#include <caf/message.hpp>
#include <string>
#include <utility>
#include <vector>

#include "actors/gateway/identity/errc.hpp"
#include "actors/inference/errc.hpp"
#include "actors/session/errc.hpp"
#include "actors/supervision/errc.hpp"
#include "bus/errc.hpp"
#include "nodes/errc.hpp"
#include "storage/errc.hpp"

namespace troupe::node {

namespace {

template <class Errc>
caf::actor_system_config::error_renderer renderer() {
  return [](uint8_t code, caf::atom_value, const caf::message& context) {
    std::string out{to_string(static_cast<Errc>(code))};
    if (context.size() == 1 && context.match_element<std::string>(0))
      out += ": " + context.get_as<std::string>(0);
    else if (!context.empty())
      out += ": " + caf::to_string(context);
    return out;
  };
}

const std::vector<std::pair<caf::atom_value, caf::actor_system_config::error_renderer>>&
renderers() {
  static const std::vector<std::pair<caf::atom_value, caf::actor_system_config::error_renderer>>
    all{{bus::error_category, renderer<bus::errc>()},
        {storage::error_category, renderer<storage::errc>()},
        {supervision::error_category, renderer<supervision::errc>()},
        {gateway::identity::error_category, renderer<gateway::identity::errc>()},
        {inference::error_category, renderer<inference::errc>()},
        {session::error_category, renderer<session::errc>()},
        {node::error_category, renderer<node::errc>()}};
  return all;
}

} // namespace

void register_error_categories(caf::actor_system_config& cfg) {
  for (const auto& [category, render] : renderers())
    cfg.add_error_category(category, render);
}

std::string describe(const caf::error& err) {
  if (!err) // CAF 0.17's category() dereferences the empty error's data
    return "normal";
  for (const auto& [category, render] : renderers())
    if (err.category() == category)
      return render(err.code(), category, err.context());
  return caf::to_string(err);
}

} // namespace troupe::node
