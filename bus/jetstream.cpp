#include "bus/jetstream.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <nats/nats.h>

#include "bus/errc.hpp"
#include "bus/subject_match.hpp"
#include "common/logging.hpp"

namespace troupe::bus {

namespace {

constexpr int64_t ns_per_ms = 1'000'000; // stream ages and ack waits are Go durations (ns)

std::string describe(natsStatus s, jsErrCode jerr) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  std::string out = natsStatus_GetText(s);
  if (text != nullptr && *text != '\0' && last == s)
    out += std::string{": "} + text;
  if (jerr != 0)
    out += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  return out;
}

caf::error js_error(natsStatus s, jsErrCode jerr, const std::string& what) {
  auto msg = what + ": " + describe(s, jerr);
  if (s == NATS_CONNECTION_CLOSED)
    return make_error(errc::not_connected, std::move(msg));
  if (s == NATS_TIMEOUT)
    return make_error(errc::timeout, std::move(msg));
  return make_error(errc::jetstream_error, std::move(msg));
}

/// Stream and consumer names become subject tokens of the JetStream API.
bool valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
           || c == '-';
  });
}

int64_t clamp_ms(std::chrono::milliseconds ms) {
  return std::max<int64_t>(1, ms.count());
}

} // namespace

// -- state --------------------------------------------------------------------

struct jetstream::state {
  std::shared_ptr<void> conn; // keeps the connection object alive
  jsCtx* js = nullptr;
  std::chrono::milliseconds api_timeout;

  ~state() {
    if (js != nullptr)
      jsCtx_Destroy(js);
  }
};

struct pull_consumer::state {
  std::shared_ptr<jetstream::state> js;
  natsSubscription* sub = nullptr;
  std::mutex fetch_mtx; // nats.c allows one fetch at a time per subscription

  ~state() {
    // Destroy, not Unsubscribe: Unsubscribe would delete the durable.
    if (sub != nullptr)
      natsSubscription_Destroy(sub);
  }
};

struct js_message::state {
  std::shared_ptr<pull_consumer::state> consumer; // acks go through its subscription
  natsMsg* msg = nullptr;

  ~state() {
    if (msg != nullptr)
      natsMsg_Destroy(msg);
  }
};

// -- js_message ---------------------------------------------------------------------

js_message::js_message(std::shared_ptr<state> st) : st_(std::move(st)) {
  auto* m = st_->msg;
  subject_ = natsMsg_GetSubject(m);
  const char* data = natsMsg_GetData(m);
  int len = natsMsg_GetDataLength(m);
  if (data != nullptr && len > 0)
    data_ = std::string_view{data, static_cast<size_t>(len)};
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, m) == NATS_OK && meta != nullptr) {
    sequence_ = meta->Sequence.Stream;
    delivered_ = meta->NumDelivered;
    jsMsgMetaData_Destroy(meta);
  }
}

std::optional<std::string> js_message::header(const std::string& key) const {
  const char* value = nullptr;
  if (natsMsgHeader_Get(st_->msg, key.c_str(), &value) != NATS_OK || value == nullptr)
    return std::nullopt;
  return std::string{value};
}

std::map<std::string, std::string> js_message::headers() const {
  std::map<std::string, std::string> out;
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(st_->msg, &keys, &count) != NATS_OK || keys == nullptr)
    return out;
  for (int i = 0; i < count; ++i) {
    const char* value = nullptr;
    if (natsMsgHeader_Get(st_->msg, keys[i], &value) == NATS_OK && value != nullptr)
      out.emplace(keys[i], value);
  }
  std::free(static_cast<void*>(keys));
  return out;
}

caf::error js_message::ack() const {
  auto s = natsMsg_Ack(st_->msg, nullptr);
  return s == NATS_OK ? caf::none : js_error(s, jsErrCode{}, "ack");
}

caf::error js_message::ack_sync(std::chrono::milliseconds timeout) const {
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = clamp_ms(timeout);
  jsErrCode jerr{};
  auto s = natsMsg_AckSync(st_->msg, &o, &jerr);
  return s == NATS_OK ? caf::none : js_error(s, jerr, "ack");
}

caf::error js_message::nak() const {
  auto s = natsMsg_Nak(st_->msg, nullptr);
  return s == NATS_OK ? caf::none : js_error(s, jsErrCode{}, "nak");
}

