#ifndef SHIPLOG_CCRYPTO_SHIM_H
#define SHIPLOG_CCRYPTO_SHIM_H
// OpenSSL's libcrypto, for SHA-256 of the hash chain and artifact digests.
// It is installed with libcurl's development package anyway, so it costs no build time.
#include <openssl/evp.h>
#include <openssl/sha.h>
#endif
