{#-
  One row per customer who ordered: first and last order date, order count, and the bill-to
  address of the latest order (the customer's home address for reporting).
-#}
with

orders as (

    select * from {{ ref('stg_sales__orders') }}

),

ranked as (

    select
        customer_id,
        order_date,
        bill_to_address_id,
        row_number() over (
            partition by customer_id
            order by order_date desc, sales_order_id desc
        ) as recency_rank

    from orders

),

aggregated as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as order_count

    from orders
    group by customer_id

),

final as (

    select
        aggregated.customer_id,
        aggregated.first_order_date,
        aggregated.last_order_date,
        aggregated.order_count,
        ranked.bill_to_address_id as home_address_id

    from aggregated
    inner join ranked
        on aggregated.customer_id = ranked.customer_id
        and ranked.recency_rank = 1

)

select * from final
