"""``gate serve``: the policy gate, judge and kill switches over HTTP (the ``serve`` extra)."""

from __future__ import annotations

import click

from gate.errors import EXIT_OK

MIB = 1024 * 1024


@click.command(
    epilog="""\b
Examples:
  GATE_SERVE_TOKEN=$(cat token) gate serve --policy policies/ \\
    --prometheus http://prometheus.monitoring:9090 --host 0.0.0.0 --workers 4
  gate serve --insecure-no-auth --port 8080          # local trials only

\b
Endpoints: GET /healthz, GET /metrics, POST /v1/check, POST /v1/judge,
POST /v1/flagger/{confirm-rollout,pre-rollout,rollout,confirm-traffic-increase,
confirm-promotion,rollback,post-rollout,event}. Every request but /healthz needs
"Authorization: Bearer $GATE_SERVE_TOKEN"; Flagger, which cannot send headers, puts
$GATE_SERVE_FLAGGER_TOKEN (default: the same token) in the webhook's metadata.token.

\b
Exit codes: 0 stopped by SIGTERM, 2 bad flags or files (nothing started),
3 internal error, 130 interrupted (SIGINT)."""
)
@click.option("--host", envvar="GATE_SERVE_HOST", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    envvar="GATE_SERVE_PORT",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="0 picks a free port (the 'listening' log line names it).",
)
@click.option(
    "--workers",
    envvar="GATE_SERVE_WORKERS",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes.",
)
@click.option(
    "--policy",
    "-p",
    "policies",
    envvar="GATE_POLICY",
    multiple=True,
    metavar="PATH",
    help="Policy file or directory, as for gate check; read once at start-up.",
)
@click.option("--no-default-policy", is_flag=True, help="Do not apply the bundled default policy.")
@click.option(
    "--prometheus",
    envvar="GATE_PROMETHEUS_URL",
    metavar="URL",
    help="Prometheus for /v1/judge and the Flagger judge hooks when a request names none.",
)
@click.option(
    "--allow-prometheus",
    envvar="GATE_SERVE_ALLOW_PROMETHEUS",
    multiple=True,
    metavar="URL",
    help="Another Prometheus a request may name; repeatable. No other URL is ever queried.",
)
@click.option(
    "--kill-switches",
    envvar="GATE_SERVE_KILL_SWITCHES",
    metavar="FILE",
    help="Flags to turn off per failed Flagger canary (namespace/name -> flags).",
)
@click.option(
    "--max-body",
    type=click.IntRange(1024, 64 * MIB),
    default=MIB,
    show_default=True,
    metavar="BYTES",
    help="Largest request body accepted (413 above).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(1, 600),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="Time limit of one request, body included (504 past it).",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1, 100_000),
    default=1000,
    show_default=True,
    help="Concurrent connections per worker before answering 503.",
)
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help="Serve without a bearer token (never on a shared network).",
)
@click.option(
    "--state-url",
    metavar="URL",
    help="The shared PostgreSQL state store (else $GATE_STATE_URL): the Flagger rollback hook "
    "honours `gate abort NAMESPACE.NAME` recorded there.",
)
def serve(
    host: str,
    port: int,
    workers: int,
    policies: tuple[str, ...],
    no_default_policy: bool,
    prometheus: str | None,
    allow_prometheus: tuple[str, ...],
    kill_switches: str | None,
    max_body: int,
    timeout: float,
    max_connections: int,
    insecure_no_auth: bool,
    state_url: str | None,
) -> int:
    """Serve the policy gate, the canary judge and Flagger webhooks over HTTP."""
    from gate.serve.run import require_extra

    require_extra()
    from gate.serve.app import create_app
    from gate.serve.run import serve as run
    from gate.serve.service import Service
    from gate.serve.settings import ServeSettings

    settings = ServeSettings(
        policies=policies,
        include_default_policy=not no_default_policy,
        prometheus=prometheus,
        allow_prometheus=allow_prometheus,
        kill_switches=kill_switches,
        max_body_bytes=max_body,
        timeout=timeout,
        auth=not insecure_no_auth,
        state_url=state_url,
    )
    if state_url:
        from gate.rollout.journal import check_state_url

        check_state_url(state_url, on_command_line=True)
    token = settings.token()
    settings.allowed_prometheus()  # a malformed URL is bad input now
    service = Service.load(settings)
    app = create_app(service, token=token, flagger_token=settings.flagger_token())
    run(settings, app, host=host, port=port, workers=workers, max_connections=max_connections)
    return EXIT_OK


def register(cli: click.Group) -> None:
    cli.add_command(serve)
