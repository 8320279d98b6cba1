# Shared by bin/test and bin/demo: prerequisites and the Odoo configuration.
# shellcheck shell=bash

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-$(id -un)}"
export PGHOST PGPORT PGUSER

die() {
    printf '\nERROR: %s\n' "$*" >&2
    exit 2
}

check_odoo() {
    local out
    if ! out=$(python3 -c 'import odoo.release as r; print(r.version_info[0])' 2>&1); then
        die "Odoo is not importable by python3 ('import odoo' fails):
  ${out##*$'\n'}
Install Odoo 18.0 Community from source (see README.md, 'Prerequisites') so
that 'python3 -c \"import odoo\"' works, then run this command again."
    fi
    [ "$out" = "18" ] || die "python3 imports Odoo $out, but customer_tiering needs Odoo 18.0."
}

check_postgres() {
    command -v psql >/dev/null || die "psql (the PostgreSQL client) is not installed."
    local out
    if ! out=$(psql -X -d postgres -Atc 'SELECT 1' 2>&1); then
        case "$out" in
        *"role"*"does not exist"*)
            die "PostgreSQL answers on $PGHOST:$PGPORT but has no role '$PGUSER'.
Create it (e.g. 'sudo -u postgres createuser --superuser $PGUSER') or set PGUSER." ;;
        *)
            die "PostgreSQL is not reachable on $PGHOST:$PGPORT as '$PGUSER':
  $out
Start PostgreSQL 15 (e.g. 'pg_ctlcluster 15 main start') or set PGHOST/PGPORT." ;;
        esac
    fi
    [ "$PGUSER" != "postgres" ] || die "Odoo refuses to run as the 'postgres' role: set PGUSER to another role."
    psql -X -d postgres -Atc "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user" \
        | grep -q t || die "PostgreSQL role '$PGUSER' may not create databases (needs CREATEDB)."
}

# Writes an Odoo configuration for this checkout to $1 and echoes nothing.
write_odoo_config() {
    local conf="$1" addons
    addons=$(python3 - "$REPO" <<'PY'
import os, sys
import odoo
root = os.path.dirname(os.path.abspath(odoo.__file__))
paths = [os.path.join(root, "addons")]
community = os.path.join(os.path.dirname(root), "addons")
if os.path.isdir(community):
    paths.append(community)
paths.append(sys.argv[1])
# Addons installed as wheels (odoo-addon-queue_job...): in site-packages'
# odoo/addons when Odoo itself is not there, or in this checkout's
# .local/wheels (bin/test installs them there with pip --target: beside an
# editable Odoo, a site-packages odoo/ directory would hide Odoo itself).
wheels = [os.path.join(entry or ".", "odoo", "addons") for entry in sys.path]
wheels.append(os.path.join(sys.argv[1], ".local", "wheels", "odoo", "addons"))
for path in wheels:
    path = os.path.realpath(path)
    if os.path.isdir(path) and path not in map(os.path.realpath, paths):
        paths.append(path)
print(",".join(paths))
PY
)
    cat >"$conf" <<CONF
[options]
addons_path = $addons
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
db_password = False
data_dir = $REPO/.local/data
CONF
}
