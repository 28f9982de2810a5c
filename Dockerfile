# rrdash in a container: docker build -t rrdash --build-arg VERSION=$(git describe --tags --always) .
# docker run -p 8080:8080 -v rrdash-data:/data rrdash
# (README, "Running in production": the sandbox of code monitors in a container)

# 1. echarts from npm (embedded into the binary; no CDN at run time)
FROM node:22.12-bookworm-slim AS assets
WORKDIR /src/tools/web
COPY tools/web/package.json tools/web/package-lock.json ./
RUN npm ci --no-audit --no-fund

# 2. the static binary, stamped with the version
FROM golang:1.26-bookworm AS build
ARG VERSION=""
ARG COMMIT=""
ARG COMMIT_TIME=""
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=assets /src/tools/web/node_modules/echarts/dist/echarts.min.js ui/assets/echarts.min.js
RUN CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.commitTime=${COMMIT_TIME}" \
	-o /out/rrdash ./cmd/rrdash

# 3. the runtime: python3 runs code monitors, bubblewrap sandboxes them,
# curl answers the health check
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
	&& apt-get install -y --no-install-recommends ca-certificates curl python3 bubblewrap \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --user-group --uid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin rrdash \
	&& install -d -o rrdash -g rrdash -m 0750 /data
COPY --from=build /out/rrdash /usr/bin/rrdash
USER 10001:10001
ENV RRDASH_DATA=/data RRDASH_ADDR=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=5m --retries=3 \
	CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/-/healthz"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/rrdash"]
CMD ["serve"]
