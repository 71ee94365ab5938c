/*
 * c_locale.c - the "C" locale object every number sonde writes or reads goes
 * through, so that a host that calls setlocale(LC_ALL, "") under de_DE still
 * gets "0.25" and not "0,25" (which Prometheus rejects) and still parses
 * "q=0.5" as one half.
 *
 * The object is made once (pthread_once) and never freed: glibc hands back
 * its static C locale for newlocale(LC_ALL_MASK, "C", 0), so the call costs no
 * allocation and cannot fail there. Formatting switches the calling thread to
 * it with uselocale() (a thread-local pointer swap, not the process locale);
 * parsing uses strtod_l(). If a libc ever failed to make the object, numbers
 * would fall back to the thread's locale, which is "C" unless the host
 * changed it.
 *
 * Protocol keywords (gzip, Bearer, true, application/openmetrics-text) are
 * compared with sonde_internal_ascii_ncasecmp(), which folds ASCII letters
 * only: strncasecmp follows LC_CTYPE, and in a Turkish locale 'I' is not 'i'.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l */
#endif
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_make(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

locale_t sonde_c_locale(void)
{
    pthread_once(&c_locale_once, c_locale_make);
    return c_locale;
}

double sonde_strtod(const char *s, char **end)
{
    locale_t c = sonde_c_locale();
    return c ? strtod_l(s, end, c) : strtod(s, end);
}

/* strncasecmp folds case by the host's LC_CTYPE (in a Turkish locale 'I' is
 * not 'i'); protocol tokens fold ASCII only. */
static int ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int sonde_internal_ascii_ncasecmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int d = ascii_lower((unsigned char)a[i]) - ascii_lower((unsigned char)b[i]);
        if (d || !a[i])
            return d;
    }
    return 0;
}
