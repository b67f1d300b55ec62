{#-
  Web events as delivered, one row per (event_date, event_id): a repeated delivery of the
  same event collapses here (fct_web_events also deduplicates across days). The IP address
  stops here: only its salted hash goes on (salted_hash, as for card numbers).
  Before the first event lands the view is an empty typed relation, so that a fresh deployment
  builds: on DuckDB while the landing zone holds no file, elsewhere (BigQuery) while the table
  the streamer creates with its first batch does not exist. The next build after the first
  event (the sensor's web_events_job, or `adw build`) re-creates the view over the events.
-#}
{%- set events = source('web', 'events') -%}
{%- set landed = true -%}
{%- if execute and target.type == 'duckdb' -%}
    {#- the first SQL string literal of read_parquet(...), as written there (quotes doubled) -#}
    {%- set pattern = modules.re.search("'((?:[^']|'')*)'", events | string).group(1) -%}
    {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
    {%- set landed = found.columns[0].values()[0] > 0 -%}
{%- elif execute -%}
    {#- a metadata lookup (BigQuery: tables.get, free), no query -#}
    {%- set landed = adapter.get_relation(
        database=events.database, schema=events.schema, identifier=events.identifier
    ) is not none -%}
{%- endif -%}

with

{% if landed -%}
source as (

    select * from {{ events }}

),
{%- else -%}
source as (

    select
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as {{ timestamp_tz_type() }}) as {{ adapter.quote('timestamp') }},
        cast(null as date) as event_date,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cast(null as {{ dbt.type_bigint() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as page_url,
        cast(null as {{ dbt.type_string() }}) as referrer_url,
        cast(null as {{ dbt.type_string() }}) as ip_address,
        cast(null as {{ dbt.type_string() }}) as user_agent,
        cast(null as {{ dbt.type_string() }}) as device_type,
        cast(null as {{ double_type() }}) as duration,
        cast(null as {{ dbt.type_string() }}) as country,
        cast(null as {{ double_type() }}) as order_value,
        cast(null as {{ timestamp_tz_type() }}) as _ingested_at,
        cast(null as {{ dbt.type_string() }}) as _batch_id
    where 1 = 0

),
{%- endif %}

renamed as (

    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        {{ to_utc_timestamp(adapter.quote('timestamp')) }} as event_at,
        cast(event_date as date) as event_date,
        cast(session_id as {{ dbt.type_string() }}) as session_id,
        cast(user_id as {{ dbt.type_bigint() }}) as customer_id,
        cast(page_url as {{ dbt.type_string() }}) as page_url,
        cast(referrer_url as {{ dbt.type_string() }}) as referrer_url,
        {{ salted_hash('ip_address') }} as ip_address_hash,
        cast(user_agent as {{ dbt.type_string() }}) as user_agent,
        cast(device_type as {{ dbt.type_string() }}) as device_type,
        duration as duration_seconds,
        cast(country as {{ dbt.type_string() }}) as country_name,
        cast(round(order_value, 2) as decimal(18, 2)) as order_value,
        {{ to_utc_timestamp('_ingested_at') }} as ingested_at,
        cast(_batch_id as {{ dbt.type_string() }}) as batch_id

    from source

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by event_date, event_id
            order by ingested_at, batch_id
        ) as delivery_number

    from renamed

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
        order_value > 0 as has_order,
        ingested_at,
        batch_id

    from deduplicated
    where delivery_number = 1

)

select * from final
