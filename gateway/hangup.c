/*
 * hangup.c - notice clients that close their connection while the gateway
 * has nothing to send them.
 *
 * libmicrohttpd stops polling a connection while it is suspended (a request
 * waiting for its upstream, a stream waiting for its next chunk), so a
 * client that hangs up then goes unseen until the answer comes, which for a
 * stalled upstream is never. This watcher fills that gap: one thread and one
 * epoll set holding the sockets of suspended requests for EPOLLRDHUP (the
 * peer's FIN), EPOLLHUP and EPOLLERR, one-shot. When one fires, the watcher
 * calls on_hangup(ud) on its thread; the owner (service.c) then marks the
 * request gone, wakes whoever produces its answer so the upstream transfer
 * is aborted, and resumes the connection so that libmicrohttpd closes it.
 *
 * An entry is registered once per request (gw_hangup_watch) and stays until
 * the request ends (gw_hangup_unwatch, before libmicrohttpd closes the
 * socket). epoll_wait() may return an event for an entry being unwatched on
 * another thread, so entries are never freed there: unwatch only marks them
 * dead and queues them, and the watcher thread frees (and releases their
 * ud) at the top of its next round, when no event of the round before can
 * still point at them. The queue is drained at least every 100 ms.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hangup.h"

struct gw_hangup_entry {
    int fd;
    int live;      /* watched and not fired yet; under h->mu */
    void *ud;
    struct gw_hangup_entry *next_dead;
};

struct gw_hangup {
    int ep, stop_fd;
    pthread_t thread;
    pthread_mutex_t mu;
    gw_hangup_entry *dead; /* unwatched, to be freed by the thread */
    gw_hangup_fn on_hangup;
    gw_hangup_fn release;
};

#define BATCH 64

static void free_dead(gw_hangup *h)
{
    pthread_mutex_lock(&h->mu);
    gw_hangup_entry *d = h->dead;
    h->dead = NULL;
    pthread_mutex_unlock(&h->mu);
    while (d) {
        gw_hangup_entry *n = d->next_dead;
        h->release(d->ud);
        free(d);
        d = n;
    }
}

static void *run(void *arg)
{
    gw_hangup *h = arg;
    struct epoll_event evs[BATCH];
    for (;;) {
        free_dead(h);
        int n = epoll_wait(h->ep, evs, BATCH, 100);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; i++) {
            gw_hangup_entry *e = evs[i].data.ptr;
            if (!e) return NULL; /* the stop eventfd */
            pthread_mutex_lock(&h->mu);
            int fire = e->live;
            e->live = 0;
            pthread_mutex_unlock(&h->mu);
            if (fire) h->on_hangup(e->ud); /* e stays ours until unwatched and freed here */
        }
    }
    return NULL;
}

gw_hangup *gw_hangup_new(gw_hangup_fn on_hangup, gw_hangup_fn release)
{
    gw_hangup *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->on_hangup = on_hangup;
    h->release = release;
    h->ep = epoll_create1(EPOLL_CLOEXEC);
    h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (h->ep < 0 || h->stop_fd < 0 || epoll_ctl(h->ep, EPOLL_CTL_ADD, h->stop_fd, &ev) != 0 ||
        pthread_mutex_init(&h->mu, NULL) != 0) {
        if (h->ep >= 0) close(h->ep);
        if (h->stop_fd >= 0) close(h->stop_fd);
        free(h);
        return NULL;
    }
    if (pthread_create(&h->thread, NULL, run, h) != 0) {
        pthread_mutex_destroy(&h->mu);
        close(h->ep);
        close(h->stop_fd);
        free(h);
        return NULL;
    }
    return h;
}

gw_hangup_entry *gw_hangup_watch(gw_hangup *h, int fd, void *ud)
{
    gw_hangup_entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->fd = fd;
    e->ud = ud;
    e->live = 1;
    struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLONESHOT, .data.ptr = e};
    if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

void gw_hangup_unwatch(gw_hangup *h, gw_hangup_entry *e)
{
    if (!e) return;
    epoll_ctl(h->ep, EPOLL_CTL_DEL, e->fd, NULL);
    pthread_mutex_lock(&h->mu);
    e->live = 0;
    e->next_dead = h->dead;
    h->dead = e;
    pthread_mutex_unlock(&h->mu);
}

void gw_hangup_free(gw_hangup *h)
{
    if (!h) return;
    uint64_t one = 1;
    if (write(h->stop_fd, &one, sizeof one) != sizeof one) { /* cannot happen: counter far from full */ }
    pthread_join(h->thread, NULL);
    free_dead(h);
    close(h->ep);
    close(h->stop_fd);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
