{#-
  Q2 customer insights: one row per calendar month from the first to the last order month.
  new_customers: customers whose first order falls in the month; active_customers: customers
  with an order in the month; revenue: line revenue (as in fct_sales) of the month's orders.
-#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

sales as (

    select * from {{ ref('fct_sales') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

dates as (

    select * from {{ ref('dim_dates') }}

),

order_revenue as (

    select
        sales_order_id,
        sum(revenue) as revenue

    from sales
    group by sales_order_id

),

monthly_orders as (

    select
        {{ month_start('orders.order_date') }} as month_start,
        count(*) as orders,
        count(distinct orders.customer_id) as active_customers,
        sum(coalesce(order_revenue.revenue, 0)) as revenue

    from orders
    left join order_revenue
        on orders.sales_order_id = order_revenue.sales_order_id
    group by 1

),

monthly_new_customers as (

    select
        {{ month_start('first_order_date') }} as month_start,
        count(*) as new_customers

    from customers
    where first_order_date is not null
    group by 1

),

months as (

    select distinct dates.month_start

    from dates
    where dates.month_start between (select min(month_start) from monthly_orders)
        and (select max(month_start) from monthly_orders)

),

final as (

    select
        months.month_start,
        coalesce(monthly_new_customers.new_customers, 0) as new_customers,
        coalesce(monthly_orders.active_customers, 0) as active_customers,
        coalesce(monthly_orders.orders, 0) as orders,
        coalesce(monthly_orders.revenue, 0) as revenue,
        {{ money_divide('monthly_orders.revenue', 'monthly_orders.orders') }}
            as avg_order_value,
        {{ money_divide('monthly_orders.revenue', 'monthly_orders.active_customers') }}
            as avg_spend_per_customer

    from months
    left join monthly_orders
        on months.month_start = monthly_orders.month_start
    left join monthly_new_customers
        on months.month_start = monthly_new_customers.month_start

)

select * from final
