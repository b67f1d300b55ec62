with

statuses as (

    select * from {{ ref('orderstatus') }}

),

final as (

    select
        cast(status_code as {{ dbt.type_bigint() }}) as status_code,
        cast(status_name as {{ dbt.type_string() }}) as status_name,
        cast(is_open as {{ dbt.type_boolean() }}) as is_open

    from statuses

)

select * from final
