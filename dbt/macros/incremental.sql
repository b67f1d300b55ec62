{#-
  incremental_window(column): on an incremental run, keep the rows whose `column` (the time
  the replicated row was extracted) is later than the newest value already in the model
  minus a lookback, which re-reads rows of syncs that committed late. The merge on the
  model's unique key makes re-reading harmless. Renders `true` on a full build.

  Lookback (ADW_DBT_LOOKBACK_MINUTES overrides): var lookback_minutes (60) on warehouses
  loaded by Airbyte, where extraction and loading are minutes apart; 0 on DuckDB, where a
  sync holds the warehouse's only write lock until it commits, so dbt never sees part of one.
  dbt.dateadd gives a DATETIME on BigQuery: cast back to the column's timestamp type.
-#}
{% macro incremental_window(column) -%}
    {%- if is_incremental() -%}
        {%- set default = 0 if target.type == 'duckdb' else var('lookback_minutes') -%}
        {%- set lookback = env_var('ADW_DBT_LOOKBACK_MINUTES', default) | int -%}
        {{ column }} > coalesce(
            (
                select cast({{ dbt.dateadd('minute', -lookback, 'max(' ~ column ~ ')') }}
                    as {{ dbt.type_timestamp() }})
                from {{ this }}
            ),
            cast('1900-01-01 00:00:00' as timestamp)
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#-
  delete_rows_gone_from(kept): the post-hook of an incremental fact that removes the rows whose
  source row is gone. A merge only adds and replaces rows: an order deleted in the source (CDC
  removes it from the replicated final table, like Airbyte's Destinations v2; a replication full
  refresh does too) would stay in the fact forever. `kept` lists, for each relation the fact's
  rows come from, the relation and the key columns it shares with the fact: a row stays only
  while every one of them still holds its key (an anti-join, `not exists`, portable between
  DuckDB and BigQuery). Runs on incremental builds only: a full build reads only what exists.
-#}
{% macro delete_rows_gone_from(kept) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as target
        where
        {%- for relation, columns in kept %}
            {% if not loop.first %}or {% endif %}not exists (
                select 1
                from {{ relation }} as kept
                where
                {%- for column in columns %}
                    {% if not loop.first %}and {% endif %}kept.{{ column }} = target.{{ column }}
                {%- endfor %}
            )
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}
