#ifndef SHIPLOG_CCURL_SHIM_H
#define SHIPLOG_CCURL_SHIM_H
#include <curl/curl.h>

/*
 * curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, and Swift cannot
 * call a C variadic function. Each wrapper below fixes one argument type, so the value
 * crosses into C as exactly the type libcurl reads back with va_arg (long, curl_off_t,
 * char *, void *, or a callback pointer). Passing a Swift Int where curl reads a long
 * happens to work on LP64 but not on LLP64, so Swift code goes through these only.
 */

/// Options of type CURLOPTTYPE_LONG (timeouts, flags, counts) need exactly a `long`.
static inline CURLcode shiplog_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/// Options of type CURLOPTTYPE_STRINGPOINT (URL, CA file, protocol lists); curl copies the string.
static inline CURLcode shiplog_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// Options of type CURLOPTTYPE_OBJECTPOINT / SLISTPOINT / CBPOINT (buffers, header lists, user data);
/// curl keeps the pointer, so the caller owns the memory until the handle is cleaned up.
static inline CURLcode shiplog_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/// Options of type CURLOPTTYPE_OFF_T (large sizes) need exactly a `curl_off_t`, not a long.
static inline CURLcode shiplog_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/// CURLOPT_WRITEFUNCTION takes a function pointer, which must not travel as a data pointer.
static inline CURLcode shiplog_curl_easy_setopt_write_callback(CURL *handle, CURLoption option,
                                                               curl_write_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

/// CURLOPT_PROTOCOLS / CURLOPT_REDIR_PROTOCOLS are deprecated since 7.85 in favour of the _STR
/// variants; this fallback for an older runtime library keeps the deprecation out of Swift.
static inline CURLcode shiplog_curl_easy_restrict_protocols_legacy(CURL *handle, long mask) {
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
#endif
    CURLcode code = curl_easy_setopt(handle, CURLOPT_PROTOCOLS, mask);
    if (code == CURLE_OK) {
        code = curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS, mask);
    }
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
    return code;
}

/// The CURLPROTO_* bits are macros built from shifts; spelled here so Swift gets one value.
static inline long shiplog_curl_proto_http_https(void) {
    return (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS);
}

/// CURL_GLOBAL_DEFAULT is a macro combining other macros; spelled as a function for Swift.
static inline long shiplog_curl_global_default_flags(void) {
    return CURL_GLOBAL_DEFAULT;
}

/// CURLVERSION_NOW is a macro naming another enum value, which Swift does not import; this asks
/// the loaded library (not the headers) for its version, as LIBCURL_VERSION_NUM encodes it.
static inline unsigned int shiplog_curl_runtime_version_num(void) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    return info ? info->version_num : 0;
}

/// CURL_ERROR_SIZE sizes the CURLOPT_ERRORBUFFER buffer; a function keeps its type exact.
static inline size_t shiplog_curl_error_size(void) {
    return CURL_ERROR_SIZE;
}

/// CURLINFO_LONG results (response code, redirect count) are written through a `long *`.
static inline CURLcode shiplog_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// CURLINFO_DOUBLE results (times in seconds) are written through a `double *`.
static inline CURLcode shiplog_curl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// CURLINFO_OFF_T results (times in microseconds, sizes) are written through a `curl_off_t *`.
static inline CURLcode shiplog_curl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// CURLINFO_STRING results (effective URL, content type) point into memory the handle owns.
static inline CURLcode shiplog_curl_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_multi_setopt is variadic too; multi options of type long need exactly a `long`.
static inline CURLMcode shiplog_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

/// CURLMsg keeps its result in an anonymous union; reading it in C avoids importing the union.
static inline CURLcode shiplog_curl_msg_result(const CURLMsg *message) {
    return message->data.result;
}

#endif
