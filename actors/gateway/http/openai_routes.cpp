// POST /v1/chat/completions, GET /v1/models and GET /v1/models/{id}: the
// OpenAI-compatible API, errors in OpenAI's shape.
#include <chrono>

#include "actors/gateway/http/chat_json.hpp"
#include "actors/gateway/http/openai_json.hpp"
#include "actors/gateway/http/routes.hpp"
#include "actors/gateway/http/turn.hpp"
#include "common/json_body.hpp"

namespace troupe::gateway::http {

namespace {

/// The OpenAI rendering: a chat.completion, or chat.completion.chunk
/// frames: the role first, then content and tool-call deltas, a last chunk
/// with the finish reason, the usage chunk when asked for, `[DONE]`.
/// Tool results run inside the turn and have no chunk of their own.
class openai_view final : public turn_view {
public:
  openai_view(std::string model, bool include_usage)
      : model_(std::move(model)), include_usage_(include_usage),
        created_(std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count()) {}

  std::string chunk(const troupe::v1::TurnChunk& c) override {
    using kind = troupe::v1::TurnChunk::KindCase;
    if (id_.empty())
      id_ = completion_id(c.turn_id());
    switch (c.kind_case()) {
    case kind::kDelta:
      return role_once() + frame({{"content", c.delta()}}, nullptr);
    case kind::kToolCall:
      return role_once()
             + frame({{"tool_calls", {openai_tool_call_json(c.tool_call(), tool_calls_++)}}},
                     nullptr);
    default:
      return {};
    }
  }

  std::string done(const troupe::v1::TurnResult& r) override {
    if (id_.empty())
      id_ = completion_id(r.turn_id());
    if (!r.model().empty())
      model_ = r.model();
    auto out = role_once() + frame(nlohmann::json::object(), finish_reason_of(r));
    if (include_usage_) {
      auto usage = base();
      usage["choices"] = nlohmann::json::array();
      usage["usage"] = usage_json(r.usage());
      out += data(usage);
    }
    return out + "data: [DONE]\n\n";
  }

  std::string failed(const http_error& e) override {
    // The OpenAI SDKs raise an APIError for a data line that holds "error".
    return "data: " + error_text(e, error_style::openai) + "\n\n";
  }

  nlohmann::json answer(const troupe::v1::TurnResult& r) override {
    return completion_json(r, created_);
  }

private:
  nlohmann::json base() const {
    nlohmann::json j{
        {"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_}};
    if (include_usage_)
      j["usage"] = nullptr; // every chunk but the usage chunk, as the spec says
    return j;
  }

  static std::string data(const nlohmann::json& j) { return "data: " + to_json_text(j) + "\n\n"; }

  std::string frame(nlohmann::json delta, nlohmann::json finish_reason) const {
    auto j = base();
    j["choices"] = {{{"index", 0},
                     {"delta", std::move(delta)},
                     {"logprobs", nullptr},
                     {"finish_reason", std::move(finish_reason)}}};
    return data(j);
  }

  std::string role_once() {
    if (role_sent_)
      return {};
    role_sent_ = true;
    return frame({{"role", "assistant"}, {"content", ""}}, nullptr);
  }

  std::string model_;
  bool include_usage_;
  int64_t created_;
  std::string id_;
  bool role_sent_ = false;
  size_t tool_calls_ = 0;
};

std::string_view session_header_of(const request& req) {
  auto v = req["X-Session-ID"];
  return {v.data(), v.size()};
}

/// The model list, for both model routes.
net::awaitable<std::optional<troupe::v1::ModelList>> models(exchange& x) {
  if (!co_await x.admit())
    co_return std::nullopt;
  co_return co_await x.call<troupe::v1::ModelList>([&](callback<troupe::v1::ModelList> done) {
    x.ctx().backend->list_models(x.principal(), std::move(done));
  });
}

} // namespace

net::awaitable<void> post_chat_completions(exchange& x) {
  if (!co_await x.admit())
    co_return;
  auto body = co_await x.json_body();
  if (!body)
    co_return;
  auto parsed = parse_completion_request(*body, session_header_of(x.req()));
  if (auto* e = std::get_if<http_error>(&parsed)) {
    co_await x.fail(*e);
    co_return;
  }
  auto req = std::get<completion_request>(std::move(parsed));
  req.in.principal = x.principal();
  openai_view view{req.in.model, req.include_usage};
  co_await run_turn(x, std::move(req.in), view);
}

net::awaitable<void> get_models(exchange& x) {
  auto list = co_await models(x);
  if (!list)
    co_return;
  auto data = nlohmann::json::array();
  for (const auto& m : list->models())
    data.push_back(model_json(m));
  nlohmann::json body{{"object", "list"},
                      {"data", std::move(data)}}; // not inside co_await: GCC 12 rejects it
  co_await x.reply(body);
}

net::awaitable<void> get_model(exchange& x) {
  auto list = co_await models(x);
  if (!list)
    co_return;
  for (const auto& m : list->models())
    if (m.id() == x.id()) {
      co_await x.reply(model_json(m));
      co_return;
    }
  co_await x.fail({404, "model_not_found", "The model `" + x.id() + "` does not exist", "model"});
}

} // namespace troupe::gateway::http
