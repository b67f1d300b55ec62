{#-
  Web traffic and sales by country: one row per country that has web traffic or sales.
  Sales figures come from fct_orders by ship-to country (dim_addresses).
-#}
with

events as (

    select * from {{ ref('fct_web_events') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

addresses as (

    select * from {{ ref('dim_addresses') }}

),

web as (

    select
        country_name,
        count(distinct session_id) as sessions,
        count(*) as page_views,
        avg(duration_seconds) as avg_duration_seconds,
        sum(case when has_order then 1 else 0 end) as web_orders,
        cast(sum(order_value) as decimal(18, 2)) as web_order_value

    from events
    group by 1

),

sales as (

    select
        addresses.country_name,
        count(*) as sales_order_count,
        sum(orders.total_due) as sales_total_due

    from orders
    inner join addresses
        on orders.ship_to_address_id = addresses.address_id
    group by 1

),

final as (

    select
        coalesce(web.country_name, sales.country_name) as country_name,
        coalesce(web.sessions, 0) as sessions,
        coalesce(web.page_views, 0) as page_views,
        web.avg_duration_seconds,
        coalesce(web.web_orders, 0) as web_orders,
        coalesce(web.web_order_value, 0) as web_order_value,
        coalesce(sales.sales_order_count, 0) as sales_order_count,
        coalesce(sales.sales_total_due, 0) as sales_total_due

    from web
    full outer join sales
        on web.country_name = sales.country_name

)

select * from final
