#include <sonde/sonde.h>
#include <stdio.h>
int main(void){ sonde_registry *r; sonde_config c; sonde_config_init(&c); int rc=sonde_registry_new(&c,&r); if(rc){puts(sonde_strerror(rc));return 1;}
 sonde_counter *x=sonde_counter_new(r,"x_total","help"); sonde_counter_inc(x);
 char *s=sonde_expose_alloc(r,SONDE_FORMAT_OPENMETRICS,NULL); fputs(s,stdout); return 0;}
