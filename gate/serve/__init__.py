"""``gate serve``: gate's policy gate, canary judge and kill switches over HTTP.

For Argo Rollouts (the ``web`` metric provider), Flagger (webhooks) and any CD tool. An
optional extra (``pip install 'gate-cd[serve]'``: Starlette on uvicorn); nothing here is imported
on ``gate check``'s start-up path.

* :mod:`gate.serve.settings`  what a server is started with (flags → a frozen record)
* :mod:`gate.serve.service`   what a worker loads once: policies, kill switches, clients
* :mod:`gate.serve.body`      a request body → a located document, and the answer to bad input
* :mod:`gate.serve.policy_gate`  ``POST /v1/check``
* :mod:`gate.serve.judging`   ``POST /v1/judge``
* :mod:`gate.serve.flagger`   ``POST /v1/flagger/{hook}``
* :mod:`gate.serve.killswitches`  which flags to turn off when a canary fails
* :mod:`gate.serve.state`     where recorded rollback requests come from (the shared store)
* :mod:`gate.serve.app`       the ASGI app: routes, auth, limits, logs, metrics
* :mod:`gate.serve.run`       uvicorn with one or several worker processes

The server keeps no state between requests: every answer comes from the request, the
server's start-up configuration and the outside systems it asks (Prometheus, flag providers,
and later the shared state store), so it scales by adding replicas.
"""
