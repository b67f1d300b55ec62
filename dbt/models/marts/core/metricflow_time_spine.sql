{#-
  MetricFlow's time spine (dbt/models/marts/core/_core__semantic_models.yml): one row per day,
  the days of dim_dates, which cover every order, due, ship and web event date.
-#}
{{ config(materialized='view') }}

with

dates as (

    select * from {{ ref('dim_dates') }}

),

final as (

    select date_day

    from dates

)

select * from final
