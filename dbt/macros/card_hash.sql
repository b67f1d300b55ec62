{#-
  Credit card numbers (and IP addresses) never leave staging in clear: staging exposes the card
  type, the last four digits and card_number_hash = hex SHA-256 of (salt || number).

  dbt never sees the salt, so no compiled SQL, log, manifest or run result holds it:
  * DuckDB: the plugin of profiles.yml (adw_assets/lib/card_hash_plugin.py) binds it into the
    session variable adw_card_hash_salt of each dbt connection; outside dbt that variable is
    unset and a staging view shows a null hash.
  * BigQuery: adw loads it into the one-row table <ADW_BQ_DATASET_PREFIX>secrets.card_hash_salt
    before dbt runs (adw_assets.lib.dbt.store_card_hash_salt); the hash reads it with a scalar
    subquery. Grant that dataset to the identity dbt runs as only.
  The salt is ADW_CARD_HASH_SALT; the public development salt serves only the embedded local
  default (embedded source, DuckDB, target local): everywhere else adw and dbt refuse to run
  without a secret one (adw_assets.lib.dbt.card_hash_salt).
-#}
{% macro card_hash_salt_sql() %}
    {{- return(adapter.dispatch('card_hash_salt_sql', 'adw')()) -}}
{% endmacro %}

{% macro duckdb__card_hash_salt_sql() -%}
    getvariable('adw_card_hash_salt')
{%- endmacro %}

{% macro bigquery__card_hash_salt_sql() -%}
    {%- set dataset = env_var('ADW_BQ_DATASET_PREFIX', 'adw_') ~ 'secrets' -%}
    {%- if execute and adapter.get_relation(target.project, dataset, 'card_hash_salt') is none -%}
        {{ exceptions.raise_compiler_error(
            "ADW_CARD_HASH_SALT: the salt table " ~ target.project ~ "." ~ dataset
            ~ ".card_hash_salt does not exist; adw writes it from ADW_CARD_HASH_SALT before dbt "
            ~ "runs: run `adw build` (with ADW_CARD_HASH_SALT set) once, then dbt directly."
        ) }}
    {%- endif -%}
    (select salt from {{ adapter.quote(target.project) }}.{{ adapter.quote(dataset) }}.card_hash_salt)
{%- endmacro %}

{% macro default__card_hash_salt_sql() -%}
    {{ exceptions.raise_compiler_error(
        "the card-number hash supports DuckDB and BigQuery only, not " ~ target.type
    ) }}
{%- endmacro %}

{% macro salted_hash(expression) %}
    {{- return(adapter.dispatch('salted_hash', 'adw')(expression)) -}}
{% endmacro %}

{% macro default__salted_hash(expression) -%}
    {{ dbt.hash(dbt.concat([card_hash_salt_sql(), expression])) }}
{%- endmacro %}

{% macro duckdb__salted_hash(expression) -%}
    sha256({{ dbt.concat([card_hash_salt_sql(), expression]) }})
{%- endmacro %}

{% macro bigquery__salted_hash(expression) -%}
    to_hex(sha256({{ dbt.concat([card_hash_salt_sql(), expression]) }}))
{%- endmacro %}
