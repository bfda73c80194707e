# One image for every Closeloop role: `python -m services.<name> web|consume|schedule`, and the
# migrations (`python -m shared.migrations_cli <name> upgrade`). Runs as a non-root user and
# needs nothing writable but /tmp.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements.txt pyproject.toml ./
RUN python -m venv /opt/closeloop && /opt/closeloop/bin/pip install -r requirements.txt
COPY shared ./shared
COPY services ./services
# the language catalogs (.po) are compiled here; the image's files are read-only at run time
RUN /opt/closeloop/bin/python -m shared.i18n compile --force && /opt/closeloop/bin/pip install --no-deps .

FROM python:3.11-slim
RUN groupadd --gid 10001 closeloop && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin closeloop
COPY --from=build /opt/closeloop /opt/closeloop
COPY config/org.demo.yaml /etc/closeloop/org.yaml
ENV PATH=/opt/closeloop/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ORG_CONFIG=/etc/closeloop/org.yaml \
    CLOSELOOP_VAR_DIR=/tmp/closeloop
WORKDIR /tmp
USER 10001:10001
EXPOSE 8001 8002 8003
ENTRYPOINT ["python"]
CMD ["-m", "services.intake", "web"]
