{#-
  Does web traffic go with order value? Per country, the Pearson correlation over days
  between daily traffic (sessions, page views) and daily web order value. Null until a
  country has at least `min_days` days of traffic (or when a series is constant).
-#}
{%- set min_days = 3 %}

with

daily as (

    select * from {{ ref('rpt_web_traffic_daily') }}

),

final as (

    select
        country_name,
        count(*) as days,
        min(event_date) as first_event_date,
        max(event_date) as last_event_date,
        sum(sessions) as sessions,
        sum(page_views) as page_views,
        cast(sum(web_order_value) as decimal(18, 2)) as web_order_value,
        case
            when count(*) >= {{ min_days }}
                then round(corr(sessions, web_order_value), 6)
        end as sessions_order_value_correlation,
        case
            when count(*) >= {{ min_days }}
                then round(corr(page_views, web_order_value), 6)
        end as page_views_order_value_correlation

    from daily
    group by 1

)

select * from final
