#!/bin/sh
# The secrets of the compose stack: one file per secret in DIR (default $ADW_SECRETS_DIR, else
# ./secrets), each a random 32-character hex value. A file that exists is left as it is (the
# card-hash salt must not change under a warehouse; a password, under an initialized pgdata
# volume).
#
#   sh docker/make-secrets.sh [DIR]
#
# DIR is 0700: nobody else on the host reads it. The files are 0644 so the containers' own
# non-root users (adw, postgres) can read the copies compose mounts at /run/secrets.
set -eu
SECRETS="postgres_password source_password replicator_password dagster_password card_hash_salt"
dir="${1:-${ADW_SECRETS_DIR:-./secrets}}"

umask 077
mkdir -p "$dir"
chmod 0700 "$dir"
for name in $SECRETS; do
    file="$dir/$name"
    if [ -s "$file" ]; then
        echo "kept  $file"
        continue
    fi
    value="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    [ "${#value}" -eq 32 ] || { echo "make-secrets: /dev/urandom gave no random bytes" >&2; exit 1; }
    printf '%s\n' "$value" > "$file.tmp"
    chmod 0644 "$file.tmp"
    mv "$file.tmp" "$file"
    echo "wrote $file"
done
