/*
 * sonde/util.h - small helpers the library uses itself, exported so that
 * programs built on it need no copies of their own: UTF-8 checking and
 * cutting (label values must be well-formed UTF-8 and, with the label-value
 * length limit, short), base64, and comparing secrets in constant time.
 */
#ifndef SONDE_UTIL_H
#define SONDE_UTIL_H

#include <stddef.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The length of the longest prefix of s[0..len) that is well-formed UTF-8
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF); len
 * when all of it is. On well-formed text, sonde_utf8_valid_prefix(s, max)
 * with max < len is where to cut s to at most max bytes without splitting a
 * character. NULL s: 0.
 */
SONDE_API size_t sonde_utf8_valid_prefix(const char *s, size_t len);

/* Base64 (RFC 4648 alphabet, '=' padding) of data[0..len) as a malloc'd
 * NUL-terminated string; NULL when out of memory or data is NULL. */
SONDE_API char *sonde_base64(const void *data, size_t len);

/*
 * 1 when got[0..got_len) equals want[0..want_len), else 0, in time that
 * depends only on want_len: never on the contents or on where they first
 * differ (for secrets: API keys, passwords, tokens). A NULL got or want: 0.
 */
SONDE_API int sonde_secret_equal(const char *got, size_t got_len, const char *want, size_t want_len);

#ifdef __cplusplus
}
#endif
#endif
