{#-
  One row per web event (unique event_id), incremental. Each run re-reads the events of the
  last `web_events_lookback_hours` (var; env ADW_EVENTS_LOOKBACK_HOURS; default 24) before the
  newest event already here, so late events land in their own day; of those it keeps the
  event ids not here yet (the first delivery wins) and merges them on event_id, so a repeated
  delivery never adds a row. The streamer dead-letters events later than that lookback, so
  every accepted event is picked up.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='event_id',
        on_schema_change='append_new_columns',
        partition_by=adw_partition_by('event_date', 'day'),
        cluster_by=adw_cluster_by(['event_id']),
    )
}}

{%- set lookback_hours = var(
    'web_events_lookback_hours', env_var('ADW_EVENTS_LOOKBACK_HOURS', '24')
) | float -%}
{%- set since = none -%}
{%- if execute and is_incremental() -%}
    {#- a literal bound (not a subquery) lets DuckDB skip the older event_date partitions -#}
    {%- set newest = run_query('select max(event_at) from ' ~ this).columns[0].values()[0] -%}
    {%- if newest is not none -%}
        {%- set since = newest - modules.datetime.timedelta(hours=lookback_hours) -%}
    {%- endif -%}
{%- endif %}

with

events as (

    select * from {{ ref('stg_web__events') }}
    {%- if since is not none %}
    where event_date >= cast('{{ since.strftime("%Y-%m-%d") }}' as date)
        and event_at >= cast('{{ since.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
    {%- endif %}

),
{%- if since is not none %}

already_here as (

    select event_id from {{ this }}
    where event_date >= cast('{{ since.strftime("%Y-%m-%d") }}' as date)

),

new_events as (

    {#- only what is not here yet: the merge then touches the new rows, not the window -#}
    select events.*
    from events
    left join already_here
        on events.event_id = already_here.event_id
    where already_here.event_id is null

),
{%- else %}

new_events as (

    select * from events

),
{%- endif %}

deduplicated as (

    select
        *,
        row_number() over (
            partition by event_id
            order by ingested_at, batch_id
        ) as delivery_number

    from new_events

),

final as (

    select
        event_id,
        event_at,
        event_date,
        session_id,
        customer_id,
        page_url,
        referrer_url,
        ip_address_hash,
        user_agent,
        device_type,
        duration_seconds,
        country_name,
        order_value,
        has_order,
        ingested_at

    from deduplicated
    where delivery_number = 1

)

select * from final
