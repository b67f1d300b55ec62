with

customers as (

    select * from {{ ref('stg_sales__customers') }}

),

persons as (

    select * from {{ ref('stg_person__persons') }}

),

stores as (

    select * from {{ ref('stg_sales__stores') }}

),

customer_orders as (

    select * from {{ ref('int_customer_orders_aggregated') }}

),

addresses as (

    select * from {{ ref('int_addresses_joined') }}

),

named as (

    select
        customers.customer_id,
        customers.person_id,
        customers.store_id,
        customers.territory_id,
        case
            when customers.store_id is not null then 'store'
            else 'individual'
        end as customer_type,
        -- a null middle name (or title, suffix) never nulls the whole name
        {{ dbt.concat([
            "coalesce(persons.first_name, '')",
            "case when persons.middle_name is not null"
            ~ " then " ~ dbt.concat(["' '", "persons.middle_name"]) ~ " else '' end",
            "case when persons.last_name is not null"
            ~ " then " ~ dbt.concat(["' '", "persons.last_name"]) ~ " else '' end",
        ]) }} as person_name,
        stores.store_name

    from customers
    left join persons
        on customers.person_id = persons.person_id
    left join stores
        on customers.store_id = stores.store_id

),

final as (

    select
        named.customer_id,
        named.customer_type,
        coalesce(
            named.store_name,
            nullif(trim(named.person_name), ''),
            {{ dbt.concat(["'Customer '", dbt.cast("named.customer_id", dbt.type_string())]) }}
        ) as customer_name,
        named.person_id,
        named.store_id,
        named.territory_id,
        customer_orders.first_order_date,
        customer_orders.last_order_date,
        coalesce(customer_orders.order_count, 0) as order_count,
        customer_orders.home_address_id,
        addresses.country_code as home_country_code,
        addresses.country_name as home_country_name

    from named
    left join customer_orders
        on named.customer_id = customer_orders.customer_id
    left join addresses
        on customer_orders.home_address_id = addresses.address_id

)

select * from final
