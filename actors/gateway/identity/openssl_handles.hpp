#pragma once
/// Internal to identity/: owning pointers for the OpenSSL handles this
/// module uses, so no early return leaks one. Not included by public headers.
#include <memory>
#include <openssl/bio.h>
#include <openssl/evp.h>

namespace troupe::gateway::identity {

template <class T, void (*Free)(T*)> struct openssl_deleter {
  void operator()(T* p) const noexcept { Free(p); }
};

using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using evp_pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using evp_md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, openssl_deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;

} // namespace troupe::gateway::identity
