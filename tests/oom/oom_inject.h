/*
 * oom_inject.h - make the n-th allocation fail (see oom_inject.c).
 */
#ifndef SONDE_OOM_INJECT_H
#define SONDE_OOM_INJECT_H

/* The n-th allocation from now (n >= 1) fails; with persistent, every later one too. */
void oom_arm(long n, int persistent);
/* Stop failing; returns 1 when the armed failure happened. */
int oom_disarm(void);
/* Allocations attempted since oom_arm(). */
long oom_seen(void);

#endif
