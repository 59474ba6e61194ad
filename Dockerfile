# syntax=docker/dockerfile:1
#
# runplan's image, the one `runplan k8s --image` names: a static binary on
# distroless, run as the non-root user 65532 (the manifests' runAsUser).
#
#   docker build -t ghcr.io/runplan/runplan:latest .
#
# The image has no shell: the merge Job waits for the segment reports in a
# busybox init container (runplan k8s --wait-image).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/runplan ./cmd/runplan

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/runplan /usr/local/bin/runplan
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/runplan"]
