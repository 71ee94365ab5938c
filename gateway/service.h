/*
 * service.h - starting and stopping a gateway's HTTP daemons (service.c).
 */
#ifndef GW_SERVICE_H
#define GW_SERVICE_H

#include "gateway.h"

/* Listen on gw->cfg's address and ports; gw->svc is set. */
int gw_service_start(gateway *gw);
/* The API port actually bound (useful with port 0). */
int gw_service_port(const gateway *gw);
/* The API's bound addresses as URLs ("http://127.0.0.1:8080 http://[::1]:8080"). */
int gw_service_urls(const gateway *gw, char *buf, size_t len);
/* The port /metrics is served on (--metrics-port, else the API port). */
int gw_service_metrics_port(const gateway *gw);
/* Answer everything still waiting, stop the daemons, free gw->svc. */
void gw_service_stop(gateway *gw);

#endif
