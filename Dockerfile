# gate: deployment gate and canary controller, and the image of its GitHub Action.
#   docker build -t gate . && docker run --rm -v "$PWD:/work" -w /work gate check --change change.yaml
# It runs as root: GitHub runs Docker actions as the default user, and a USER here could not
# write the $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY files the runner mounts. Outside Actions,
# add `--user "$(id -u):$(id -g)"` to `docker run`.
# Every dependency comes from a hash-pinned lock (scripts/lock regenerates them).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements-build.lock ./
RUN pip install --require-hashes --no-deps -r requirements-build.lock
COPY pyproject.toml README.md LICENSE ./
COPY policies ./policies
COPY gate ./gate
RUN pip wheel --no-build-isolation --no-deps --wheel-dir /dist .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# runtime dependencies, the serve extra (Starlette, uvicorn) for `gate serve` included;
# `gate check` never imports it
COPY requirements.lock /tmp/requirements.lock
RUN pip install --require-hashes -r /tmp/requirements.lock && rm /tmp/requirements.lock
COPY --from=build /dist /tmp/dist
RUN pip install --no-deps /tmp/dist/*.whl && rm -rf /tmp/dist
ENTRYPOINT ["/usr/local/bin/gate"]
CMD ["--help"]
