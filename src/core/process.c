/*
 * process.c - the process collector: the standard process_* metrics of the
 * Prometheus clients, read from Linux /proc at scrape time. Files that
 * cannot be read leave their metric out rather than report a wrong value.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (int)n;
}

static double boot_time_seconds(void)
{
    char buf[8192];
    if (read_file("/proc/stat", buf, sizeof buf) < 0)
        return -1;
    const char *p = strstr(buf, "\nbtime ");
    return p ? sonde_strtod(p + 7, NULL) : -1;
}

static void emit_one(sonde_emitter *e, const char *name, const char *help, sonde_type type,
                     const char *unit, double v)
{
    if (sonde_emit_family(e, name, help, type, unit) == SONDE_OK)
        sonde_emit_sample(e, NULL, NULL, 0, v);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

static double max_fds(void)
{
    char buf[4096];
    if (read_file("/proc/self/limits", buf, sizeof buf) < 0)
        return -1;
    const char *p = strstr(buf, "Max open files");
    if (!p)
        return -1;
    p += strlen("Max open files");
    while (*p == ' ')
        p++;
    return strncmp(p, "unlimited", 9) == 0 ? -1 : sonde_strtod(p, NULL);
}

int sonde_process_collect(sonde_emitter *e, void *ud)
{
    (void)ud;
    char buf[1024];
    double ticks = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
    if (read_file("/proc/self/stat", buf, sizeof buf) > 0) {
        /* fields after the parenthesised command name, which may hold spaces */
        const char *p = strrchr(buf, ')');
        unsigned long utime = 0, stime = 0, vsize = 0;
        unsigned long long start = 0;
        long rss = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d "
                               "%*d %*d %llu %lu %ld", &utime, &stime, &start, &vsize, &rss) == 5) {
            emit_one(e, "process_cpu_seconds", "Total user and system CPU time spent in seconds.",
                     SONDE_COUNTER, "seconds", (double)(utime + stime) / ticks);
            emit_one(e, "process_resident_memory_bytes", "Resident memory size in bytes.",
                     SONDE_GAUGE, "bytes", (double)rss * page);
            emit_one(e, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                     SONDE_GAUGE, "bytes", (double)vsize);
            double boot = boot_time_seconds();
            if (boot >= 0)
                emit_one(e, "process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds.", SONDE_GAUGE,
                         "seconds", boot + (double)start / ticks);
        }
    }
    int fds = count_fds();
    if (fds >= 0)
        emit_one(e, "process_open_fds", "Number of open file descriptors.", SONDE_GAUGE, NULL, fds);
    double maxf = max_fds();
    if (maxf >= 0)
        emit_one(e, "process_max_fds", "Maximum number of open file descriptors.", SONDE_GAUGE,
                 NULL, maxf);
    return 0;
}
