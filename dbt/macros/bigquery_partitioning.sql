{#-
  Partitioning and clustering of the fact tables, on BigQuery only (other adapters: none).

  adw_partition_by(column, granularity): partition by a DATE column, by day or month. The
  order facts use months (AdventureWorks spans years: daily partitions would near BigQuery's
  4,000 partitions per job), the web events days (their models and reports read recent days).
  adw_cluster_by(columns): cluster by up to four columns, the usual filters and join keys.
  See docs/production.md (costs).
-#}
{% macro adw_partition_by(column, granularity='day') -%}
    {%- if target.type == 'bigquery' -%}
        {{ return({'field': column, 'data_type': 'date', 'granularity': granularity}) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{% macro adw_cluster_by(columns) -%}
    {%- if target.type == 'bigquery' -%}
        {{ return(columns[:4]) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}
