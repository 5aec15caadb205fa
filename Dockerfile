# Node.js 22, as package.json engines.node says (`npm run node:check` fails when the two differ).
# Build: all dependencies, compile TypeScript to dist/.
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# postinstall applies patches/ (see patches/README.md).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json .swcrc ./
COPY src ./src
RUN npm run build

# Production dependencies only, installed from the same lock file.
FROM node:22-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Runtime: compiled code, production dependencies and the migrations, run as a non-root user.
FROM node:22-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# Applied at start-up; src/db/migrate.ts reads them from ../../drizzle relative to dist/db/.
COPY --chown=node:node drizzle ./drizzle
COPY --chown=node:node package.json ./
USER node
EXPOSE 3000
# Liveness only (no dependency checks). A worker-only process (APP_ROLE=worker) serves no HTTP.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "if (process.env.APP_ROLE === 'worker') process.exit(0); fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# V8 flags as in package.json's start script (ADR 0070; `npm run node:check` compares the two).
CMD ["node", "--max-semi-space-size=32", "dist/main.js"]
