# syntax=docker/dockerfile:1
# Offboard's binaries, built static (CGO_ENABLED=0) and run as a non-root user on distroless.
#   worker    the Temporal worker
#   starter   the HR API (starter serve) and the operator CLI
#   emulator  the Genesys Cloud emulator, which docker-compose.yml runs in place of Genesys
# None of them links the Temporal server (the devstack, which embeds one, is not in the image).
# The Go version must satisfy go.mod's `go` line. VERSION and COMMIT name the build: the context
# has no .git, so the build stamps them (--version, the export manifest, the audit record):
#   docker build --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse HEAD) .
ARG GO_VERSION=1.26
ARG VERSION=dev
ARG COMMIT=

FROM golang:${GO_VERSION} AS build
ARG VERSION
ARG COMMIT
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w -X github.com/offboard/offboard/internal/version.Version=${VERSION} -X github.com/offboard/offboard/internal/version.Commit=${COMMIT}" \
      -o /out/bin/ ./worker ./starter ./emulator \
 && mkdir -p /out/exports

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION
ARG COMMIT
LABEL org.opencontainers.image.title="offboard" \
      org.opencontainers.image.version=${VERSION} \
      org.opencontainers.image.revision=${COMMIT}
COPY --from=build /out/bin/ /usr/local/bin/
# The export store of the compose stack; a named volume mounted here inherits this owner.
COPY --from=build --chown=65532:65532 /out/exports /var/lib/offboard/exports
USER 65532:65532
WORKDIR /var/lib/offboard
# Pick the binary with the command: ["worker"], ["starter", "serve"], ["emulator"].
CMD ["worker"]
