#!/usr/bin/env bash
# The 0.2.0 naming scheme (packages/fastkit/changes/api-surface.md), applied to the whole repository:
# plugins are `fastkit*` with `Fastkit*Options`, durations say `Ms` (never `Millis`), decorators are
# short nouns (`app.gateway`). Run it once from anywhere in the repo after every branch is merged;
# it is idempotent (no new name matches an old pattern), so a second run changes nothing.
#
#   packages/fastkit/scripts/rename-api.sh           # rewrite, then: pnpm run typecheck
#   packages/fastkit/scripts/rename-api.sh --check   # exit 1 (listing the files) if anything is left to rename
#
# Touches tracked .ts/.tsx/.mts/.md files: sources, tests, benchmarks, READMEs, the web client's
# sources and tools. Leaves alone: CHANGELOG.md and changes/ (they record the old names on purpose),
# this script, and the web client's generated API types (the HTTP contract does not change: no
# renamed name is part of a request, a response or a WebSocket frame).
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
check=false
[[ ${1:-} == --check ]] && check=true

mapfile -t files < <(git ls-files -- '*.ts' '*.tsx' '*.mts' '*.md' |
  grep -vE '(^|/)node_modules/|(^|/)CHANGELOG\.md$|^packages/fastkit/changes/|^packages/fastkit/scripts/rename-api\.sh$|^examples/chat-example/web/src/api/schema\.ts$')

# Whole-word renames: each old name is unique to fastkit, so every occurrence is the API name.
# (Millis → Ms for the two names node-postgres also uses is below, with its exceptions.)
perl_words='
  s/\bAuthOptions\b/FastkitAuthOptions/g;
  s/\bEventBusPluginOptions\b/FastkitEventsOptions/g;
  s/\beventBus\b/fastkitEvents/g;
  s/\bWebSocketGatewayOptions\b/FastkitGatewayOptions/g;
  s/\bOpenApiOptions\b/FastkitOpenApiOptions/g;
  s/\bfastkitLogSerializers\b/logSerializers/g;
  s/\bstatementTimeoutMillis\b/statementTimeoutMs/g;
  s/\bqueryTimeoutMillis\b/queryTimeoutMs/g;
  s/\bidleInTransactionTimeoutMillis\b/idleInTransactionTimeoutMs/g;
  s/'\''fastkit\.event-bus'\''/'\''fastkit.events'\''/g;
  s/'\''fastkit\.websocket-gateway'\''/'\''fastkit.gateway'\''/g;
'
# The gateway: first the decorator (`app.websocketGateway` → `app.gateway`), then the plugin.
perl_gateway='
  s/\.websocketGateway\b/.gateway/g;
  s/^(\s*)websocketGateway(\??): WebSocketGateway\b/$1gateway$2: WebSocketGateway/mg;
  s/'\''websocketGateway'\''/'\''gateway'\''/g;
  s/\bwebsocketGateway\b/fastkitGateway/g;
'
# `openapi` is also a folder, a URL, a JSON field and an npm package: only the plugin is renamed:
# in import/export lists from fastkit or its openapi-plugin module, as `register(openapi`, at its
# declaration, and as `{@link openapi}` or `` `openapi` `` in prose.
perl_openapi='
  s#((?:import|export)\s+(?:type\s+)?)(\{[^}]*\})(\s*from\s*'\''(?:fastkit|(?:\.\.?/)+(?:src/)?index\.js|(?:\.\.?/)+(?:src/)?openapi/openapi-plugin\.js|\./openapi-plugin\.js)'\'')# my ($head, $names, $from) = ($1, $2, $3); $names =~ s/\bopenapi\b/fastkitOpenApi/g; "$head$names$from" #ge;
  s/\bregister\(openapi\b/register(fastkitOpenApi/g;
  s/\bexport const openapi = fp\(/export const fastkitOpenApi = fp(/g;
  s/\basync function openapi\(/async function fastkitOpenApi(/g;
  s/\{\@link openapi\}/{\@link fastkitOpenApi}/g;
  s/`openapi`/`fastkitOpenApi`/g;
'
# connectionTimeoutMillis and idleTimeoutMillis are also node-postgres's own pool options: fastkit's
# PoolOptions say Ms, but what is handed to `new pg.Pool(…)`/`new pg.Client(…)` keeps pg's names.
perl_pool='
  if (/new pg\.(?:Pool|Client)\(/ || $pgblock) {
    $pgblock = 1 if /new pg\.(?:Pool|Client)\(\{\s*$/;
    $pgblock = 0 if /^\s*\}\)/;
    # A value read from fastkit options is renamed, the pg key it is given to is not.
    s/(options|POOL_DEFAULTS)\.(connectionTimeout|idleTimeout)Millis\b/$1.$2Ms/g;
    next LINE;
  }
  s/\b(connectionTimeout|idleTimeout)Millis\b/$1Ms/g;
'

rewrite() {
  local file=$1
  perl -i -0pe "$perl_words $perl_gateway $perl_openapi" "$file"
  # The pool rule works line by line (it tracks whether the line is inside a pg constructor call).
  # Files that talk to node-postgres directly keep every pg key; listed here by what they contain.
  perl -i -ne 'BEGIN { our $pgblock = 0 } LINE: { '"$perl_pool"' } print' "$file"
}

if $check; then
  left=$(git grep -lE '\b(AuthOptions|EventBusPluginOptions|eventBus|WebSocketGatewayOptions|OpenApiOptions|fastkitLogSerializers|websocketGateway|statementTimeoutMillis|queryTimeoutMillis|idleInTransactionTimeoutMillis)\b' -- "${files[@]}" || true)
  if [[ -n $left ]]; then
    echo "left to rename in:"
    echo "$left"
    exit 1
  fi
  echo "nothing left to rename"
  exit 0
fi

for file in "${files[@]}"; do
  [[ -f $file ]] && rewrite "$file"
done
echo "renamed in $(git diff --name-only -- "${files[@]}" | wc -l) files; now run: npx -y pnpm@12.4.2 run typecheck"
