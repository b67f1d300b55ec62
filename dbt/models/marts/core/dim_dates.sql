{#-
  One row per day from the first of January of the first order year to the end of the year
  of the latest order, due or ship date, or of today if later (web events are dated now).
-#}
with

orders as (

    select * from {{ ref('stg_sales__orders') }}

),

all_dates as (

    select order_date as any_date from orders
    union all
    select due_date from orders
    union all
    select ship_date from orders
    union all
    select cast({{ dbt.current_timestamp() }} as date)

),

bounds as (

    select
        cast({{ dbt.date_trunc('year', 'min(any_date)') }} as date) as start_date,
        cast(
            {{ dbt.dateadd(
                'day', -1, dbt.dateadd('year', 1, dbt.date_trunc('year', 'max(any_date)'))
            ) }} as date
        ) as end_date

    from all_dates

),

days as (

    select * from {{ date_spine_from('bounds', 'start_date', 'end_date') }}

),

final as (

    select
        date_day,
        cast(extract(year from date_day) as {{ dbt.type_bigint() }}) as year_number,
        cast(extract(quarter from date_day) as {{ dbt.type_bigint() }}) as quarter_number,
        cast(extract(month from date_day) as {{ dbt.type_bigint() }}) as month_number,
        cast(extract(day from date_day) as {{ dbt.type_bigint() }}) as day_of_month,
        {{ iso_day_of_week('date_day') }} as iso_day_of_week,
        {{ month_name('date_day') }} as month_name,
        {{ month_start('date_day') }} as month_start,
        {{ iso_day_of_week('date_day') }} >= 6 as is_weekend

    from days

)

select * from final
