{#- Live web traffic: one row per event date and country (the dashboard's web panel). -#}
with

events as (

    select * from {{ ref('fct_web_events') }}

),

final as (

    select
        event_date,
        country_name,
        count(distinct session_id) as sessions,
        count(*) as page_views,
        count(distinct customer_id) as signed_in_customers,
        avg(duration_seconds) as avg_duration_seconds,
        sum(case when has_order then 1 else 0 end) as web_orders,
        cast(sum(order_value) as decimal(18, 2)) as web_order_value,
        max(event_at) as last_event_at

    from events
    group by 1, 2

)

select * from final
