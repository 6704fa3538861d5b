#include "bus/kv.hpp"

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>
#include <nats/nats.h>
#include <thread>

#include "bus/errc.hpp"
#include "common/logging.hpp"

namespace troupe::bus {

namespace {

constexpr int64_t ns_per_ms = 1'000'000; // the bucket TTL is a Go duration (ns)

std::string describe(natsStatus s) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  std::string out = natsStatus_GetText(s);
  if (text != nullptr && *text != '\0' && last == s)
    out += std::string{": "} + text;
  return out;
}

caf::error kv_failure(natsStatus s, const std::string& what) {
  auto msg = what + ": " + describe(s);
  if (s == NATS_CONNECTION_CLOSED)
    return make_error(errc::not_connected, std::move(msg));
  if (s == NATS_TIMEOUT)
    return make_error(errc::timeout, std::move(msg));
  return make_error(errc::kv_error, std::move(msg));
}

bool valid_bucket(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
           || c == '-';
  });
}

bool fits_int(std::string_view value) {
  return value.size() <= static_cast<size_t>(std::numeric_limits<int>::max());
}

kv_entry to_entry(kvEntry* e) {
  kv_entry out;
  out.key = kvEntry_Key(e);
  const void* data = kvEntry_Value(e);
  int len = kvEntry_ValueLen(e);
  if (data != nullptr && len > 0)
    out.value.assign(static_cast<const char*>(data), static_cast<size_t>(len));
  out.revision = kvEntry_Revision(e);
  switch (kvEntry_Operation(e)) {
  case kvOp_Delete:
    out.op = kv_op::remove;
    break;
  case kvOp_Purge:
    out.op = kv_op::purge;
    break;
  default:
    out.op = kv_op::put;
    break;
  }
  return out;
}

} // namespace

struct kv_bucket::state {
  std::shared_ptr<void> js; // keeps the JetStream context and connection alive
  kvStore* kv = nullptr;

  ~state() {
    if (kv != nullptr)
      kvStore_Destroy(kv);
  }
};

struct kv_watch::state {
  std::shared_ptr<kv_bucket::state> bucket;
  kvWatcher* watcher = nullptr;
  kv_handler handler;
  std::function<void()> initial_done;
  std::string pattern;
  std::atomic<bool> stopping{false};
  std::thread thread;
  std::mutex stop_mtx;

  ~state() {
    if (watcher != nullptr)
      kvWatcher_Destroy(watcher);
  }

