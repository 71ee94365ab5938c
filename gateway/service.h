/*
 * service.h - starting and stopping the HTTP daemons (service.c).
 */
#ifndef GW_SERVICE_H
#define GW_SERVICE_H

int gw_service_start(void);
/* The API port actually bound (useful with port 0). */
int gw_service_port(void);
void gw_service_stop(void);
void gw_service_set_ready(int ready);

#endif
