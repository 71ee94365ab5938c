/*
 * error.c - the text of every SONDE_E* code, and the one helper that writes
 * a formatted message into a caller's error buffer. Static strings only, so
 * that sonde_strerror() is safe from any thread and never allocates.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

const char *sonde_strerror(int err)
{
    switch (err) {
    case SONDE_OK: return "success";
    case SONDE_EINVAL: return "invalid argument";
    case SONDE_ENAME: return "invalid or reserved metric or label name";
    case SONDE_EEXIST: return "a metric of that name is already registered";
    case SONDE_ENOENT: return "no such metric or series";
    case SONDE_ETYPE: return "the metric has another type";
    case SONDE_ENOMEM: return "out of memory";
    case SONDE_EUTF8: return "text is not valid UTF-8";
    case SONDE_ELIMIT: return "cardinality limit reached; the update goes to a no-op series";
    case SONDE_ERANGE: return "value out of range";
    case SONDE_EDISABLED: return "metrics are disabled";
    case SONDE_ECONFIG: return "malformed configuration value";
    case SONDE_ETRUNC: return "buffer too small";
    case SONDE_EWRITE: return "the write callback failed";
    case SONDE_ELABELS: return "label names or count do not match the metric";
    case SONDE_EIO: return "an operating-system call failed";
    case SONDE_EBUSY: return "resource busy or already initialised";
    case SONDE_ETOOLONG: return "label value longer than the registry's label-value limit";
    case SONDE_EUNLISTED: return "label value not in the closed set registered up front";
    default: return "unknown error";
    }
}

const char *sonde_version(void)
{
    return SONDE_VERSION_STRING;
}

int sonde_internal_errorf(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}
