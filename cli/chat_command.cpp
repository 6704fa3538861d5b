#include "cli/chat_command.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "terminal/chat_client.hpp"

namespace troupe::cli {

using terminal::gateway_error;
using terminal::stream_handlers;

namespace {

struct chat_options {
  std::string url;
  std::string api_key;
  std::string session;
  std::string model;
};

std::atomic<bool> interrupted{false};

extern "C" void on_sigint(int) {
  interrupted.store(true);
}

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? std::string{v} : fallback;
}

void report(const gateway_error& e) {
  std::cerr << "error: " << e.code << ": " << e.message << "\n";
}

class chat_session {
public:
  chat_session(terminal::chat_client client, std::string session, std::string model)
    : client_(std::move(client)), session_(std::move(session)), model_(std::move(model)),
      tty_(::isatty(STDIN_FILENO) == 1) {}

  int run() {
    if (tty_)
      std::cout << "troupe chat with " << client_.base_url()
                << (session_.empty() ? std::string{" (a new session)"} : " (session " + session_ + ")")
                << " — /help for commands, /quit or Ctrl-D to leave\n";
    if (!session_.empty())
      history();
    std::string line;
    bool quit = false;
    while (!quit) {
      if (tty_)
        std::cout << "you> " << std::flush;
      if (!std::getline(std::cin, line))
        break;
      if (interrupted.exchange(false) && line.empty())
        continue;
      if (!line.empty() && line[0] == '/') {
        quit = !command(line);
      } else if (line.find_first_not_of(" \t") != std::string::npos) {
        turn(line);
      }
    }
    if (!quit && tty_)
      std::cout << "\n"; // Ctrl-D or Ctrl-C left the prompt line open
    return failed_ ? 1 : 0;
  }

private:
  /// False when the chat should end.
  bool command(const std::string& line) {
    auto space = line.find(' ');
    auto name = line.substr(0, space);
    auto arg = space == std::string::npos ? std::string{} : line.substr(space + 1);
    if (name == "/quit" || name == "/exit")
      return false;
    if (name == "/new") {
      session_.clear();
      std::cout << "(a new session starts with your next message)\n";
    } else if (name == "/open" && !arg.empty()) {
      session_ = arg;
      history();
    } else if (name == "/sessions") {
      sessions();
    } else if (name == "/history") {
      if (session_.empty())
        std::cout << "(no session yet: send a message first)\n";
      else
        history();
    } else if (name == "/help") {
      std::cout << "/new          start a new session\n"
                   "/open ID      continue session ID (shows its history)\n"
                   "/sessions     your sessions, latest first (* marks this one)\n"
                   "/history      the messages of this session\n"
                   "/quit         leave (so does Ctrl-D)\n";
    } else {
      std::cerr << "error: unknown_command: '" << line << "' (/help lists the commands)\n";
      failed_ = true;
    }
    return true;
  }

  void turn(const std::string& message) {
    interrupted.store(false);
    bool printed = false;
    stream_handlers on;
    on.on_text = [&](std::string_view text) {
      if (!printed && tty_)
        std::cout << "troupe> ";
      printed = true;
      std::cout << text << std::flush;
    };
    on.on_tool = [&](const nlohmann::json& ev, std::string_view type) {
      if (printed)
        std::cout << "\n";
      printed = false;
      if (type == "tool_call")
        std::cout << "[tool call " << ev.value("name", std::string{}) << " "
                  << ev.value("arguments", std::string{}) << "]\n";
      else
        std::cout << "[tool result " << ev.value("name", std::string{}) << ": "
                  << ev.value("content", std::string{}) << "]\n";
    };
    auto out = client_.send(session_, model_, message, on, interrupted);
    if (printed)
      std::cout << "\n";
    std::cout << std::flush;
    if (!out.session_id.empty())
      session_ = out.session_id;
    if (out.error) {
      report(*out.error);
      failed_ = true;
    }
  }

  void sessions() {
    auto got = client_.sessions();
    if (got.error) {
      report(*got.error);
      failed_ = true;
      return;
    }
    const auto& list = got.body["sessions"];
    if (!list.is_array() || list.empty()) {
      std::cout << "(no sessions yet)\n";
      return;
    }
    for (const auto& s : list) {
      auto id = s.value("id", std::string{});
      std::cout << (id == session_ ? "* " : "  ") << id << "  " << s.value("message_count", 0)
                << " messages  " << s.value("title", std::string{}) << "\n";
    }
  }

  void history() {
    auto got = client_.messages(session_);
    if (got.error) {
      report(*got.error);
      failed_ = true;
      return;
    }
    for (const auto& m : got.body["messages"]) {
      auto role = m.value("role", std::string{});
      std::cout << (role == "user" ? "you> " : role == "assistant" ? "troupe> " : role + "> ")
                << m.value("content", std::string{}) << "\n";
    }
  }

  terminal::chat_client client_;
  std::string session_;
  std::string model_;
  bool tty_;
  bool failed_ = false;
};

} // namespace

void add_chat_command(CLI::App& app) {
  auto opts = std::make_shared<chat_options>();
  auto* chat = app.add_subcommand("chat", "Chat with a running node's gateway in the terminal");
  opts->url = env_or("TROUPE_GATEWAY_URL", "http://127.0.0.1:8080");
  opts->api_key = env_or("TROUPE_API_KEY", "");
  chat->add_option("--url", opts->url, "The gateway (default: $TROUPE_GATEWAY_URL or http://127.0.0.1:8080)");
  chat->add_option("--api-key", opts->api_key,
                   "An API key or JWT (default: $TROUPE_API_KEY; none for a dev-mode gateway)");
  chat->add_option("--session", opts->session, "Continue this session (shows its history first)");
  chat->add_option("--model", opts->model, "A model or role alias (default: the node's 'default')");
  chat->callback([opts] {
    struct sigaction sa{};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr); // no SA_RESTART: Ctrl-C at the prompt ends the read
    chat_session s{terminal::chat_client{opts->url, opts->api_key}, opts->session, opts->model};
    throw CLI::RuntimeError(s.run());
  });
}

} // namespace troupe::cli
