#include "bus/envelope_codec.hpp"

#include <array>
#include <caf/message.hpp>
#include <atomic>
#include <openssl/rand.h>

namespace troupe::bus {

namespace {

constexpr std::string_view component_name = "bus";

} // namespace

std::string new_message_id() {
  std::array<unsigned char, 16> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    // The DRBG failed (practically never): fall back to a process-unique
    // counter rather than sending a message without an id.
    static std::atomic<uint64_t> counter{0};
    auto n = counter.fetch_add(1) + 1;
    for (size_t i = 0; i < 8; ++i)
      raw[i] = static_cast<unsigned char>(n >> (8 * i));
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(raw.size() * 2, '0');
  for (size_t i = 0; i < raw.size(); ++i) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 0x0f];
  }
  return out;
}

troupe::v1::Envelope make_envelope(const google::protobuf::Message& payload) {
  return make_envelope(payload.GetDescriptor()->full_name(), payload.SerializeAsString());
}

troupe::v1::Envelope make_envelope(std::string_view type_name, std::string bytes) {
  troupe::v1::Envelope env;
  env.set_id(new_message_id());
  env.set_payload_type(std::string{type_name});
  env.set_payload(std::move(bytes));
  return env;
}

troupe::v1::Envelope make_reply(const troupe::v1::Envelope& request,
                                const google::protobuf::Message& payload) {
  auto env = make_envelope(payload);
  env.set_correlation_id(request.id());
  env.set_tenant(request.tenant());
  env.set_traceparent(request.traceparent());
  if (request.has_from())
    *env.mutable_to() = request.from();
  return env;
}

troupe::v1::Envelope error_reply(const troupe::v1::Envelope& request, errc code,
                                 std::string message) {
  troupe::v1::Error err;
  err.set_code(std::string{to_string(code)});
  err.set_message(std::move(message));
  err.set_component(std::string{component_name});
  return make_reply(request, err);
}

troupe::v1::Envelope error_reply(const troupe::v1::Envelope& request, troupe::v1::Error error) {
  return make_reply(request, error);
}

troupe::v1::Error error_payload(const caf::error& err) {
  troupe::v1::Error out;
  std::string context;
  if (err && err.context().match_elements<std::string>())
    context = err.context().get_as<std::string>(0);
  if (!err || err.category() != error_category) {
    out.set_component(err ? caf::to_string(err.category()) : std::string{component_name});
    out.set_code(err ? std::to_string(err.code()) : std::string{"unknown"});
    out.set_message(context);
    return out;
  }
  auto code = static_cast<errc>(err.code());
  // "component/code: text", as error_of wrote it for a code it does not know.
  auto slash = context.find('/');
  auto colon = context.find(": ");
  if (code == errc::unknown && slash != std::string::npos && colon != std::string::npos
      && slash < colon) {
    out.set_component(context.substr(0, slash));
    out.set_code(context.substr(slash + 1, colon - slash - 1));
    out.set_message(context.substr(colon + 2));
    return out;
  }
  out.set_component(std::string{component_name});
  out.set_code(std::string{to_string(code)});
  out.set_message(context);
  return out;
}

bool is_error(const troupe::v1::Envelope& env) noexcept {
  return env.payload_type() == error_type_name;
}

caf::error error_of(const troupe::v1::Envelope& env) {
  troupe::v1::Error err;
  if (!is_error(env) || !err.ParseFromString(env.payload()))
    return make_error(errc::malformed, "not a troupe.v1.Error reply");
  // Codes are only meaningful within their component: "not_found" from
  // storage is not a bus code, even where the spelling matches one.
  bool ours = err.component().empty() || err.component() == component_name;
  auto code = ours ? errc_from_string(err.code()) : errc::unknown;
  if (code == errc::unknown && !(ours && err.code() == to_string(errc::unknown)))
    return make_error(errc::unknown,
                      err.component() + "/" + err.code() + ": " + err.message());
  return make_error(code, err.message());
}

} // namespace troupe::bus