caf::error js_message::term() const {
  auto s = natsMsg_Term(st_->msg, nullptr);
  return s == NATS_OK ? caf::none : js_error(s, jsErrCode{}, "term");
}

// -- pull_consumer ------------------------------------------------------------------

pull_consumer::pull_consumer(std::shared_ptr<state> st, std::string stream, std::string durable)
    : st_(std::move(st)), stream_(std::move(stream)), durable_(std::move(durable)) {}

caf::expected<std::vector<js_message>> pull_consumer::fetch(int batch,
                                                            std::chrono::milliseconds timeout) {
  if (batch < 1)
    return make_error(errc::jetstream_error, "fetch: batch must be at least 1");
  std::lock_guard<std::mutex> guard{st_->fetch_mtx};
  natsMsgList list{nullptr, 0};
  jsErrCode jerr{};
  auto s = natsSubscription_Fetch(&list, st_->sub, batch, clamp_ms(timeout), &jerr);
  std::vector<js_message> out;
  if (s == NATS_TIMEOUT)
    return out;
  if (s != NATS_OK) {
    natsMsgList_Destroy(&list);
    return js_error(s, jerr, "fetch from " + stream_ + "/" + durable_);
  }
  out.reserve(static_cast<size_t>(list.Count));
  for (int i = 0; i < list.Count; ++i) {
    auto st = std::make_shared<js_message::state>();
    st->consumer = st_;
    st->msg = list.Msgs[i];
    list.Msgs[i] = nullptr; // now owned by `st`
    out.emplace_back(std::move(st));
  }
  natsMsgList_Destroy(&list);
  return out;
}

// -- jetstream ----------------------------------------------------------------------

jetstream::jetstream(std::shared_ptr<state> st) : st_(std::move(st)) {}

std::shared_ptr<void> jetstream::native_handle() const noexcept {
  return std::shared_ptr<void>{st_, st_->js};
}

caf::expected<jetstream> jetstream::open(const nats_transport& transport,
                                         std::chrono::milliseconds api_timeout) {
  auto st = std::make_shared<state>();
  st->conn = transport.native_handle();
  st->api_timeout = api_timeout;
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = clamp_ms(api_timeout);
  auto s = natsConnection_JetStream(&st->js, static_cast<natsConnection*>(st->conn.get()), &o);
  if (s != NATS_OK)
    return js_error(s, jsErrCode{}, "open JetStream context");
  return jetstream{std::move(st)};
}

caf::error jetstream::ensure_stream(const stream_config& cfg) {
  if (!valid_name(cfg.name))
    return make_error(errc::jetstream_error, "invalid stream name '" + cfg.name + "'");
  if (cfg.subjects.empty())
    return make_error(errc::jetstream_error, "stream " + cfg.name + " needs subjects");
  for (auto& subject : cfg.subjects)
    if (!is_subscribe_pattern(subject))
      return make_error(errc::invalid_subject,
                        "stream " + cfg.name + ": invalid subject '" + subject + "'");
  if (cfg.replicas < 1 || cfg.max_age.count() < 0 || cfg.duplicate_window.count() < 0)
    return make_error(errc::jetstream_error,
                      "stream " + cfg.name + ": replicas must be >= 1 and durations >= 0");
  if (cfg.max_bytes != -1 && cfg.max_bytes < 1)
    return make_error(errc::jetstream_error,
                      "stream " + cfg.name + ": max_bytes must be -1 (no limit) or positive");
  std::vector<const char*> subjects;
  for (auto& subject : cfg.subjects)
    subjects.push_back(subject.c_str());
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = cfg.name.c_str();
  sc.Subjects = subjects.data();
  sc.SubjectsLen = static_cast<int>(subjects.size());
  sc.MaxAge = cfg.max_age.count() * ns_per_ms;
  sc.Storage = cfg.storage == storage_kind::memory ? js_MemoryStorage : js_FileStorage;
  sc.Replicas = cfg.replicas;
  sc.Duplicates = cfg.duplicate_window.count() * ns_per_ms;
  sc.MaxBytes = cfg.max_bytes;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr{};
  auto s = js_AddStream(&si, st_->js, &sc, nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return caf::none;
  }
  if (jerr != JSStreamNameExistErr)
    return js_error(s, jerr, "create stream " + cfg.name);
  jerr = jsErrCode{};
  s = js_UpdateStream(&si, st_->js, &sc, nullptr, &jerr);
  if (s != NATS_OK)
    return js_error(s, jerr, "update stream " + cfg.name);
  jsStreamInfo_Destroy(si);
  return caf::none;
}

