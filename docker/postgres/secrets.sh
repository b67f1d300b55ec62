# Secrets of the compose stack (docs/containers.md), sourced by the entrypoints of both images.
#
#   load_secret NAME [optional]
#
# exports NAME from the file NAME_FILE names (a compose secret, /run/secrets/<secret>), or
# keeps NAME when it is set directly, and unsets NAME_FILE. A value that is empty, a
# placeholder (change-me...) or shorter than 12 characters stops the container with one line
# saying which secret and what to do. Without `optional`, a missing secret stops it too.
SECRET_MIN_LENGTH=12

secret_refused() {  # NAME WHERE WHY
    echo "$(basename "$0"): the secret $1 ($2) $3; put a random value there (sh docker/make-secrets.sh writes them) and start again" >&2
    exit 1
}

load_secret() {
    eval "secret_file=\${${1}_FILE:-}"
    if [ -n "$secret_file" ]; then
        where="$secret_file"
        [ -r "$secret_file" ] || secret_refused "$1" "$where" "cannot be read"
        secret_value="$(cat "$secret_file")"
        unset "${1}_FILE"
    else
        where="variable $1"
        eval "secret_value=\${$1-}"
        eval "secret_set=\${$1+set}"
        if [ -z "$secret_set" ]; then
            [ "${2:-}" = optional ] && return 0
            secret_refused "$1" "$1_FILE" "is not set"
        fi
    fi
    case "$(printf '%s' "$secret_value" | tr '[:upper:]' '[:lower:]')" in
        "") secret_refused "$1" "$where" "is empty" ;;
        change-me*|changeme*|change_me*) secret_refused "$1" "$where" "is a placeholder" ;;
    esac
    [ "${#secret_value}" -ge "$SECRET_MIN_LENGTH" ] \
        || secret_refused "$1" "$where" "is shorter than $SECRET_MIN_LENGTH characters"
    export "$1=$secret_value"
    unset secret_value secret_file secret_set where
}
