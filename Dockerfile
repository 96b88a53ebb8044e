# syntax=docker/dockerfile:1
# Build: the same publish command tests/run.sh uses, producing one Native AOT binary.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props Gateway.sln ./
COPY src/ src/
RUN dotnet publish src/Gateway.Server -c Release -o /out

# Run: only the binary on the runtime-deps base (libc, OpenSSL, ICU-free: the binary is
# globalization-invariant), as an unprivileged user.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS runtime
WORKDIR /app
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --home-dir /app --shell /usr/sbin/nologin gateway \
 && mkdir -p /app/data && chown gateway:gateway /app/data
COPY --from=build /out/gateway /app/gateway
COPY policies/ /app/policies/
USER gateway:gateway
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    GATEWAY_DATA_DIR=/app/data
# Orchestrators probe GET /health (alive) and GET /ready (config loaded, data folder usable).
EXPOSE 8080
VOLUME ["/app/data"]
ENTRYPOINT ["/app/gateway"]
CMD ["serve"]
