"""Traffic routers: move a share of requests between stable and canary."""
