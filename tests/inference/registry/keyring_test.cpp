#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <optional>
#include <thread>

#include "actors/inference/errc.hpp"
#include "actors/inference/keyring.hpp"
#include "tests/inference/registry/registry_test_support.hpp"

using namespace troupe::inference;
using namespace troupe::inference::testing;

namespace {

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

keyring fresh_keyring(const temp_dir& dir, const std::string& name = "master.key") {
  auto ring = keyring::open_or_create(dir / name);
  REQUIRE(ring);
  return std::move(*ring);
}

} // namespace

TEST_CASE("a missing master key is created with mode 0600 inside a new 0700 folder") {
  temp_dir dir;
  auto path = dir / "nested/keys/master.key";
  auto ring = keyring::open_or_create(path);
  REQUIRE(ring);
  CHECK(mode_of(path) == 0600);
  CHECK(mode_of(dir / "nested/keys") == 0700);
  CHECK(mode_of(dir / "nested") == 0700);
  CHECK(std::filesystem::file_size(path) == keyring::key_size);
  // Only the key itself is left behind: no temporary files.
  CHECK(std::distance(std::filesystem::directory_iterator{dir / "nested/keys"},
                      std::filesystem::directory_iterator{})
        == 1);
}

TEST_CASE("a reopened master key opens what the first one sealed") {
  temp_dir dir;
  auto first = fresh_keyring(dir);
  auto sealed = first.seal("sk-secret", "openai");
  REQUIRE(sealed);
  auto again = fresh_keyring(dir);
  auto plain = again.open(*sealed, "openai");
  REQUIRE(plain);
  CHECK(*plain == "sk-secret");
}

TEST_CASE("processes racing to create the master key end up with the same key") {
  temp_dir dir;
  std::vector<std::optional<keyring>> rings(8);
  std::vector<std::thread> threads;
  for (auto& slot : rings)
    threads.emplace_back([&] {
      if (auto r = keyring::open_or_create(dir / "master.key"))
        slot.emplace(std::move(*r));
    });
  for (auto& t : threads)
    t.join();
  REQUIRE(rings[0]);
  auto sealed = rings[0]->seal("k", "p");
  REQUIRE(sealed);
  for (auto& r : rings) {
    REQUIRE(r);
    auto plain = r->open(*sealed, "p");
    REQUIRE(plain);
    CHECK(*plain == "k");
  }
}

TEST_CASE("a master key file that group or others may read is refused") {
  temp_dir dir;
  auto path = dir / "master.key";
  write_file(path, std::string(32, 'k'));
  ::chmod(path.c_str(), 0644);
  auto ring = keyring::open_or_create(path);
  REQUIRE_FALSE(ring);
  CHECK(is(ring.error(), errc::key_store_error));
  CHECK_THAT(error_text(ring.error()), Catch::Contains("0644"));
  CHECK_THAT(error_text(ring.error()), Catch::Contains("chmod 600"));
  ::chmod(path.c_str(), 0604);
  CHECK_FALSE(keyring::open_or_create(path));
  ::chmod(path.c_str(), 0600);
  CHECK(keyring::open_or_create(path));
}

TEST_CASE("a master key file of the wrong size is refused and left alone") {
  temp_dir dir;
  auto path = dir / "master.key";
  for (size_t size : {size_t{0}, size_t{31}, size_t{33}}) {
    write_file(path, std::string(size, 'k'));
    ::chmod(path.c_str(), 0600);
    auto ring = keyring::open_or_create(path);
    REQUIRE_FALSE(ring);
    CHECK(is(ring.error(), errc::key_store_error));
    CHECK_THAT(error_text(ring.error()), Catch::Contains(std::to_string(size) + " bytes"));
    CHECK(std::filesystem::file_size(path) == size);
  }
}

TEST_CASE("a master key path that is a folder is refused") {
  temp_dir dir;
  std::filesystem::create_directory(dir / "master.key");
  auto ring = keyring::open_or_create(dir / "master.key");
  REQUIRE_FALSE(ring);
  CHECK(is(ring.error(), errc::key_store_error));
}

TEST_CASE("sealing hides the plaintext and opening gives it back") {
  temp_dir dir;
  auto ring = fresh_keyring(dir);
  for (std::string plain : {std::string{}, std::string{"sk-proj-abcdef0123456789"},
                            std::string(5000, 'x')}) {
    auto sealed = ring.seal(plain, "openai");
    REQUIRE(sealed);
    CHECK(sealed->size() == 1 + 12 + plain.size() + 16);
    CHECK((*sealed)[0] == '\x01');
    if (!plain.empty())
      CHECK(sealed->find(plain) == std::string::npos);
    auto opened = ring.open(*sealed, "openai");
    REQUIRE(opened);
    CHECK(*opened == plain);
  }
  // A fresh nonce each time: the same key never seals to the same bytes.
  CHECK(*ring.seal("same", "p") != *ring.seal("same", "p"));
}

TEST_CASE("a sealed key with any byte changed does not open") {
  temp_dir dir;
  auto ring = fresh_keyring(dir);
  auto sealed = ring.seal("sk-secret-value", "openai");
  REQUIRE(sealed);
  for (size_t i = 0; i < sealed->size(); ++i) {
    auto tampered = *sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    auto opened = ring.open(tampered, "openai");
    REQUIRE_FALSE(opened);
    CHECK(is(opened.error(), errc::key_store_error));
  }
  CHECK_FALSE(ring.open(sealed->substr(0, sealed->size() - 1), "openai"));
  CHECK_FALSE(ring.open(*sealed + "x", "openai"));
  CHECK_FALSE(ring.open("", "openai"));
  CHECK_FALSE(ring.open(std::string(28, '\x01'), "openai"));
}

TEST_CASE("a sealed key does not open for another provider or under another master key") {
  temp_dir dir;
  auto ring = fresh_keyring(dir);
  auto other = fresh_keyring(dir, "other.key");
  auto sealed = ring.seal("sk-secret", "openai");
  REQUIRE(sealed);
  auto wrong_aad = ring.open(*sealed, "mistral");
  REQUIRE_FALSE(wrong_aad);
  CHECK(is(wrong_aad.error(), errc::key_store_error));
  auto wrong_key = other.open(*sealed, "openai");
  REQUIRE_FALSE(wrong_key);
  CHECK(is(wrong_key.error(), errc::key_store_error));
}
