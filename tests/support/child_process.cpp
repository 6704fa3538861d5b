#include "tests/support/child_process.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <functional>
#include <future>
#include <grp.h>
#include <mutex>
#include <netinet/in.h>
#include <pwd.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace troupe::test {

namespace {

/// Runs the forks on one thread that lives until the process exits.
/// PR_SET_PDEATHSIG watches the forking *thread*, not the process: a child
/// forked on a test's own short-lived thread would be killed when that
/// thread ends.
class forking_thread {
public:
  static forking_thread& get() {
    static auto* t = new forking_thread; // never destroyed: it must outlive every child
    return *t;
  }

  template <class F> auto run(F f) -> decltype(f()) {
    auto task = std::make_shared<std::packaged_task<decltype(f())()>>(std::move(f));
    auto result = task->get_future();
    {
      std::lock_guard lock{mtx_};
      jobs_.emplace_back([task] { (*task)(); });
    }
    cv_.notify_one();
    return result.get();
  }

private:
  forking_thread() {
    std::thread{[this] {
      for (;;) {
        std::unique_lock lock{mtx_};
        cv_.wait(lock, [&] { return !jobs_.empty(); });
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job();
      }
    }}.detach();
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
};

/// Everything the child needs, built before fork(): between fork and exec
/// only async-signal-safe calls are allowed (no allocation, no lookups).
struct launch {
  std::string path;
  std::vector<std::string> argv_store;
  std::vector<std::string> env_store;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string log_file;
  int death_signal = SIGKILL;
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::string find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    auto dir = dirs.substr(start, end - start);
    auto candidate = (dir.empty() ? std::string{"."} : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  throw std::runtime_error("cannot start " + name + ": not found in PATH");
}

launch prepare(std::vector<std::string> argv, child_options& opts) {
  if (argv.empty())
    throw std::runtime_error("child_process: no program given");
  launch l;
  l.path = find_executable(argv[0]);
  l.argv_store = std::move(argv);
  for (char** e = environ; *e != nullptr; ++e)
    l.env_store.emplace_back(*e);
  for (auto& e : opts.extra_env)
    l.env_store.push_back(std::move(e));
  for (auto& a : l.argv_store)
    l.argv.push_back(a.data());
  l.argv.push_back(nullptr);
  for (auto& e : l.env_store)
    l.envp.push_back(e.data());
  l.envp.push_back(nullptr);
  l.log_file = std::move(opts.log_file);
  l.death_signal = opts.death_signal;
  if (!opts.user.empty() && ::geteuid() == 0) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (::getpwnam_r(opts.user.c_str(), &pw, buf.data(), buf.size(), &found) != 0
        || found == nullptr)
      throw std::runtime_error("cannot start " + l.argv_store[0] + ": no user " + opts.user);
    l.switch_user = true;
    l.uid = pw.pw_uid;
    l.gid = pw.pw_gid;
  }
  return l;
}

/// In the child, after fork: returns only when something failed.
void become(const launch& l, pid_t parent) {
  ::setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (!l.log_file.empty()) {
    int fd = ::open(l.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0)
      return;
  }
  if (l.switch_user
      && (::setgroups(1, &l.gid) != 0 || ::setgid(l.gid) != 0 || ::setuid(l.uid) != 0
          || ::chdir("/") != 0))
    return;
  // After the user switch, which clears it.
  if (::prctl(PR_SET_PDEATHSIG, l.death_signal) != 0)
    return;
  if (::getppid() != parent) { // the test died before the line above
    errno = ESRCH;
    return;
  }
  ::execve(l.path.c_str(), l.argv.data(), l.envp.data());
}

struct started {
  pid_t pid = -1;
  int error = 0; // errno of the failed step in the child, or of fork/pipe
};

started fork_child(const launch& l) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    return {-1, errno};
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(report[0]);
    become(l, parent);
    int err = errno;
    (void)!::write(report[1], &err, sizeof err);
    ::_exit(127);
  }
  int fork_error = errno;
  ::close(report[1]);
  if (pid < 0) {
    ::close(report[0]);
    return {-1, fork_error};
  }
  ::setpgid(pid, pid); // also here, so the group exists before we could signal it
  int err = 0;
  ssize_t n;
  do
    n = ::read(report[0], &err, sizeof err);
  while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof err)) { // the exec did not happen
    int st;
    ::waitpid(pid, &st, 0);
    return {-1, err};
  }
  return {pid, 0};
}

child_options logged(std::string log_file, std::vector<std::string> extra_env) {
  child_options o;
  o.log_file = std::move(log_file);
  o.extra_env = std::move(extra_env);
  return o;
}

} // namespace

child_process::child_process(std::vector<std::string> argv, child_options opts) {
  auto name = argv.empty() ? std::string{} : argv[0];
  auto l = prepare(std::move(argv), opts);
  auto r = forking_thread::get().run([&l] { return fork_child(l); });
  if (r.pid < 0)
    throw std::runtime_error("cannot start " + name + ": " + std::strerror(r.error));
  pid_ = r.pid;
}

child_process::child_process(std::vector<std::string> argv, std::string log_file,
                             std::vector<std::string> extra_env)
    : child_process(std::move(argv), logged(std::move(log_file), std::move(extra_env))) {}

child_process::child_process(child_process&& other) noexcept
    : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

child_process::~child_process() {
  if (pid_ > 0 && running()) {
    if (::kill(-pid_, SIGKILL) != 0)
      ::kill(pid_, SIGKILL);
    wait_for(std::chrono::seconds(5));
  }
}

void child_process::signal(int sig) {
  if (pid_ > 0 && running())
    ::kill(pid_, sig);
}

bool child_process::running() {
  if (pid_ <= 0 || status_ >= 0)
    return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

int child_process::wait_for(std::chrono::milliseconds timeout) {
  wait_until(timeout, [&] { return !running(); });
  return running() ? -1 : status_;
}

bool port_open(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

} // namespace troupe::test
