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
/* Answer everything still waiting, stop the daemons, free gw->svc. */
void gw_service_stop(gateway *gw);

#endif
