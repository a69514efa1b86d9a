# The seer binary in a small image: `docker build -t seer .`, then
# `docker run --rm -v "$PWD:/repo" -w /repo seer select --format nextest`.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin seer

FROM debian:bookworm-slim
# git: seer reads changes through libgit2 (built in), but CI scripts around it call git.
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/seer /usr/local/bin/seer
ENTRYPOINT ["seer"]
