#!/bin/sh
# make demo: until sonde-gateway lands, show the exposition of the expose example.
set -e
echo "sonde-gateway is not built yet; showing the libsonde exposition example instead."
./build/examples/expose
