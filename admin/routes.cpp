#include "admin/routes.hpp"

#include "common/metrics.hpp"

namespace troupe::admin {

std::vector<route> probe_routes(const hooks& h) {
  std::vector<route> out;
  out.push_back({"/livez", [] { return reply{200, json_type, R"({"live":true})"}; }});
  out.push_back({"/ready", [ready = h.ready] {
                   auto r = ready ? ready() : readiness{false, {"no readiness hook"}};
                   return reply{
                       r.ready ? 200u : 503u, json_type,
                       to_json_text(nlohmann::json{{"ready", r.ready}, {"missing", r.missing}})};
                 }});
  out.push_back({"/health", [health = h.health] {
                   auto j = health ? health() : nlohmann::json::object();
                   // A snapshot that is not an object throws here: a 500, as for a hook fault.
                   j["live"] = true;
                   return reply{200, json_type, to_json_text(j)};
                 }});
  out.push_back(
      {"/metrics", [registry = h.metrics] {
         return reply{200, metrics_type, registry ? metrics::render(*registry) : std::string{}};
       }});
  return out;
}

} // namespace troupe::admin
