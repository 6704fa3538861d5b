#include "bus/envelope_check.hpp"

#include <algorithm>
#include <chrono>
#include <google/protobuf/arena.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <limits>
#include <memory>
#include <unordered_map>
#include <string>

#include "bus/errc.hpp"
#include "common/logging.hpp"
#include "troupe/v1/node.pb.h"
#include "troupe/v1/principal.pb.h"
#include "troupe/v1/turn_event.pb.h"

namespace troupe::bus {

namespace {

/// Protobuf logs every string field with invalid UTF-8 it meets while parsing
/// at ERROR level, straight to stderr: a peer sending junk would flood the log
/// past the bus's own rate-limited rejection lines. Its messages go to the
/// "protobuf" logger at debug level instead (fatal stays critical).
void protobuf_log(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& text) {
  auto lg = log::get("protobuf");
  if (level == google::protobuf::LOGLEVEL_FATAL)
    lg->critical("{}:{}: {}", file, line, text);
  else
    lg->debug("{}:{}: {}", file, line, text);
}

/// Installed while the program starts, before any transport thread could
/// parse (SetLogHandler is not thread-safe).
[[maybe_unused]] const bool protobuf_logs_routed =
  (google::protobuf::SetLogHandler(&protobuf_log), true);

/// The generated pool only knows the .proto files whose objects the linker
/// kept. Naming one message of each troupe.v1 file here keeps all of them in
/// every binary that checks envelopes, so "known type" does not depend on
/// which payloads the rest of the program happens to mention.
const google::protobuf::DescriptorPool& known_types() {
  static const auto* pool = [] {
    (void) troupe::v1::Envelope::descriptor();
    (void) troupe::v1::Principal::descriptor();
    (void) troupe::v1::TurnEvent::descriptor();
    (void) troupe::v1::NodeInfo::descriptor();
    return google::protobuf::DescriptorPool::generated_pool();
  }();
  return *pool;
}

/// One reusable message per known payload type and thread. Every inbound
/// envelope is checked on a transport thread, and the pool and factory
/// lookups take a mutex each: the cache keeps them off the hot path. Only
/// known types enter it, so its size is bounded by the schema.
google::protobuf::Message* scratch_for(const std::string& type_name) {
  thread_local std::unordered_map<std::string, std::unique_ptr<google::protobuf::Message>> cache;
  if (auto i = cache.find(type_name); i != cache.end())
    return i->second.get();
  const auto* type = known_types().FindMessageTypeByName(type_name);
  if (!type)
    return nullptr;
  const auto* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(type);
  if (!prototype)
    return nullptr;
  return cache.emplace(type_name, std::unique_ptr<google::protobuf::Message>{prototype->New()})
    .first->second.get();
}

/// A payload message and the arena it lives on, released together.
struct arena_payload {
  explicit arena_payload(const google::protobuf::ArenaOptions& opts) : arena(opts) {}
  google::protobuf::Arena arena;
  google::protobuf::Message* message = nullptr;
};

/// Parses `bytes` as a new message of `prototype`'s type on an arena sized
/// for it: a few block allocations instead of one per string field.
parsed_payload parse_on_arena(const google::protobuf::Message& prototype,
                              const std::string& bytes) {
  google::protobuf::ArenaOptions opts;
  opts.start_block_size = 2 * bytes.size() + 256;
  opts.max_block_size = std::max<size_t>(opts.start_block_size, 64 * 1024);
  auto holder = std::make_shared<arena_payload>(opts);
  holder->message = prototype.New(&holder->arena);
  if (!holder->message->ParseFromString(bytes))
    return nullptr;
  return parsed_payload{holder, holder->message};
}

} // namespace

int64_t now_unix_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

caf::expected<troupe::v1::Envelope>
decode_and_check(std::string_view bytes, const check_policy& policy, int64_t now,
                 parsed_payload* keep, troupe::v1::Principal* verified) {
  if (policy.max_bytes != 0 && bytes.size() > policy.max_bytes)
    return make_error(errc::oversize, std::to_string(bytes.size()) + " bytes, limit "
                                        + std::to_string(policy.max_bytes));
  troupe::v1::Envelope env;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())
      || !env.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return make_error(errc::malformed, "not a troupe.v1.Envelope");
  if (env.payload_type().empty())
    return make_error(errc::unknown_type, "no payload_type");
  auto* scratch = scratch_for(env.payload_type());
  if (!scratch)
    return make_error(errc::unknown_type, "unknown payload_type '" + env.payload_type() + "'");
  if (keep) {
    *keep = parse_on_arena(*scratch, env.payload());
    if (!*keep)
      return make_error(errc::malformed, "payload does not parse as " + env.payload_type());
  } else if (!scratch->ParseFromString(env.payload())) {
    return make_error(errc::malformed, "payload does not parse as " + env.payload_type());
  }
  if (env.deadline_unix_ms() != 0 && env.deadline_unix_ms() <= now)
    return make_error(errc::deadline_expired,
                      "deadline passed " + std::to_string(now - env.deadline_unix_ms())
                        + " ms ago");
  if (env.has_principal()) {
    if (!policy.keys)
      return make_error(errc::principal_invalid, "no principal keys on this node");
    auto p = policy.keys->verify(env.principal(), now);
    if (!p)
      return std::move(p.error());
    if (!env.tenant().empty() && p->tenant() != env.tenant())
      return make_error(errc::principal_invalid, "principal tenant differs from envelope tenant");
    if (verified)
      *verified = std::move(*p);
  } else if (policy.require_principal) {
    return make_error(errc::principal_missing, "this subject requires a signed principal");
  }
  return env;
}

} // namespace troupe::bus
