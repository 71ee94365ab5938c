/*
 * test_gateway_hangup.c - the hang-up watcher on real sockets (socket pairs):
 * a watched socket whose peer closes fires on_hangup exactly once; a peer
 * that only sends data (a pipelined request) fires nothing; an unwatched
 * socket never fires, even when its peer closes afterwards; every watched
 * entry's ud is released exactly once, by the watcher, after unwatch; many
 * sockets watched and closed from several threads at once (labels unit and
 * concurrency, so TSan runs it too).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "hangup.h"

typedef struct probe {
    atomic_int hangups, releases;
} probe;

static void on_hangup(void *ud)
{
    atomic_fetch_add(&((probe *)ud)->hangups, 1);
}

static void on_release(void *ud)
{
    atomic_fetch_add(&((probe *)ud)->releases, 1);
}

/* Wait (up to 10 s) until *v reaches want; the value seen. */
static int wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 1000 && atomic_load(v) < want; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(v);
}

TEST(peer_close_fires_once)
{
    probe p = {0};
    gw_hangup *h = gw_hangup_new(on_hangup, on_release);
    CHECK(h != NULL);
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    gw_hangup_entry *e = gw_hangup_watch(h, sv[0], &p);
    CHECK(e != NULL);
    CHECK_EQ_INT(write(sv[1], "GET / HTTP/1.1\r\n\r\n", 18), 18); /* data is not a hang-up */
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    CHECK_EQ_INT(atomic_load(&p.hangups), 0);
    close(sv[1]);
    CHECK_EQ_INT(wait_for(&p.hangups, 1), 1);
    CHECK_EQ_INT(atomic_load(&p.releases), 0); /* still watched: ud not released */
    gw_hangup_unwatch(h, e);
    CHECK_EQ_INT(wait_for(&p.releases, 1), 1);
    close(sv[0]);
    gw_hangup_free(h);
    CHECK_EQ_INT(atomic_load(&p.hangups), 1);
    CHECK_EQ_INT(atomic_load(&p.releases), 1);
}

TEST(unwatched_never_fires)
{
    probe p = {0};
    gw_hangup *h = gw_hangup_new(on_hangup, on_release);
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    gw_hangup_entry *e = gw_hangup_watch(h, sv[0], &p);
    gw_hangup_unwatch(h, e);
    close(sv[1]);
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    close(sv[0]);
    gw_hangup_free(h); /* releases what is left */
    CHECK_EQ_INT(atomic_load(&p.hangups), 0);
    CHECK_EQ_INT(atomic_load(&p.releases), 1);
}

#define THREADS 4
#define PER_THREAD 200

typedef struct worker {
    gw_hangup *h;
    probe *p;
} worker;

/* Watch PER_THREAD sockets; close the peers of the even ones, wait, unwatch all. */
static void *churn(void *arg)
{
    worker *w = arg;
    int fds[PER_THREAD][2];
    gw_hangup_entry *es[PER_THREAD];
    for (int i = 0; i < PER_THREAD; i++) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]) != 0) return (void *)1;
        es[i] = gw_hangup_watch(w->h, fds[i][0], w->p);
        if (!es[i]) return (void *)1;
    }
    for (int i = 0; i < PER_THREAD; i += 2) close(fds[i][1]);
    wait_for(&w->p->hangups, THREADS * PER_THREAD / 2);
    for (int i = 0; i < PER_THREAD; i++) {
        gw_hangup_unwatch(w->h, es[i]); /* before the socket is closed, as the gateway does */
        close(fds[i][0]);
        if (i % 2) close(fds[i][1]);
    }
    return NULL;
}

TEST(many_threads)
{
    probe p = {0};
    gw_hangup *h = gw_hangup_new(on_hangup, on_release);
    pthread_t t[THREADS];
    worker w = {h, &p};
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, churn, &w);
    for (int i = 0; i < THREADS; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        CHECK(rc == NULL);
    }
    gw_hangup_free(h);
    CHECK_EQ_INT(atomic_load(&p.hangups), THREADS * PER_THREAD / 2);
    CHECK_EQ_INT(atomic_load(&p.releases), THREADS * PER_THREAD);
}

int main(void)
{
    RUN(peer_close_fires_once);
    RUN(unwatched_never_fires);
    RUN(many_threads);
    return check_report();
}
