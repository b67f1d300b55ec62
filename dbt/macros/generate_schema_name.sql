{#-
  Custom schemas are used as-is (staging, intermediate, marts), not "<target schema>_<custom>".
  On BigQuery they become datasets with the ADW_BQ_DATASET_PREFIX prefix (adw_staging, ...).
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ return(adapter.dispatch('adw_schema_name', 'adw')(custom_schema_name, node)) }}
{%- endmacro %}

{% macro default__adw_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

{% macro bigquery__adw_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ env_var('ADW_BQ_DATASET_PREFIX', 'adw_') ~ (custom_schema_name | trim) }}
    {%- endif -%}
{%- endmacro %}
