# A4C task card: `npx just <recipe>` from a checkout (`just` comes with `npm install`, from the
# rust-just package), or `just <recipe>` where just is installed. `npx just --list` lists them.
set dotenv-load := false

# The whole system, natively (no Docker image needed): installs what is missing, starts everything, prints the URLs
up:
    npm start

# The same topology as containers, where images can be pulled (docker-compose.yaml)
compose-up:
    docker compose up -d --wait

# Infrastructure only (PostgreSQL, NATS, Redis), natively under .local/
dev:
    bash infra/a4c.sh infra

# Everything natively, in the background: infrastructure + services
local:
    npm start

stop:
    npm stop

status:
    npm run status

test:
    npm test

check:
    npm run check

# Benchmarks: writes (default), reads, search, provision, dashboard or images
bench which="writes":
    bash infra/a4c.sh bench {{which}}

# Stop everything and delete all local state (databases, streams, logs)
clean: stop
    rm -rf .local

logs service="write-gateway":
    tail -f .local/logs/{{service}}.log

# PostgreSQL (the source of truth) to a file; default .local/backups/a4c-<time>.dump
backup file="":
    bash infra/a4c.sh backup {{file}}

# A backup into a new database (never over one); then point DATABASE_URL at it, reindex, flush Redis
restore file database:
    bash infra/a4c.sh restore {{file}} {{database}}

# --- VPS deploy over SSH (set A4C_HOST=user@host) ---
go:
    ssh "$A4C_HOST" 'cd a4c && git pull --ff-only && npm start'

ssh:
    ssh "$A4C_HOST"

update:
    ssh "$A4C_HOST" 'cd a4c && git pull --ff-only && npm stop && npm start'

destroy:
    ssh "$A4C_HOST" 'cd a4c && npm stop && rm -rf .local'
