# syntax=docker/dockerfile:1
# Build: the same publish command tests/run.sh uses, producing one Native AOT binary (SQLite linked in
# from libsqlite3-dev's static library).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang zlib1g-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Restore first, from the project files alone: the packages layer stays cached while sources change.
COPY Directory.Build.props Directory.Packages.props Gateway.sln ./
COPY src/Gateway.Core/Gateway.Core.csproj src/Gateway.Core/
COPY src/Gateway.Providers/Gateway.Providers.csproj src/Gateway.Providers/
COPY src/Gateway.Policies/Gateway.Policies.csproj src/Gateway.Policies/
COPY src/Gateway.Storage/Gateway.Storage.csproj src/Gateway.Storage/
COPY src/Gateway.Server/Gateway.Server.csproj src/Gateway.Server/
RUN dotnet restore src/Gateway.Server -r linux-x64
COPY src/ src/
RUN dotnet publish src/Gateway.Server -c Release -r linux-x64 --no-restore -o /out

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
# Orchestrators probe GET /health (alive) and GET /ready (config loaded, data folder usable); the
# image has no curl, so its own health check asks through the binary.
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=4s --start-period=5s --retries=3 CMD ["/app/gateway", "health"]
# The configuration: mount it at /app/gateway.json (picked up from the working directory) or point
# GATEWAY_CONFIG at it; policies it names resolve next to it.
VOLUME ["/app/data"]
ENTRYPOINT ["/app/gateway"]
CMD ["serve"]
