# syntax=docker/dockerfile:1
# The gateway's image (docs/deployment.md): compiled in a build stage, run from a second stage that holds
# the compiled code and the production dependencies only, as the unprivileged `node` user.
#
#   docker build -t smart-community-gateway .

# ---- build: every dependency, TypeScript → dist/, then the dev dependencies dropped -------------------
FROM node:20-bookworm-slim AS build
# better-sqlite3 is a native addon. npm ci downloads a prebuilt binary for this Node ABI and platform
# when one is published and compiles it with node-gyp otherwise (no network to GitHub, an unusual
# architecture); the compilers for that stay in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The lock file alone first, so a change to the sources does not reinstall the dependencies.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN npm run build
RUN npm prune --omit=dev
# A source build leaves SQLite's sources and object files beside the addon (~25 MB); only
# build/Release/better_sqlite3.node is loaded. Nothing to remove when a prebuilt binary was used.
RUN cd node_modules/better-sqlite3 \
 && rm -rf deps src build/Release/obj build/Release/obj.target build/Release/.deps build/Release/sqlite3.a build/Release/test_extension.node

# ---- runtime: node, dist/, production node_modules/, the default rules and the console --------------
FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
# RULES_DIR: mount your own rules over /app/rules (it is watched and reloaded).
COPY rules/ rules/
# PROFILES_DIR: the shipped device profiles; mount a site's own over /app/profiles (watched and reloaded too).
COPY profiles/ profiles/
# SITES_DIR: site files (notification channels); mount a site's own over /app/sites (watched and reloaded too).
COPY sites/ sites/
# The console is served from console/ at the top of the project: dist/api/routes/../../../console/.
COPY console/ console/
# Owned by `node` so a new named volume mounted on /data starts writable for it.
RUN mkdir -p /data && chown node:node /data
ENV DATA_DIR=/data RULES_DIR=/app/rules PROFILES_DIR=/app/profiles SITES_DIR=/app/sites
USER node
VOLUME /data
# MQTT, MQTT over WebSocket, HTTP (MQTT_PORT, MQTT_WS_PORT, HTTP_PORT defaults); with TLS_CERT_FILE and
# TLS_KEY_FILE also MQTT over TLS, secure WebSocket and HTTPS (MQTTS_PORT, MQTT_WSS_PORT, HTTPS_PORT).
EXPOSE 1883 8083 8080 8883 8084 8443
# The gateway flushes to InfluxDB or the spool on SIGTERM (docs/operations.md#stopping); give it time:
# `docker stop -t 30`, or stop_grace_period in docker-compose.yml.
STOPSIGNAL SIGTERM
# No curl in the slim image: Node's own client against GET /health (200 while the HTTP server runs); over
# HTTPS on HTTPS_PORT once PLAIN_LISTENERS=off has closed the plain port (the certificate is the gateway's own).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const off = process.env.PLAIN_LISTENERS === 'off'; const port = off ? process.env.HTTPS_PORT || 8443 : process.env.HTTP_PORT || 8080; require(off ? 'https' : 'http').get(`${off ? 'https' : 'http'}://127.0.0.1:${port}/health`, { rejectUnauthorized: false }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
CMD ["node", "dist/main.js"]
