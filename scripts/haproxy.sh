#!/usr/bin/env bash
# Prints an HAProxy configuration for web processes on this machine:
#   scripts/haproxy.sh LISTEN_ADDRESS:PORT WEB_PORT [WEB_PORT ...]
# The loopback cluster (`make cluster`) and its test both use it.
set -euo pipefail
listen=$1; shift
cat <<CFG
global
    log stdout format raw local0
    maxconn 8000

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # An open WebSocket is a tunnel that may stay quiet for long stretches.
    timeout tunnel 1h
    timeout client-fin 30s
    timeout http-request 10s
    # A connection refused by a process that just stopped is retried on another.
    retries 3
    option redispatch 1

frontend site
    bind $listen
    # This is the edge: what a client claims about addresses and schemes is dropped.
    http-request del-header X-Forwarded-For
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    default_backend web

backend web
    balance leastconn
    option httpchk
    http-check send meth GET uri /healthz/ready ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    default-server check inter 1s fall 2 rise 2 maxconn 4000
CFG
for port in "$@"; do
  echo "    server web$port 127.0.0.1:$port"
done
