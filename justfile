# A4C task card. `just local` is the same as `npm start`; `just up` needs Docker and images.
set dotenv-load := false

# Full stack with official images (Docker hosts only; cannot run where images cannot be pulled)
up:
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

# Benchmarks: writes (default), reads (cache and change-data lag) or search (job search, 1M jobs)
bench which="writes":
    bash infra/a4c.sh bench {{which}}

# Stop everything and delete all local state (databases, streams, logs)
clean: stop
    rm -rf .local

logs service="write-gateway":
    tail -f .local/logs/{{service}}.log

# --- VPS deploy over SSH (set A4C_HOST=user@host) ---
go:
    ssh "$A4C_HOST" 'cd a4c && git pull --ff-only && npm start'

ssh:
    ssh "$A4C_HOST"

update:
    ssh "$A4C_HOST" 'cd a4c && git pull --ff-only && npm stop && npm start'

destroy:
    ssh "$A4C_HOST" 'cd a4c && npm stop && rm -rf .local'
