#pragma once
/// A fresh directory under /tmp, removed with everything in it on destruction.
#include <filesystem>
#include <stdexcept>
#include <stdlib.h>
#include <string>

namespace troupe::test {

class temp_dir {
public:
  /// `prefix`: the name's start, e.g. "troupe-e2e".
  explicit temp_dir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("temp_dir: mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const noexcept { return path_; }

private:
  std::string path_;
};

} // namespace troupe::test
