{#-
  Credit card numbers never leave staging in clear: staging exposes the card type, the last
  four digits and card_number_hash = hex SHA-256 of (salt || number).

  The salt comes from ADW_CARD_HASH_SALT. Without it, a documented development salt is used
  (hashes are then only pseudonymous); the prod target refuses to run without a real salt.
  The salt appears in compiled SQL under dbt/target: keep that directory private.
-#}
{% macro card_hash_salt() %}
    {%- set dev_salt = 'adw-dev-salt-not-secret' -%}
    {%- set salt = env_var('ADW_CARD_HASH_SALT', dev_salt) -%}
    {%- if execute and target.name == 'prod' and salt == dev_salt -%}
        {{ exceptions.raise_compiler_error(
            "ADW_CARD_HASH_SALT is not set: the prod target needs a secret salt to hash card "
            ~ "numbers. Set ADW_CARD_HASH_SALT in the environment (from your secret store)."
        ) }}
    {%- endif -%}
    {{- return(salt) -}}
{% endmacro %}

{% macro salted_hash(expression) %}
    {{- return(adapter.dispatch('salted_hash', 'adw')(expression)) -}}
{% endmacro %}

{% macro default__salted_hash(expression) -%}
    {{ dbt.hash(dbt.concat([dbt.string_literal(card_hash_salt()), expression])) }}
{%- endmacro %}

{% macro duckdb__salted_hash(expression) -%}
    sha256({{ dbt.concat([dbt.string_literal(card_hash_salt()), expression]) }})
{%- endmacro %}

{% macro bigquery__salted_hash(expression) -%}
    to_hex(sha256({{ dbt.concat([dbt.string_literal(card_hash_salt()), expression]) }}))
{%- endmacro %}
