{#- Q3 order status tracking: one row per status (all six, zero when no order has it). -#}
with

statuses as (

    select * from {{ ref('dim_order_statuses') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

per_status as (

    select
        status_code,
        count(*) as order_count,
        cast(
            sum(case when is_online_order then 1 else 0 end) as {{ dbt.type_bigint() }}
        ) as online_order_count,
        sum(total_due) as total_due

    from orders
    group by status_code

),

final as (

    select
        statuses.status_code,
        statuses.status_name,
        coalesce(per_status.order_count, 0) as order_count,
        coalesce(per_status.online_order_count, 0) as online_order_count,
        coalesce(per_status.total_due, 0) as total_due,
        statuses.is_open

    from statuses
    left join per_status
        on statuses.status_code = per_status.status_code

)

select * from final
