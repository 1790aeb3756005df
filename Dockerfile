# syntax=docker/dockerfile:1
#
# pod-hardener webhook image.
#   docker build -t pod-hardener:0.1.0 .
# Three stages: build (all dependencies, tsc), deps (production dependencies only), runtime
# (those two copied onto a clean base). Nothing in the runtime image is writable by the
# process, so it runs with readOnlyRootFilesystem; the self-managed certificate directory is an
# emptyDir mounted by the Deployment.

# The Node.js LTS line the project runs, tests and benchmarks on (.node-version; a unit test keeps
# the two in step). Pin a digest in your registry mirror for reproducible builds; the local
# cluster of the tests builds this file on a stand-in base of the same version.
ARG NODE_IMAGE=node:26-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first: the dependency layer is reused until package*.json change.
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency code runs at install time (the only install script in the
# lock file belongs to a jest dependency that the build does not use).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
# NODE_OPTIONS is read by npm run bench, which starts the webhook as the image does.
# --max-semi-space-size=8 caps V8's young generation at 8 MB semi-spaces. Node 26's default lets
# it grow far larger under load: at saturation with 16 reviews in flight the peak RSS was 157 MB
# with 5 KB reviews and 283 MB with 44 KB ones, over the Deployment's 256Mi memory limit; capped
# at 8 MB, 118 and 229 MB, with CPU per review within the noise of the same A B B A run (4 MB:
# the 5 KB peak no lower, 12 and 16 MB: higher peaks). Objects of a review live for well under a
# millisecond, so a smaller young generation collects them just as well.
ENV NODE_ENV=production \
    NODE_OPTIONS="--enable-source-maps --max-semi-space-size=8"
WORKDIR /app
# Owned by root and not writable by the runtime user: the process cannot alter its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Numeric, so the kubelet can check runAsNonRoot without an /etc/passwd lookup; 65532 is the
# conventional "nonroot" UID (distroless) and matches the Deployment's runAsUser.
USER 65532:65532
# 8443: admission webhook (HTTPS); 8080: /healthz, /readyz, /metrics (HTTP).
EXPOSE 8443 8080
ENTRYPOINT ["node", "dist/main.js"]
