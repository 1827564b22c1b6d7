# syntax=docker/dockerfile:1
# Switchyard: build stage compiles TypeScript and the SQLite addon; the runtime stage carries
# only production dependencies and the compiled code, and runs as the unprivileged `node` user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    SWITCHYARD_CONFIG=/config/switchyard.yaml \
    SWITCHYARD_HEALTH_URL=http://127.0.0.1:9090/healthz
WORKDIR /app
# tini as PID 1: it forwards SIGTERM to node and reaps orphaned processes (commands of exec
# targets whose parent died), which node as PID 1 would leave as zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
RUN mkdir -p /config /data && chown node:node /data
USER node
VOLUME ["/config", "/data"]
EXPOSE 8080 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.SWITCHYARD_HEALTH_URL).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM reaches node through tini: it drains deliveries and exits 0.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/src/main.js"]
CMD ["serve"]
