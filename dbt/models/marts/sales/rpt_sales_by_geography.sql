{#- Q4 geography of shipping destinations: one row per ship-to country, state/province, city. -#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

addresses as (

    select * from {{ ref('dim_addresses') }}

),

final as (

    select
        addresses.country_name,
        addresses.state_province_name,
        addresses.city,
        addresses.country_code,
        addresses.state_province_code,
        count(*) as order_count,
        count(distinct orders.customer_id) as customer_count,
        sum(orders.total_due) as total_due

    from orders
    inner join addresses
        on orders.ship_to_address_id = addresses.address_id
    group by 1, 2, 3, 4, 5

)

select * from final
