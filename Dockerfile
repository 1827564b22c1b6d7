# syntax=docker/dockerfile:1
# Switchyard: build stage compiles TypeScript and the SQLite addon; the runtime stage carries
# only production dependencies and the compiled daemon, and runs as the unprivileged `node` user.
# Node 24 is the active LTS line (20 is past its end of life); the code itself runs on 20.19+.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY console ./console
# tsconfig.build.json compiles src/ alone: the benchmarks stay out of the image. Vite bundles the
# web console into dist/console; its libraries are build-time only and leave with the prune.
RUN npx tsc -p tsconfig.build.json && npm run build:console && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    SWITCHYARD_CONFIG=/config/switchyard.yaml
WORKDIR /app
# tini as PID 1: it forwards SIGTERM to node and reaps orphaned processes (commands of exec
# targets whose parent died), which node as PID 1 would leave as zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/console ./dist/console
COPY docker/entrypoint.sh ./docker/entrypoint.sh
RUN mkdir -p /config /data && chown node:node /data
USER node
VOLUME ["/config", "/data"]
EXPOSE 8080 9090
# Asks /healthz on the admin address the config names (or listen without one), whatever the
# port; SWITCHYARD_HEALTH_URL overrides it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/app/dist/src/main.js", "health"]
# The entry point checks /config and /data first, then execs node; SIGTERM reaches node through
# tini: it drains deliveries and exits 0.
ENTRYPOINT ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]
CMD ["serve"]