caf::error jetstream::delete_stream(const std::string& name) {
  if (!valid_name(name))
    return make_error(errc::jetstream_error, "invalid stream name '" + name + "'");
  jsErrCode jerr{};
  auto s = js_DeleteStream(st_->js, name.c_str(), nullptr, &jerr);
  if (s == NATS_OK || jerr == JSStreamNotFoundErr)
    return caf::none;
  return js_error(s, jerr, "delete stream " + name);
}

caf::expected<publish_ack> jetstream::publish(const std::string& subject, std::string_view data,
                                              const std::string& msg_id,
                                              std::chrono::milliseconds timeout, int attempts) {
  if (!is_publish_subject(subject))
    return make_error(errc::invalid_subject, "cannot publish to '" + subject + "'");
  if (data.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    return make_error(errc::publish_failed, "payload too large");
  std::string id = msg_id;
  if (id.empty()) {
    natsInbox* inbox = nullptr;
    if (natsInbox_Create(&inbox) != NATS_OK)
      return make_error(errc::publish_failed, "cannot generate a message id");
    id = std::string{inbox}.substr(std::string_view{"_INBOX."}.size());
    natsInbox_Destroy(inbox);
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = id.c_str();
  po.MaxWait = clamp_ms(timeout);
  attempts = std::max(1, attempts);
  caf::error last;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    jsPubAck* pa = nullptr;
    jsErrCode jerr{};
    auto s = js_Publish(&pa, st_->js, subject.c_str(), data.data(), static_cast<int>(data.size()),
                        &po, &jerr);
    if (s == NATS_OK) {
      publish_ack ack{pa->Stream ? pa->Stream : "", pa->Sequence, pa->Duplicate};
      jsPubAck_Destroy(pa);
      return ack;
    }
    if (s == NATS_NO_RESPONDERS)
      return make_error(errc::jetstream_error, "no stream takes '" + subject + "'");
    last = js_error(s, jerr,
                    "publish to '" + subject + "' (attempt " + std::to_string(attempt) + "/"
                        + std::to_string(attempts) + ", msg id " + id + ")");
    if (s != NATS_TIMEOUT)
      return last;
    log::get("bus")->warn("JetStream publish to '{}' timed out (attempt {}/{}), msg id {}", subject,
                          attempt, attempts, id);
  }
  return last;
}

caf::expected<bus::pull_consumer> jetstream::pull_consumer(const std::string& stream,
                                                           const std::string& durable,
                                                           const std::string& filter_subject,
                                                           const consumer_config& cfg) {
  if (!valid_name(stream) || !valid_name(durable))
    return make_error(errc::jetstream_error,
                      "invalid stream or consumer name '" + stream + "'/'" + durable + "'");
  if (!is_subscribe_pattern(filter_subject))
    return make_error(errc::invalid_subject, "invalid filter subject '" + filter_subject + "'");
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Config.AckPolicy = js_AckExplicit;
  if (cfg.ack_wait.count() > 0)
    so.Config.AckWait = cfg.ack_wait.count() * ns_per_ms;
  if (cfg.max_deliver > 0)
    so.Config.MaxDeliver = cfg.max_deliver;
  auto st = std::make_shared<bus::pull_consumer::state>();
  st->js = st_;
  jsErrCode jerr{};
  auto s = js_PullSubscribe(&st->sub, st_->js, filter_subject.c_str(), durable.c_str(), nullptr,
                            &so, &jerr);
  if (s != NATS_OK) {
    st->sub = nullptr;
    return js_error(s, jerr, "pull consumer " + stream + "/" + durable);
  }
  return bus::pull_consumer{std::move(st), stream, durable};
}

caf::error jetstream::delete_consumer(const std::string& stream, const std::string& durable) {
  if (!valid_name(stream) || !valid_name(durable))
    return make_error(errc::jetstream_error,
                      "invalid stream or consumer name '" + stream + "'/'" + durable + "'");
  jsErrCode jerr{};
  auto s = js_DeleteConsumer(st_->js, stream.c_str(), durable.c_str(), nullptr, &jerr);
  if (s == NATS_OK || jerr == JSConsumerNotFoundErr)
    return caf::none;
  return js_error(s, jerr, "delete consumer " + stream + "/" + durable);
}

} // namespace troupe::bus