  void run() {
    auto log = log::get("bus");
    while (!stopping) {
      kvEntry* e = nullptr;
      auto s = kvWatcher_Next(&e, watcher, 1000);
      if (stopping) {
        kvEntry_Destroy(e);
        break;
      }
      if (s == NATS_TIMEOUT)
        continue;
      if (s != NATS_OK) {
        if (s == NATS_ILLEGAL_STATE || s == NATS_CONNECTION_CLOSED)
          break; // stopped, or the connection is gone for good
        log->warn("kv watch '{}': {}", pattern, describe(s));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      try {
        if (e == nullptr) { // the marker after the current values
          if (initial_done)
            initial_done();
          continue;
        }
        auto entry = to_entry(e);
        kvEntry_Destroy(e);
        e = nullptr;
        handler(entry);
      } catch (const std::exception& ex) {
        kvEntry_Destroy(e);
        log->error("kv watch '{}': handler threw: {}", pattern, ex.what());
      } catch (...) {
        kvEntry_Destroy(e);
        log->error("kv watch '{}': handler threw", pattern);
      }
    }
  }
};

// -- kv_watch -------------------------------------------------------------------------

kv_watch::kv_watch(std::shared_ptr<state> st) : st_(std::move(st)) {}
kv_watch::kv_watch(kv_watch&&) noexcept = default;

kv_watch& kv_watch::operator=(kv_watch&& other) noexcept {
  if (this != &other) {
    stop();
    st_ = std::move(other.st_);
  }
  return *this;
}

kv_watch::~kv_watch() {
  stop();
}

void kv_watch::stop() {
  if (!st_)
    return;
  std::lock_guard<std::mutex> guard{st_->stop_mtx};
  st_->stopping = true;
  kvWatcher_Stop(st_->watcher); // wakes a waiting kvWatcher_Next
  if (st_->thread.joinable()) {
    if (st_->thread.get_id() == std::this_thread::get_id())
      st_->thread.detach(); // from its own handler: it ends when the handler returns
    else
      st_->thread.join();
  }
}

// -- kv_bucket ------------------------------------------------------------------------

kv_bucket::kv_bucket(std::shared_ptr<state> st, std::string name)
    : st_(std::move(st)), name_(std::move(name)) {}

caf::expected<kv_bucket> kv_bucket::open_or_create(jetstream& js, const std::string& name,
                                                   std::chrono::milliseconds ttl, int history) {
  if (!valid_bucket(name))
    return make_error(errc::kv_error, "invalid bucket name '" + name + "'");
  if (history < 1 || history > 64)
    return make_error(errc::kv_error, "bucket " + name + ": history must be 1..64");
  if (ttl.count() < 0)
    return make_error(errc::kv_error, "bucket " + name + ": negative ttl");
  auto st = std::make_shared<state>();
  st->js = js.native_handle();
  auto* ctx = static_cast<jsCtx*>(st->js.get());
  auto s = js_KeyValue(&st->kv, ctx, name.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = name.c_str();
    cfg.History = static_cast<uint8_t>(history);
    cfg.TTL = ttl.count() * ns_per_ms;
    st->kv = nullptr;
    s = js_CreateKeyValue(&st->kv, ctx, &cfg);
    if (s != NATS_OK) {
      // Another node may have created it with other settings meanwhile.
      st->kv = nullptr;
      s = js_KeyValue(&st->kv, ctx, name.c_str());
    }
  }
  if (s != NATS_OK) {
    st->kv = nullptr;
    return kv_failure(s, "open bucket " + name);
  }
  return kv_bucket{std::move(st), name};
}

caf::expected<kv_entry> kv_bucket::get(const std::string& key) {
  kvEntry* e = nullptr;
  auto s = kvStore_Get(&e, st_->kv, key.c_str());
  if (s == NATS_NOT_FOUND)
    return make_error(errc::kv_key_not_found, name_ + "/" + key);
  if (s != NATS_OK)
    return kv_failure(s, "get " + name_ + "/" + key);
  auto out = to_entry(e);
  kvEntry_Destroy(e);
  return out;
}

caf::expected<uint64_t> kv_bucket::put(const std::string& key, std::string_view value) {
  if (!fits_int(value))
    return make_error(errc::kv_error, "value too large");
  uint64_t rev = 0;
  auto s = kvStore_Put(&rev, st_->kv, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s != NATS_OK)
    return kv_failure(s, "put " + name_ + "/" + key);
  return rev;
}

caf::expected<uint64_t> kv_bucket::create(const std::string& key, std::string_view value) {
  if (!fits_int(value))
    return make_error(errc::kv_error, "value too large");
  uint64_t rev = 0;
  auto s = kvStore_Create(&rev, st_->kv, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s == NATS_OK)
    return rev;
  auto failure = kv_failure(s, "create " + name_ + "/" + key);
  // The server's "wrong last sequence" arrives as a generic NATS_ERR: tell it
  // apart by looking at the key.
  if (s == NATS_ERR) {
    auto current = get(key);
    if (current)
      return make_error(errc::kv_revision_mismatch, name_ + "/" + key + " exists at revision "
                                                        + std::to_string(current->revision));
  }
  return failure;
}

caf::expected<uint64_t> kv_bucket::update(const std::string& key, std::string_view value,
                                          uint64_t expected_revision) {
  if (!fits_int(value))
    return make_error(errc::kv_error, "value too large");
  uint64_t rev = 0;
  auto s = kvStore_Update(&rev, st_->kv, key.c_str(), value.data(), static_cast<int>(value.size()),
                          expected_revision);
  if (s == NATS_OK)
    return rev;
  auto failure = kv_failure(s, "update " + name_ + "/" + key);
  if (s == NATS_ERR) {
    auto current = get(key);
    if (current && current->revision != expected_revision)
      return make_error(errc::kv_revision_mismatch,
                        name_ + "/" + key + " is at revision " + std::to_string(current->revision)
                            + ", not " + std::to_string(expected_revision));
    if (!current && is(current.error(), errc::kv_key_not_found))
      return make_error(errc::kv_revision_mismatch, name_ + "/" + key
                                                        + " is absent, not at revision "
                                                        + std::to_string(expected_revision));
  }
  return failure;
}

caf::error kv_bucket::remove(const std::string& key) {
  auto s = kvStore_Delete(st_->kv, key.c_str());
  if (s != NATS_OK)
    return kv_failure(s, "delete " + name_ + "/" + key);
  return caf::none;
}

caf::expected<kv_watch> kv_bucket::watch(const std::string& key_pattern, kv_handler handler,
                                         std::function<void()> initial_done) {
  if (!handler)
    return make_error(errc::kv_error, "watch " + name_ + "/" + key_pattern + " without a handler");
  auto st = std::make_shared<kv_watch::state>();
  st->bucket = st_;
  st->handler = std::move(handler);
  st->initial_done = std::move(initial_done);
  st->pattern = key_pattern;
  kvWatchOptions wo;
  kvWatchOptions_Init(&wo);
  auto s = kvStore_Watch(&st->watcher, st_->kv, key_pattern.c_str(), &wo);
  if (s != NATS_OK) {
    st->watcher = nullptr;
    return kv_failure(s, "watch " + name_ + "/" + key_pattern);
  }
  // The thread shares the state, so a thread detached by a handler that
  // stopped its own watch still has its watcher until it returns.
  st->thread = std::thread([keep = st] { keep->run(); });
  return kv_watch{std::move(st)};
}

} // namespace troupe::bus
