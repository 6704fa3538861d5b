#include "actors/inference/model_resolver.hpp"

#include <algorithm>
#include <caf/message.hpp>

#include "actors/inference/base_url.hpp"
#include "actors/inference/errc.hpp"

namespace troupe::inference {

namespace {

using storage::provider_record;
using storage::provider_registry;

/// Where a name leads before any key is looked at; `provider` is null for
/// the dev model.
struct route {
  const provider_record* provider = nullptr;
  std::string model;
};

route dev_route() { return {nullptr, std::string{dev_model_id}}; }

std::string context_of(const caf::error& err) {
  const auto& ctx = err.context();
  return ctx.size() == 1 && ctx.match_element<std::string>(0) ? ctx.get_as<std::string>(0)
                                                               : std::string{};
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

bool serves(const provider_record& p, std::string_view model) {
  return std::find(p.models.begin(), p.models.end(), model) != p.models.end();
}

const provider_record* find_provider(const provider_registry& reg, std::string_view name) {
  for (const auto& p : reg.providers)
    if (p.name == name)
      return &p;
  return nullptr;
}

const storage::role_record* find_role(const provider_registry& reg, std::string_view name) {
  for (const auto& r : reg.roles)
    if (r.role == name)
      return &r;
  return nullptr;
}

bool is_known_role(std::string_view name) {
  return std::find(known_roles.begin(), known_roles.end(), name) != known_roles.end();
}

/// Rules 1, 4 and 5: a model name that is not an alias.
caf::expected<route> route_model(const provider_registry& reg, std::string_view model) {
  if (model == dev_model_id)
    return dev_route();
  if (auto slash = model.find('/'); slash != std::string_view::npos) {
    if (const auto* p = find_provider(reg, model.substr(0, slash))) {
      auto id = std::string{model.substr(slash + 1)};
      if (id.empty())
        return make_error(errc::model_unknown, "'" + std::string{model} + "' names no model");
      if (!p->models.empty() && !serves(*p, id))
        return make_error(errc::model_unknown, "provider '" + p->name + "' does not serve '" + id
                                                 + "' (it serves: " + joined(p->models) + ")");
      return route{p, std::move(id)};
    }
  }
  std::vector<std::string> servers;
  const provider_record* found = nullptr;
  for (const auto& p : reg.providers)
    if (serves(p, model)) {
      servers.push_back(p.name);
      found = &p;
    }
  if (servers.size() == 1)
    return route{found, std::string{model}};
  if (servers.empty())
    return make_error(errc::model_unknown,
                      "no provider serves '" + std::string{model}
                        + "': ask for provider/model, or list it with troupe provider add --models");
  std::vector<std::string> choices;
  for (const auto& name : servers)
    choices.push_back(name + "/" + std::string{model});
  return make_error(errc::model_unknown, "'" + std::string{model} + "' is served by "
                                           + joined(servers) + ": ask for one of "
                                           + joined(choices));
}

/// Every rule: what a request may name.
caf::expected<route> route_name(const provider_registry& reg, std::string_view what) {
  auto name = what.empty() ? std::string_view{"default"} : what;
  if (name == dev_model_id)
    return dev_route();
  if (const auto* role = find_role(reg, name)) {
    auto r = route_model(reg, role->model);
    if (!r)
      return make_error(static_cast<errc>(r.error().code()),
                        "role '" + role->role + "' names '" + role->model + "': "
                          + context_of(r.error()));
    return r;
  }
  if (is_known_role(name)) {
    if (name == "default" && reg.providers.empty())
      return dev_route();
    return make_error(errc::role_not_configured,
                      "role '" + std::string{name} + "' names no model: set one with troupe role set "
                        + std::string{name} + " MODEL");
  }
  return route_model(reg, name);
}

/// OpenAI-style providers want a bearer token unless they run on this
/// machine (a local llama.cpp or vLLM server usually has none).
bool needs_key(const provider_record& p) {
  if (p.kind != "openai")
    return false;
  auto url = parse_base_url(p.base_url);
  return !url || !url->loopback;
}

} // namespace

caf::expected<resolved_model> resolve(const provider_registry& registry, const keyring& keys,
                                      std::string_view what) {
  auto r = route_name(registry, what);
  if (!r)
    return r.error();
  resolved_model out;
  out.model = std::move(r->model);
  if (r->provider == nullptr) {
    out.provider = out.kind = std::string{builtin_provider};
    return out;
  }
  const auto& p = *r->provider;
  out.provider = p.name;
  out.kind = p.kind;
  out.base_url = p.base_url;
  if (p.has_key()) {
    auto key = keys.open(p.api_key_sealed, p.name);
    if (!key)
      return make_error(errc::key_store_error,
                        "the API key of provider '" + p.name + "': " + context_of(key.error()));
    out.api_key = std::move(*key);
  } else if (needs_key(p)) {
    return make_error(errc::provider_key_missing,
                      "provider '" + p.name + "' at " + p.base_url
                        + " has no API key: store one with troupe provider add " + p.name
                        + " --base-url " + p.base_url + " --api-key-file FILE");
  }
  return out;
}

troupe::v1::ModelList list_models(const provider_registry& registry) {
  troupe::v1::ModelList out;
  auto add = [&](std::string id, std::string_view provider, std::string_view owner,
                 int64_t created_unix_ms) {
    auto* m = out.add_models();
    m->set_id(std::move(id));
    m->set_provider(std::string{provider});
    m->set_owned_by(std::string{owner});
    m->set_created_unix(created_unix_ms / 1000);
  };
  add(std::string{dev_model_id}, builtin_provider, "troupe", 0);
  for (const auto& p : registry.providers)
    for (const auto& model : p.models) {
      auto servers = std::count_if(registry.providers.begin(), registry.providers.end(),
                                   [&](const provider_record& o) { return serves(o, model); });
      add(servers == 1 ? model : p.name + "/" + model, p.name, p.name, p.created_unix_ms);
    }
  auto add_alias = [&](std::string_view role, int64_t updated_unix_ms) {
    if (auto r = route_name(registry, role))
      add(std::string{role}, r->provider ? std::string_view{r->provider->name} : builtin_provider,
          "troupe", updated_unix_ms);
  };
  for (const auto& role : registry.roles)
    add_alias(role.role, role.updated_unix_ms);
  if (!find_role(registry, "default"))
    add_alias("default", 0);
  return out;
}

} // namespace troupe::inference
