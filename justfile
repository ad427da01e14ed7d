# A4C task card: `npx just <recipe>` from a checkout (`just` comes with `npm install`, from the
# rust-just package), or `just <recipe>` where just is installed. `npx just --list` lists them.
set dotenv-load := false

# The whole system, natively (no Docker image needed): installs what is missing, starts everything, prints the URLs
up:
    npm start

# The image of every component, built here with nothing pulled (a debootstrap Debian root + the Dockerfile); DOCKER_HOST picks the engine
images:
    bash infra/a4c.sh images

# The whole system as containers (docker-compose.yaml): builds the image, starts, waits for /ready, prints the URLs
compose-up:
    bash infra/a4c.sh compose up

# Stops and removes the containers (add -v to drop the volumes too)
compose-down *args:
    bash infra/a4c.sh compose down {{args}}

compose-ps:
    bash infra/a4c.sh compose ps

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

# --- A Debian host over SSH: set A4C_HOST=user@host (A4C_SSH_PORT, A4C_SSH_KEY, A4C_SSH_KNOWN_HOSTS optional) ---

# Ships this checkout's HEAD, installs what is missing, starts every component under supervisord, waits for /ready, prints the URLs
go:
    bash infra/a4c.sh deploy go

# Rolls forward to this checkout's HEAD: migrations, then the services restarted one at a time, each drained
update:
    bash infra/a4c.sh deploy update

# Every component's state on the host
status-remote:
    bash infra/a4c.sh deploy status

# Follows a component's log on the host
logs-remote component="write-gateway":
    bash infra/a4c.sh deploy logs {{component}}

ssh:
    bash infra/a4c.sh deploy ssh

# Stops and removes everything A4C put on the host (data included)
destroy:
    bash infra/a4c.sh deploy destroy
