/*
 * hangup.h - a watcher thread that notices clients hanging up while their
 * connection is suspended (see hangup.c for the design).
 */
#ifndef GW_HANGUP_H
#define GW_HANGUP_H

typedef struct gw_hangup gw_hangup;
typedef struct gw_hangup_entry gw_hangup_entry;
typedef void (*gw_hangup_fn)(void *ud);

/* Start the watcher. on_hangup(ud) runs on its thread, at most once per entry,
 * when the peer of a watched socket closes it (or it fails); release(ud) runs
 * there too once an unwatched entry is freed (the watch's reference on ud). */
gw_hangup *gw_hangup_new(gw_hangup_fn on_hangup, gw_hangup_fn release);
/* Watch socket fd for ud until gw_hangup_unwatch(); NULL when it cannot (then
 * release is never called for it). */
gw_hangup_entry *gw_hangup_watch(gw_hangup *h, int fd, void *ud);
/* Stop watching; call before the socket is closed. e may be NULL. */
void gw_hangup_unwatch(gw_hangup *h, gw_hangup_entry *e);
/* Stop the thread and free; every entry must have been unwatched. */
void gw_hangup_free(gw_hangup *h);

#endif
