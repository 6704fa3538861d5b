#pragma once
/// Which provider answers a model name. Pure functions over a registry
/// snapshot (storage::load_registry, read by the caller): no I/O, so the
/// inference actor may call them on any thread and tests need no database.
///
/// What a request may name, tried in this order:
/// 1. "troupe-dev": always the built-in dev model (provider "builtin");
/// 2. a role alias with a row in troupe_model_roles ("title" -> its model);
///    an empty name means "default";
/// 3. a known alias without a row: errc::role_not_configured, except
///    "default" while no provider exists at all, which is the dev model;
/// 4. "provider/model" when the part before the first '/' names a provider
///    (its models list must hold the model unless the list is empty);
/// 5. a bare model id listed by exactly one provider. None, or several:
///    errc::model_unknown (the message names the providers to choose from).
/// A role's model is read with rules 1, 4 and 5 only: aliases do not chain.
#include <array>
#include <caf/expected.hpp>
#include <string>
#include <string_view>

#include "actors/inference/keyring.hpp"
#include "storage/provider_store.hpp"
#include "troupe/v1/inference.pb.h"

namespace troupe::inference {

/// The built-in dev model: answers without any provider (tests, first runs).
constexpr std::string_view dev_model_id = "troupe-dev";
/// The provider name a resolution to the dev model carries.
constexpr std::string_view builtin_provider = "builtin";

/// The role aliases Troupe itself asks for; any other role in the table works too.
constexpr std::array<std::string_view, 5> known_roles{"default", "title", "guardrail", "memory",
                                                      "classifier"};

struct resolved_model {
  std::string provider; // builtin_provider for the dev model
  std::string kind;     // how to talk to it ("openai"); builtin_provider for the dev model
  std::string base_url; // empty for the dev model
  std::string model;    // the id to send the provider
  std::string api_key;  // plaintext, empty for keyless providers: never log it
  bool builtin() const noexcept { return provider == builtin_provider; }
};

/// `what` resolved to a provider, model id and decrypted API key.
/// errc::role_not_configured, errc::model_unknown, errc::provider_key_missing
/// (an OpenAI provider off this machine without a stored key),
/// errc::key_store_error (the stored key does not open under `keys`).
[[nodiscard]] caf::expected<resolved_model>
resolve(const storage::provider_registry& registry, const keyring& keys, std::string_view what);

/// Every name a client may ask for (GET /v1/models): the dev model, each
/// provider's models (bare id when one provider serves it, else
/// "provider/model"), and every role alias that resolves.
troupe::v1::ModelList list_models(const storage::provider_registry& registry);

} // namespace troupe::inference
