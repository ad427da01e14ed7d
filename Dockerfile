# The A4C image: every service and every infrastructure component of `npm start`, one per container,
# each run by `bun infra/cli.ts run <component>` (see docker-compose.yaml). The launcher's own code
# configures and starts each component, so the containers and the native launcher cannot drift.
#
# BASE is a Debian root with the packages in infra/lib/debian-root.ts (PostgreSQL, NATS, Redis,
# JDK 17, Prometheus, Alertmanager…). `npx just images` makes it with debootstrap and `docker
# import`s it, because no image can be pulled on the project's machines. Where a registry is
# reachable, `debian:bookworm-slim` plus one `RUN apt-get install -y --no-install-recommends <those
# packages>` is the same base.
#
# The context is the checkout after `npm install` and the launcher's installs (.dockerignore keeps
# node_modules and the Elasticsearch, Kafka and Debezium distributions from .local/). No RUN step:
# the image builds on a dockerd with no network at all.
ARG BASE=a4c/debian:bookworm
FROM ${BASE}
ENV LANG=C.UTF-8 \
    NODE_NO_WARNINGS=1 \
    PATH=/app/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /app
COPY . /app
LABEL org.opencontainers.image.title="a4c" \
      org.opencontainers.image.description="A4C workspace-provisioning control plane: services and infrastructure components"
ENTRYPOINT ["/app/node_modules/.bin/bun", "infra/cli.ts"]
CMD ["run", "write-gateway"]
