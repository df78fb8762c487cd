# gate: deployment gate and canary controller.
#   docker build -t gate . && docker run --rm -v "$PWD:/work" -w /work gate check --change change.yaml
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gate ./gate
COPY policies ./policies
RUN pip install --no-cache-dir --disable-pip-version-check build \
    && python -m build --wheel --outdir /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /dist /dist
# the serve extra (Starlette, uvicorn) for `gate serve`; `gate check` never imports it
RUN whl="$(ls /dist/*.whl)" && pip install "${whl}[serve]" && rm -rf /dist \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin gate
USER gate
WORKDIR /home/gate
ENTRYPOINT ["gate"]
CMD ["--help"]
