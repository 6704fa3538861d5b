#pragma once
/// A bare nats.c client that speaks to nodes the way a third-party client
/// would: Envelope bytes built from the .proto types, no Troupe library code.
#include <nats/nats.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "troupe/v1/envelope.pb.h"

namespace troupe::test {

class raw_peer {
public:
  explicit raw_peer(const std::string& url) {
    if (natsConnection_ConnectTo(&nc_, url.c_str()) != NATS_OK)
      throw std::runtime_error("raw_peer: cannot connect to " + url);
  }
  ~raw_peer() {
    natsSubscription_Destroy(sub_);
    natsConnection_Destroy(nc_);
  }
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  /// Sends raw bytes as a request; the reply's bytes, or nullopt on timeout.
  std::optional<std::string> request_bytes(const std::string& subject, const std::string& bytes,
                                           int timeout_ms = 2000) {
    natsMsg* reply = nullptr;
    if (natsConnection_Request(&reply, nc_, subject.c_str(), bytes.data(),
                               static_cast<int>(bytes.size()), timeout_ms)
        != NATS_OK)
      return std::nullopt;
    std::string out{natsMsg_GetData(reply), static_cast<size_t>(natsMsg_GetDataLength(reply))};
    natsMsg_Destroy(reply);
    return out;
  }

  /// Wraps `payload` in an Envelope, sends it, parses the reply Envelope.
  template <class Payload>
  std::optional<troupe::v1::Envelope> request(const std::string& subject, const Payload& payload,
                                              int timeout_ms = 2000) {
    troupe::v1::Envelope env;
    env.set_id("raw-" + std::to_string(++seq_));
    env.set_payload_type(payload.GetTypeName());
    env.set_payload(payload.SerializeAsString());
    auto bytes = request_bytes(subject, env.SerializeAsString(), timeout_ms);
    if (!bytes)
      return std::nullopt;
    troupe::v1::Envelope reply;
    if (!reply.ParseFromString(*bytes))
      return std::nullopt;
    return reply;
  }

  struct received {
    std::string subject;
    std::string reply; // the NATS reply subject, empty for a one-way message
    std::string data;
  };

  /// Publishes raw bytes one-way (a forger does not wait for answers).
  void publish(const std::string& subject, const std::string& bytes) {
    natsConnection_Publish(nc_, subject.c_str(), bytes.data(), static_cast<int>(bytes.size()));
    natsConnection_Flush(nc_);
  }

  /// Starts a synchronous subscription read by next(); one per peer.
  void subscribe(const std::string& subject) {
    if (natsConnection_SubscribeSync(&sub_, nc_, subject.c_str()) != NATS_OK)
      throw std::runtime_error("raw_peer: cannot subscribe to " + subject);
    natsConnection_Flush(nc_);
  }

  /// The next message of the subscription, or nullopt after `timeout_ms`.
  std::optional<received> next(int timeout_ms = 2000) {
    natsMsg* m = nullptr;
    if (natsSubscription_NextMsg(&m, sub_, timeout_ms) != NATS_OK)
      return std::nullopt;
    const char* reply = natsMsg_GetReply(m);
    received out{natsMsg_GetSubject(m), reply ? reply : "",
                 {natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m))}};
    natsMsg_Destroy(m);
    return out;
  }

private:
  natsConnection* nc_ = nullptr;
  natsSubscription* sub_ = nullptr;
  uint64_t seq_ = 0;
};

} // namespace troupe::test
