/*
 * sonde/error.h - error codes shared by every part of libsonde.
 *
 * Functions that can fail return 0 (SONDE_OK) or a negative SONDE_E* code;
 * sonde_strerror() turns a code into a fixed English sentence. The library
 * never aborts, exits or prints on its own: a metrics fault must never take
 * the host service down. Hot-path calls (increment, observe, set) return
 * nothing and treat misuse such as a NULL handle as a cheap no-op. sonde/sonde.h
 * states the conventions for NULL arguments once for every header.
 */
#ifndef SONDE_ERROR_H
#define SONDE_ERROR_H

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SONDE_OK 0
#define SONDE_EINVAL (-1)     /* an argument is NULL, empty or out of its domain */
#define SONDE_ENAME (-2)      /* a metric or label name is invalid or reserved */
#define SONDE_EEXIST (-3)     /* a metric of that name is already registered */
#define SONDE_ENOENT (-4)     /* no metric or series of that name / those labels */
#define SONDE_ETYPE (-5)      /* the metric exists but has another type */
#define SONDE_ENOMEM (-6)     /* out of memory */
#define SONDE_EUTF8 (-7)      /* a label value or help text is not valid UTF-8 */
#define SONDE_ELIMIT (-8)     /* the family's cardinality limit is reached */
#define SONDE_ERANGE (-9)     /* a value is out of range (negative counter add, NaN) */
#define SONDE_EDISABLED (-10) /* metrics are disabled by configuration */
#define SONDE_ECONFIG (-11)   /* a configuration value is malformed */
#define SONDE_ETRUNC (-12)    /* the caller's buffer is too small */
#define SONDE_EWRITE (-13)    /* the caller's write callback reported a failure */
#define SONDE_ELABELS (-14)   /* wrong number of label values, or unknown label names */
#define SONDE_EIO (-15)       /* an operating-system call failed (socket, file) */
#define SONDE_EBUSY (-16)     /* the resource is in use (port taken, server running) */
#define SONDE_ETOOLONG (-17)  /* a label value is longer than the registry's label_value_max */
#define SONDE_EUNLISTED (-18) /* a label value is not in the closed set the host registered */

/* A static, never-NULL description of an error code (unknown codes included). */
SONDE_API const char *sonde_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
